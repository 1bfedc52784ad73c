"""The OpenAPI document describes the answers the service really gives (issue #9, items 11-13).

Each test makes a real request and validates the real answer against the schema the
document gives for that operation and status code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.test import Client

from audit.services import Actor
from pending_queue.services import proposal_create_v2
from tests.factories import sd_payload

pytestmark = pytest.mark.django_db

V1 = "/api/model_references/v1"
V2 = "/api/model_references/v2"
QUEUE = f"{V2}/pending_queue"


@pytest.fixture
def openapi(client: Client) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = json.loads(response.content)
    return document


def assert_documented(openapi: dict[str, Any], path: str, method: str, response: Any) -> None:
    """The answer's status is documented for the operation and its JSON body fits that schema."""
    operation = openapi["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method.upper()} {path}: {status} is not documented"
    content = operation["responses"][status].get("content")
    if content is None:
        return
    schema = content["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": openapi["components"]})
    errors = [
        f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(response.json())
    ]
    assert not errors, f"{method.upper()} {path} -> {status}: {errors}"


# --- item 11: servers + paths are the real URLs ---------------------------------------------------


def test_documented_server_and_paths_compose_to_urls_the_service_answers(
    client: Client, openapi: dict[str, Any]
) -> None:
    [server] = openapi["servers"]
    for path, item in openapi["paths"].items():
        if "{" in path or "get" not in item:
            continue
        url = server["url"].rstrip("/") + path
        assert not url.startswith("/api/api/"), url
        response = client.get(url)
        assert response.status_code not in (404, 405), f"{url}: {response.status_code}"


# --- item 13: the schema routes never look at the apikey header ----------------------------------


@pytest.mark.parametrize(
    "path", ["/api/openapi.json", "/openapi.json", "/api/docs", "/docs", "/api/redoc", "/redoc"]
)
def test_schema_routes_answer_whatever_the_apikey(client: Client, path: str) -> None:
    # An unknown key, a non-ASCII one and a burst past the auth-check rate: none is checked.
    for apikey in ["unknown-key-0000000000", "ключ", *(f"burst-{n}" for n in range(40))]:
        response = client.get(path, headers={"apikey": apikey})
        assert response.status_code == 200, (apikey, response.status_code)


def test_unprefixed_schema_is_the_same_document(client: Client) -> None:
    assert client.get("/openapi.json").json() == client.get("/api/openapi.json").json()


# --- item 13: documented shapes are the answers ---------------------------------------------------


def test_model_categories_are_documented_as_the_list_they_are(
    client: Client, openapi: dict[str, Any]
) -> None:
    for version in (V1, V2):
        path = f"{version}/model_categories"
        response = client.get(path)
        assert isinstance(response.json(), list)
        assert_documented(openapi, path, "get", response)


@pytest.mark.parametrize(
    ("path", "template", "query"),
    [
        (f"{V1}/nope", "/api/model_references/v1/{model_category_name}", {}),  # detail is a string
        (f"{V2}/nope", "/api/model_references/v2/{model_category_name}", {}),  # detail is a list
        (f"{V2}/search", "/api/model_references/v2/search", {"limit": "0"}),
        (f"{V2}/search", "/api/model_references/v2/search", {"backend": "koboldcpp"}),
    ],
)
def test_422_bodies_fit_the_document(
    client: Client, openapi: dict[str, Any], path: str, template: str, query: dict[str, str]
) -> None:
    response = client.get(path, query)
    assert response.status_code == 422
    assert_documented(openapi, template, "get", response)


def test_the_diff_schema_accepts_null_states(openapi: dict[str, Any]) -> None:
    # A create has no current state, a delete no proposed one: null must match exactly once.
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/PendingChangeDiff", "components": openapi["components"]}
    )
    field = openapi["components"]["schemas"]["FieldDiff"]
    assert jsonschema.Draft202012Validator({**field, "components": openapi["components"]}).is_valid(
        {"field_path": "x", "old_value": None, "new_value": 1, "change_type": "added"}
    )
    errors = [
        error.message
        for error in validator.iter_errors(
            {
                "change_id": 1,
                "category": "image_generation",
                "model_name": "x",
                "operation": "create",
                "current_state": None,
                "proposed_state": {"name": "x"},
                "net_operation": "added",
                "field_diffs": [],
                "is_critical": False,
                "fields_added": 1,
                "fields_removed": 0,
                "fields_modified": 0,
                "base_version": None,
                "current_version": None,
                "is_stale": False,
            }
        )
    ]
    assert not errors


