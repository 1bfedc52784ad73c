"""Converters between the legacy GitHub files and canonical v2 records.

One entry point per direction, dispatching on the category: the image-repo JSON
files are handled by :mod:`.image`, the text repository (``models.csv`` and the
generated ``db.json``) by :mod:`.text`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from horde_model_reference.legacy.render import render_legacy_file, render_legacy_json
from horde_model_reference.legacy.types import (
    CanonicalEntry,
    ConversionIssue,
    LegacyFormatError,
    LegacyImportResult,
)
from horde_model_reference.meta_consts import CATEGORY_DESCRIPTORS, MODEL_REFERENCE_CATEGORY

__all__ = [
    "CanonicalEntry",
    "ConversionIssue",
    "LegacyFormatError",
    "LegacyImportResult",
    "canonical_to_legacy_document",
    "canonical_to_legacy_records",
    "default_legacy_residue",
    "legacy_document_to_canonical",
    "legacy_record_to_canonical",
    "legacy_residue_after_v2_write",
    "render_legacy_file",
    "render_legacy_json",
]

_TEXT = MODEL_REFERENCE_CATEGORY.text_generation


def _legacy_category(category: MODEL_REFERENCE_CATEGORY | str) -> MODEL_REFERENCE_CATEGORY:
    member = MODEL_REFERENCE_CATEGORY(category)
    if not CATEGORY_DESCRIPTORS[member].has_legacy_format:
        raise ValueError(f"category '{member}' has no legacy format")
    return member


def legacy_document_to_canonical(
    category: MODEL_REFERENCE_CATEGORY | str, document: object
) -> LegacyImportResult:
    """Convert a parsed legacy JSON document (an image-repo file or ``db.json``)."""
    member = _legacy_category(category)
    if member == _TEXT:
        from horde_model_reference.legacy.text import text_db_to_canonical

        return text_db_to_canonical(document)
    from horde_model_reference.legacy.image import legacy_image_document_to_canonical

    return legacy_image_document_to_canonical(member, document)


def canonical_to_legacy_document(
    category: MODEL_REFERENCE_CATEGORY | str, entries: Iterable[CanonicalEntry]
) -> dict[str, Any]:
    """The legacy JSON document (``{key: record}``) of a category's records, in order."""
    member = _legacy_category(category)
    if member == _TEXT:
        from horde_model_reference.legacy.text import canonical_to_text_db

        return canonical_to_text_db(entries)
    from horde_model_reference.legacy.image import canonical_to_legacy_image_document

    return canonical_to_legacy_image_document(member, entries)


def canonical_to_legacy_records(
    category: MODEL_REFERENCE_CATEGORY | str, entry: CanonicalEntry
) -> dict[str, Any]:
    """The legacy entries of one record (three for a text model, one otherwise)."""
    member = _legacy_category(category)
    if member == _TEXT:
        from horde_model_reference.legacy.text import canonical_to_text_db_records

        return canonical_to_text_db_records(entry)
    from horde_model_reference.legacy.image import canonical_to_legacy_image_record

    return {entry.name: canonical_to_legacy_image_record(member, entry)}


def legacy_record_to_canonical(
    category: MODEL_REFERENCE_CATEGORY | str, key: str, record: object
) -> CanonicalEntry:
    """Convert one legacy-shaped record (as a v1 write sends it); ValueError if invalid."""
    member = _legacy_category(category)
    if member == _TEXT:
        from horde_model_reference.legacy.text import text_legacy_record_to_canonical

        return text_legacy_record_to_canonical(key, record)
    from horde_model_reference.legacy.image import legacy_image_record_to_canonical

    return legacy_image_record_to_canonical(member, key, record)


def legacy_residue_after_v2_write(
    category: MODEL_REFERENCE_CATEGORY | str, old_residue: dict[str, Any], new_payload: dict[str, Any]
) -> dict[str, Any]:
    """What of a record's legacy-only data survives an edit made in v2."""
    member = MODEL_REFERENCE_CATEGORY(category)
    if not CATEGORY_DESCRIPTORS[member].has_legacy_format:
        return {}
    if member == _TEXT:
        from horde_model_reference.legacy.text import text_residue_after_v2_write

        return text_residue_after_v2_write(old_residue, new_payload)
    from horde_model_reference.legacy.image import legacy_residue_after_v2_write as image_after

    return image_after(member, old_residue, new_payload)


def default_legacy_residue(
    category: MODEL_REFERENCE_CATEGORY | str, payload: dict[str, Any]
) -> dict[str, Any]:
    """Legacy-only defaults for a record born in v2, so legacy readers keep working."""
    member = MODEL_REFERENCE_CATEGORY(category)
    if not CATEGORY_DESCRIPTORS[member].has_legacy_format or member == _TEXT:
        return {}
    from horde_model_reference.legacy.image import default_legacy_residue as image_default

    return image_default(member, payload)
