"""What the manager holds for one category, and how a document becomes records."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import ValidationError

from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from horde_model_reference.model_reference_records import GenericModelRecord, get_record_type_for_category

if TYPE_CHECKING:
    from pydantic import TypeAdapter

# Every part of the manager logs under the facade's name, as the single module did, so a
# user's logging configuration for it keeps covering everything the manager says.
logger = logging.getLogger("horde_model_reference.model_reference_manager")

#: Where a category's current data came from (see ``ModelReferenceManager.data_source``).
DataSource = Literal["primary", "export", "github", "disk_cache", "empty", "unavailable", "managed_elsewhere"]


@dataclass(frozen=True, slots=True)
class CategoryState:
    """Everything the manager holds for one category; replaced whole, never mutated."""

    document: dict[str, Any] | None
    """The raw v2 document (``{key: record dict}``), or None when nothing is available."""
    records: dict[str, GenericModelRecord] | None
    """Parsed records keyed by ``record.name``."""
    skipped: tuple[str, ...]
    """Keys of records that could not be parsed."""
    origin: str | None
    """The live source the data came from (kept when it is later served from disk)."""
    validator: str | None
    """That source's validator (ETag or ``sha256:``) of the data."""
    served_from: DataSource
    confirmed_at: float | None
    """Unix time a live source last delivered or confirmed the data."""
    expires_at: float
    """``time.monotonic()`` after which the data is revalidated."""


def no_data_state(served_from: DataSource, *, expires_at: float) -> CategoryState:
    """A state without data: ``unavailable``, or ``managed_elsewhere`` (which never expires)."""
    return CategoryState(
        document=None,
        records=None,
        skipped=(),
        origin=None,
        validator=None,
        served_from=served_from,
        confirmed_at=None,
        expires_at=expires_at,
    )


def empty_state(*, expires_at: float) -> CategoryState:
    """A category that exists but that no source has records for."""
    return CategoryState(
        document={},
        records={},
        skipped=(),
        origin=None,
        validator=None,
        served_from="empty",
        confirmed_at=None,
        expires_at=expires_at,
    )


MANAGED_ELSEWHERE_STATE: Final = no_data_state("managed_elsewhere", expires_at=float("inf"))


@functools.cache
def _document_adapter(record_type: type[GenericModelRecord]) -> TypeAdapter[dict[str, GenericModelRecord]]:
    """Validates a whole ``{key: record}`` document of ``record_type`` in one call (cached per type)."""
    from pydantic import TypeAdapter

    return TypeAdapter(dict[str, record_type])  # type: ignore[valid-type]


def parse_records(
    category: MODEL_REFERENCE_CATEGORY,
    document: Mapping[str, Any],
    *,
    what: str,
) -> tuple[dict[str, GenericModelRecord], tuple[str, ...]]:
    """Validate every record leniently: an invalid one is skipped (and logged), the rest kept.

    Returns the records keyed by ``record.name`` and the document keys that were skipped.
    """
    record_type = get_record_type_for_category(category)
    records: dict[str, GenericModelRecord] = {}
    if not document:
        return records, ()
    if all(isinstance(value, dict) and "name" in value for value in document.values()):
        # The fast path: the whole document in one call into pydantic-core. Only when
        # some record is invalid does the record-by-record path below run (again).
        try:
            parsed = _document_adapter(record_type).validate_python(document)
        except ValidationError:
            pass
        else:
            for record in parsed.values():
                _keep(records, record, category, what)
            return records, ()
    skipped: list[str] = []
    reasons: list[str] = []
    for key, value in document.items():
        if not isinstance(value, dict):
            skipped.append(key)
            reasons.append(f"{key}: not an object")
            continue
        if "name" not in value:
            # The key is the record's identity; a record that omits its name still has one.
            value = {**value, "name": key}
        try:
            record = record_type.model_validate(value)
        except ValidationError as error:
            skipped.append(key)
            reasons.append(f"{key}: {error.error_count()} error(s), first: {error.errors()[0]['msg']}")
            continue
        _keep(records, record, category, what)
    if skipped:
        logger.warning(
            "Skipped %d of %d %s record(s) from %s that could not be parsed: %s",
            len(skipped),
            len(document),
            category.value,
            what,
            "; ".join(reasons[:5]) + (" ..." if len(reasons) > 5 else ""),
        )
    return records, tuple(skipped)


def _keep(
    records: dict[str, GenericModelRecord],
    record: GenericModelRecord,
    category: MODEL_REFERENCE_CATEGORY,
    what: str,
) -> None:
    # Keyed by the record's own name, as the established library does (for a few
    # records the document key differs, e.g. controlnet control_qr_sdxl).
    if record.name in records:
        logger.warning(
            "Duplicate model name %r in %s (%s); the later record wins", record.name, category, what
        )
    records[record.name] = record


def to_category(category: MODEL_REFERENCE_CATEGORY | str) -> MODEL_REFERENCE_CATEGORY:
    """The category member for a member or its value; ``ValueError`` naming the known ones."""
    if isinstance(category, MODEL_REFERENCE_CATEGORY):
        return category
    try:
        return MODEL_REFERENCE_CATEGORY(category)
    except ValueError:
        known = ", ".join(c.value for c in MODEL_REFERENCE_CATEGORY)
        raise ValueError(f"Unknown model reference category {category!r}; expected one of: {known}") from None
