"""Checksums of downloaded model files, for checking them against a record's ``sha256sum``."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

_CHUNK = 1024 * 1024

# Model files are gigabytes: hashing one again is only needed when it changed, which a
# different size or modification time shows.
_sha256_cache: dict[tuple[str, int, int], str] = {}
_sha256_cache_lock = threading.Lock()


def _digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def sha256_of(path: Path, *, use_cache: bool = True) -> str:
    """The hex SHA-256 of the file at ``path``.

    With ``use_cache``, a file whose size and modification time are unchanged since the
    last call in this process is not read again.

    Raises:
        OSError: When the file cannot be read.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if use_cache:
        with _sha256_cache_lock:
            cached = _sha256_cache.get(key)
        if cached is not None:
            return cached
    digest = _digest(path, "sha256")
    with _sha256_cache_lock:
        _sha256_cache[key] = digest
    return digest


def md5_of(path: Path) -> str | None:
    """The hex MD5 of the file at ``path``, or None when there is no such file."""
    if not path.is_file():
        return None
    return _digest(path, "md5")


__all__ = ["md5_of", "sha256_of"]
