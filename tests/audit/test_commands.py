"""``audit_verify`` and ``audit_replay``: the chain and the records, checked from the command line."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditChainHead, AuditEvent
from audit.services import Actor
from tests.audit.test_chain import _tamper, append
from tests.factories import sd_payload
from tests.record_writes import record_create, record_delete, record_update

pytestmark = pytest.mark.django_db

SD = "image_generation"
SYSTEM = Actor.system("test")


def run(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=out)
    return out.getvalue()


def test_audit_verify_reports_count_and_head_hash() -> None:
    events = append(3)
    out = run("audit_verify")
    assert "3 event(s) checked" in out and events[-1].hash in out


def test_audit_verify_catches_an_edited_event() -> None:
    append(5)
    assert "5 event(s) checked" in run("audit_verify")
    # Behind every guard: the model, the queryset and (PostgreSQL) the trigger.
    _tamper("UPDATE audit_auditevent SET actor_display = %s WHERE sequence = %s", ["mallory", 3])
    with pytest.raises(CommandError) as caught:
        run("audit_verify")
    message = str(caught.value)
    assert "event 3" in message and "hash mismatch" in message and "2 event(s) before it verified" in message


def test_audit_verify_catches_a_broken_link() -> None:
    events = append(4)
    # A forged event 3 whose own hash is consistent but whose link is not.
    _tamper("UPDATE audit_auditevent SET prev_hash = %s WHERE sequence = %s", ["f" * 64, 3])
    with pytest.raises(CommandError) as caught:
        run("audit_verify")
    message = str(caught.value)
    assert "event 3" in message and "prev_hash mismatch" in message and events[1].hash in message


def test_audit_verify_catches_a_removed_tail() -> None:
    append(3)
    _tamper("DELETE FROM audit_auditevent WHERE sequence = %s", [3])
    with pytest.raises(CommandError, match="chain head does not match"):
        run("audit_verify")


def test_audit_verify_streams_without_per_event_queries(django_assert_max_num_queries: object) -> None:
    append(30)
    # One query for the events (in chunks) and one for the head, whatever the length.
    with django_assert_max_num_queries(4):  # type: ignore[operator]
        run("audit_verify")


def _records() -> None:
    record_create(category=SD, name="A", payload=sd_payload("A"), actor=SYSTEM, source="sync")
    record_create(category=SD, name="B", payload=sd_payload("B"), actor=SYSTEM, source="sync")
    record_update(
        category=SD, name="A", payload=sd_payload("A", description="new"), actor=SYSTEM, source="api"
    )
    record_create(category=SD, name="C", payload=sd_payload("C"), actor=SYSTEM, source="api")
    record_delete(category=SD, name="B", actor=SYSTEM, source="api")


def test_audit_replay_matches_live_records() -> None:
    _records()
    out = run("audit_replay")
    assert "replay ok: 2 record(s)" in out


def test_audit_replay_names_records_that_differ() -> None:
    _records()
    table = "references_modelrecord"
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET version = version + 1000 WHERE name = %s", ["A"])
        cursor.execute(f"DELETE FROM {table} WHERE name = %s", ["C"])
    out = StringIO()
    with pytest.raises(CommandError, match="2 record"):
        call_command("audit_replay", stdout=out, stderr=out)
    lines = out.getvalue()
    assert f"{SD}/A: version" in lines and f"{SD}/C: missing_live" in lines


def test_audit_replay_as_of_a_sequence_and_a_time() -> None:
    _records()
    created_b = AuditEvent.objects.get(action="record.created", model_name="B").sequence
    out = run("audit_replay", "--as-of", str(created_b))
    assert f"records as of event {created_b}: 2" in out and f"{SD}: 2" in out
    first = AuditEvent.objects.order_by("sequence").first()
    assert first is not None
    out = run("audit_replay", "--as-of", first.occurred_at.replace(tzinfo=None).isoformat())
    assert "records as of" in out
    with pytest.raises(CommandError, match="neither"):
        run("audit_replay", "--as-of", "yesterday")
    # Nothing was written by any of it.
    head = AuditChainHead.objects.get()
    assert head.sequence == AuditEvent.objects.count()
