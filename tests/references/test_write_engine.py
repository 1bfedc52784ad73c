"""The one write engine: plan (lock, check) and write (version, bulk, bump); the caller appends the audit."""

from __future__ import annotations

import pytest
from django.db import transaction

from audit.models import AuditEvent
from audit.services import Actor, audit_events_append
from references.models import CategoryState, ModelRecord
from references.selectors import record_get, record_list
from references.services import RecordChange, category_sync, records_plan, records_write
from tests.factories import entry, sd_payload
from tests.record_writes import record_create

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test")
SD = "image_generation"


def test_write_returns_one_record_event_per_step_and_appends_nothing() -> None:
    record_create(category=SD, name="Old", payload=sd_payload("Old"), actor=ACTOR, source="sync")
    old = record_get(category=SD, name="Old")
    assert old is not None
    events_before = AuditEvent.objects.count()
    with transaction.atomic():
        plan = records_plan(
            changes=[
                RecordChange(SD, "New", "create", sd_payload("New")),
                RecordChange(SD, "Old", "delete", expected_version=old.version),
            ]
        )
        written = records_write(plan=plan)
        assert AuditEvent.objects.count() == events_before  # the caller appends, once
        assert [event.action for event in written.events] == ["record.created", "record.deleted"]
        assert written.versions[0] is not None and written.versions[0] > old.version
        assert written.versions[1] is None
        audit_events_append(events=written.events, actor=ACTOR, source="sync")
    assert AuditEvent.objects.count() == events_before + 2
    assert record_get(category=SD, name="Old") is None
    new = record_get(category=SD, name="New")
    assert new is not None and new.version == written.versions[0]
    assert CategoryState.objects.get(category=SD).revision == written.revisions[SD]


def test_plan_stops_at_the_first_change_that_fails_against_the_state_before_it() -> None:
    with transaction.atomic():
        plan = records_plan(
            changes=[
                RecordChange(SD, "A", "create", sd_payload("A")),
                RecordChange(SD, "A", "update", sd_payload("A", description="x"), expected_version=7),
                RecordChange(SD, "B", "create", sd_payload("B")),
            ]
        )
    assert [step.change.name for step in plan.steps] == ["A"]
    assert plan.failed_index == 1 and plan.failure is not None
    # The first change created A in the plan (not yet in the table): the second one
    # fails on its base version, not on existence.
    assert plan.failure.status == 409


def test_skip_unchanged_leaves_out_what_would_store_the_same() -> None:
    record_create(category=SD, name="A", payload=sd_payload("A"), actor=ACTOR, source="sync")
    current = record_get(category=SD, name="A")
    assert current is not None
    with transaction.atomic():
        plan = records_plan(
            changes=[RecordChange(SD, "A", "update", sd_payload("A"), {}, current.version)],
            skip_unchanged=True,
        )
    assert plan.steps == [] and plan.unchanged == ["A"] and plan.failure is None


def test_the_importer_writes_through_the_engine_in_its_order() -> None:
    category_sync(category=SD, entries=[entry(n) for n in "ABC"], actor=ACTOR, source="sync")
    report = category_sync(
        category=SD,
        entries=[entry("C"), entry("B", sd_payload("B", description="new")), entry("D")],
        actor=ACTOR,
        source="sync",
        allow_mass_delete=True,
    )
    assert (report.created, report.updated, report.deleted, report.unchanged) == (["D"], ["B"], ["A"], ["C"])
    assert [r.name for r in record_list(category=SD)] == ["C", "B", "D"]
    assert list(
        ModelRecord.objects.filter(category=SD).order_by("position").values_list("position", flat=True)
    ) == [
        0,
        1,
        2,
    ]
    last = list(AuditEvent.objects.order_by("-sequence").values_list("action", flat=True)[:4])
    assert last[0] == "category.reordered"
    assert sorted(last[1:]) == ["record.created", "record.deleted", "record.updated"]
    state = CategoryState.objects.get(category=SD)
    assert (state.last_operation, state.last_operation_model) == ("create", "D")
