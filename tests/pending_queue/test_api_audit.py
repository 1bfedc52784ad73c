"""The queue's audit routes (``/pending_queue/audit/...`` under v1 and v2), replayed from the trail."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.pending_queue.test_api_queue import Q1, Q2, SD, V2, approve, existing, propose, send

pytestmark = pytest.mark.django_db

A2 = f"{Q2}/audit"
A1 = f"{Q1}/audit"
READER = "reader-key"


def get(client: Client, url: str, key: str | None = READER) -> Any:
    return send(client, "get", url, key=key)


def apply_batch(client: Client, batch_id: int) -> None:
    response = send(client, "post", f"{Q2}/apply_batch/{batch_id}")
    assert response.status_code == 200, response.content


def test_current_lists_pending_changes_newest_first_under_both_mounts(client: Client, horde: Any) -> None:
    first = propose(client, "Alpha")
    second = propose(client, "Beta")
    third = propose(client, "Gamma")
    approve(client, second)
    for base in (A1, A2):
        response = get(client, f"{base}/current")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["domain"] == "v2" and isinstance(body["generated_at"], int)
        assert [c["change_id"] for c in body["pending_changes"]] == [third, first]
        assert body["total_pending"] == 2
        change = body["pending_changes"][1]
        assert change["status"] == "pending" and change["operation"] == "create"
        assert change["category"] == SD and change["model_name"] == "Alpha"
        assert change["requested_by"] == "1" and change["batch_id"] is None
        assert [e["action"] for e in change["events"]] == ["enqueue"]
        assert change["events"][0]["payload"] == {
            "action": "enqueue",
            "change_id": first,
            "operation": "create",
            "category": SD,
            "model": "Alpha",
        }
    assert get(client, f"{A2}/current?domain_override=legacy").json()["domain"] == "legacy"


def test_purged_pending_change_leaves_current(client: Client, horde: Any) -> None:
    """Difference 1: the established replay ignores purge events and keeps showing them."""
    kept = propose(client, "Kept")
    purged = propose(client, "Purged")
    response = send(client, "post", f"{Q2}/purge", {"model_name": "Purged"})
    assert response.json()["removed_change_ids"] == [purged]
    body = get(client, f"{A2}/current").json()
    assert [c["change_id"] for c in body["pending_changes"]] == [kept]


def test_reject_only_batch_is_listed(client: Client, horde: Any) -> None:
    """Difference 2: a batch that only rejected changes has an id and appears in /batches."""
    rejected = propose(client, "Nope")
    result = send(
        client,
        "post",
        f"{Q2}/batches",
        {"batch_title": "no thanks", "approved_ids": [], "rejected_ids": [rejected], "reject_reason": "spam"},
    ).json()
    batch_id = result["batch_id"]
    assert isinstance(batch_id, int)
    batches = get(client, f"{A2}/batches").json()["batches"]
    assert [b["batch_id"] for b in batches] == [batch_id]
    assert batches[0]["rejected_change_count"] == 1 and batches[0]["total_change_count"] == 1
    detail = get(client, f"{A2}/batches/{batch_id}").json()
    (change,) = detail["changes"]
    assert change["status"] == "rejected" and change["reject_reason"] == "spam"
    assert change["rejected_by"] == "2"


def test_batches_summaries_and_cursor_pagination(client: Client, horde: Any) -> None:
    ids = []
    for n in range(3):
        change = propose(client, f"Model {n}")
        ids.append(approve(client, change)["batch_id"])
        apply_batch(client, ids[-1])
    page = get(client, f"{A1}/batches?limit=2").json()
    assert [b["batch_id"] for b in page["batches"]] == [ids[2], ids[1]]
    assert page["next_cursor"] == ids[1]
    summary = page["batches"][0]
    assert summary["approved_change_count"] == 1 and summary["applied_change_count"] == 1
    assert summary["approved_by"] == "2" and isinstance(summary["applied_at"], int)
    assert summary["last_event_id"] == AuditEvent.objects.latest("sequence").sequence
    rest = get(client, f"{A1}/batches?limit=2&cursor={page['next_cursor']}").json()
    assert [b["batch_id"] for b in rest["batches"]] == [ids[0]] and rest["next_cursor"] is None


def test_batch_detail_and_net_changes(client: Client, horde: Any) -> None:
    existing("Old", description="before")
    update = propose(client, "Old", update=True, description="after")
    create = propose(client, "New")
    batch_id = approve(client, update, create)["batch_id"]
    apply_batch(client, batch_id)
    detail = get(client, f"{A2}/batches/{batch_id}").json()
    assert detail["batch_id"] == batch_id and detail["batch_title"] == "review"
    assert [c["change_id"] for c in detail["changes"]] == [update, create]
    assert [e["action"] for e in detail["changes"][0]["events"]] == ["enqueue", "approve", "apply"]
    assert all(c["status"] == "applied" for c in detail["changes"])
    net = get(client, f"{A1}/batches/{batch_id}/net_changes").json()
    by_name = {m["model_name"]: m for m in net["model_changes"]}
    assert by_name["New"]["net_operation"] == "added" and by_name["New"]["before_state"] is None
    old = by_name["Old"]
    assert old["net_operation"] == "modified"
    assert old["before_state"]["description"] == "before" and old["after_state"]["description"] == "after"
    assert {
        "field_path": "description",
        "old_value": "before",
        "new_value": "after",
        "change_type": "modified",
    } in (old["field_diffs"])
    assert (net["models_added"], net["models_modified"], net["models_deleted"]) == (1, 1, 0)
    assert net["total_field_changes"] == sum(len(m["field_diffs"]) for m in net["model_changes"])
    assert net["has_critical_changes"] is True


def test_net_changes_of_a_delete(client: Client, horde: Any) -> None:
    existing("Doomed")
    delete = send(client, "delete", f"{V2}/{SD}/model/Doomed", key="requestor-key")
    assert delete.status_code == 202, delete.content
    batch_id = approve(client, delete.json()["change_id"])["batch_id"]
    apply_batch(client, batch_id)
    (change,) = get(client, f"{A2}/batches/{batch_id}/net_changes").json()["model_changes"]
    assert change["net_operation"] == "deleted" and change["after_state"] is None
    assert change["before_state"]["name"] == "Doomed"


def test_order_of_checks_and_bad_input(client: Client, horde: Any) -> None:
    propose(client, "Alpha")
    before = AuditEvent.objects.count()
    # Identity first: no key, or a bad one, whatever else is wrong.
    for url in (
        f"{A2}/current",
        f"{A2}/batches?limit=0",
        f"{A2}/batches/nope",
        f"{A1}/batches/9/net_changes",
    ):
        assert get(client, url, key=None).status_code == 401
        assert get(client, url, key="bad-key").status_code == 401
    # Then the query and the path (422, in the validation-list shape).
    for url in (
        f"{A2}/batches?limit=0",
        f"{A2}/batches?limit=51",
        f"{A2}/batches?cursor=0",
        f"{A2}/batches?cursor=x",
        f"{A2}/current?domain_override=yaml",
        f"{A2}/current?domain_override=%00",
        f"{A2}/batches/nope",
        f"{A2}/batches/0/net_changes",
        f"{A2}/batches/{2**63}",
    ):
        response = get(client, url)
        assert response.status_code == 422, (url, response.content)
        assert isinstance(response.json()["detail"], list) and "loc" in response.json()["detail"][0]
    # Then existence.
    for url in (f"{A2}/batches/99", f"{A1}/batches/99/net_changes"):
        response = get(client, url)
        assert response.status_code == 404 and response.json() == {"detail": "Batch not found"}
    # Reads only: a POST is 405, and nothing was written.
    assert send(client, "post", f"{A2}/current", {}).status_code == 405
    assert AuditEvent.objects.count() == before


def test_a_stale_approval_rejected_later_shows_in_both_decisions(client: Client, horde: Any) -> None:
    change = propose(client, "Stale")
    first = approve(client, change)["batch_id"]
    second = send(
        client,
        "post",
        f"{Q2}/batches",
        {"batch_title": "drop it", "rejected_ids": [change], "reject_reason": "stale"},
    ).json()["batch_id"]
    summaries = {b["batch_id"]: b for b in get(client, f"{A2}/batches").json()["batches"]}
    assert summaries[first]["approved_change_count"] == 1
    assert summaries[second]["rejected_change_count"] == 1 and summaries[second]["approved_by"] is None
    (timeline,) = get(client, f"{A2}/batches/{second}").json()["changes"]
    assert timeline["status"] == "rejected" and timeline["batch_id"] == second
    assert [e["action"] for e in timeline["events"]] == ["enqueue", "approve", "reject"]
    assert get(client, f"{A2}/current").json()["total_pending"] == 0
