"""``PUT v1/{category}/model/{name}/metadata``: approvers correct a record's provenance.

Approver-only, applied at once (no proposal), versioned and audited; every refusal
changes nothing (same version, no audit event, no proposal).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor
from horde_model_reference.model_reference_records import SCHEMA_VERSION
from pending_queue.models import ChangeProposal
from references.replay import replay_compare_live
from references.selectors import record_get
from references.services import METADATA_CORRECTED_ACTION
from tests.factories import sd_payload
from tests.record_writes import record_create

pytestmark = pytest.mark.django_db

V1 = "/api/model_references/v1"
V2 = "/api/model_references/v2"
SD = "image_generation"
ESRGAN = "esrgan"
TEXT = "text_generation"
SYSTEM = Actor.system("test")
URL = f"{V1}/{SD}/model/Alpha/metadata"


def send(client: Client, method: str, url: str, body: Any = None, key: str | None = "approver-key") -> Any:
    headers: dict[str, Any] = {"HTTP_APIKEY": key} if key else {}
    data = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json", **headers)


def existing(name: str = "Alpha", category: str = SD, payload: dict[str, Any] | None = None) -> None:
    record_create(
        category=category, name=name, payload=payload or sd_payload(name), actor=SYSTEM, source="sync"
    )


def snapshot() -> tuple[Any, ...]:
    """Everything a refused correction must leave as it was."""
    record = record_get(category=SD, name="Alpha")
    assert record is not None
    return record.version, record.payload, AuditEvent.objects.count(), ChangeProposal.objects.count()


def test_an_approver_corrects_metadata_at_once(client: Client, horde: Any) -> None:
    existing()
    before = record_get(category=SD, name="Alpha")
    assert before is not None
    response = send(client, "put", URL, {"created_at": 1_700_000_000, "created_by": "alice"})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "model_name": "Alpha",
        "category": SD,
        "metadata": {
            "schema_version": SCHEMA_VERSION,
            "created_at": 1_700_000_000,
            "updated_at": None,
            "created_by": "alice",
            "updated_by": None,
        },
    }
    after = record_get(category=SD, name="Alpha")
    assert after is not None and after.version > before.version
    assert after.payload["metadata"] == {"created_at": 1_700_000_000, "created_by": "alice"}
    # Served at once, through the same documents as every change.
    served = client.get(f"{V2}/{SD}/model/Alpha").json()
    assert served["metadata"] == {"created_at": 1_700_000_000, "created_by": "alice"}
    assert ChangeProposal.objects.count() == 0  # not queued: provenance is not content review


def test_the_correction_is_audited(client: Client, horde: Any) -> None:
    existing()
    start = AuditEvent.objects.count()
    assert send(client, "put", URL, {"updated_by": "bob"}).status_code == 200
    updated, corrected = AuditEvent.objects.filter(sequence__gt=start).order_by("sequence")
    assert updated.action == "record.updated" and (updated.category, updated.model_name) == (SD, "Alpha")
    assert updated.after["payload"]["metadata"] == {"updated_by": "bob"}
    assert "metadata" not in updated.before["payload"]
    assert corrected.action == METADATA_CORRECTED_ACTION
    assert corrected.details == {"fields": {"updated_by": "bob"}}
    for event in (updated, corrected):
        assert (event.actor_kind, event.actor_id, event.actor_display, event.source) == (
            "horde",
            "2",
            "bob#2",
            "api",
        )
    assert audit_chain_verify().ok
    assert replay_compare_live().ok  # the trail alone rebuilds the corrected record


def test_only_the_given_fields_change_and_null_clears_one(client: Client, horde: Any) -> None:
    existing()
    send(client, "put", URL, {"created_at": 10, "created_by": "alice", "updated_by": "bob"})
    response = send(client, "put", URL, {"updated_at": 20, "updated_by": None})
    assert response.status_code == 200, response.content
    assert response.json()["metadata"] == {
        "schema_version": SCHEMA_VERSION,
        "created_at": 10,
        "updated_at": 20,
        "created_by": "alice",
        "updated_by": None,
    }
    record = record_get(category=SD, name="Alpha")
    assert record is not None and record.payload["metadata"] == {
        "created_at": 10,
        "updated_at": 20,
        "created_by": "alice",
    }


def test_a_correction_that_changes_nothing_writes_nothing(client: Client, horde: Any) -> None:
    existing()
    send(client, "put", URL, {"created_by": "alice"})
    before = snapshot()
    response = send(client, "put", URL, {"created_by": "alice"})
    assert response.status_code == 200 and response.json()["metadata"]["created_by"] == "alice"
    assert snapshot() == before


def test_other_categories_keep_their_full_payload_shape(client: Client, horde: Any) -> None:
    payload = {"name": "RealESRGAN_x4plus", "description": "upscaler"}
    existing("RealESRGAN_x4plus", ESRGAN, payload)
    response = send(client, "put", f"{V1}/{ESRGAN}/model/RealESRGAN_x4plus/metadata", {"created_at": 5})
    assert response.status_code == 200, response.content
    record = record_get(category=ESRGAN, name="RealESRGAN_x4plus")
    assert record is not None
    assert record.payload["metadata"] == {"schema_version": SCHEMA_VERSION, "created_at": 5}
    assert record.payload["description"] == "upscaler"


def test_the_unprefixed_mount_answers_too(client: Client, horde: Any) -> None:
    existing()
    response = send(client, "put", f"/model_references/v1/{SD}/model/Alpha/metadata", {"created_at": 1})
    assert response.status_code == 200, response.content


def test_a_name_with_slashes(client: Client, horde: Any) -> None:
    existing("org/Alpha")
    response = send(client, "put", f"{V1}/{SD}/model/org/Alpha/metadata", {"created_at": 1})
    assert response.status_code == 200, response.content
    assert response.json()["model_name"] == "org/Alpha"


def test_a_proposal_written_before_a_correction_is_a_conflict(client: Client, horde: Any) -> None:
    # The proposal carries the metadata it saw; applying it would silently undo the
    # correction, so it is stale (409) and the approver re-bases it (DECISIONS 5).
    existing()
    proposal = send(
        client, "put", f"{V2}/{SD}/model/Alpha", sd_payload("Alpha", description="new"), key="requestor-key"
    ).json()
    assert send(client, "put", URL, {"created_by": "alice"}).status_code == 200
    batch = send(
        client,
        "post",
        f"{V2}/pending_queue/batches",
        {"batch_title": "review", "approved_ids": [proposal["change_id"]]},
    )
    assert batch.status_code == 200, batch.content
    applied = send(client, "post", f"{V2}/pending_queue/changes/{proposal['change_id']}/apply")
    assert applied.status_code == 409, applied.content
    record = record_get(category=SD, name="Alpha")
    assert record is not None and record.payload["metadata"] == {"created_by": "alice"}


# --- auth comes first ------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "no-such-key"])
def test_anonymous_or_invalid_key_is_401(client: Client, horde: Any, key: str | None) -> None:
    existing()
    before = snapshot()
    response = send(client, "put", URL, {"created_at": 1}, key=key)
    assert response.status_code == 401
    assert isinstance(response.json()["detail"], str)
    assert snapshot() == before


def test_missing_model_is_401_for_anonymous_callers(client: Client, horde: Any) -> None:
    # Auth before existence: an anonymous caller cannot probe which models exist.
    response = send(client, "put", f"{V1}/{SD}/model/Nope/metadata", {"created_at": 1}, key=None)
    assert response.status_code == 401


@pytest.mark.parametrize("key", ["requestor-key", "reader-key"])
def test_non_approvers_are_403(client: Client, horde: Any, key: str) -> None:
    existing()
    before = snapshot()
    response = send(client, "put", URL, {"created_at": 1}, key=key)
    assert response.status_code == 403
    assert response.json() == {"detail": "You are not on the pending queue approver list."}
    assert snapshot() == before


def test_no_approvers_configured_is_403_without_asking_the_horde(
    client: Client, horde: Any, settings: Any
) -> None:
    existing()
    settings.APPROVER_IDS = []
    response = send(client, "put", URL, {"created_at": 1})
    assert response.status_code == 403 and "disabled by configuration" in response.json()["detail"]
    assert horde.lookups() == 0


# --- bad input: a clear 4xx, nothing changed ------------------------------------------


def test_missing_record_is_404(client: Client, horde: Any) -> None:
    existing()
    before = snapshot()
    response = send(client, "put", f"{V1}/{SD}/model/Nope/metadata", {"created_at": 1})
    assert response.status_code == 404
    assert response.json() == {"detail": "Model 'Nope' not found in category 'image_generation'"}
    assert snapshot() == before


def test_empty_body_is_400(client: Client, horde: Any) -> None:
    existing()
    before = snapshot()
    response = send(client, "put", URL, {})
    assert response.status_code == 400
    assert response.json() == {"detail": "At least one metadata field must be provided."}
    assert snapshot() == before


def test_text_generation_has_no_per_record_metadata(client: Client, horde: Any) -> None:
    existing("org/Model-7B", TEXT, {"name": "org/Model-7B", "parameters": 7_000_000_000, "baseline": "llama"})
    record = record_get(category=TEXT, name="org/Model-7B")
    assert record is not None
    response = send(client, "put", f"{V1}/{TEXT}/model/org/Model-7B/metadata", {"created_at": 1})
    assert response.status_code == 400
    assert "does not carry per-record metadata" in response.json()["detail"]
    after = record_get(category=TEXT, name="org/Model-7B")
    assert after is not None and after.version == record.version


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        ([], ["body"], "dict_type"),
        ('"text"', ["body"], "dict_type"),
        ({"created_at": "1700000000"}, ["body", "created_at"], "int_type"),
        ({"created_at": True}, ["body", "created_at"], "int_type"),
        ({"created_at": 1.5}, ["body", "created_at"], "int_type"),
        ({"updated_at": -1}, ["body", "updated_at"], "int_out_of_range"),
        ({"updated_at": 2**63}, ["body", "updated_at"], "int_out_of_range"),
        ({"created_by": 7}, ["body", "created_by"], "string_type"),
        ({"created_by": "a\x00b"}, ["body", "created_by"], "string_invalid"),
        ({"schema_version": "3.0.0"}, ["body", "schema_version"], "extra_forbidden"),
        ({"created_at": 1, "owner": "x"}, ["body", "owner"], "extra_forbidden"),
    ],
)
def test_bad_bodies_are_422(client: Client, horde: Any, body: Any, loc: list[str], kind: str) -> None:
    existing()
    before = snapshot()
    response = send(client, "put", URL, body)
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert isinstance(detail, list) and {"loc": loc, "type": kind} in [
        {"loc": item["loc"], "type": item["type"]} for item in detail
    ]
    assert snapshot() == before


def test_malformed_json_is_422(client: Client, horde: Any) -> None:
    existing()
    before = snapshot()
    response = send(client, "put", URL, "{not json")
    assert response.status_code == 422
    assert snapshot() == before


def test_unknown_category_is_422(client: Client, horde: Any) -> None:
    response = send(client, "put", f"{V1}/no_such_category/model/Alpha/metadata", {"created_at": 1})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "model_category_name"]


def test_get_is_405_with_allow_not_401(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == {"PUT", "DELETE", "OPTIONS"}


def test_delete_still_reaches_a_record_named_x_slash_metadata(client: Client, horde: Any) -> None:
    # Names may contain "/": the v1 model path's DELETE of "org/metadata" keeps working.
    existing("org/metadata")
    response = send(client, "delete", f"{V1}/{SD}/model/org/metadata", key="requestor-key")
    assert response.status_code == 202, response.content
    assert response.json()["model_name"] == "org/metadata"
