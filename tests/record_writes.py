"""Direct record writes for setting up tests: one change through the references write engine.

Production code changes records only through the pending queue's apply and the
importers; tests use these to put a record in place (or move it on) without a
proposal. They write, version and audit exactly as those paths do.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit.services import Actor
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from references.models import ModelRecord
from references.services import RecordChange, records_apply


def _apply_one(change: RecordChange, actor: Actor, source: str, request_id: str) -> None:
    result = records_apply(changes=[change], actor=actor, source=source, request_id=request_id)
    if result.failure is not None:
        raise result.failure


@transaction.atomic
def record_create(
    *,
    category: str,
    name: str,
    payload: dict[str, Any],
    legacy_residue: dict[str, Any] | None = None,
    actor: Actor,
    source: str,
    request_id: str = "",
) -> ModelRecord:
    """Create a record; 409 if the name exists in the category, 422 for a bad name or payload."""
    category = MODEL_REFERENCE_CATEGORY(category).value
    _apply_one(
        RecordChange(category, name, "create", payload, legacy_residue or {}), actor, source, request_id
    )
    return ModelRecord.objects.get(category=category, name=name)


@transaction.atomic
def record_update(
    *,
    category: str,
    name: str,
    payload: dict[str, Any],
    legacy_residue: dict[str, Any] | None = None,
    expected_version: int | None = None,
    actor: Actor,
    source: str,
    request_id: str = "",
) -> ModelRecord:
    """Replace a record's payload; 404 if missing, 409 if it moved past ``expected_version``."""
    category = MODEL_REFERENCE_CATEGORY(category).value
    change = RecordChange(category, name, "update", payload, legacy_residue, expected_version)
    _apply_one(change, actor, source, request_id)
    return ModelRecord.objects.get(category=category, name=name)


@transaction.atomic
def record_delete(
    *,
    category: str,
    name: str,
    expected_version: int | None = None,
    actor: Actor,
    source: str,
    request_id: str = "",
) -> None:
    """Delete a record; 404 if missing, 409 if it moved past ``expected_version``."""
    category = MODEL_REFERENCE_CATEGORY(category).value
    change = RecordChange(category, name, "delete", expected_version=expected_version)
    _apply_one(change, actor, source, request_id)
