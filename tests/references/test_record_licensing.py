"""Licensing on every record and the text guidance reference (issue #15, the record).

Facts come from the established library, recorded by
``scripts/record_established_licensing.py`` into
``fixtures/established_8_6_2_licensing.json``: what its v2 routes serve for real
records imported from the legacy files, write bodies built with its record models,
and the licensing blocks its models refuse.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from audit.services import Actor
from common.diff import change_diff
from pending_queue.models import ChangeProposal
from pending_queue.services import proposal_create_v1
from references.selectors import category_entries, record_get
from sync.services.upstream import _record_state
from tests.factories import category_legacy_document, sd_legacy, sd_payload
from tests.record_writes import record_create, record_update

pytestmark = pytest.mark.django_db

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "established_8_6_2_licensing.json").read_text())
V1 = "/api/model_references/v1"
V2 = "/api/model_references/v2"
QUEUE = f"{V2}/pending_queue"
SD = "image_generation"
TEXT = "text_generation"
SYSTEM = Actor.system("test")
REQUESTOR = Actor(kind="horde", id="1", display_name="alice#1")

MIT: dict[str, Any] = {
    "license_expression": "MIT",
    "license_ids": ["MIT"],
    "commercial_use": "allowed",
    "redistribution": "allowed",
    "obligations": ["attribution"],
    "evidence": [],
    "files": {},
}


def send(client: Client, method: str, url: str, body: Any = None, key: str = "requestor-key") -> Any:
    data = None if body is None else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json", HTTP_APIKEY=key)


def approve_and_apply(client: Client, change_id: int, capture: Any) -> None:
    review = send(
        client,
        "post",
        f"{QUEUE}/batches",
        {"batch_title": "review", "approved_ids": [change_id], "rejected_ids": []},
        key="approver-key",
    )
    assert review.status_code == 200, review.content
    with capture(execute=True):
        applied = send(client, "post", f"{QUEUE}/apply", {"change_ids": [change_id]}, key="approver-key")
    assert applied.status_code == 200, applied.content
    assert [change["status"] for change in applied.json()["applied"]] == ["applied"]


def served(client: Client, category: str, name: str) -> dict[str, Any]:
    response = client.get(f"{V2}/{category}/model/{name}")
    assert response.status_code == 200, response.content
    record: dict[str, Any] = response.json()
    return record


# --- what imported records are served with --------------------------------------------------


def test_imported_records_equal_the_established_ones_field_for_field(
    client: Client, real_reference: Path
) -> None:
    """Our v2 documents of the real data equal what 8.6.2 serves for them, licensing included."""
    for category, records in FIXTURE["served_records"].items():
        document = client.get(f"{V2}/{category}").json()
        for name, established in records.items():
            assert document[name] == established, (category, name)
            assert served(client, category, name) == established, (category, name)


def test_every_imported_record_is_served_with_the_established_default(
    client: Client, real_reference: Path
) -> None:
    default = FIXTURE["served_default_licensing"]
    text = client.get(f"{V2}/{TEXT}").json()
    images = client.get(f"{V2}/{SD}").json()
    assert text and images
    assert all(record["licensing"] == default for record in [*text.values(), *images.values()])
    # The default is served, never stored: the records imported from legacy files hold
    # no licensing, so nothing here claims a review happened.
    assert all("licensing" not in entry.payload for entry in category_entries(category=SD))
    # Text records carry the guidance reference 8.6.2 derives from the legacy label.
    for name, record in text.items():
        label = (record.get("instruct_format") or "").strip()
        assert record["guidance"] == {
            "status": "legacy_label" if label else "undocumented",
            "primary_profile_id": None,
            "supplemental_profile_ids": [],
        }, name


def test_search_serves_the_licensing_too(client: Client, real_reference: Path) -> None:
    response = client.get(f"{V2}/{SD}/search", {"baseline": "stable_diffusion_xl"})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    default = FIXTURE["served_default_licensing"]
    assert results and all(record["licensing"] == default for record in results)


# --- the established write flow ------------------------------------------------------------


def test_an_established_write_flow_replays_end_to_end(
    client: Client, horde: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """create → approve → apply → update → approve → apply → delete, bodies as 8.6.2 sends them."""
    flow = FIXTURE["write_flow"]["image_generation"]
    name = flow["name"]
    created = send(client, "post", f"{V2}/{SD}/add", flow["create"])
    assert created.status_code == 202, created.content
    approve_and_apply(client, created.json()["change_id"], django_capture_on_commit_callbacks)
    record = served(client, SD, name)
    assert record["licensing"] == flow["create"]["licensing"]
    for field in ("description", "baseline", "nsfw", "config"):
        assert record[field] == flow["create"][field]
    v1_record = json.loads(client.get(f"{V1}/stable_diffusion").content)[name]
    assert "licensing" not in v1_record  # the legacy shape has no place for it

    updated = send(client, "put", f"{V2}/{SD}/model/{name}", flow["update"])
    assert updated.status_code == 202, updated.content
    change_id = updated.json()["change_id"]
    diff = send(client, "get", f"{QUEUE}/changes/{change_id}/diff", key="approver-key").json()
    assert diff["is_critical"] is True
    assert any(d["field_path"].startswith("licensing") for d in diff["field_diffs"])
    approve_and_apply(client, change_id, django_capture_on_commit_callbacks)
    record = served(client, SD, name)
    assert record["licensing"] == flow["update"]["licensing"]
    assert record["licensing"]["files"]["licensed_vae.safetensors"]["license_expression"] == "MIT"
    assert record["description"] == flow["update"]["description"]

    deleted = send(client, "delete", f"{V2}/{SD}/model/{name}")
    assert deleted.status_code == 202, deleted.content
    approve_and_apply(client, deleted.json()["change_id"], django_capture_on_commit_callbacks)
    assert client.get(f"{V2}/{SD}/model/{name}").status_code == 404


def test_an_established_text_create_keeps_its_licensing(
    client: Client, horde: Any, django_capture_on_commit_callbacks: Any
) -> None:
    flow = FIXTURE["write_flow"]["text_generation"]
    created = send(client, "post", f"{V2}/{TEXT}/add", flow["create"])
    assert created.status_code == 202, created.content
    approve_and_apply(client, created.json()["change_id"], django_capture_on_commit_callbacks)
    record = served(client, TEXT, flow["name"])
    assert record["licensing"] == flow["create"]["licensing"]
    assert record["guidance"]["status"] == "legacy_label"
    assert record["metadata"]["schema_version"] == flow["create"]["metadata"]["schema_version"] == "2.1.0"


def test_a_v2_create_without_licensing_stores_the_established_not_supplied_conclusion(
    client: Client, horde: Any, django_capture_on_commit_callbacks: Any
) -> None:
    flow = FIXTURE["write_flow"]["image_generation_without_licensing"]
    assert "licensing" not in flow["create"]
    created = send(client, "post", f"{V2}/{SD}/add", flow["create"])
    assert created.status_code == 202, created.content
    approve_and_apply(client, created.json()["change_id"], django_capture_on_commit_callbacks)
    stored = record_get(category=SD, name=flow["name"])
    assert stored is not None
    assert stored.payload["licensing"] == FIXTURE["write_flow"]["stored_default_on_create"]


def test_guidance_sent_back_by_a_client_is_not_stored(client: Client, horde: Any) -> None:
    body = {"name": "Example/Echo-7B", "parameters": 7, "guidance": {"status": "published"}}
    created = send(client, "post", f"{V2}/{TEXT}/add", body)
    assert created.status_code == 202, created.content
    proposal = ChangeProposal.objects.get(id=created.json()["change_id"])
    assert proposal.payload is not None and "guidance" not in proposal.payload


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", FIXTURE["refused"], ids=lambda case: json.dumps(case["licensing"]))
def test_licensing_the_established_models_refuse_is_a_422_and_changes_nothing(
    client: Client, horde: Any, case: dict[str, Any]
) -> None:
    body = sd_payload("Refused", licensing=case["licensing"])
    response = send(client, "post", f"{V2}/{SD}/add", body)
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    assert all(item["loc"][:2] == ["body", "licensing"] and item["msg"] for item in detail)
    assert not ChangeProposal.objects.exists()


def test_an_invalid_spdx_expression_names_the_field(client: Client, horde: Any) -> None:
    body = sd_payload("Refused", licensing={**MIT, "license_expression": "MIT OR"})
    response = send(client, "post", f"{V2}/{SD}/add", body)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "licensing", "license_expression"],
            "msg": "Invalid SPDX license expression: 'MIT OR'",
            "type": "value_error",
        }
    ]


def test_a_file_override_is_checked_too(client: Client, horde: Any) -> None:
    payload = sd_payload("Refused")
    file_name = payload["config"]["download"][0]["file_name"]
    override = {**MIT, "license_ids": ["Apache-2.0"]}
    del override["files"]
    body = {**payload, "licensing": {**MIT, "files": {file_name: override}}}
    response = send(client, "post", f"{V2}/{SD}/add", body)
    assert response.status_code == 422, response.content
    [item] = response.json()["detail"]
    assert item["loc"] == ["body", "licensing", "files", file_name, "license_ids"]
    undeclared = {**payload, "licensing": {**MIT, "files": {"not-a-download.bin": MIT | {"files": None}}}}
    undeclared["licensing"]["files"]["not-a-download.bin"].pop("files")
    response = send(client, "post", f"{V2}/{SD}/add", undeclared)
    assert response.status_code == 422
    assert "not declared downloads" in json.dumps(response.json())
    assert not ChangeProposal.objects.exists()


def test_licensing_ref_identifiers_are_accepted(client: Client, horde: Any) -> None:
    licensing = {
        **MIT,
        "license_expression": "LicenseRef-custom OR MIT",
        "license_ids": ["LicenseRef-custom", "MIT"],
    }
    response = send(client, "post", f"{V2}/{SD}/add", sd_payload("Custom", licensing=licensing))
    assert response.status_code == 202, response.content


# --- what a write without licensing does ------------------------------------------------------------


def _existing_with_mit(name: str = "Alpha") -> None:
    record_create(
        category=SD, name=name, payload=sd_payload(name, licensing=MIT), actor=SYSTEM, source="sync"
    )


def test_a_v2_update_without_licensing_keeps_it_and_null_is_refused(client: Client, horde: Any) -> None:
    _existing_with_mit()
    body = sd_payload("Alpha", description="edited")
    kept = send(client, "put", f"{V2}/{SD}/model/Alpha", body)
    assert kept.status_code == 202, kept.content
    proposal = ChangeProposal.objects.get(id=kept.json()["change_id"])
    assert proposal.payload is not None and proposal.payload["licensing"] == MIT
    ChangeProposal.objects.all().delete()
    cleared = send(client, "put", f"{V2}/{SD}/model/Alpha", {**body, "licensing": None})
    assert cleared.status_code == 422
    assert cleared.json()["detail"][0]["loc"] == ["body", "licensing"]
    assert not ChangeProposal.objects.exists()


def test_a_v2_update_of_a_legacy_record_stores_the_established_legacy_conclusion(
    client: Client, horde: Any
) -> None:
    record_create(category=SD, name="Alpha", payload=sd_payload("Alpha"), actor=SYSTEM, source="sync")
    response = send(client, "put", f"{V2}/{SD}/model/Alpha", sd_payload("Alpha", description="edited"))
    assert response.status_code == 202, response.content
    proposal = ChangeProposal.objects.get(id=response.json()["change_id"])
    assert proposal.payload is not None
    assert proposal.payload["licensing"] == FIXTURE["write_flow"]["stored_default_on_legacy_update"]


def test_a_v1_update_keeps_the_licensing_and_its_diff_shows_no_licensing_change(
    client: Client, horde: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _existing_with_mit()
    response = send(client, "put", f"{V1}/{SD}", sd_legacy("Alpha", description="from v1"))
    assert response.status_code == 202, response.content
    change_id = response.json()["change_id"]
    diff = send(client, "get", f"{QUEUE}/changes/{change_id}/diff", key="approver-key").json()
    assert not any(d["field_path"].startswith("licensing") for d in diff["field_diffs"])
    approve_and_apply(client, change_id, django_capture_on_commit_callbacks)
    record = served(client, SD, "Alpha")
    assert record["description"] == "from v1" and record["licensing"] == MIT


def test_a_v1_proposal_made_by_the_service_keeps_the_licensing() -> None:
    _existing_with_mit()
    proposal = proposal_create_v1(
        category=SD,
        operation="update",
        body=sd_legacy("Alpha", description="x"),
        path_name=None,
        actor=REQUESTOR,
    )
    assert proposal.payload is not None and proposal.payload["licensing"] == MIT


def test_a_reimport_of_the_legacy_files_keeps_curated_licensing(
    real_reference: Path, django_capture_on_commit_callbacks: Any
) -> None:
    from sync.services import legacy_import

    record = record_get(category=SD, name="stable_diffusion")
    assert record is not None
    payload = {**record.payload, "licensing": MIT}
    record_update(category=SD, name="stable_diffusion", payload=payload, actor=SYSTEM, source="api")
    curated = record_get(category=SD, name="stable_diffusion")
    assert curated is not None
    with django_capture_on_commit_callbacks(execute=True):
        report = legacy_import(source=str(real_reference))
    assert report.ok, report.lines()
    after = record_get(category=SD, name="stable_diffusion")
    assert after is not None and after.payload["licensing"] == MIT and after.version == curated.version


def test_a_direct_update_without_licensing_keeps_it() -> None:
    _existing_with_mit()
    record_update(
        category=SD, name="Alpha", payload=sd_payload("Alpha", description="x"), actor=SYSTEM, source="sync"
    )
    record = record_get(category=SD, name="Alpha")
    assert record is not None and record.payload["licensing"] == MIT and record.payload["description"] == "x"


def test_the_legacy_export_is_unchanged_by_licensing() -> None:
    record_create(category=SD, name="Alpha", payload=sd_payload("Alpha"), actor=SYSTEM, source="sync")
    before = copy.deepcopy(category_legacy_document(SD))
    record_update(
        category=SD, name="Alpha", payload=sd_payload("Alpha", licensing=MIT), actor=SYSTEM, source="sync"
    )
    assert category_legacy_document(SD) == before


def test_upstream_compares_records_without_their_licensing() -> None:
    """A record here differs from upstream's only by licensing: not a change made here."""
    record_create(category=SD, name="Alpha", payload=sd_payload("Alpha"), actor=SYSTEM, source="sync")
    plain = _record_state(record_get(category=SD, name="Alpha"))
    record_update(
        category=SD, name="Alpha", payload=sd_payload("Alpha", licensing=MIT), actor=SYSTEM, source="sync"
    )
    assert _record_state(record_get(category=SD, name="Alpha")) == plain


