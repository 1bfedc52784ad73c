"""Queued writes through v1 and v2: 202 with the pending-change record, and every refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from audit.services import Actor
from pending_queue.models import ChangeProposal, Status
from references.selectors import record_get
from tests.factories import sd_legacy, sd_payload
from tests.record_writes import record_create

pytestmark = pytest.mark.django_db

V1 = "/api/model_references/v1"
V2 = "/api/model_references/v2"
QUEUE = f"{V2}/pending_queue"
SD = "image_generation"
TEXT = "text_generation"
SYSTEM = Actor.system("test")


def send(client: Client, method: str, url: str, body: Any = None, key: str | None = "requestor-key") -> Any:
    headers: dict[str, Any] = {"HTTP_APIKEY": key} if key else {}
    data = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json", **headers)


def existing(name: str = "Alpha", category: str = SD, payload: dict[str, Any] | None = None) -> None:
    record_create(
        category=category, name=name, payload=payload or sd_payload(name), actor=SYSTEM, source="sync"
    )


def text_payload(name: str) -> dict[str, Any]:
    return {"name": name, "parameters": 7_000_000_000, "baseline": "llama", "nsfw": False}


# --- success paths ------------------------------------------------------------------

WRITE_CASES = [
    # (method, url, body, operation, route)
    ("post", f"{V1}/{SD}", sd_legacy("Fresh"), "create", "create_legacy_image_generation_model"),
    (
        "put",
        f"{V1}/{SD}",
        sd_legacy("Alpha", description="new"),
        "update",
        "update_legacy_image_generation_model",
    ),
    ("delete", f"{V1}/{SD}/model/Alpha", None, "delete", "delete_legacy_model"),
    ("post", f"{V2}/{SD}/add", sd_payload("Fresh"), "create", "create_v2_model"),
    ("post", f"{V2}/{SD}", sd_payload("Fresh"), "create", "create_v2_image_generation"),
    (
        "put",
        f"{V2}/{SD}/model/Alpha",
        sd_payload("Alpha", description="new"),
        "update",
        "update_v2_image_generation",
    ),
    ("delete", f"{V2}/{SD}/model/Alpha", None, "delete", "delete_v2_model"),
]


@pytest.mark.parametrize(("method", "url", "body", "operation", "route"), WRITE_CASES)
def test_writes_are_queued_with_202_and_the_compact_record(
    client: Client, horde: Any, method: str, url: str, body: Any, operation: str, route: str
) -> None:
    existing("Alpha")
    before = record_get(category=SD, name="Alpha")
    response = send(client, method, url, body)
    assert response.status_code == 202, response.content
    record = response.json()
    assert None not in record.values()  # compact: nulls omitted
    assert record["operation"] == operation and record["status"] == "pending"
    assert record["category"] == SD and record["request_metadata"]["route"] == route
    assert record["requested_by"] == "1" and record["requested_username"] == "alice#1"
    assert record["requester"] == {"kind": "horde", "id": "1", "display_name": "alice#1"}
    assert record["submitted_format"] == ("v1" if "/v1/" in url else "v2")
    assert isinstance(record["requested_at"], int) and "batch_id" not in record
    # Nothing changes until applied.
    assert ChangeProposal.objects.get().pk == record["change_id"]
    assert record_get(category=SD, name="Fresh") is None
    after = record_get(category=SD, name="Alpha")
    assert after is not None and before is not None and after.version == before.version
    if operation == "delete":
        assert record["payload"] == before.payload
    else:
        assert record["payload"]["baseline"] == "stable_diffusion_xl"


def test_unprefixed_mount_accepts_writes_too(client: Client, horde: Any) -> None:
    response = send(client, "post", f"/model_references/v2/{SD}/add", sd_payload("Fresh"))
    assert response.status_code == 202


def test_text_writes_carry_related_models(client: Client, horde: Any) -> None:
    response = send(client, "post", f"{V2}/{TEXT}/add", text_payload("org/Model-7B"))
    assert response.status_code == 202, response.content
    assert response.json()["related_models"] == ["aphrodite/org/Model-7B", "koboldcpp/Model-7B"]


# --- authentication comes first -------------------------------------------------------

AUTH_CASES = [
    ("post", f"{V1}/{SD}", sd_legacy("Alpha")),
    ("put", f"{V1}/{SD}", sd_legacy("Alpha")),
    ("delete", f"{V1}/{SD}/model/Alpha", None),
    ("post", f"{V2}/{SD}/add", sd_payload("Alpha")),
    ("post", f"{V2}/{SD}", sd_payload("Alpha")),
    ("put", f"{V2}/{SD}/model/Alpha", sd_payload("Alpha")),
    ("delete", f"{V2}/{SD}/model/Alpha", None),
]


@pytest.mark.parametrize(("method", "url", "body"), AUTH_CASES)
def test_no_or_invalid_key_is_401_before_any_existence_check(
    client: Client, horde: Any, method: str, url: str, body: Any
) -> None:
    existing("Alpha")  # a create would be 409: the anonymous caller must not learn that
    response = send(client, method, url, body, key=None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "APIKey" and isinstance(response.json()["detail"], str)
    response = send(client, method, url, body, key="no-such-key")
    assert response.status_code == 401 and response.json() == {"detail": "Invalid API key"}
    assert ChangeProposal.objects.count() == 0


@pytest.mark.parametrize(("method", "url", "body"), AUTH_CASES)
def test_a_key_without_the_requestor_role_is_403(
    client: Client, horde: Any, method: str, url: str, body: Any
) -> None:
    response = send(client, method, url, body, key="reader-key")
    assert response.status_code == 403
    assert response.json() == {"detail": "You are not on the pending queue requestor list."}


@pytest.mark.parametrize(("method", "url", "body"), AUTH_CASES)
def test_empty_allowlists_refuse_writes_without_sending_the_key(
    client: Client, horde: Any, settings: Any, method: str, url: str, body: Any
) -> None:
    settings.REQUESTOR_IDS = []
    settings.APPROVER_IDS = []
    response = send(client, method, url, body)
    assert response.status_code == 403
    assert "disabled by configuration" in response.json()["detail"]
    assert horde.lookups() == 0


def test_an_ai_horde_timeout_is_503(client: Client, horde: Any, settings: Any) -> None:
    settings.AI_HORDE_TIMEOUT_SECONDS = 0.2
    horde.slow_seconds = 0.5
    response = send(client, "post", f"{V2}/{SD}/add", sd_payload("Fresh"))
    assert response.status_code == 503 and "timed out" in response.json()["detail"]
    assert ChangeProposal.objects.count() == 0


def test_an_ai_horde_outage_is_503(client: Client, horde: Any) -> None:
    horde.fail = True
    response = send(client, "delete", f"{V2}/{SD}/model/Alpha")
    assert response.status_code == 503


# --- the body -----------------------------------------------------------------------


def test_schema_errors_are_422_field_lists(client: Client, horde: Any) -> None:
    response = send(client, "post", f"{V2}/{SD}/add", sd_payload("Fresh", baseline="nope"))
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["loc"] == ["body", "baseline"] and "Unknown baseline" in item["msg"]
    response = send(client, "post", f"{V1}/{SD}", sd_legacy("Fresh", type="not-a-type"))
    assert response.status_code == 422
    assert any(item["loc"][:2] == ["body", "type"] for item in response.json()["detail"])
    response = send(client, "post", f"{V2}/{SD}", ["not", "an", "object"])
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body"]


def test_record_type_must_match_the_category(client: Client, horde: Any) -> None:
    response = send(client, "post", f"{V2}/{SD}/add", {**text_payload("x"), "record_type": TEXT})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "record_type"]


@pytest.mark.parametrize("name", ["", "   ", "back\\slash"])
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_name_rules_are_422(client: Client, horde: Any, name: str, version: str) -> None:
    if version == "v1":
        response = send(client, "post", f"{V1}/{SD}", sd_legacy(name))
    else:
        response = send(client, "post", f"{V2}/{SD}/add", sd_payload(name))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]


def test_path_and_body_names_must_match(client: Client, horde: Any) -> None:
    existing("Alpha")
    response = send(client, "put", f"{V2}/{SD}/model/Alpha", sd_payload("Beta"))
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Model name in the path must match the payload when queuing updates."
    }


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", f"{V1}/{TEXT}", {"name": "aphrodite/org/M", "parameters": 7, "baseline": "llama"}),
        ("put", f"{V1}/{TEXT}", {"name": "koboldcpp/M", "parameters": 7, "baseline": "llama"}),
        ("delete", f"{V1}/{TEXT}/model/aphrodite/org/M", None),
        ("post", f"{V2}/{TEXT}/add", text_payload("aphrodite/org/M")),
        ("post", f"{V2}/{TEXT}", text_payload("koboldcpp/M")),
        ("put", f"{V2}/{TEXT}/model/koboldcpp/M", text_payload("koboldcpp/M")),
        ("delete", f"{V2}/{TEXT}/model/koboldcpp/M", None),
    ],
)
def test_backend_prefixed_text_names_are_400(
    client: Client, horde: Any, method: str, url: str, body: Any
) -> None:
    response = send(client, method, url, body)
    assert response.status_code == 400
    assert "backend prefix" in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (f"{V1}/{SD}", sd_legacy("Alpha")),
        (f"{V2}/{SD}/add", sd_payload("Alpha")),
        (f"{V2}/{SD}", sd_payload("Alpha")),
    ],
)
def test_create_on_existing_is_409(client: Client, horde: Any, url: str, body: Any) -> None:
    existing("Alpha")
    response = send(client, "post", url, body)
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Model 'Alpha' already exists in category 'image_generation'")


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("put", f"{V1}/{SD}", sd_legacy("Nope")),
        ("delete", f"{V1}/{SD}/model/Nope", None),
        ("put", f"{V2}/{SD}/model/Nope", sd_payload("Nope")),
        ("delete", f"{V2}/{SD}/model/Nope", None),
    ],
)
def test_update_or_delete_of_missing_is_404(
    client: Client, horde: Any, method: str, url: str, body: Any
) -> None:
    response = send(client, method, url, body)
    assert response.status_code == 404
    assert response.json()["detail"].startswith("Model 'Nope' not found in category 'image_generation'")


def test_unknown_or_unwritable_categories(client: Client, horde: Any) -> None:
    response = send(client, "post", f"{V2}/nope/add", sd_payload("x"))
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [
        "path",
        "model_category_name",
    ]
    # v1 writes exist for the ten legacy categories only.
    assert send(client, "post", f"{V1}/video_generation", {"name": "x"}).status_code == 422
    assert send(client, "post", f"{V1}/stable_diffusion", sd_legacy("x")).status_code == 422
    # lora and ti are curated elsewhere.
    assert send(client, "post", f"{V2}/lora/add", {"name": "x"}).status_code == 400


def test_bodies_over_one_mebibyte_are_413(client: Client, horde: Any) -> None:
    big = sd_payload("Big", description="x" * (1024 * 1024 + 1))
    response = send(client, "post", f"{V2}/{SD}/add", big)
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    # Authentication still comes first.
    assert send(client, "post", f"{V2}/{SD}/add", big, key=None).status_code == 401


def test_malformed_json_is_422(client: Client, horde: Any) -> None:
    response = send(client, "post", f"{V2}/{SD}/add", '{"name": "x",')
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"
    response = send(client, "post", f"{V2}/{SD}/add", b'{"name": "\xff"}')
    assert response.status_code == 422


@pytest.mark.parametrize(
    "raw",
    [
        '{"name": "Nul\\u0000Name", "baseline": "stable_diffusion_xl", "nsfw": false}',
        '{"name": "Lone\\ud800", "baseline": "stable_diffusion_xl", "nsfw": false}',
        '{"name": "Fine", "baseline": "stable_diffusion_xl", "nsfw": false, "description": "a\\u0000b"}',
        '{"name": "Fine", "baseline": "stable_diffusion_xl", "nsfw": false, "tags": ["\\udfff"]}',
        '{"name": "Fine", "baseline": "stable_diffusion_xl", "nsfw": false, "\\u0000": 1}',
    ],
)
def test_nul_bytes_and_lone_surrogates_are_422(client: Client, horde: Any, raw: str) -> None:
    for url in (f"{V2}/{SD}/add", f"{V1}/{SD}"):
        response = send(client, "post", url, raw)
        assert response.status_code == 422, response.content
        assert response.json()["detail"][0]["type"] == "string_invalid"
    assert ChangeProposal.objects.count() == 0


def test_nul_bytes_in_path_names_are_422(client: Client, horde: Any) -> None:
    response = send(client, "delete", f"{V2}/{SD}/model/a%00b")
    assert response.status_code == 422
    response = send(client, "put", f"{V2}/{SD}/model/a%00b", sd_payload("a\x00b"))
    assert response.status_code == 422


# --- reads stay public and cheap -------------------------------------------------------


def test_reads_ignore_keys_and_never_call_the_ai_horde(
    client: Client, horde: Any, django_assert_num_queries: Any
) -> None:
    existing("Alpha")
    for url in (f"{V2}/{SD}", f"{V2}/{SD}/model/Alpha", f"{V1}/{SD}"):
        assert client.get(url, HTTP_APIKEY="no-such-key").status_code == 200
        with django_assert_num_queries(0):
            assert client.get(url, HTTP_APIKEY="requestor-key").status_code == 200
        assert client.head(url).status_code == 200
    assert horde.lookups() == 0


# --- the whole flow -----------------------------------------------------------------------


def _approve_and_apply(client: Client, change_ids: list[int], capture: Any) -> dict[str, Any]:
    review = send(
        client,
        "post",
        f"{QUEUE}/batches",
        {"batch_title": "review", "approved_ids": change_ids, "rejected_ids": []},
        key="approver-key",
    )
    assert review.status_code == 200, review.content
    with capture(execute=True):
        applied = send(client, "post", f"{QUEUE}/apply", {"change_ids": change_ids}, key="approver-key")
    assert applied.status_code == 200, applied.content
    body: dict[str, Any] = applied.json()
    return body


def test_v1_proposal_flows_to_both_documents(
    client: Client, horde: Any, django_capture_on_commit_callbacks: Any
) -> None:
    existing("Alpha")
    v2_before = client.get(f"{V2}/{SD}")
    v1_before = client.get(f"{V1}/{SD}")
    created = send(client, "post", f"{V1}/{SD}", sd_legacy("Fresh", description="from v1"))
    assert created.status_code == 202
    assert "Fresh" not in client.get(f"{V2}/{SD}").json()
    result = _approve_and_apply(client, [created.json()["change_id"]], django_capture_on_commit_callbacks)
    [record] = result["applied"]
    assert (
        record["status"] == "applied"
        and record["applied_by"] == "2"
        and result["batch_split_occurred"] is False
    )

    v2_after = client.get(f"{V2}/{SD}", HTTP_IF_NONE_MATCH=v2_before["ETag"])
    assert v2_after.status_code == 200 and v2_after.json()["Fresh"]["description"] == "from v1"
    v1_after = client.get(f"{V1}/{SD}", HTTP_IF_NONE_MATCH=v1_before["ETag"])
    assert v1_after.status_code == 200
    legacy = json.loads(v1_after.content)["Fresh"]
    assert legacy["type"] == "ckpt" and legacy["description"] == "from v1"
    assert client.get(f"{V2}/{SD}/model/Fresh").json()["description"] == "from v1"


def test_v2_update_and_delete_flow_to_the_documents(
    client: Client, horde: Any, django_capture_on_commit_callbacks: Any
) -> None:
    existing("Alpha")
    existing("Beta")
    before = client.get(f"{V2}/{SD}")
    update = send(client, "put", f"{V2}/{SD}/model/Alpha", sd_payload("Alpha", description="curated"))
    delete = send(client, "delete", f"{V2}/{SD}/model/Beta")
    assert update.status_code == delete.status_code == 202
    _approve_and_apply(
        client, [update.json()["change_id"], delete.json()["change_id"]], django_capture_on_commit_callbacks
    )
    after = client.get(f"{V2}/{SD}", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after.json()["Alpha"]["description"] == "curated" and "Beta" not in after.json()
    assert client.get(f"{V2}/{SD}/model/Beta").status_code == 404
    assert "Beta" not in json.loads(client.get(f"{V1}/{SD}").content)
    statuses = set(ChangeProposal.objects.values_list("status", flat=True))
    assert statuses == {Status.APPLIED}
