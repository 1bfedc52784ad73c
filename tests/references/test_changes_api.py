"""The change feed: `v2/changes?since=<cursor>&limit=N`, read from the audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from audit.services import Actor
from pending_queue.services import batch_review, proposal_apply, proposal_create_v2, proposals_apply
from references.models import ModelRecord
from references.selectors import record_get
from tests.factories import sd_payload

pytestmark = pytest.mark.django_db

CHANGES = "/api/model_references/v2/changes"
ALICE = Actor(kind="horde", id="1", display_name="alice#1")
BOB = Actor(kind="horde", id="2", display_name="bob#2")
SD = "image_generation"


def feed(client: Client, **params: Any) -> dict[str, Any]:
    response = client.get(CHANGES, params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def walk(client: Client, since: str = "", limit: int = 1000) -> tuple[list[dict[str, Any]], str]:
    changes: list[dict[str, Any]] = []
    while True:
        page = feed(client, since=since, limit=limit)
        changes.extend(page["changes"])
        since = page["next"]
        if not page["has_more"]:
            return changes, since


def apply_v2(operation: str, name: str, **overrides: Any) -> int:
    proposal = proposal_create_v2(
        category=SD,
        operation=operation,
        body=None if operation == "delete" else sd_payload(name, **overrides),
        path_name=None if operation == "create" else name,
        actor=ALICE,
    )
    batch_review(title="review", approved_ids=[proposal.pk], rejected_ids=[], reason="", actor=BOB)
    proposal_apply(change_id=proposal.pk, actor=BOB)
    return proposal.pk


def test_an_empty_registry_has_an_empty_feed(client: Client) -> None:
    assert feed(client) == {"changes": [], "next": "0", "has_more": False}
    assert feed(client, since="41") == {"changes": [], "next": "41", "has_more": False}


def test_a_real_import_is_in_the_feed_page_by_page(client: Client, real_reference: Path) -> None:
    everything, head = walk(client, limit=1000)
    assert len(everything) == ModelRecord.objects.count()
    assert all(c["operation"] == "create" and c["source"] == "sync" for c in everything)
    assert all(c["proposal_id"] is None and c["previous_version"] is None for c in everything)
    cursors = [int(c["cursor"]) for c in everything]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    names = {(c["category"], c["name"]) for c in everything}
    assert names == set(ModelRecord.objects.values_list("category", "name"))
    record = record_get(category=SD, name=everything[0]["name"]) if everything[0]["category"] == SD else None
    if record is not None:
        assert everything[0]["version"] == record.version
    # Small pages walk the same changes, in the same order, with no gap or repeat.
    paged, paged_head = walk(client, limit=37)
    assert paged == everything and paged_head == head
    # Nothing new: the cursor stays where it is.
    assert feed(client, since=head) == {"changes": [], "next": head, "has_more": False}


def test_applied_proposals_appear_in_commit_order_with_their_ids(
    client: Client, real_reference: Path
) -> None:
    _, head = walk(client)
    created = apply_v2("create", "Feed Model")
    version_created = record_get(category=SD, name="Feed Model").version  # type: ignore[union-attr]
    updated = apply_v2("update", "Feed Model", description="changed")
    version_updated = record_get(category=SD, name="Feed Model").version  # type: ignore[union-attr]
    deleted = apply_v2("delete", "Feed Model")
    page = feed(client, since=head)
    assert not page["has_more"]
    summary = [
        (c["operation"], c["name"], c["proposal_id"], c["version"], c["previous_version"], c["source"])
        for c in page["changes"]
    ]
    assert summary == [
        ("create", "Feed Model", created, version_created, None, "api"),
        ("update", "Feed Model", updated, version_updated, version_created, "api"),
        ("delete", "Feed Model", deleted, None, version_updated, "api"),
    ]
    assert all(isinstance(c["time"], int) and c["time"] > 1_600_000_000 for c in page["changes"])
    assert page["next"] == page["changes"][-1]["cursor"]


def test_a_batch_apply_names_each_proposal(client: Client) -> None:
    proposals = [
        proposal_create_v2(category=SD, operation="create", body=sd_payload(n), path_name=None, actor=ALICE)
        for n in ("One", "Two", "Three")
    ]
    batch_review(title="b", approved_ids=[p.pk for p in proposals], rejected_ids=[], reason="", actor=BOB)
    proposals_apply(change_ids=[p.pk for p in proposals], actor=BOB)
    changes = feed(client)["changes"]
    assert [(c["name"], c["proposal_id"]) for c in changes] == [(p.model_name, p.pk) for p in proposals]


def test_the_feed_is_one_query(client: Client, real_reference: Path, django_assert_num_queries: Any) -> None:
    apply_v2("create", "Counted")
    with django_assert_num_queries(1):
        assert len(feed(client, limit=500)["changes"]) == 500
    with django_assert_num_queries(1):
        feed(client, since="999999999")


def test_the_feed_answers_without_the_api_prefix(client: Client) -> None:
    response = client.get("/model_references/v2/changes")
    assert response.status_code == 200 and response.json()["changes"] == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("since", "abc"),
        ("since", "-1"),
        ("since", "1.5"),
        ("since", "1" * 19),
        ("since", " 1"),
        ("since", "１２"),
        ("since", "1\x00"),
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "-5"),
        ("limit", "ten"),
        ("limit", ""),
        ("limit", "99999999999999999999"),
    ],
)
def test_a_malformed_cursor_or_limit_is_422(client: Client, name: str, value: str) -> None:
    response = client.get(CHANGES, {name: value})
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["loc"] == ["query", name] and item["msg"] and item["type"]
