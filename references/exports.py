"""Rendering category documents and exporting them to a directory.

The same data always renders to the same bytes: v2 documents are compact orjson
of ``{name: record}`` in document order; legacy documents are written as the public
repositories write them (``json.dumps(indent=4)``), and text also gets its
``models.csv`` (CRLF, as upstream), because pull requests to that repository edit
the CSV.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from audit.selectors import audit_chain_head_hash
from horde_model_reference.legacy import CanonicalEntry, canonical_to_legacy_document, render_legacy_json
from horde_model_reference.meta_consts import CATEGORY_DESCRIPTORS, MODEL_REFERENCE_CATEGORY, v2_filename
from references.selectors import category_entries, category_state_get

ExportFormat = Literal["legacy", "v2", "all"]
MANIFEST_NAME = "manifest.json"
TEXT_CSV_NAME = "models.csv"


def v2_document_from_entries(category: str, entries: Iterable[CanonicalEntry]) -> dict[str, Any]:
    """``{name: v2 record}`` as served; text records also carry their derived group."""
    if category != MODEL_REFERENCE_CATEGORY.text_generation:
        return {entry.name: entry.payload for entry in entries}
    from horde_model_reference.text_model_parser import get_base_model_name

    document: dict[str, Any] = {}
    for entry in entries:
        record = entry.payload
        if "text_model_group" not in record:
            # Derived from the name alone, so it is computed when rendering rather
            # than stored (and cannot go stale).
            record = {**record, "text_model_group": get_base_model_name(entry.name)}
        document[entry.name] = record
    return document


def render_v2_document(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document)


def category_legacy_document(category: str) -> dict[str, Any]:
    """The legacy (v1) document of a category; ``{}`` for categories managed elsewhere."""
    descriptor = CATEGORY_DESCRIPTORS[MODEL_REFERENCE_CATEGORY(category)]
    if not descriptor.has_legacy_format:
        return {}
    return canonical_to_legacy_document(category, category_entries(category=category))


def _write_atomic(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _file_entry(relative: str, content: bytes, records: int) -> dict[str, Any]:
    return {
        "path": relative,
        "sha256": hashlib.sha256(content).hexdigest(),
        "bytes": len(content),
        "records": records,
    }


class ExportError(Exception):
    """A category could not be rendered; nothing was written."""


@dataclass(frozen=True)
class ExportResult:
    dest: Path
    manifest: dict[str, Any]
    files: list[str]


def reference_export(*, dest: Path, fmt: ExportFormat = "all") -> ExportResult:
    """Write one file per category (and format) plus ``manifest.json`` into ``dest``.

    Layout: ``v2/<category>.json``, ``legacy/<legacy file>`` (and ``legacy/models.csv``).
    The manifest records per category the revision, and per file its sha256, size and
    record count, the generation time and the audit chain's head hash.
    """
    categories: dict[str, Any] = {}
    contents: dict[str, bytes] = {}
    for category in MODEL_REFERENCE_CATEGORY:
        try:
            categories[category.value] = _category_export(category, fmt, contents)
        except Exception as error:
            # Rendered in full before anything is written: a record that cannot render
            # leaves the previous export (files and manifest) as it was.
            raise ExportError(f"cannot render '{category.value}': {error}") from error
    for relative, content in contents.items():
        _write_atomic(dest / relative, content)
    manifest = {
        "format": fmt,
        "generated_at": int(time.time()),
        "audit_head_hash": audit_chain_head_hash(),
        "categories": categories,
    }
    _write_atomic(dest / MANIFEST_NAME, orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return ExportResult(dest=dest, manifest=manifest, files=list(contents))


def _category_export(
    category: MODEL_REFERENCE_CATEGORY, fmt: ExportFormat, contents: dict[str, bytes]
) -> dict[str, Any]:
    """Render one category's files into ``contents``; return its manifest entry."""
    descriptor = CATEGORY_DESCRIPTORS[category]
    entries = category_entries(category=category)
    state = category_state_get(category=category)
    info: dict[str, Any] = {"revision": state.revision, "records": len(entries)}
    if fmt in ("v2", "all"):
        document = v2_document_from_entries(category, entries)
        relative = f"v2/{v2_filename(category)}"
        contents[relative] = render_v2_document(document)
        info["v2"] = _file_entry(relative, contents[relative], len(document))
    if fmt in ("legacy", "all") and descriptor.legacy_filename:
        legacy = canonical_to_legacy_document(category, entries)
        relative = f"legacy/{descriptor.legacy_filename}"
        contents[relative] = render_legacy_json(legacy)
        info["legacy"] = _file_entry(relative, contents[relative], len(legacy))
        if category == MODEL_REFERENCE_CATEGORY.text_generation:
            from horde_model_reference.legacy.text import canonical_to_text_csv

            relative = f"legacy/{TEXT_CSV_NAME}"
            contents[relative] = canonical_to_text_csv(entries).encode("utf-8")
            info["legacy_csv"] = _file_entry(relative, contents[relative], len(entries))
    return info