def test_licensing_changes_are_critical_in_every_category() -> None:
    for category in (SD, TEXT, "clip", "miscellaneous"):
        diff = change_diff(
            category=category,
            model_name="x",
            operation="update",
            current={"name": "x", "licensing": MIT},
            proposed={"name": "x", "licensing": {**MIT, "commercial_use": "prohibited"}},
        )
        assert diff.is_critical, category


def test_the_2_1_migration_gives_every_category_a_new_revision_and_etag() -> None:
    """Served bytes changed with no record changing: cached ETags from 2.0 must not match."""
    import importlib

    from django.apps import apps

    from references.models import CategoryState

    record_create(category=SD, name="Alpha", payload=sd_payload("Alpha"), actor=SYSTEM, source="sync")
    before = CategoryState.objects.get(category=SD)
    migration = importlib.import_module("references.migrations.0003_served_shape_2_1")
    migration.new_revisions(apps, None)
    after = CategoryState.objects.get(category=SD)
    assert after.revision == before.revision + 1 and after.etag != before.etag


@pytest.mark.parametrize("expression", ["()", "( AND MIT", "MIT AND ()", "(", ">", "", "  "])
def test_expressions_that_crash_the_parser_are_a_422(client: Client, horde: Any, expression: str) -> None:
    """``license-expression`` raises IndexError / AssertionError on some input: still a 422."""
    body = sd_payload("Refused", licensing={**MIT, "license_expression": expression})
    response = send(client, "post", f"{V2}/{SD}/add", body)
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"][:2] == ["body", "licensing"]
    assert not ChangeProposal.objects.exists()


