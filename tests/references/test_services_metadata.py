"""``references.services.record_metadata_correct``: the one writer of record metadata corrections."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from audit.services import Actor
from common.errors import DomainError
from horde_model_reference.model_reference_records import SCHEMA_VERSION
from references.selectors import record_get
from references.services import MetadataCorrection, record_metadata_correct
from tests.factories import sd_payload
from tests.record_writes import record_create

pytestmark = pytest.mark.django_db

SD = "image_generation"
SYSTEM = Actor.system("test")
APPROVER = Actor(kind="horde", id="2", display_name="bob#2")


def correct(fields: Any, name: str = "Alpha", category: str = SD) -> MetadataCorrection:
    return record_metadata_correct(category=category, name=name, fields=fields, actor=APPROVER, source="api")


def test_correction_keeps_content_and_legacy_data() -> None:
    record_create(
        category=SD,
        name="Alpha",
        payload=sd_payload("Alpha"),
        legacy_residue={"legacy_only": {"type": "ckpt"}},
        actor=SYSTEM,
        source="sync",
    )
    before = record_get(category=SD, name="Alpha")
    assert before is not None
    result = correct({"created_at": 3, "created_by": "upstream"})
    after = record_get(category=SD, name="Alpha")
    assert after is not None
    assert result == MetadataCorrection(
        SD,
        "Alpha",
        {
            "schema_version": SCHEMA_VERSION,
            "created_at": 3,
            "updated_at": None,
            "created_by": "upstream",
            "updated_by": None,
        },
        after.version,
        True,
    )
    assert {k: v for k, v in after.payload.items() if k != "metadata"} == before.payload
    assert after.legacy_residue == before.legacy_residue


@pytest.mark.parametrize(
    ("category", "name", "fields", "status"),
    [
        (SD, "Nope", {"created_at": 1}, 404),
        (SD, "bad\x00name", {"created_at": 1}, 404),  # never reaches SQL
        (SD, "Alpha", {}, 400),
        ("text_generation", "Alpha", {"created_at": 1}, 400),
        (SD, "Alpha", None, 422),
        (SD, "Alpha", {"created_at": "1"}, 422),
    ],
)
def test_refusals_change_nothing(category: str, name: str, fields: Any, status: int) -> None:
    record_create(category=SD, name="Alpha", payload=sd_payload("Alpha"), actor=SYSTEM, source="sync")
    events = AuditEvent.objects.count()
    with pytest.raises(DomainError) as raised:
        correct(fields, name, category)
    assert raised.value.status == status
    record = record_get(category=SD, name="Alpha")
    assert record is not None and "metadata" not in record.payload
    assert AuditEvent.objects.count() == events
