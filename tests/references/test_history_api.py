"""A record's history and the registry `as_of` a past moment, read from the audit trail."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from audit.models import AuditEvent
from audit.services import Actor
from pending_queue.services import batch_review, proposal_apply, proposal_create_v2
from references import history
from references.exports import SERVED_DEFAULT_LICENSING
from tests.factories import sd_payload
from tests.record_writes import record_create, record_delete, record_update

pytestmark = pytest.mark.django_db

V2 = "/api/model_references/v2"
SD = "image_generation"
ALICE = Actor(kind="horde", id="1", display_name="alice#1")
BOB = Actor(kind="horde", id="2", display_name="bob#2")
IMPORTER = Actor.system("importer")


def served_sd(name: str) -> dict[str, Any]:
    """A record as v2 serves it: with the default licensing when it has none (8.6.2)."""
    return {**sd_payload(name), "licensing": SERVED_DEFAULT_LICENSING}


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


def history_of(client: Client, name: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"{V2}/{SD}/model/{quote(name)}/history", params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def last_sequence() -> int:
    return int(AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True)[0])


# --------------------------------------------------------------------------- history


def test_history_lists_every_version_newest_first_with_people_and_diffs(client: Client) -> None:
    created = apply_v2("create", "Hist")
    updated = apply_v2("update", "Hist", description="changed", nsfw=True)
    deleted = apply_v2("delete", "Hist")
    body = history_of(client, "Hist")
    assert body["category"] == SD and body["name"] == "Hist" and body["next"] is None
    versions = body["versions"]
    assert [(v["operation"], v["proposal_id"]) for v in versions] == [
        ("delete", deleted),
        ("update", updated),
        ("create", created),
    ]
    alice = {"kind": "horde", "id": "1", "display_name": "alice#1"}
    bob = {"kind": "horde", "id": "2", "display_name": "bob#2"}
    for version in versions:
        assert version["proposed_by"] == alice
        assert version["approved_by"] == bob
        assert version["changed_by"] == bob
        assert version["source"] == "api"
        assert isinstance(version["time"], int) and version["time"] > 1_600_000_000
    delete, update, create = versions
    # Versions chain: each one names the version it replaced.
    assert create["previous_version"] is None and isinstance(create["version"], int)
    assert update["previous_version"] == create["version"] and update["version"] > create["version"]
    assert delete["previous_version"] == update["version"] and delete["version"] is None
    changed = {d["field_path"]: d for d in update["diff"]}
    assert changed["description"]["new_value"] == "changed"
    assert changed["nsfw"] == {
        "field_path": "nsfw",
        "old_value": False,
        "new_value": True,
        "change_type": "modified",
    }
    assert {d["change_type"] for d in create["diff"]} == {"added"}
    # A v2 create without licensing stores the explicit "not supplied" conclusion (8.6.2).
    assert {d["field_path"] for d in create["diff"]} == set(sd_payload("Hist")) | {"licensing"}
    assert {d["change_type"] for d in delete["diff"]} == {"removed"}


def test_an_imported_change_has_no_proposal(client: Client) -> None:
    record_create(category=SD, name="Imported", payload=sd_payload("Imported"), actor=IMPORTER, source="sync")
    (version,) = history_of(client, "Imported")["versions"]
    assert version["proposal_id"] is None
    assert version["proposed_by"] is None and version["approved_by"] is None
    assert version["changed_by"] == {"kind": "system", "id": "importer", "display_name": "importer"}
    assert version["source"] == "sync"


def test_history_pages_by_cursor_without_gap_or_repeat(client: Client) -> None:
    record_create(category=SD, name="Paged", payload=sd_payload("Paged"), actor=IMPORTER, source="sync")
    for number in range(6):
        record_update(
            category=SD, name="Paged", payload=sd_payload("Paged", description=str(number)),
            actor=IMPORTER, source="sync",
        )  # fmt: skip
    whole = history_of(client, "Paged", limit=100)["versions"]
    assert len(whole) == 7
    walked: list[dict[str, Any]] = []
    before = ""
    while True:
        page = history_of(client, "Paged", limit=3, before=before)
        walked.extend(page["versions"])
        if page["next"] is None:
            break
        before = page["next"]
    assert walked == whole
    assert [int(v["cursor"]) for v in whole] == sorted((int(v["cursor"]) for v in whole), reverse=True)


def test_history_is_a_fixed_number_of_queries(client: Client, django_assert_max_num_queries: Any) -> None:
    for number in range(5):
        apply_v2("create" if number == 0 else "update", "Counted", description=str(number))
    history_of(client, "Counted", limit=1)  # loads the live document (is "Counted/history" a record?)
    # The pointer (at most one query), the page, its proposal ids and their people.
    with django_assert_max_num_queries(4):
        assert len(history_of(client, "Counted")["versions"]) == 5
    # The same page again, while the category's revision stays: from memory.
    with django_assert_max_num_queries(1):
        assert len(history_of(client, "Counted")["versions"]) == 5


def test_history_of_a_name_that_never_existed_is_404(client: Client) -> None:
    response = client.get(f"{V2}/{SD}/model/Nobody/history")
    assert response.status_code == 404
    assert "never existed" in response.json()["detail"]


@pytest.mark.parametrize("name", ["a%00b", "%ED%A0%80x", "%FF"])
def test_history_of_a_name_no_record_can_have_is_404(client: Client, name: str) -> None:
    response = client.get(f"{V2}/{SD}/model/{name}/history")
    assert response.status_code == 404, response.content
    assert "never existed" in response.json()["detail"]


def test_history_of_a_deleted_record_stays_readable(client: Client) -> None:
    apply_v2("create", "Gone")
    apply_v2("delete", "Gone")
    assert client.get(f"{V2}/{SD}/model/Gone").status_code == 404
    assert [v["operation"] for v in history_of(client, "Gone")["versions"]] == ["delete", "create"]


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("limit=0", ["query", "limit"]),
        ("limit=101", ["query", "limit"]),
        ("limit=x", ["query", "limit"]),
        ("before=-1", ["query", "before"]),
        ("before=abc", ["query", "before"]),
        ("before=" + "9" * 19, ["query", "before"]),
    ],
)
def test_bad_history_parameters_are_422(client: Client, query: str, loc: list[str]) -> None:
    apply_v2("create", "Hist")
    response = client.get(f"{V2}/{SD}/model/Hist/history?{query}")
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == loc


def test_history_of_an_unknown_category_is_422(client: Client) -> None:
    response = client.get(f"{V2}/nope/model/Hist/history")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "model_category_name"]


def test_a_record_named_like_a_history_path_is_still_served(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        record_create(category=SD, name="x", payload=sd_payload("x"), actor=IMPORTER, source="sync")
    # Without a record "x/history", the path is x's history.
    assert history_of(client, "x")["name"] == "x"
    with django_capture_on_commit_callbacks(execute=True):
        record_create(
            category=SD, name="x/history", payload=sd_payload("x/history"), actor=IMPORTER, source="sync"
        )
    # With one, the path is that record (as before history existed) ...
    response = client.get(f"{V2}/{SD}/model/x/history")
    assert response.status_code == 200
    assert response.json()["name"] == "x/history" and "versions" not in response.json()
    # ... and its own history one level further.
    assert history_of(client, "x/history")["name"] == "x/history"
    assert history_of(client, "x/history")["versions"][0]["operation"] == "create"
    # Writes to that path stay the record's write route (auth first: 401, not 405).
    assert client.put(f"{V2}/{SD}/model/x/history", {}, content_type="application/json").status_code == 401
    # A name ending in "/history" that is not a record reads the history of the rest.
    assert client.get(f"{V2}/{SD}/model/y/history").status_code == 404


# --------------------------------------------------------------------------- as_of


def test_as_of_a_revision_serves_the_document_as_it_was(client: Client) -> None:
    record_create(category=SD, name="A", payload=sd_payload("A"), actor=IMPORTER, source="sync")
    first = last_sequence()
    record_update(
        category=SD, name="A", payload=sd_payload("A", description="new"), actor=IMPORTER, source="sync"
    )
    record_create(category=SD, name="B", payload=sd_payload("B"), actor=IMPORTER, source="sync")
    then = client.get(f"{V2}/{SD}", {"as_of": str(first)})
    assert then.status_code == 200
    assert then.json() == {"A": served_sd("A")}
    live = client.get(f"{V2}/{SD}")
    now = client.get(f"{V2}/{SD}", {"as_of": str(last_sequence())})
    # The present, replayed from the trail, is byte for byte the live document ...
    assert now.content == live.content
    # ... under an ETag of its own (strong), different from the live one and from the past's.
    etags = {then["ETag"], now["ETag"], live["ETag"]}
    assert len(etags) == 3 and not any(e.startswith("W/") for e in etags)
    assert then["Vary"] == "Accept-Encoding" and then["Content-Type"] == "application/json"


def test_as_of_a_time_and_before_the_first_event(client: Client) -> None:
    before_anything = datetime.now(UTC) - timedelta(days=1)
    record_create(category=SD, name="A", payload=sd_payload("A"), actor=IMPORTER, source="sync")
    moment = datetime.now(UTC)
    record_delete(category=SD, name="A", actor=IMPORTER, source="sync")
    empty = client.get(f"{V2}/{SD}", {"as_of": before_anything.isoformat()})
    assert empty.status_code == 200 and empty.json() == {}
    assert client.get(f"{V2}/{SD}", {"as_of": moment.isoformat()}).json() == {"A": served_sd("A")}
    # Without an offset the time is UTC.
    naive = moment.replace(tzinfo=None).isoformat()
    assert client.get(f"{V2}/{SD}", {"as_of": naive}).json() == {"A": served_sd("A")}
    assert client.get(f"{V2}/{SD}", {"as_of": "2999-01-01T00:00:00Z"}).json() == {}
    # The record: as it was, 404 before it existed, and readable after its deletion.
    record = client.get(f"{V2}/{SD}/model/A", {"as_of": moment.isoformat()})
    assert record.status_code == 200 and record.json() == served_sd("A")
    assert client.get(f"{V2}/{SD}/model/A", {"as_of": before_anything.isoformat()}).status_code == 404
    assert client.get(f"{V2}/{SD}/model/A").status_code == 404


def test_as_of_conditional_requests_and_gzip(client: Client, django_assert_max_num_queries: Any) -> None:
    record_create(category=SD, name="A", payload=sd_payload("A"), actor=IMPORTER, source="sync")
    as_of = str(last_sequence())
    record_update(
        category=SD, name="A", payload=sd_payload("A", description="new"), actor=IMPORTER, source="sync"
    )
    plain = client.get(f"{V2}/{SD}", {"as_of": as_of})
    zipped = client.get(f"{V2}/{SD}", {"as_of": as_of}, HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip" and gzip.decompress(zipped.content) == plain.content
    assert zipped["ETag"] != plain["ETag"]
    # A 304 needs no replay: the pointer query only.
    with django_assert_max_num_queries(2):
        again = client.get(f"{V2}/{SD}", {"as_of": as_of}, HTTP_IF_NONE_MATCH=plain["ETag"])
    assert again.status_code == 304 and again.content == b""
    # A later as_of that lands on the same state shares the ETag; one past a change does not.
    record_create(category="blip", name="other", payload={"name": "other"}, actor=IMPORTER, source="sync")
    same = client.get(f"{V2}/{SD}", {"as_of": str(last_sequence() - 2)})
    assert same["ETag"] == plain["ETag"]
    moved = client.get(f"{V2}/{SD}", {"as_of": str(last_sequence())}, HTTP_IF_NONE_MATCH=plain["ETag"])
    assert moved.status_code == 200 and moved.json()["A"]["description"] == "new"
    record = client.get(f"{V2}/{SD}/model/A", {"as_of": as_of})
    assert record.json() == served_sd("A")
    assert (
        client.get(f"{V2}/{SD}/model/A", {"as_of": as_of}, HTTP_IF_NONE_MATCH=record["ETag"]).status_code
        == 304
    )


@pytest.mark.parametrize(
    "value",
    ["", "yesterday", "-1", "1.5", "9" * 19, "2025-13-01", "2025-01-01T25:00", "0001-01-01T00:00:00+05:00",
     "2025-01-01\x00", " 12", "１２"],
)  # fmt: skip
def test_a_malformed_as_of_is_422(client: Client, value: str) -> None:
    for url in (f"{V2}/{SD}", f"{V2}/{SD}/model/A"):
        response = client.get(url, {"as_of": value})
        assert response.status_code == 422, (url, value, response.content)
        assert response.json()["detail"][0]["loc"] == ["query", "as_of"]


def test_as_of_replays_the_real_import_exactly(client: Client, real_reference: Path) -> None:
    head = str(last_sequence())
    for category in ("image_generation", "text_generation", "controlnet", "esrgan"):
        live = client.get(f"{V2}/{category}")
        replayed = client.get(f"{V2}/{category}", {"as_of": head})
        assert replayed.status_code == 200
        assert replayed.content == live.content, category


def test_historical_documents_are_kept_in_a_bounded_lru(client: Client, monkeypatch: Any) -> None:
    monkeypatch.setattr(history, "HISTORY_CACHE_SIZE", 3)
    history.history_cache_reset()
    sequences = []
    for number in range(5):
        record_create(
            category=SD, name=f"M{number}", payload=sd_payload(f"M{number}"), actor=IMPORTER, source="sync"
        )
        sequences.append(last_sequence())
    for number, sequence in enumerate(sequences):
        assert len(client.get(f"{V2}/{SD}", {"as_of": str(sequence)}).json()) == number + 1
    assert len(history._documents) == 3
    assert [key[1].split("-")[1] for key in history._documents] == [str(s) for s in sequences[2:]]


def test_a_new_version_shows_at_once_despite_the_page_cache(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        record_create(category=SD, name="Fresh", payload=sd_payload("Fresh"), actor=IMPORTER, source="sync")
    assert len(history_of(client, "Fresh")["versions"]) == 1
    with django_capture_on_commit_callbacks(execute=True):
        apply_v2("update", "Fresh", description="second")
    versions = history_of(client, "Fresh")["versions"]
    assert [v["operation"] for v in versions] == ["update", "create"]
    assert versions[0]["proposed_by"]["display_name"] == "alice#1"


def test_a_warm_history_page_is_served_by_the_fast_path(
    client: Client, django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any
) -> None:
    from references.fast_path import fast_answer
    from tests.references.test_fast_path import environ

    with django_capture_on_commit_callbacks(execute=True):
        record_create(category=SD, name="Quick", payload=sd_payload("Quick"), actor=IMPORTER, source="sync")
    path = f"{V2}/{SD}/model/Quick/history"
    assert fast_answer(environ(path)) is None  # cold: Django answers first
    from_django = client.get(path)
    with django_assert_num_queries(0):
        answer = fast_answer(environ(path))
    assert answer is not None and answer.status == 200 and answer.body == from_django.content
    assert dict(answer.headers)["Content-Type"] == "application/json"
    # Other pages, and a name that never existed, stay with Django.
    assert fast_answer(environ(path, query="limit=1")) is None
    client.get(f"{V2}/{SD}/model/Nobody/history")
    assert fast_answer(environ(f"{V2}/{SD}/model/Nobody/history")) is None
    # A record named "Quick/history" owns the path from the moment it exists.
    with django_capture_on_commit_callbacks(execute=True):
        record_create(
            category=SD,
            name="Quick/history",
            payload=sd_payload("Quick/history"),
            actor=IMPORTER,
            source="sync",
        )
    client.get(path)
    answer = fast_answer(environ(path))
    assert answer is not None and answer.body == client.get(path).content
    assert b'"versions"' not in answer.body
