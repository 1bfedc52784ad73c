"""The daily audit verification: the task, its SyncRun, its schedule and the heartbeat field."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.test import Client

from sync.models import SyncRun
from sync.selectors import audit_verification_forget, audit_verification_latest
from sync.tasks import verify_audit_chain
from tests.audit.test_chain import _tamper, append

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    audit_verification_forget()
    yield
    audit_verification_forget()


def test_the_task_records_a_succeeded_run() -> None:
    events = append(3)
    summary = verify_audit_chain.delay(trigger="beat").get()
    run = SyncRun.objects.get(kind=SyncRun.Kind.AUDIT_VERIFY)
    assert run.status == SyncRun.Status.SUCCEEDED and run.trigger == "beat"
    assert run.counts == {"events_checked": 3, "first_bad_sequence": None}
    assert events[-1].hash in run.log and "succeeded" in summary


def test_a_broken_chain_is_a_failed_run_and_shows_in_the_heartbeat(client: Client) -> None:
    append(4)
    verify_audit_chain.delay(trigger="beat").get()
    heartbeat = client.get("/api/heartbeat").json()["audit_verification"]
    assert heartbeat["ok"] is True and heartbeat["events_checked"] == 4
    assert isinstance(heartbeat["checked_at"], int)
    _tamper("UPDATE audit_auditevent SET action = %s WHERE sequence = %s", ["forged", 2])
    verify_audit_chain.delay(trigger="beat").get()
    run = SyncRun.objects.filter(kind=SyncRun.Kind.AUDIT_VERIFY).latest("started_at")
    assert run.status == SyncRun.Status.FAILED and run.error.startswith("event 2: hash mismatch")
    audit_verification_forget()
    heartbeat = client.get("/api/heartbeat").json()["audit_verification"]
    assert heartbeat == {
        "ok": False,
        "checked_at": heartbeat["checked_at"],
        "events_checked": 1,
        "first_bad_sequence": 2,
    }


def test_the_heartbeat_reads_the_verification_cheaply(client: Client, django_assert_num_queries: Any) -> None:
    append(2)
    verify_audit_chain.delay(trigger="beat").get()
    # One indexed query per process per minute; none while the answer is fresh.
    with django_assert_num_queries(1):
        assert client.get("/api/heartbeat").json()["audit_verification"]["ok"] is True
    with django_assert_num_queries(0):
        client.get("/api/heartbeat")
    later = audit_verification_latest(now=10**9)
    assert later["ok"] is True


def test_the_heartbeat_says_unknown_before_any_verification(client: Client) -> None:
    assert client.get("/api/heartbeat").json()["audit_verification"] == {
        "ok": None,
        "checked_at": None,
        "events_checked": None,
        "first_bad_sequence": None,
    }


def test_the_daily_schedule_is_seeded_once() -> None:
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="audit.verify_chain")
    assert task.enabled and task.interval is not None
    assert (task.interval.every, task.interval.period) == (1, "days")
    assert json.loads(task.kwargs) == {"trigger": "beat"}
    # Re-running the seed (as a re-applied migration would) keeps one, even when edited.
    task.enabled = False
    task.save()
    migration = importlib.import_module("sync.migrations.0008_audit_verify_kind_schedule")
    migration.seed(django_apps, None)
    (again,) = PeriodicTask.objects.filter(task="audit.verify_chain")
    assert again.enabled is False


def test_a_bad_trigger_is_refused_and_records_nothing() -> None:
    with pytest.raises(ValueError, match="nope"):
        verify_audit_chain.delay(trigger="nope").get()
    assert not SyncRun.objects.filter(kind=SyncRun.Kind.AUDIT_VERIFY).exists()


def test_the_admin_runs_a_verification_now(admin_client: Any) -> None:
    append(2)
    verify_audit_chain.delay(trigger="beat").get()
    run = SyncRun.objects.get(kind=SyncRun.Kind.AUDIT_VERIFY)
    response = admin_client.post(
        "/admin/sync/syncrun/", {"action": "run_now", "_selected_action": [run.pk]}, follow=True
    )
    assert response.status_code == 200
    latest = SyncRun.objects.filter(kind=SyncRun.Kind.AUDIT_VERIFY).latest("pk")
    assert latest.pk != run.pk and latest.trigger == "admin" and latest.status == "succeeded"
