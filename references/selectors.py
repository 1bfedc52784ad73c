"""Reads of records and category state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

from audit.selectors import audit_chain_head_hash
from horde_model_reference.legacy.types import CanonicalEntry
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from references.models import CategoryState, ModelRecord


def record_list(*, category: str) -> QuerySet[ModelRecord]:
    """A category's records in document order."""
    return ModelRecord.objects.filter(category=category).order_by("position", "name")


def record_get(*, category: str, name: str) -> ModelRecord | None:
    return ModelRecord.objects.filter(category=category, name=name).first()


def registry_payloads() -> list[tuple[str, str, dict[str, Any]]]:
    """Every record as ``(category, name, payload)``, categories in turn, each in document order."""
    rows = ModelRecord.objects.order_by("category", "position", "name").values_list(
        "category", "name", "payload"
    )
    return list(rows)


def registry_is_empty() -> bool:
    """True while the registry holds no record at all (a fresh installation)."""
    return not ModelRecord.objects.exists()


def category_entries(*, category: str) -> list[CanonicalEntry]:
    """A category's records as converter input, in document order."""
    return [
        CanonicalEntry(name=name, payload=payload, legacy_residue=residue)
        for name, payload, residue in record_list(category=category).values_list(
            "name", "payload", "legacy_residue"
        )
    ]


def category_entries_at(*, category: str) -> tuple[CategoryState | None, list[CanonicalEntry]]:
    """The category's state and records, read state first.

    Records are committed in the same transaction as the state bump, so reading
    the state first guarantees the records are at least that revision. The caller
    (the document cache) turns the state into its pointer: the cache sits above the
    selectors, so they return rows, not cache objects.
    """
    with transaction.atomic():
        state = category_state_find(category=category)
        entries = category_entries(category=category)
    return state, entries


@dataclass(frozen=True)
class RegistrySnapshot:
    """Every category at one moment: revisions, records and the audit chain's head."""

    revisions: dict[str, int]
    entries: dict[str, list[CanonicalEntry]]
    audit_head_hash: str
    # What ``also`` returned, read in the same snapshot (the export's registered documents).
    also: Any = None


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """A transaction in which every read sees the same committed state.

    PostgreSQL's default READ COMMITTED takes a new snapshot per statement, so a
    change committed between two categories' reads would leak into the second one:
    REPEATABLE READ fixes the snapshot at the first read. It can only be set as a
    transaction's first statement; inside an outer transaction (tests, callers that
    already hold one) the outer transaction decides. SQLite's single transaction
    already reads one state (writers cannot commit under a reader).
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def registry_snapshot(*, also: Callable[[], Any] | None = None) -> RegistrySnapshot:
    """All categories read at one revision in one transaction, for a consistent export.

    ``also`` runs inside the same snapshot, for data beside the records that must agree
    with them (the catalogs' export documents, which read records too).
    """
    with _one_snapshot():
        states = category_states()
        revisions = {
            c.value: states[c.value].revision if c.value in states else 0 for c in MODEL_REFERENCE_CATEGORY
        }
        entries = {c.value: category_entries(category=c.value) for c in MODEL_REFERENCE_CATEGORY}
        head = audit_chain_head_hash()
        extra = also() if also is not None else None
    return RegistrySnapshot(revisions=revisions, entries=entries, audit_head_hash=head, also=extra)


def category_revisions() -> dict[str, int]:
    """Each category's current revision (0 when it never changed)."""
    states = dict(CategoryState.objects.values_list("category", "revision"))
    return {c.value: int(states.get(c.value, 0)) for c in MODEL_REFERENCE_CATEGORY}


def category_state_find(*, category: str) -> CategoryState | None:
    return CategoryState.objects.filter(category=category).first()


def category_state_get(*, category: str) -> CategoryState:
    """The state of a category; an unsaved zero state when it never changed."""
    state = CategoryState.objects.filter(category=category).first()
    return state if state is not None else CategoryState(category=category)


def category_states() -> dict[str, CategoryState]:
    return {state.category: state for state in CategoryState.objects.all()}


def _unix(moment: object) -> int | None:
    from datetime import datetime

    return int(moment.timestamp()) if isinstance(moment, datetime) else None


def category_metadata(*, category: str, state: CategoryState | None = None) -> dict[str, object]:
    """A category's metadata in the established ``CategoryMetadata`` shape (reads never write)."""
    state = state if state is not None else category_state_find(category=category)
    if state is None:
        state = CategoryState(category=category)
    return {
        "category": category,
        "last_updated": _unix(state.last_updated),
        "last_operation_type": state.last_operation or None,
        "last_operation_model": state.last_operation_model or None,
        "total_creates": state.created_count,
        "total_updates": state.updated_count,
        "total_deletes": state.deleted_count,
        "total_models": state.record_count,
        "initialization_time": _unix(state.initialized_at),
        "last_successful_operation": _unix(state.last_updated),
        "error_count": 0,
        "metadata_schema_version": "1.0.0",
        "backend_type": "SQLBackend",
        "revision": state.revision,
    }


def categories_metadata() -> dict[str, dict[str, object]]:
    from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY

    states = category_states()
    return {
        c.value: category_metadata(
            category=c.value, state=states.get(c.value) or CategoryState(category=c.value)
        )
        for c in MODEL_REFERENCE_CATEGORY
    }


def last_updated_overall() -> int | None:
    """The newest change across every category, in unix seconds."""
    stamps = [_unix(moment) for moment in CategoryState.objects.values_list("last_updated", flat=True)]
    known = [stamp for stamp in stamps if stamp is not None]
    return max(known) if known else None