def test_a_v1_body_carrying_licensing_stores_it_beside_the_legacy_fields(
    client: Client, horde: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """8.6.2's legacy records may carry licensing: accepted, checked, stored in v2 only."""
    _existing_with_mit()
    apache = {**MIT, "license_expression": "Apache-2.0", "license_ids": ["Apache-2.0"]}
    bad = send(
        client, "put", f"{V1}/{SD}", {**sd_legacy("Alpha"), "licensing": {**apache, "license_ids": []}}
    )
    assert bad.status_code == 422, bad.content
    assert bad.json()["detail"][0]["loc"][:2] == ["body", "licensing"]
    assert not ChangeProposal.objects.exists()
    response = send(
        client, "put", f"{V1}/{SD}", {**sd_legacy("Alpha", description="v1"), "licensing": apache}
    )
    assert response.status_code == 202, response.content
    proposal = ChangeProposal.objects.get(id=response.json()["change_id"])
    assert proposal.payload is not None and proposal.payload["licensing"] == apache
    assert "licensing" not in (proposal.legacy_residue or {})
    approve_and_apply(client, proposal.id, django_capture_on_commit_callbacks)
    assert served(client, SD, "Alpha")["licensing"] == apache
    assert "licensing" not in json.loads(client.get(f"{V1}/stable_diffusion").content)["Alpha"]