@pytest.fixture
def approver(horde: Any) -> dict[str, str]:
    return {"apikey": "approver-key"}


def test_curation_answers_fit_the_document(
    client: Client, openapi: dict[str, Any], approver: dict[str, str], real_reference: Path
) -> None:
    proposal = proposal_create_v2(
        category="image_generation",
        operation="create",
        body=sd_payload("Truth Model"),
        path_name=None,
        actor=Actor.system("test"),
    )
    # A page and a proposal with null approver / rejecter / applier.
    page = client.get(f"{QUEUE}/changes", headers=approver)
    assert page.status_code == 200
    assert_documented(openapi, "/api/model_references/v2/pending_queue/changes", "get", page)
    one = client.get(f"{QUEUE}/changes/{proposal.pk}", headers=approver)
    assert_documented(openapi, "/api/model_references/v2/pending_queue/changes/{change_id}", "get", one)
    diff = client.get(f"{QUEUE}/changes/{proposal.pk}/diff", headers=approver)
    assert diff.json()["current_state"] is None
    assert_documented(openapi, "/api/model_references/v2/pending_queue/changes/{change_id}/diff", "get", diff)

    # apply / apply_batch refusals before anything is applied answer {detail}.
    apply_unknown = client.post(
        f"{QUEUE}/apply", {"change_ids": [999999]}, "application/json", headers=approver
    )
    assert apply_unknown.status_code in (400, 404) and "detail" in apply_unknown.json()
    assert_documented(openapi, "/api/model_references/v2/pending_queue/apply", "post", apply_unknown)
    batch_unknown = client.post(f"{QUEUE}/apply_batch/999999", headers=approver)
    assert batch_unknown.status_code == 404
    assert_documented(
        openapi, "/api/model_references/v2/pending_queue/apply_batch/{batch_id}", "post", batch_unknown
    )

    # change_id=0 is 422 on withdraw and rebase; a non-JSON body is 415.
    for action in ("withdraw", "rebase"):
        zero = client.post(f"{QUEUE}/changes/0/{action}", headers=approver)
        assert zero.status_code == 422
        assert_documented(
            openapi, f"/api/model_references/v2/pending_queue/changes/{{change_id}}/{action}", "post", zero
        )
    form = client.post(
        f"{QUEUE}/purge", "purge_all=true", "application/x-www-form-urlencoded", headers=approver
    )
    assert form.status_code == 415
    assert_documented(openapi, "/api/model_references/v2/pending_queue/purge", "post", form)
    text = client.post(f"{V2}/image_generation/add", "name=x", "text/plain", headers=approver)
    assert text.status_code == 415
    assert_documented(openapi, "/api/model_references/v2/{model_category_name}/add", "post", text)


def test_every_operation_documents_503_with_retry_after(openapi: dict[str, Any]) -> None:
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            unavailable = operation["responses"].get("503")
            assert unavailable is not None, f"{method.upper()} {path}"
            assert "Retry-After" in unavailable.get("headers", {}), f"{method.upper()} {path}"


def test_too_many_query_parameters_is_a_documented_json_400(
    client: Client, openapi: dict[str, Any], horde: Any
) -> None:
    # Django's own refusal (DATA_UPLOAD_MAX_NUMBER_FIELDS) used to be an HTML page.
    query = "&".join(f"tags_any={n}" for n in range(1100))
    search = client.get(f"{V2}/search?{query}")
    assert search.status_code == 400 and "Bad Request" in search.json()["detail"]
    assert_documented(openapi, "/api/model_references/v2/search", "get", search)
    diffs = client.get(
        f"{QUEUE}/diffs?" + "&".join(f"change_ids={n}" for n in range(1, 1100)),
        headers={"apikey": "reader-key"},
    )
    assert diffs.status_code == 400
    assert_documented(openapi, "/api/model_references/v2/pending_queue/diffs", "get", diffs)
