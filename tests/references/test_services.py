from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from audit.models import AuditEvent
from audit.selectors import audit_chain_verify, audit_replay_record_state
from audit.services import Actor
from common.errors import DomainError
from references.models import CategoryState, ModelRecord
from references.selectors import record_get, record_list
from references.services import category_sync, payload_validate, record_name_problem
from tests.factories import entry, live_record_state, sd_payload
from tests.record_writes import record_create, record_delete, record_update

pytestmark = pytest.mark.django_db

ACTOR = Actor(kind="django", id="7", display_name="tester")
SD = "image_generation"


def create(name: str = "Alpha", **overrides: object) -> ModelRecord:
    return record_create(
        category=SD, name=name, payload=sd_payload(name, **overrides), actor=ACTOR, source="api"
    )


def test_create_bumps_version_revision_and_writes_one_audit_event() -> None:
    record = create("Alpha")
    state = CategoryState.objects.get(category=SD)
    assert record.version == 1
    assert state.revision == 1
    assert state.created_count == 1
    assert state.etag.startswith("1-")
    event = AuditEvent.objects.get()
    assert (event.action, event.category, event.model_name) == ("record.created", SD, "Alpha")
    assert event.after["payload"] == record.payload
    assert event.actor_display == "tester"


def test_versions_come_from_one_global_sequence() -> None:
    first = create("Alpha")
    second = record_create(
        category="controlnet",
        name="c",
        payload={"name": "c", "config": {"download": []}},
        actor=ACTOR,
        source="api",
    )
    updated = record_update(
        category=SD,
        name="Alpha",
        payload=sd_payload("Alpha", description="changed"),
        actor=ACTOR,
        source="api",
    )
    assert [first.version, second.version, updated.version] == [1, 2, 3]
    record_delete(category=SD, name="Alpha", actor=ACTOR, source="api")
    again = create("Alpha")
    # A re-created record never reuses a version a stale proposal could match.
    assert again.version == 4


def test_update_changes_payload_and_keeps_etag_unique() -> None:
    create("Alpha")
    etag_before = CategoryState.objects.get(category=SD).etag
    record_update(
        category=SD, name="Alpha", payload=sd_payload("Alpha", nsfw=True), actor=ACTOR, source="api"
    )
    stored = record_get(category=SD, name="Alpha")
    assert stored is not None and stored.payload["nsfw"] is True
    state = CategoryState.objects.get(category=SD)
    assert state.revision == 2 and state.updated_count == 1 and state.etag != etag_before


def test_create_existing_is_conflict_and_changes_nothing() -> None:
    create("Alpha")
    with pytest.raises(DomainError) as caught:
        create("Alpha")
    assert caught.value.status == 409
    assert AuditEvent.objects.count() == 1
    assert CategoryState.objects.get(category=SD).revision == 1


@pytest.mark.parametrize("operation", ["update", "delete"])
def test_update_or_delete_missing_is_not_found(operation: str) -> None:
    def attempt() -> None:
        if operation == "update":
            record_update(category=SD, name="Nope", payload=sd_payload("Nope"), actor=ACTOR, source="api")
        else:
            record_delete(category=SD, name="Nope", actor=ACTOR, source="api")

    with pytest.raises(DomainError) as caught:
        attempt()
    assert caught.value.status == 404
    assert not AuditEvent.objects.exists()


def test_stale_expected_version_is_a_conflict() -> None:
    record = create("Alpha")
    record_update(
        category=SD, name="Alpha", payload=sd_payload("Alpha", version="2"), actor=ACTOR, source="api"
    )
    with pytest.raises(DomainError) as caught:
        record_update(
            category=SD,
            name="Alpha",
            payload=sd_payload("Alpha", version="3"),
            expected_version=record.version,
            actor=ACTOR,
            source="api",
        )
    assert caught.value.status == 409
    stored = record_get(category=SD, name="Alpha")
    assert stored is not None and stored.payload["version"] == "2"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "non-empty"),
        ("   ", "whitespace"),
        ("a\\b", "backslash"),
        ("a\x00b", "control"),
        ("tab\there", "control"),
        ("x" * 256, "at most 255"),
    ],
)
def test_bad_names_are_refused(name: str, problem: str) -> None:
    reason = record_name_problem(name)
    assert reason is not None and problem in reason
    with pytest.raises(DomainError) as caught:
        create(name)
    assert caught.value.status == 422
    assert not ModelRecord.objects.exists()


@pytest.mark.parametrize("name", ["org/model-7B", "with space", "dots.v1.5", "plus+hash#", "ümlaut-模型"])
def test_unusual_but_valid_names_are_accepted(name: str) -> None:
    assert record_name_problem(name) is None
    assert create(name).name == name


