from __future__ import annotations

import itertools

import pytest
from django.db import connection, transaction

from audit.models import AppendOnlyError, AuditEvent
from audit.selectors import audit_chain_head_hash, audit_chain_verify
from audit.services import Actor, audit_event_append

pytestmark = pytest.mark.django_db

ACTOR = Actor(kind="horde", id="42", display_name="alice#42")


def append(n: int) -> list[AuditEvent]:
    return [
        audit_event_append(action="proposal.approved", actor=ACTOR, source="api", details={"n": i})
        for i in range(n)
    ]


def test_events_form_a_verifiable_chain() -> None:
    events = append(5)
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert audit_chain_head_hash() == events[-1].hash
    assert audit_chain_verify().ok and audit_chain_verify().events_checked == 5


def test_model_refuses_update_and_delete() -> None:
    (event,) = append(1)
    event.action = "forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().action == "proposal.approved"


def _tamper(sql: str, params: list[str | int]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")


def test_verification_finds_an_edited_event() -> None:
    events = append(4)
    _tamper("UPDATE audit_auditevent SET details = %s WHERE sequence = %s", ['{"n":99}', 3])
    result = audit_chain_verify()
    assert not result.ok
    assert result.first_bad_sequence == 3 and result.reason == "hash mismatch"
    assert events[2].sequence == 3


def test_verification_finds_a_removed_event() -> None:
    append(4)
    _tamper("DELETE FROM audit_auditevent WHERE sequence = %s", [2])
    result = audit_chain_verify()
    assert not result.ok and result.first_bad_sequence == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_postgres_trigger_refuses_raw_update_and_delete() -> None:
    append(1)
    for sql in ("UPDATE audit_auditevent SET action = 'x'", "DELETE FROM audit_auditevent"):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert AuditEvent.objects.get().action == "proposal.approved"


def test_an_unregistered_action_is_refused_and_nothing_is_written() -> None:
    from audit.models import AuditAction

    append(1)
    with pytest.raises(ValueError, match="unregistered audit action"), transaction.atomic():
        audit_event_append(action="proposal.aproved", actor=ACTOR, source="api")
    assert AuditEvent.objects.count() == 1
    assert audit_chain_verify().ok
    # Every registered action is accepted, and stored as its plain string.
    event = audit_event_append(action=AuditAction.RECORD_DELETED, actor=ACTOR, source="api")
    assert AuditEvent.objects.get(pk=event.pk).action == "record.deleted"


def test_apps_above_audit_register_their_own_namespaced_actions() -> None:
    from audit.services import audit_actions_register, audit_actions_registered
    from licensing.models import LicensingAction

    # Registered at start-up by the licensing app's AppConfig.ready.
    assert set(LicensingAction.values) <= audit_actions_registered()
    event = audit_event_append(action=LicensingAction.LICENSE_CREATED, actor=ACTOR, source="api")
    assert AuditEvent.objects.get(pk=event.pk).action == "licensing.license_created"
    with pytest.raises(ValueError, match="needs a namespace"):
        audit_actions_register(actions=["created"])
    assert "created" not in audit_actions_registered()
