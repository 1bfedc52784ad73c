"""The 11 catalog routes: shapes as documented, bad input 4xx with nothing changed, auth, audit."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from django.test import Client

from audit.models import AuditEvent
from catalogs import selectors
from tests.catalogs.conftest import BASELINES, GUIDANCE, contract, fixture, recipe

pytestmark = pytest.mark.django_db

APPROVER: dict[str, Any] = {"HTTP_APIKEY": "approver-key"}
REQUESTOR: dict[str, Any] = {"HTTP_APIKEY": "requestor-key"}
READER: dict[str, Any] = {"HTTP_APIKEY": "reader-key"}


@pytest.fixture
def openapi(client: Client) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/api/openapi.json").json()
    return document


def assert_documented(openapi: dict[str, Any], path: str, method: str, response: Any) -> None:
    operation = openapi["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path}: {status} undocumented"
    content = operation["responses"][status].get("content")
    if content is None:
        return
    schema = content["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": openapi["components"]})
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(response.json())]
    assert not errors, errors


def post(client: Client, url: str, body: Any, **headers: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def chatml_change_set() -> dict[str, Any]:
    return {
        "title": "Publish ChatML",
        "profile_changes": [
            {"operation": "create", "profile_id": "chatml", "profile": contract("chatml")},
            {"operation": "create", "profile_id": "tools", "profile": recipe("tools")},
        ],
        "assignment_changes": [
            {
                "model_name": "Org/Chatty-7B",
                "assignment": {
                    "model_name": "Org/Chatty-7B",
                    "primary_profile_id": "chatml",
                    "supplemental_profile_ids": ["tools"],
                },
            }
        ],
    }


# --- reads -------------------------------------------------------------------------


def test_baseline_reads_answer_as_the_established_service(
    client: Client, baselines: dict[str, Any], openapi: dict[str, Any]
) -> None:
    page = client.get(f"{BASELINES}/")
    assert page.status_code == 200 and page.json() == fixture("image_baselines_page.json")
    assert page["ETag"] == 'W/"image-baselines-1"'
    assert_documented(openapi, f"{BASELINES}/", "get", page)
    one = client.get(f"{BASELINES}/flux_1")
    assert one.json() == fixture("image_baseline_flux_1.json")
    assert_documented(openapi, f"{BASELINES}/{{baseline_name}}", "get", one)
    export = client.get(f"{BASELINES}/export")
    assert json.dumps(export.json()) == json.dumps(baselines)
    assert_documented(openapi, f"{BASELINES}/export", "get", export)
    missing = client.get(f"{BASELINES}/nope")
    assert missing.status_code == 404 and missing.json() == {"detail": "Baseline 'nope' not found."}
    assert_documented(openapi, f"{BASELINES}/{{baseline_name}}", "get", missing)


def test_guidance_reads_of_an_empty_catalog_answer_as_the_established_service(client: Client) -> None:
    assert client.get(f"{GUIDANCE}/export").json() == fixture("text_guidance.json")
    assert client.get(f"{GUIDANCE}/profiles").json() == fixture("text_guidance_profiles.json")
    assert client.get(f"{GUIDANCE}/assignments").json() == fixture("text_guidance_assignments.json")


def test_the_routes_answer_without_the_api_prefix_too(client: Client, baselines: dict[str, Any]) -> None:
    for path in (f"{BASELINES}/", f"{BASELINES}/flux_1", f"{GUIDANCE}/profiles", f"{GUIDANCE}/export"):
        assert client.get(path.removeprefix("/api")).status_code == 200, path


def test_guidance_reads_after_a_change_set(
    client: Client, horde: Any, text_models: list[str], openapi: dict[str, Any]
) -> None:
    assert post(client, f"{GUIDANCE}/change-sets", chatml_change_set(), **APPROVER).status_code == 202
    profiles = client.get(f"{GUIDANCE}/profiles")
    assert [(p["profile_id"], p["assigned_model_count"]) for p in profiles.json()["items"]] == [
        ("chatml", 1),
        ("tools", 1),
    ]
    assert_documented(openapi, f"{GUIDANCE}/profiles", "get", profiles)
    profile = client.get(f"{GUIDANCE}/profiles/chatml")
    assert profile.json()["kind"] == "prompt_contract" and profile["ETag"] == 'W/"text-guidance-2"'
    assert_documented(openapi, f"{GUIDANCE}/profiles/{{profile_id}}", "get", profile)
    assignments = client.get(f"{GUIDANCE}/assignments", {"profile_id": "tools"})
    assert [a["model_name"] for a in assignments.json()["items"]] == ["Org/Chatty-7B"]
    assert_documented(openapi, f"{GUIDANCE}/assignments", "get", assignments)
    assert client.get(f"{GUIDANCE}/assignments", {"model_name": "Org/Plain-7B"}).json()["total"] == 0
    resolved = client.get(f"{GUIDANCE}/model", {"name": "Org/Chatty-7B"})
    assert resolved.json()["summary"]["status"] == "published"
    assert_documented(openapi, f"{GUIDANCE}/model", "get", resolved)
    export = client.get(f"{GUIDANCE}/export")
    assert export.json() == selectors.guidance_catalog()
    assert_documented(openapi, f"{GUIDANCE}/export", "get", export)


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        (f"{GUIDANCE}/model", {}, 422),
        (f"{GUIDANCE}/model", {"name": ""}, 422),
        (f"{GUIDANCE}/model", {"name": "Org/Missing"}, 404),
        (f"{GUIDANCE}/model", {"name": "a\x00b"}, 422),
        (f"{GUIDANCE}/profiles", {"include_deprecated": "maybe"}, 422),
        (f"{GUIDANCE}/profiles/nope", {}, 404),
        (f"{GUIDANCE}/assignments", {"model_name": "a\x00b"}, 422),
    ],
)
def test_bad_read_input_is_a_clear_4xx(
    client: Client, text_models: list[str], path: str, params: dict[str, str], status: int
) -> None:
    response = client.get(path, params)
    assert response.status_code == status and "detail" in response.json()


# --- change sets: auth ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        (f"{GUIDANCE}/change-sets", {}, 401),
        (f"{GUIDANCE}/change-sets", REQUESTOR, 403),
        (f"{GUIDANCE}/change-sets", READER, 403),
        (f"{BASELINES}/change-sets", {}, 401),
        (f"{BASELINES}/change-sets", REQUESTOR, 403),
        (f"{GUIDANCE}/migration/preview", {}, 401),
        (f"{GUIDANCE}/migration/preview", READER, 403),
    ],
)
def test_writes_need_the_role_and_change_nothing_otherwise(
    client: Client, horde: Any, text_models: list[str], path: str, headers: dict[str, Any], status: int
) -> None:
    events = AuditEvent.objects.count()
    response = post(client, path, chatml_change_set(), **headers)
    assert response.status_code == status and isinstance(response.json()["detail"], str)
    assert AuditEvent.objects.count() == events and selectors.guidance_assignments() == []


# --- change sets ---------------------------------------------------------------------


def test_a_guidance_change_set_is_applied_at_once_and_answers_the_change_record(
    client: Client, horde: Any, text_models: list[str], openapi: dict[str, Any]
) -> None:
    response = post(client, f"{GUIDANCE}/change-sets", chatml_change_set(), **APPROVER)
    assert response.status_code == 202
    assert_documented(openapi, f"{GUIDANCE}/change-sets", "post", response)
    record = response.json()
    assert record["status"] == "applied" and record["resource_kind"] == "text_guidance"
    assert record["requested_username"] == "bob#2" and record["related_models"] == ["Org/Chatty-7B"]
    event = AuditEvent.objects.get(sequence=record["change_id"])
    assert event.action == "catalogs.guidance_change_set_applied" and event.actor_display == "bob#2"
    assert event.model_name == record["model_name"] and event.source == "api"


def test_a_stale_change_set_is_409_and_changes_nothing(
    client: Client, horde: Any, text_models: list[str], openapi: dict[str, Any]
) -> None:
    post(client, f"{GUIDANCE}/change-sets", chatml_change_set(), **APPROVER)
    before = selectors.guidance_catalog()
    events = AuditEvent.objects.count()
    stale = chatml_change_set()  # written against the empty catalog: every expected_before is null
    stale["profile_changes"] = []
    response = post(client, f"{GUIDANCE}/change-sets", stale, **APPROVER)
    assert response.status_code == 409
    assert response.json() == {"detail": "Guidance assignment for 'Org/Chatty-7B' changed after review."}
    assert_documented(openapi, f"{GUIDANCE}/change-sets", "post", response)
    assert selectors.guidance_catalog() == before and AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "x" * 161},
        {"title": "t", "unknown": 1},
        {"title": "t", "profile_changes": [{"operation": "rename", "profile_id": "x"}]},
        {
            "title": "t",
            "profile_changes": [{"operation": "create", "profile_id": "x", "profile": {"kind": "other"}}],
        },
        {"title": "t", "profile_changes": "nope"},
        {
            "title": "t",
            "profile_changes": [{"operation": "create", "profile_id": "x" * 201, "profile": None}],
        },
        {"title": "t", "assignment_changes": [{"model_name": "m" * 256}]},
        {"title": "t\x00"},
        [],
        "text",
    ],
)
def test_malformed_guidance_change_sets_are_422(
    client: Client, horde: Any, body: Any, openapi: dict[str, Any]
) -> None:
    response = post(client, f"{GUIDANCE}/change-sets", body, **APPROVER)
    assert response.status_code == 422, response.content
    assert_documented(openapi, f"{GUIDANCE}/change-sets", "post", response)
    assert selectors.guidance_catalog() == fixture("text_guidance.json")


def test_malformed_json_is_422(client: Client, horde: Any) -> None:
    response = client.post(f"{BASELINES}/change-sets", data="{", content_type="application/json", **APPROVER)
    assert response.status_code == 422


def test_baseline_change_sets_over_http(
    client: Client, horde: Any, baselines: dict[str, Any], openapi: dict[str, Any]
) -> None:
    before = baselines["baselines"]["stable_cascade"]
    body = {
        "title": "Cascade costs more",
        "changes": [
            {
                "operation": "upsert",
                "name": "stable_cascade",
                "record": {**before, "horde_policy": {**before["horde_policy"], "kudos": 3}},
                "expected_before": before,
            }
        ],
    }
    response = post(client, f"{BASELINES}/change-sets", body, **APPROVER)
    assert response.status_code == 202 and response.json()["resource_kind"] == "image_baseline"
    assert_documented(openapi, f"{BASELINES}/change-sets", "post", response)
    assert client.get(f"{BASELINES}/stable_cascade").json()["horde_policy"]["kudos"] == 3
    # The same body again is stale now.
    again = post(client, f"{BASELINES}/change-sets", body, **APPROVER)
    assert again.status_code == 409
    unknown = post(
        client,
        f"{BASELINES}/change-sets",
        {"title": "t", "changes": [{"operation": "upsert", "name": "sd9", "record": {"name": "sd9"}}]},
        **APPROVER,
    )
    assert unknown.status_code == 422 and "record contract" in unknown.json()["detail"]
    assert_documented(openapi, f"{BASELINES}/change-sets", "post", unknown)
    assert AuditEvent.objects.filter(action="catalogs.baseline_change_set_applied").count() == 1


def test_migration_preview_over_http(
    client: Client, horde: Any, text_models: list[str], openapi: dict[str, Any]
) -> None:
    events = AuditEvent.objects.count()
    response = client.post(f"{GUIDANCE}/migration/preview", **REQUESTOR)
    assert response.status_code == 200
    assert_documented(openapi, f"{GUIDANCE}/migration/preview", "post", response)
    preview = response.json()
    assert preview["format_count"] == 2 and preview["change_set"]["title"]
    # Nothing is stored; and the preview is a change set an approver can submit as it is.
    assert AuditEvent.objects.count() == events and selectors.guidance_catalog() == fixture(
        "text_guidance.json"
    )
    applied = post(client, f"{GUIDANCE}/change-sets", preview["change_set"], **APPROVER)
    assert applied.status_code == 202
    assert client.post(f"{GUIDANCE}/migration/preview", **REQUESTOR).json()["change_set"] is None