def test_database_refuses_duplicate_names_even_without_the_service() -> None:
    create("Alpha")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelRecord.objects.create(
            category=SD,
            name="Alpha",
            payload={},
            version=99,
            position=5,
            created_at="2026-01-01T00:00:00Z",
            updated_at="2026-01-01T00:00:00Z",
        )


def test_database_refuses_unknown_category() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelRecord.objects.create(
            category="not_a_category",
            name="x",
            payload={},
            version=1,
            position=0,
            created_at="2026-01-01T00:00:00Z",
            updated_at="2026-01-01T00:00:00Z",
        )


def test_payload_validate_reports_fields_in_established_shape() -> None:
    with pytest.raises(DomainError) as caught:
        payload_validate(category=SD, payload={"name": "x"}, strict=True)
    assert caught.value.status == 422
    assert isinstance(caught.value.detail, list)
    locs = [item["loc"] for item in caught.value.detail]
    assert ["body", "baseline"] in locs
    assert all({"loc", "msg", "type"} <= set(item) for item in caught.value.detail)


def test_payload_validate_strict_refuses_unknown_baseline_but_lenient_keeps_it() -> None:
    payload = sd_payload("x", baseline="not_a_baseline")
    assert payload_validate(category=SD, payload=payload, strict=False)["baseline"] == "not_a_baseline"
    with pytest.raises(DomainError):
        payload_validate(category=SD, payload=payload, strict=True)


class TestCategorySync:
    def test_creates_updates_deletes_and_reports(self) -> None:
        category_sync(category=SD, entries=[entry(n) for n in "ABCDE"], actor=ACTOR, source="sync")
        changed = entry("B", sd_payload("B", description="new"))
        report = category_sync(
            category=SD,
            entries=[entry("A"), changed, entry("C"), entry("D"), entry("F")],
            actor=ACTOR,
            source="sync",
        )
        assert report.created == ["F"]
        assert report.updated == ["B"]
        assert report.deleted == ["E"]
        assert report.unchanged == ["A", "C", "D"]
        assert [r.name for r in record_list(category=SD)] == ["A", "B", "C", "D", "F"]

    def test_identical_second_sync_writes_nothing(self) -> None:
        entries = [entry(n) for n in "ABC"]
        category_sync(category=SD, entries=entries, actor=ACTOR, source="sync")
        events, revision = AuditEvent.objects.count(), CategoryState.objects.get(category=SD).revision
        report = category_sync(category=SD, entries=entries, actor=ACTOR, source="sync")
        assert not report.changed and report.unchanged == ["A", "B", "C"]
        assert AuditEvent.objects.count() == events
        assert CategoryState.objects.get(category=SD).revision == revision

    def test_dry_run_reports_without_writing(self) -> None:
        report = category_sync(category=SD, entries=[entry("A")], actor=ACTOR, source="sync", dry_run=True)
        assert report.created == ["A"]
        assert not ModelRecord.objects.exists() and not AuditEvent.objects.exists()

    def test_mass_delete_is_refused_without_permission(self) -> None:
        category_sync(category=SD, entries=[entry(n) for n in "ABCDEFGHIJ"], actor=ACTOR, source="sync")
        with pytest.raises(DomainError) as caught:
            category_sync(category=SD, entries=[entry(n) for n in "ABCDEFG"], actor=ACTOR, source="sync")
        assert caught.value.code == "mass_delete"
        assert ModelRecord.objects.filter(category=SD).count() == 10
        report = category_sync(
            category=SD,
            entries=[entry(n) for n in "ABCDEFG"],
            actor=ACTOR,
            source="sync",
            allow_mass_delete=True,
        )
        assert report.deleted == ["H", "I", "J"]

    def test_kept_names_survive_and_order_follows_the_source(self) -> None:
        category_sync(category=SD, entries=[entry(n) for n in "ABC"], actor=ACTOR, source="sync")
        report = category_sync(
            category=SD, entries=[entry("C"), entry("A")], keep_names=["B"], actor=ACTOR, source="sync"
        )
        assert report.deleted == [] and report.reordered
        assert [r.name for r in record_list(category=SD)] == ["C", "A", "B"]

    def test_replay_rebuilds_the_exact_state(self) -> None:
        category_sync(category=SD, entries=[entry(n) for n in "ABCD"], actor=ACTOR, source="sync")
        category_sync(
            category=SD,
            entries=[entry("D"), entry("B", sd_payload("B", nsfw=True)), entry("A")],
            actor=ACTOR,
            source="sync",
            allow_mass_delete=True,
        )
        create("Z")
        record_delete(category=SD, name="A", actor=ACTOR, source="api")
        live = live_record_state()
        assert audit_replay_record_state() == live
        assert audit_chain_verify().ok
