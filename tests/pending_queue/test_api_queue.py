"""The pending-queue routes (mounted under v1 and v2), /v2/{category}/pending and their refusals."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from django.test import Client

from audit.services import Actor
from pending_queue.models import ChangeProposal, Status
from references.selectors import record_get
from tests.factories import sd_payload
from tests.record_writes import record_create, record_update

pytestmark = pytest.mark.django_db

V2 = "/api/model_references/v2"
Q2 = f"{V2}/pending_queue"
Q1 = "/api/model_references/v1/pending_queue"
SD = "image_generation"
SYSTEM = Actor.system("test")
APPROVER = "approver-key"
REQUESTOR = "requestor-key"


def send(client: Client, method: str, url: str, body: Any = None, key: str | None = APPROVER) -> Any:
    headers: dict[str, Any] = {"HTTP_APIKEY": key} if key else {}
    if method == "get":
        return client.get(url, **headers)
    data = None if body is None else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json", **headers)


def existing(name: str, **overrides: Any) -> None:
    record_create(category=SD, name=name, payload=sd_payload(name, **overrides), actor=SYSTEM, source="sync")


def propose(
    client: Client, name: str, *, key: str = REQUESTOR, update: bool = False, **overrides: Any
) -> int:
    if update:
        response = send(client, "put", f"{V2}/{SD}/model/{name}", sd_payload(name, **overrides), key=key)
    else:
        response = send(client, "post", f"{V2}/{SD}/add", sd_payload(name, **overrides), key=key)
    assert response.status_code == 202, response.content
    change_id: int = response.json()["change_id"]
    return change_id


def approve(client: Client, *ids: int, rejected: tuple[int, ...] = ()) -> dict[str, Any]:
    body: dict[str, Any] = {
        "batch_title": "review",
        "approved_ids": list(ids),
        "rejected_ids": list(rejected),
    }
    if rejected:
        body["reject_reason"] = "not now"
    response = send(client, "post", f"{Q2}/batches", body)
    assert response.status_code == 200, response.content
    result: dict[str, Any] = response.json()
    return result


# --- listing ------------------------------------------------------------------------


def test_changes_lists_and_filters(client: Client, horde: Any) -> None:
    first = propose(client, "Alpha One")
    second = propose(client, "Beta", key=APPROVER)
    third = propose(client, "alpha two")
    approve(client, second)

    def listed(query: str) -> list[int]:
        response = send(client, "get", f"{Q2}/changes{query}", key="reader-key")
        assert response.status_code == 200, response.content
        return [item["change_id"] for item in response.json()["items"]]

    page = send(client, "get", f"{Q2}/changes", key="reader-key").json()
    assert page["total"] == 3 and page["offset"] == 0 and page["limit"] == 50
    assert [item["change_id"] for item in page["items"]] == [first, second, third]
    assert page["items"][0]["batch_id"] is None  # listings keep nulls
    assert listed("?statuses=pending") == [first, third]
    assert listed("?statuses=pending&statuses=approved") == [first, second, third]
    assert listed(f"?categories={SD}&categories=clip&model_name=%20ALPHA%20") == [first, third]
    assert listed(f"?batch_id={ChangeProposal.objects.get(pk=second).batch_id}") == [second]
    assert listed("?requested_by=2") == [second]
    assert listed("?requested_by=1&requested_by=2") == [first, second, third]
    paged = send(client, "get", f"{Q2}/changes?offset=1&limit=1", key="reader-key").json()
    assert paged["total"] == 3 and [i["change_id"] for i in paged["items"]] == [second]
    assert paged["limit"] == 1 and paged["offset"] == 1
    # The v1 mount serves the same store.
    assert send(client, "get", f"{Q1}/changes", key="reader-key").json()["total"] == 3


@pytest.mark.parametrize(
    "query",
    [
        "?limit=0",
        "?limit=501",
        "?offset=-1",
        "?statuses=nope",
        "?categories=nope",
        "?batch_id=0",
        "?model_name=a%00b",
        "?requested_by=%00",
    ],
)
def test_changes_rejects_bad_filters(client: Client, horde: Any, query: str) -> None:
    response = send(client, "get", f"{Q2}/changes{query}", key="reader-key")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_queue_reads_need_a_valid_key(client: Client, horde: Any) -> None:
    for url in (f"{Q2}/changes", f"{Q2}/changes/1", f"{Q2}/changes/1/diff", f"{Q2}/diffs?change_ids=1"):
        assert send(client, "get", url, key=None).status_code == 401
        assert send(client, "get", url, key="bad-key").status_code == 401


def test_my_changes_is_scoped_to_the_caller(client: Client, horde: Any) -> None:
    mine = propose(client, "Alpha")
    propose(client, "Beta", key=APPROVER)
    page = send(client, "get", f"{Q1}/my_changes", key=REQUESTOR).json()
    assert page["total"] == 1 and page["items"][0]["change_id"] == mine
    assert send(client, "get", f"{Q2}/my_changes?statuses=approved", key=REQUESTOR).json()["total"] == 0
    assert send(client, "get", f"{Q2}/my_changes", key="reader-key").status_code == 403


def test_one_change_and_its_diff(client: Client, horde: Any) -> None:
    existing("Alpha")
    change_id = propose(client, "Alpha", update=True, description="curated", nsfw=True)
    record = send(client, "get", f"{Q2}/changes/{change_id}", key="reader-key").json()
    assert record["change_id"] == change_id and record["operation"] == "update"
    assert "batch_id" in record and record["batch_id"] is None  # nulls included here

    diff = send(client, "get", f"{Q2}/changes/{change_id}/diff", key="reader-key").json()
    assert set(diff) >= {
        "change_id",
        "category",
        "model_name",
        "operation",
        "current_state",
        "proposed_state",
        "net_operation",
        "field_diffs",
        "is_critical",
        "fields_added",
        "fields_removed",
        "fields_modified",
    }
    assert diff["net_operation"] == "modified" and diff["is_critical"] is True
    changed = {item["field_path"]: item for item in diff["field_diffs"]}
    assert changed["description"] == {
        "field_path": "description",
        "old_value": "A test model",
        "new_value": "curated",
        "change_type": "modified",
    }
    assert diff["fields_modified"] >= 2 and diff["is_stale"] is False


def test_unknown_or_malformed_change_ids(client: Client, horde: Any) -> None:
    for suffix in ("", "/diff"):
        response = send(client, "get", f"{Q2}/changes/999{suffix}", key="reader-key")
        assert response.status_code == 404 and response.json() == {"detail": "Change not found"}
        response = send(client, "get", f"{Q2}/changes/abc{suffix}", key="reader-key")
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["path", "change_id"]


def test_diffs_reports_found_and_missing(client: Client, horde: Any) -> None:
    first = propose(client, "Alpha")
    response = send(client, "get", f"{Q2}/diffs?change_ids={first}&change_ids=999", key="reader-key")
    body = response.json()
    assert response.status_code == 200 and body["total"] == 2
    assert [d["change_id"] for d in body["diffs"]] == [first] and body["diffs"][0]["net_operation"] == "added"
    assert body["errors"] == [{"change_id": 999, "error": "Change not found", "error_type": "NotFound"}]
    assert send(client, "get", f"{Q2}/diffs", key="reader-key").status_code == 422
    many = "&".join(f"change_ids={i}" for i in range(1, 102))
    assert send(client, "get", f"{Q2}/diffs?{many}", key="reader-key").status_code == 422


# --- review -------------------------------------------------------------------------


def test_batches_approve_and_reject(client: Client, horde: Any) -> None:
    a, b = propose(client, "Alpha"), propose(client, "Beta")
    result = approve(client, a, rejected=(b,))
    assert set(result) == {"batch_id", "batch_title", "approved", "rejected"}
    assert result["batch_title"] == "review" and isinstance(result["batch_id"], int)
    [approved], [rejected] = result["approved"], result["rejected"]
    assert approved["change_id"] == a and approved["status"] == "approved" and approved["approved_by"] == "2"
    assert rejected["status"] == "rejected" and rejected["reject_reason"] == "not now"
    # Deciding again is a state error (400), and so is an unknown id.
    again = send(client, "post", f"{Q2}/batches", {"batch_title": "t", "approved_ids": [a]})
    assert again.status_code == 400 and "not pending" in again.json()["detail"]
    # As the established API: an unknown id in a review is a bad request.
    unknown = send(client, "post", f"{Q2}/batches", {"batch_title": "t", "approved_ids": [999]})
    assert unknown.status_code == 400 and unknown.json()["detail"] == "Change 999 does not exist."


@pytest.mark.parametrize(
    "body",
    [
        {"batch_title": "", "approved_ids": [1]},
        {"batch_title": "   ", "approved_ids": [1]},
        {"batch_title": "x" * 121, "approved_ids": [1]},
        {"batch_title": "t"},
        {"batch_title": "t", "rejected_ids": [1]},
        {"batch_title": "t", "approved_ids": [1], "rejected_ids": [1], "reject_reason": "r"},
        {"batch_title": "t", "approved_ids": ["x"]},
        {"approved_ids": [1]},
    ],
)
def test_batches_validation_is_422(client: Client, horde: Any, body: dict[str, Any]) -> None:
    propose(client, "Alpha")
    response = send(client, "post", f"{Q2}/batches", body)
    assert response.status_code == 422, response.content
    assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (f"{Q2}/batches", {"batch_title": "t", "approved_ids": [1]}),
        (f"{Q2}/changes/1/apply", {}),
        (f"{Q2}/apply", {"change_ids": [1]}),
        (f"{Q2}/apply_batch/1", None),
        (f"{Q2}/purge", {"purge_all": True}),
        (f"{Q2}/changes/1/rebase", None),
    ],
)
def test_approver_routes_refuse_requestors_and_anonymous(
    client: Client, horde: Any, url: str, body: Any
) -> None:
    response = send(client, "post", url, body, key=REQUESTOR)
    assert response.status_code == 403
    assert response.json() == {"detail": "You are not on the pending queue approver list."}
    assert send(client, "post", url, body, key=None).status_code == 401


# --- applying -----------------------------------------------------------------------


def test_apply_one_change(client: Client, horde: Any, django_capture_on_commit_callbacks: Any) -> None:
    change_id = propose(client, "Alpha")
    assert send(client, "post", f"{Q2}/changes/{change_id}/apply").status_code == 400  # not approved yet
    approve(client, change_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, "post", f"{Q1}/changes/{change_id}/apply", {"job_id": "job-1"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["batch_split_occurred"] is False
    assert body["record"]["status"] == "applied" and body["record"]["applied_job_id"] == "job-1"
    assert None not in body["record"].values()
    assert record_get(category=SD, name="Alpha") is not None
    again = send(client, "post", f"{Q2}/changes/{change_id}/apply")
    assert again.status_code == 400
    missing = send(client, "post", f"{Q2}/changes/999/apply")
    assert missing.status_code == 404 and missing.json() == {"detail": "Change 999 not found."}
    too_long = send(client, "post", f"{Q2}/changes/{change_id}/apply", {"job_id": "j" * 121})
    assert too_long.status_code == 422


def test_apply_stops_at_the_first_failure_with_its_status(
    client: Client, horde: Any, django_capture_on_commit_callbacks: Any
) -> None:
    existing("Alpha")
    existing("Beta")
    first = propose(client, "Alpha", update=True, description="one")
    stale = propose(client, "Beta", update=True, description="two")
    third = propose(client, "Gamma")
    approve(client, first, stale, third)
    beta = record_get(category=SD, name="Beta")
    assert beta is not None
    # Someone else changes Beta after the proposal was written: applying it would overwrite.
    record_update(
        category=SD,
        name="Beta",
        payload={**beta.payload, "description": "meanwhile"},
        actor=SYSTEM,
        source="sync",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, "post", f"{Q2}/apply", {"change_ids": [first, stale, third, first]})
    assert response.status_code == 409
    body = response.json()
    assert [r["change_id"] for r in body["applied"]] == [first]
    assert body["failed_change_id"] == stale and body["failed_error_type"] == "PendingChangeConflictError"
    assert isinstance(body["failed_error"], str) and body["batch_split_occurred"] is False
    assert "detail" not in body
    statuses = dict(ChangeProposal.objects.values_list("pk", "status"))
    assert statuses == {first: Status.APPLIED, stale: Status.APPROVED, third: Status.APPROVED}
    assert record_get(category=SD, name="Gamma") is None

    # The approver re-bases the stale change; the new proposal can be approved and applied.
    rebased = send(client, "post", f"{Q2}/changes/{stale}/rebase")
    assert rebased.status_code == 200, rebased.content
    new = rebased.json()
    assert new["status"] == "pending" and new["change_id"] != stale and new["requested_by"] == "1"
    assert ChangeProposal.objects.get(pk=stale).status == Status.SUPERSEDED
    approve(client, new["change_id"])
    with django_capture_on_commit_callbacks(execute=True):
        done = send(
            client,
            "post",
            f"{Q2}/apply",
            {"change_ids": [new["change_id"], third], "allow_mixed_batch": True},
        )
    assert done.status_code == 200 and len(done.json()["applied"]) == 2
    assert set(done.json()) == {"applied", "batch_split_occurred"}


def test_apply_preconditions_answer_detail(client: Client, horde: Any) -> None:
    a, b, pending = propose(client, "Alpha"), propose(client, "Beta"), propose(client, "Gamma")
    approve(client, a)
    approve(client, b)
    missing = send(client, "post", f"{Q2}/apply", {"change_ids": [a, 999]})
    assert missing.status_code == 404 and missing.json() == {"detail": "Change 999 not found."}
    unapproved = send(client, "post", f"{Q2}/apply", {"change_ids": [a, pending]})
    assert unapproved.status_code == 400
    assert unapproved.json() == {"detail": "Cannot apply changes that have not been approved in a batch"}
    mixed = send(client, "post", f"{Q2}/apply", {"change_ids": [a, b]})
    assert mixed.status_code == 400 and "same batch" in mixed.json()["detail"]
    invalid: list[dict[str, Any]] = [{"change_ids": []}, {"change_ids": [0]}, {}, {"change_ids": "1"}]
    for body in invalid:
        assert send(client, "post", f"{Q2}/apply", body).status_code == 422
    assert ChangeProposal.objects.filter(status=Status.APPLIED).count() == 0


def test_apply_batch(client: Client, horde: Any, django_capture_on_commit_callbacks: Any) -> None:
    a, b = propose(client, "Alpha"), propose(client, "Beta")
    batch_id = approve(client, a, b)["batch_id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, "post", f"{Q2}/apply_batch/{batch_id}?job_id=nightly")
    assert response.status_code == 200, response.content
    applied = response.json()["applied"]
    assert [r["change_id"] for r in applied] == [a, b] and {r["applied_job_id"] for r in applied} == {
        "nightly"
    }
    # Everything applied already: an empty success, as the established API.
    again = send(client, "post", f"{Q2}/apply_batch/{batch_id}")
    assert again.status_code == 200 and again.json() == {"applied": [], "batch_split_occurred": False}
    missing = send(client, "post", f"{Q2}/apply_batch/999")
    assert missing.status_code == 404 and missing.json() == {"detail": "No changes found for batch 999"}


# --- purge, withdraw ----------------------------------------------------------------


def test_purge(client: Client, horde: Any) -> None:
    a, b = propose(client, "Alpha"), propose(client, "Beta", key=APPROVER)
    dry = send(client, "post", f"{Q2}/purge", {"requested_by": [" 1 "], "dry_run": True})
    assert dry.status_code == 200 and dry.json() == {
        "removed_count": 1,
        "removed_change_ids": [a],
        "dry_run": True,
    }
    assert ChangeProposal.objects.count() == 2
    done = send(client, "post", f"{Q1}/purge", {"model_name": "bet", "statuses": ["pending"]})
    assert done.json() == {"removed_count": 1, "removed_change_ids": [b], "dry_run": False}
    assert list(ChangeProposal.objects.values_list("pk", flat=True)) == [a]
    nothing = send(client, "post", f"{Q2}/purge", {})
    assert nothing.status_code == 422 and "purge_all" in nothing.json()["detail"][0]["msg"]
    assert send(client, "post", f"{Q2}/purge", {"statuses": ["nope"]}).status_code == 422
    assert send(client, "post", f"{Q2}/purge", {"purge_all": True}).json()["removed_change_ids"] == [a]


def test_withdraw_own_pending_proposal_only(client: Client, horde: Any) -> None:
    mine, theirs = propose(client, "Alpha"), propose(client, "Beta", key=APPROVER)
    assert send(client, "post", f"{Q2}/changes/{theirs}/withdraw", key=REQUESTOR).status_code == 403
    response = send(client, "post", f"{Q2}/changes/{mine}/withdraw", key=REQUESTOR)
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    again = send(client, "post", f"{Q2}/changes/{mine}/withdraw", key=REQUESTOR)
    assert again.status_code == 400
    assert send(client, "post", f"{Q2}/changes/999/withdraw", key=REQUESTOR).status_code == 404
    assert send(client, "post", f"{Q2}/changes/{mine}/withdraw", key="reader-key").status_code == 403


# --- beta models, roles, mounting ---------------------------------------------------------


def test_pending_models_of_a_category(client: Client, horde: Any) -> None:
    assert send(client, "get", f"{V2}/{SD}/pending", key="reader-key").json() == {}
    existing("Alpha")
    propose(client, "Alpha", update=True, description="first")
    propose(client, "Alpha", update=True, description="second")
    propose(client, "Beta")
    send(client, "delete", f"{V2}/{SD}/model/Alpha", key=REQUESTOR)
    response = send(client, "get", f"{V2}/{SD}/pending", key="reader-key")
    assert response.status_code == 200
    body = response.json()
    assert sorted(body) == ["Alpha", "Beta"] and body["Alpha"]["description"] == "second"
    assert send(client, "get", f"{V2}/clip/pending", key="reader-key").json() == {}
    assert send(client, "get", f"{V2}/{SD}/pending", key=None).status_code == 401
    assert send(client, "get", f"{V2}/nope/pending", key="reader-key").status_code == 422


def test_me_roles_resolves_before_the_category_routes(client: Client, horde: Any) -> None:
    assert send(client, "get", f"{V2}/me/roles", key="approver-key").json() == {
        "user_id": "2",
        "username": "bob#2",
        "roles": ["approver", "requestor"],
        "is_approver": True,
        "is_requestor": True,
    }
    assert send(client, "get", f"{V2}/me/roles", key="requestor-key").json()["roles"] == ["requestor"]
    carol = send(client, "get", f"{V2}/me/roles", key="reader-key").json()
    assert carol["roles"] == [] and carol["is_requestor"] is False and carol["username"] == "carol#3"
    assert send(client, "get", f"{V2}/me/roles", key=None).status_code == 401
    assert send(client, "get", f"{V2}/me/roles", key="bad-key").json() == {"detail": "Invalid API key"}


def test_every_route_is_documented_with_unique_operation_ids(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()
    operation_ids = Counter(
        operation["operationId"] for item in schema["paths"].values() for operation in item.values()
    )
    assert [op for op, count in operation_ids.items() if count > 1] == []
    paths = schema["paths"]
    for mount in ("v1", "v2"):
        prefix = f"/api/model_references/{mount}/pending_queue"
        for suffix in (
            "/changes",
            "/my_changes",
            "/changes/{change_id}",
            "/changes/{change_id}/diff",
            "/diffs",
            "/batches",
            "/changes/{change_id}/apply",
            "/apply",
            "/apply_batch/{batch_id}",
            "/purge",
            "/changes/{change_id}/withdraw",
            "/changes/{change_id}/rebase",
        ):
            assert prefix + suffix in paths
    v2 = "/api/model_references/v2"
    assert set(paths[f"{v2}/{{model_category_name}}"]) == {"get", "post"}
    assert set(paths[f"{v2}/{{model_category_name}}/model/{{model_name}}"]) == {"get", "put", "delete"}
    assert set(paths["/api/model_references/v1/{model_category_name}"]) == {"get", "post", "put"}
    assert "delete" in paths["/api/model_references/v1/{model_category_name}/model/{model_name}"]
    assert "post" in paths[f"{v2}/{{model_category_name}}/add"]
    assert "get" in paths[f"{v2}/{{model_category_name}}/pending"] and "get" in paths[f"{v2}/me/roles"]
    # Reads stay public; writes name the apikey header.
    assert "security" not in paths[f"{v2}/{{model_category_name}}"]["get"]
    assert {"APIKeyHeader": []} in paths[f"{v2}/{{model_category_name}}"]["post"]["security"]
    assert schema["components"]["securitySchemes"]["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "apikey",
        "description": "An AI Horde API key; roles come from the requestor/approver allowlists.",
    }
