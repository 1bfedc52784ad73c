"""8.6.2's v2-only text fields: ``context_window``, ``interaction_modes``, ``capabilities`` (issue #15).

Like ``licensing`` they exist only in v2: stored and served as written, kept by writes
converted from legacy entries (v1, import, upstream), absent from the legacy files.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from audit.services import Actor
from pending_queue.models import ChangeProposal
from references.models import ModelRecord
from references.selectors import record_get
from sync.services.upstream import _record_state
from tests.factories import category_legacy_document
from tests.record_writes import record_create, record_update
from tests.references.test_record_licensing import V2, approve_and_apply, send, served

pytestmark = pytest.mark.django_db

TEXT = "text_generation"
SYSTEM = Actor.system("test")
FIELDS: dict[str, Any] = {
    "context_window": {
        "maximum_tokens": 32768,
        "sources": [{"url": "https://example.org/card", "title": "Model card"}],
        "qualification": "with rope scaling",
    },
    "interaction_modes": {
        "chat": {"status": "supported", "sources": []},
        "completion": {"status": "unknown", "sources": [], "qualification": "untested"},
    },
    "capabilities": {"tool_calling": {"status": "unsupported", "sources": []}},
}


def text_payload(name: str, **overrides: Any) -> dict[str, Any]:
    return {"name": name, "parameters": 7_000_000_000, "baseline": "mistral", **overrides}


def test_a_v2_create_stores_and_serves_the_fields_as_sent(
    client: Client, horde: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = send(client, "post", f"{V2}/{TEXT}/add", text_payload("Alpha", **FIELDS))
    assert response.status_code == 202, response.content
    approve_and_apply(client, response.json()["change_id"], django_capture_on_commit_callbacks)
    record = record_get(category=TEXT, name="Alpha")
    assert record is not None
    assert {key: record.payload[key] for key in FIELDS} == FIELDS
    one = served(client, TEXT, "Alpha")
    assert {key: one[key] for key in FIELDS} == FIELDS
    document = client.get(f"{V2}/{TEXT}").json()
    assert {key: document["Alpha"][key] for key in FIELDS} == FIELDS
    keys = list(one)
    assert (
        keys.index("name_schema_exception" if "name_schema_exception" in one else "nsfw")
        < keys.index("context_window")
        < keys.index("interaction_modes")
        < keys.index("capabilities")
    )


def test_records_without_them_are_served_without_them(client: Client) -> None:
    record_create(category=TEXT, name="Plain", payload=text_payload("Plain"), actor=SYSTEM, source="sync")
    one = served(client, TEXT, "Plain")
    assert not set(FIELDS) & set(one)


@pytest.mark.parametrize(
    "fields",
    [
        {"context_window": {"maximum_tokens": 0}},
        {"context_window": {"maximum_tokens": 10, "unknown": 1}},
        {"context_window": {"maximum_tokens": 10, "sources": [{"url": "not a url"}]}},
        {"interaction_modes": {"telepathy": {"status": "supported"}}},
        {"interaction_modes": {"chat": {"status": "maybe"}}},
        {"interaction_modes": {"chat": {"status": "supported", "extra": True}}},
        {"capabilities": {"tool_calling": {"status": "supported", "sources": [{"url": "x", "y": 1}]}}},
        {"capabilities": {"mind_reading": {"status": "supported"}}},
    ],
)
def test_invalid_values_are_a_422_and_nothing_changes(
    client: Client, horde: Any, fields: dict[str, Any]
) -> None:
    response = send(client, "post", f"{V2}/{TEXT}/add", text_payload("Refused", **fields))
    assert response.status_code == 422, response.content
    [field] = fields
    assert all(item["loc"][:2] == ["body", field] for item in response.json()["detail"])
    assert not ChangeProposal.objects.exists()
    assert record_get(category=TEXT, name="Refused") is None


def test_an_update_converted_from_a_legacy_entry_keeps_them() -> None:
    record_create(
        category=TEXT, name="Alpha", payload=text_payload("Alpha", **FIELDS), actor=SYSTEM, source="sync"
    )
    record_update(
        category=TEXT,
        name="Alpha",
        payload=text_payload("Alpha", description="x"),
        actor=SYSTEM,
        source="sync",
    )
    record = record_get(category=TEXT, name="Alpha")
    assert record is not None and record.payload["description"] == "x"
    assert {key: record.payload[key] for key in FIELDS} == FIELDS


def test_a_reimport_of_the_legacy_files_keeps_them(
    real_reference: Path, django_capture_on_commit_callbacks: Any
) -> None:
    from sync.services import legacy_import

    record = ModelRecord.objects.filter(category=TEXT).order_by("name").first()
    assert record is not None
    record_update(
        category=TEXT, name=record.name, payload={**record.payload, **FIELDS}, actor=SYSTEM, source="api"
    )
    curated = record_get(category=TEXT, name=record.name)
    assert curated is not None
    with django_capture_on_commit_callbacks(execute=True):
        report = legacy_import(source=str(real_reference))
    assert report.ok, report.lines()
    after = record_get(category=TEXT, name=record.name)
    assert after is not None and after.version == curated.version
    assert {key: after.payload[key] for key in FIELDS} == FIELDS


def test_the_legacy_export_and_the_upstream_comparison_ignore_them() -> None:
    record_create(category=TEXT, name="Alpha", payload=text_payload("Alpha"), actor=SYSTEM, source="sync")
    before = copy.deepcopy(category_legacy_document(TEXT))
    plain = _record_state(record_get(category=TEXT, name="Alpha"))
    record_update(
        category=TEXT, name="Alpha", payload=text_payload("Alpha", **FIELDS), actor=SYSTEM, source="sync"
    )
    assert category_legacy_document(TEXT) == before
    assert _record_state(record_get(category=TEXT, name="Alpha")) == plain
