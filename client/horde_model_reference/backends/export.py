"""The second source: a reference export (``manage.py export_reference``), a directory or URL.

An export holds ``manifest.json`` at its root::

    {"categories": {"<category>": {"revision": 7, "records": 161,
                                   "v2": {"path": "v2/<category>.json", "sha256": "...",
                                          "bytes": 1234, "records": 161},
                                   "legacy": {...}}},
     "generated_at": 1700000000, "audit_head_hash": "..."}

The sha256 of every file read is checked against the manifest, so a half-synchronised
mirror or a damaged download is rejected instead of served. The validator of a document
is ``sha256:<hex>``: when the manifest still names the hash we hold, the file is not
read again.

A directory may also be a server's ``EXPORT_DIR``, which holds published releases and a
``current`` symlink to the newest (``releases/<name>/manifest.json``, ...): the link is
resolved once per read, so the manifest and the file always come from one release.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath
from typing import Any

from horde_model_reference.backends.base import (
    NOT_MODIFIED,
    FetchedDocument,
    ReferenceSource,
    SourceOutcome,
    SourceUnavailableError,
    Steps,
    parse_document,
)

MANIFEST_NAME = "manifest.json"
CURRENT_LINK = "current"


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _safe_relative(path: object) -> str:
    """The manifest's file path, refused when it could escape the export root."""
    if not isinstance(path, str) or not path:
        raise SourceUnavailableError("the manifest names no file")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise SourceUnavailableError(f"the manifest names an unsafe path: {path!r}")
    return str(pure)


class ExportSource(ReferenceSource):
    """Reads v2 documents from an export directory or an HTTP(S) mirror of one."""

    name = "export"

    def __init__(self, location: str | Path) -> None:
        """``location`` is a directory path or an ``http(s)://`` base URL."""
        text = str(location)
        self.location = text.rstrip("/") if _is_url(text) else text
        self._is_url = _is_url(text)

    def describe(self) -> str:
        return f"export {self.location}"

    def _directory(self) -> Path:
        """The export root to read this time: the directory, or the release ``current`` names."""
        root = Path(self.location)
        if not (root / MANIFEST_NAME).exists() and (root / CURRENT_LINK / MANIFEST_NAME).exists():
            # Resolved once, so a release switched mid-read cannot mix two releases.
            return Path(os.path.realpath(root / CURRENT_LINK))
        return root

    def _read(self, relative: str, root: Path | None = None) -> Steps[bytes]:
        if self._is_url:
            import httpx  # only a mirror needs it: a directory is read without httpx

            response = yield httpx.Request("GET", f"{self.location}/{relative}")
            if response.status_code != 200:
                raise SourceUnavailableError(f"{self.location}/{relative} answered {response.status_code}")
            return response.content
        try:
            return ((root or Path(self.location)) / relative).read_bytes()
        except OSError as error:
            raise SourceUnavailableError(f"cannot read {relative} in {self.location}: {error}") from error

    def steps(self, category: str, validator: str | None) -> Steps[SourceOutcome]:
        root = None if self._is_url else self._directory()
        manifest = parse_document(
            (yield from self._read(MANIFEST_NAME, root)), what=f"{self.describe()} manifest"
        )
        categories = manifest.get("categories")
        if not isinstance(categories, dict):
            raise SourceUnavailableError(f"{self.describe()}: the manifest has no categories")
        entry: Any = categories.get(category)
        if not isinstance(entry, dict) or not isinstance(entry.get("v2"), dict):
            # An export without this category (or without v2 files) does not serve it.
            return None
        file_info: dict[str, Any] = entry["v2"]
        relative = _safe_relative(file_info.get("path"))
        expected = file_info.get("sha256")
        if not isinstance(expected, str) or not expected:
            raise SourceUnavailableError(f"{self.describe()}: no sha256 for {relative}")
        new_validator = f"sha256:{expected.lower()}"
        if validator == new_validator:
            return NOT_MODIFIED
        body = yield from self._read(relative, root)
        actual = hashlib.sha256(body).hexdigest()
        if actual != expected.lower():
            raise SourceUnavailableError(
                f"{self.describe()}: sha256 of {relative} is {actual}, the manifest says {expected}"
            )
        document = parse_document(body, what=f"{self.describe()} {relative}")
        return FetchedDocument(document=document, body=body, source=self.name, validator=new_validator)
