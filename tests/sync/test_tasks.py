"""Sync runs: the lease, the export task and command, the on-commit export, the admin."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from audit.services import Actor
from pending_queue.services import batch_review, proposal_apply, proposal_create_v2
from references.exports import CURRENT_LINK, MANIFEST_NAME, RELEASES_DIR
from sync.models import SyncLease, SyncRun
from sync.services import export_publish, sync_lease_acquire, sync_lease_release
from sync.tasks import publish_export
from tests.factories import sd_payload
from tests.record_writes import record_create

ALICE = Actor(kind="horde", id="1", display_name="alice#1")
BOB = Actor(kind="horde", id="2", display_name="bob#2")
SD = "image_generation"
EXPORT = SyncRun.Kind.EXPORT


@pytest.fixture
def export_dir(settings: Any, tmp_path: Path) -> Path:
    settings.EXPORT_DIR = tmp_path / "export"
    return Path(settings.EXPORT_DIR)


def current_manifest(export_dir: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((export_dir / CURRENT_LINK / MANIFEST_NAME).read_bytes())
    return manifest


def apply_through_the_queue(name: str) -> None:
    proposal = proposal_create_v2(
        category=SD, operation="create", body=sd_payload(name), path_name=None, actor=ALICE
    )
    batch_review(title="t", approved_ids=[proposal.pk], rejected_ids=[], reason="", actor=BOB)
    proposal_apply(change_id=proposal.pk, actor=BOB)


@pytest.mark.django_db
def test_a_held_lease_is_not_taken_and_an_expired_one_is() -> None:
    assert sync_lease_acquire(kind=EXPORT, holder="first")
    assert not sync_lease_acquire(kind=EXPORT, holder="second")
    # Only the holder releases it.
    sync_lease_release(kind=EXPORT, holder="second")
    assert not sync_lease_acquire(kind=EXPORT, holder="second")
    # The first holder crashed: once its lease expires, the next run takes over.
    SyncLease.objects.filter(kind=EXPORT).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert sync_lease_acquire(kind=EXPORT, holder="second")
    sync_lease_release(kind=EXPORT, holder="first")  # the late crashed holder frees nothing
    assert SyncLease.objects.get(kind=EXPORT).holder == "second"
    sync_lease_release(kind=EXPORT, holder="second")
    assert sync_lease_acquire(kind=EXPORT, holder="third")


@pytest.mark.django_db
def test_an_export_while_another_runs_is_recorded_as_skipped(export_dir: Path) -> None:
    assert sync_lease_acquire(kind=EXPORT, holder="worker-a:1:running")
    run = export_publish(trigger=SyncRun.Trigger.BEAT)
    assert run.status == SyncRun.Status.SKIPPED and run.trigger == "beat"
    assert "worker-a:1:running" in run.log
    assert not export_dir.exists()
    # The holder died without releasing: after expiry the next run takes over and exports.
    SyncLease.objects.filter(kind=EXPORT).update(expires_at=timezone.now() - timedelta(seconds=1))
    run = export_publish(trigger=SyncRun.Trigger.BEAT)
    assert run.status == SyncRun.Status.SUCCEEDED and run.counts["released"] == 1
    assert (export_dir / CURRENT_LINK / MANIFEST_NAME).is_file()
    assert SyncLease.objects.get(kind=EXPORT).holder == ""
    assert list(SyncRun.objects.order_by("pk").values_list("status", flat=True)) == ["skipped", "succeeded"]


@pytest.mark.postgres_only
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="runs in the PostgreSQL pass: two connections at once"
)
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_exports_one_runs_one_is_skipped(export_dir: Path) -> None:
    """The first export is held inside its run (a lock on the records table); a second one starts."""
    record_create(category=SD, name="Alpha", payload=sd_payload("Alpha"), actor=ALICE, source="sync")
    runs: list[SyncRun] = []

    def first() -> None:
        try:
            runs.append(export_publish(trigger=SyncRun.Trigger.BEAT))
        finally:
            connections.close_all()

    thread = threading.Thread(target=first)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute('LOCK TABLE "references_modelrecord" IN ACCESS EXCLUSIVE MODE')
        thread.start()
        deadline = time.monotonic() + 10
        while not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists():
            assert time.monotonic() < deadline, "the first export never started"
            time.sleep(0.02)

        second: list[SyncRun] = []

        def other() -> None:
            try:
                second.append(export_publish(trigger=SyncRun.Trigger.ADMIN))
            finally:
                connections.close_all()

        # From its own connection, as another worker would.
        helper = threading.Thread(target=other)
        helper.start()
        helper.join(timeout=20)
    thread.join(timeout=30)
    assert second[0].status == SyncRun.Status.SKIPPED
    assert runs[0].status == SyncRun.Status.SUCCEEDED
    assert SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).count() == 1
    assert current_manifest(export_dir)["categories"][SD]["records"] == 1


@pytest.mark.django_db
def test_the_task_parses_its_arguments_and_records_a_run(export_dir: Path) -> None:
    summary = publish_export.delay(trigger="beat").get()
    run = SyncRun.objects.get()
    assert summary == run.summary() and "succeeded" in summary
    assert run.kind == "export" and run.trigger == "beat" and run.duration_ms is not None
    assert run.finished_at is not None and run.error == ""
    # Idempotent: the same task again publishes nothing new.
    publish_export.delay(trigger="beat").get()
    assert SyncRun.objects.latest("pk").counts["released"] == 0
    assert len(list((export_dir / RELEASES_DIR).iterdir())) == 1


@pytest.mark.django_db
def test_a_failing_export_is_recorded_and_retried(settings: Any, tmp_path: Path) -> None:
    from celery.exceptions import Retry

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings.EXPORT_DIR = blocker / "export"
    # Eagerly, Celery surfaces the scheduled retry as Retry (a worker would run it later,
    # with backoff); the attempt is recorded with its error and the lease is given back.
    with pytest.raises(Retry, match="NotADirectoryError"):
        publish_export.delay(trigger="beat").get()
    run = SyncRun.objects.get()
    assert run.status == "failed" and run.error.startswith("NotADirectoryError")
    assert run.finished_at is not None and run.duration_ms is not None
    assert SyncLease.objects.get(kind=EXPORT).holder == ""
    # A failure that no retry can fix (a bad argument) is not retried.
    with pytest.raises(ValueError, match="not-a-trigger"):
        publish_export.delay(trigger="not-a-trigger").get()


@pytest.mark.django_db
def test_sync_export_command_prints_the_summary(export_dir: Path) -> None:
    out = io.StringIO()
    call_command("sync", "export", "--dry-run", stdout=out)
    assert "dry run: would publish release" in out.getvalue()
    assert "(command) (dry run): succeeded" in out.getvalue()
    assert not export_dir.exists()
    out = io.StringIO()
    call_command("sync", "export", stdout=out)
    assert "published release" in out.getvalue() and ": succeeded in" in out.getvalue()
    assert SyncRun.objects.filter(trigger="command", dry_run=False, status="succeeded").count() == 1


@pytest.mark.django_db
def test_sync_command_fails_loudly(settings: Any, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    settings.EXPORT_DIR = tmp_path / "a-file" / "export"
    with pytest.raises(CommandError, match=r"export run .* failed in \d+ ms: NotADirectoryError"):
        call_command("sync", "export", stdout=io.StringIO())


@pytest.mark.django_db
def test_an_applied_change_publishes_an_export(
    settings: Any, export_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EXPORT_ON_CHANGE = True
    with django_capture_on_commit_callbacks(execute=True):
        apply_through_the_queue("Alpha")
    run = SyncRun.objects.get(kind=EXPORT)
    assert run.trigger == "on_commit" and run.status == "succeeded"
    manifest = current_manifest(export_dir)
    assert manifest["categories"][SD]["records"] == 1
    document = json.loads((export_dir / CURRENT_LINK / "v2" / "image_generation.json").read_bytes())
    assert list(document) == ["Alpha"]


@pytest.mark.django_db(transaction=True)
def test_an_import_publishes_one_export(settings: Any, export_dir: Path, reference_data: Path) -> None:
    """Each category commits on its own; the export waits for the end of the import."""
    from sync.services import legacy_import

    settings.EXPORT_ON_CHANGE = True
    assert legacy_import(source=str(reference_data)).ok
    exports = SyncRun.objects.filter(kind=EXPORT)
    assert [(run.trigger, run.status) for run in exports] == [("on_commit", "succeeded")]
    assert current_manifest(export_dir)["categories"]["text_generation"]["records"] > 100


@pytest.mark.django_db
def test_admin_lists_runs_and_runs_an_export_now(admin_client: Any, export_dir: Path) -> None:
    export_publish(trigger=SyncRun.Trigger.BEAT)
    page = admin_client.get("/admin/sync/syncrun/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Schedule (beat)" in body and "Run this kind now" in body
    run = SyncRun.objects.get()
    response = admin_client.post(
        "/admin/sync/syncrun/", {"action": "run_now", "_selected_action": [run.pk]}, follow=True
    )
    assert response.status_code == 200
    latest = SyncRun.objects.latest("pk")
    assert latest.trigger == "admin" and latest.status == "succeeded"


@pytest.mark.django_db
def test_the_hourly_export_schedule_is_seeded() -> None:
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="sync.publish_export")
    assert task.enabled and task.interval is not None
    assert (task.interval.every, task.interval.period) == (1, "hours")
    assert json.loads(task.kwargs) == {"trigger": "beat"}
