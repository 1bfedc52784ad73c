"""Fetch a record's weight files: stream, verify the SHA-256, rename into place.

:func:`download_file` streams one URL into ``<destination>.part`` (hashing as it
writes), compares the digest with the record's ``sha256sum`` when that is a real hash,
and only then renames the file onto ``destination`` (atomic on one file system): a
failed or mismatched download never leaves a file where a worker would load it.
A destination that already holds the expected bytes is not fetched again.

:func:`download_record_files` does that for every file a record declares, into the
folders :mod:`on_disk_layout` assigns.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from horde_model_reference.file_hashes import sha256_of
from horde_model_reference.model_reference_records import GenericModelRecord
from horde_model_reference.on_disk_layout import file_paths_for

logger = logging.getLogger(__name__)

#: ``(downloaded_bytes, total_bytes)``; total is 0 when the server does not say.
ProgressCallback = Callable[[int, int], None]

#: Connect quickly or give up; a read may stall a while on a busy host.
DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: Statuses that will not change by asking again.
DEFINITIVE_FAILURES = frozenset({401, 403, 404, 410})
_CHUNK = 1024 * 1024
_UNKNOWN_HASH = "FIXME"
_BACKOFF_SECONDS = 0.5


@dataclass(frozen=True)
class DownloadOutcome:
    """The result of fetching a single file."""

    success: bool
    final_path: Path
    bytes_written: int
    sha256: str | None


def _is_real_hash(value: str | None) -> bool:
    return bool(value) and value != _UNKNOWN_HASH


def _with_token(url: str, token: str | None) -> str:
    if not token:
        return url
    return str(httpx.URL(url).copy_merge_params({"token": token}))


def _hash_matches(path: Path, expected_sha256: str | None) -> bool:
    return _is_real_hash(expected_sha256) and sha256_of(path).lower() == str(expected_sha256).lower()


class _DefinitiveFailureError(Exception):
    pass


def _stream_to(
    client: httpx.Client,
    url: str,
    part: Path,
    headers: dict[str, str],
    progress_callback: ProgressCallback | None,
) -> tuple[int, str]:
    """Write the body of ``url`` to ``part``; (bytes written, hex SHA-256)."""
    hasher = hashlib.sha256()
    written = 0
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code in DEFINITIVE_FAILURES:
            raise _DefinitiveFailureError(f"HTTP {response.status_code}")
        response.raise_for_status()
        total = int(response.headers.get("Content-Length") or 0)
        with part.open("wb") as handle:
            for chunk in response.iter_bytes(_CHUNK):
                handle.write(chunk)
                hasher.update(chunk)
                written += len(chunk)
                if progress_callback is not None:
                    progress_callback(written, total)
    return written, hasher.hexdigest()


def download_file(
    url: str,
    destination: Path,
    *,
    expected_sha256: str | None = None,
    progress_callback: ProgressCallback | None = None,
    auth_query_token: str | None = None,
    extra_headers: dict[str, str] | None = None,
    max_retries: int = 5,
    connections: int = 1,
    allow_redirects: bool = True,
) -> DownloadOutcome:
    """Download ``url`` to ``destination`` (parents created), verifying ``expected_sha256``.

    Args:
        url: The file URL.
        destination: The final path; written only once the whole file is there and verified.
        expected_sha256: The record's hash; None or ``"FIXME"`` skips verification.
        progress_callback: Called with ``(downloaded_bytes, total_bytes)`` per chunk; an
            exception it raises aborts the download and propagates.
        auth_query_token: Appended to the URL as ``token=...`` (e.g. a Civitai API token).
        extra_headers: Sent with the request (e.g. an ``Authorization`` header).
        max_retries: Attempts after the first one for transient failures (network errors,
            5xx, 429); 401/403/404/410 fail at once.
        connections: Accepted for compatibility; this client always uses one stream.
        allow_redirects: Follow HTTP redirects (disable when a header must not leave the host).

    Returns:
        Success with the bytes written (0 when ``destination`` already had the expected
        hash), or failure; on a hash mismatch nothing is left at ``destination``.
    """
    del connections  # one stream: see the docstring
    destination = Path(destination)
    if destination.is_file() and _hash_matches(destination, expected_sha256):
        return DownloadOutcome(True, destination, 0, sha256_of(destination))
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    request_url = _with_token(url, auth_query_token)
    headers = dict(extra_headers or {})
    attempts = max(0, max_retries) + 1
    with httpx.Client(timeout=DOWNLOAD_TIMEOUT, follow_redirects=allow_redirects) as client:
        for attempt in range(attempts):
            try:
                written, digest = _stream_to(client, request_url, part, headers, progress_callback)
            except (_DefinitiveFailureError, httpx.HTTPError, OSError) as error:
                part.unlink(missing_ok=True)
                transient = not isinstance(error, _DefinitiveFailureError) and not (
                    isinstance(error, httpx.HTTPStatusError)
                    and error.response.status_code < 500
                    and error.response.status_code != 429
                )
                logger.warning("Download of %s failed (attempt %d): %s", url, attempt + 1, error)
                if not transient or attempt + 1 >= attempts:
                    return DownloadOutcome(False, destination, 0, None)
                time.sleep(_BACKOFF_SECONDS * 2**attempt)
                continue
            except BaseException:
                part.unlink(missing_ok=True)
                raise
            if _is_real_hash(expected_sha256) and digest != str(expected_sha256).lower():
                logger.warning("SHA-256 mismatch for %s: expected %s, got %s", url, expected_sha256, digest)
                part.unlink(missing_ok=True)
                return DownloadOutcome(False, destination, written, digest)
            os.replace(part, destination)
            return DownloadOutcome(True, destination, written, digest)
    return DownloadOutcome(False, destination, 0, None)  # pragma: no cover - the loop always returns


def download_record_files(
    record: GenericModelRecord,
    root: Path,
    *,
    progress_callback: ProgressCallback | None = None,
    auth_query_token: str | None = None,
    gateway_base_url: str | None = None,
    apikey: str | None = None,
    use_configured_gateway: bool = True,
    connections: int = 1,
) -> bool:
    """Download every file ``record`` declares into its category folder under ``root``.

    A file already there is kept when its hash matches the declared ``sha256sum`` (or
    none is declared); one that does not match is fetched again. The established
    package's mirror gateway (``gateway_base_url``, ``apikey``, ``use_configured_gateway``)
    has no equivalent here: those arguments are accepted and files always come from their
    ``file_url``.

    Returns:
        True when every declared file is present (and any declared hash matched); False
        when one failed, or when the record's category has no weights folder.
    """
    del gateway_base_url, apikey, use_configured_gateway  # no gateway: see the docstring
    paths = file_paths_for(record, Path(root))
    if record.config.download and not paths:
        logger.warning("No weights folder for %s: %s not downloaded", record.record_type, record.name)
        return False
    ok = True
    for download, path in zip(record.config.download, paths, strict=True):
        if path.is_file():
            if not _is_real_hash(download.sha256sum) or _hash_matches(path, download.sha256sum):
                continue
            path.unlink()  # wrong bytes: never leave them where a worker would load them
        outcome = download_file(
            download.file_url,
            path,
            expected_sha256=download.sha256sum,
            progress_callback=progress_callback,
            auth_query_token=auth_query_token,
            connections=connections,
        )
        ok = ok and outcome.success
    return ok


__all__ = [
    "DEFINITIVE_FAILURES",
    "DOWNLOAD_TIMEOUT",
    "DownloadOutcome",
    "ProgressCallback",
    "download_file",
    "download_record_files",
]
