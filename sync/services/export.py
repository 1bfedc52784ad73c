"""Publishing export releases: on schedule, and debounced after committed changes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone

from references.exports import ReleaseResult, export_release_publish
from references.selectors import category_revisions
from sync.models import SyncLease, SyncRun
from sync.services.runs import (
    lease_holder,
    lease_row,
    run_finish,
    run_skipped,
    sync_lease_acquire,
    sync_lease_release,
)

logger = logging.getLogger(__name__)


def _release_log(result: ReleaseResult, *, dry_run: bool) -> str:
    if result.manifest is None:
        return f"nothing changed since release {result.name}; no new release"
    if dry_run:
        lines = [f"dry run: would publish release {result.name} with {len(result.files)} files:"]
        return "\n".join(lines + [f"  {path}" for path in result.files])
    lines = [f"published release {result.name} ({len(result.files)} files + manifest.json)"]
    lines += [f"pruned release {name}" for name in result.pruned]
    return "\n".join(lines)


def export_publish(*, trigger: str, dry_run: bool = False, raise_errors: bool = True) -> SyncRun:
    """Publish the registry as a new export release (see references.exports); one run at a time.

    Recorded as a SyncRun: ``skipped`` when another export holds the lease, ``failed``
    with the error (re-raised unless ``raise_errors`` is False, so a task can retry).
    """
    export_dir = Path(settings.EXPORT_DIR)
    kind, source = SyncRun.Kind.EXPORT, str(export_dir)
    # Clear the request marker before reading anything: a change committed after this
    # point asks for (and gets) a new run, and one committed before it is in our
    # snapshot, or in that of the run holding the lease (which re-checks when done).
    if not dry_run:
        _export_request_clear()
    holder = lease_holder()
    if not sync_lease_acquire(kind=kind, holder=holder):
        return run_skipped(kind=kind, trigger=trigger, dry_run=dry_run, source=source)
    run = SyncRun.objects.create(
        kind=kind, trigger=trigger, dry_run=dry_run, source=source, started_at=timezone.now()
    )
    try:
        result = export_release_publish(
            export_dir=export_dir,
            keep=settings.EXPORT_KEEP_RELEASES,
            dry_run=dry_run,
        )
    except Exception as error:
        logger.exception("export run %s failed", run.pk)
        run_finish(
            run, status=SyncRun.Status.FAILED, counts={}, log="", error=f"{type(error).__name__}: {error}"
        )
        if raise_errors:
            raise
        return run
    finally:
        sync_lease_release(kind=kind, holder=holder)
    counts = {"released": int(result.created), "files": len(result.files), "pruned": len(result.pruned)}
    log = _release_log(result, dry_run=dry_run)
    run_finish(run, status=SyncRun.Status.SUCCEEDED, counts=counts, log=log)
    # A change that committed while we held the lease had its own run skipped; if the
    # registry moved past what we published, ask for one more.
    if not dry_run and category_revisions() != result.revisions:
        export_request()
    return run


# Debounce: a change sets `requested_at` on the export lease row with a conditional
# UPDATE and enqueues only if no request was pending; the run clears it when it starts.
# A burst of applies therefore enqueues one task (EXPORT_DEBOUNCE_SECONDS later), and
# a change made after that task started enqueues the next one. The marker is SQL, not
# cache, so it holds across processes with or without Redis. A marker whose task was
# lost (broker restart) goes stale and stops blocking after this long:
_EXPORT_REQUEST_STALE_SECONDS = 60.0


def _export_request_clear() -> None:
    SyncLease.objects.filter(kind=SyncRun.Kind.EXPORT).update(requested_at=None)


def export_request() -> None:
    """Ask for an export after a committed change: debounced, and never raises."""
    if not settings.EXPORT_ON_CHANGE:
        return
    now = timezone.now()
    stale = now - timedelta(seconds=settings.EXPORT_DEBOUNCE_SECONDS + _EXPORT_REQUEST_STALE_SECONDS)
    try:
        lease_row(SyncRun.Kind.EXPORT)
        claimed = (
            SyncLease.objects.filter(kind=SyncRun.Kind.EXPORT)
            .filter(Q(requested_at__isnull=True) | Q(requested_at__lt=stale))
            .update(requested_at=now)
        )
    except DatabaseError:
        logger.exception("could not mark an export as requested; enqueuing anyway")
        claimed = 1
    if claimed:
        export_enqueue(trigger=SyncRun.Trigger.ON_COMMIT, countdown=settings.EXPORT_DEBOUNCE_SECONDS)


def export_enqueue(*, trigger: str, countdown: float = 0) -> bool:
    """Send ``sync.publish_export`` to the workers (run it here in eager mode).

    Never raises: the caller's change is committed whatever the broker does. A failed
    enqueue is logged and recorded as a failed SyncRun, and the request marker is
    cleared so the next change tries again.
    """
    from sync.tasks import publish_export

    started, started_at = time.monotonic(), timezone.now()
    try:
        publish_export.apply_async(kwargs={"trigger": trigger}, countdown=countdown)
        return True
    except Exception as error:
        if publish_export.app.conf.task_always_eager:
            # The task ran here and has recorded its own failure.
            logger.exception("the eager export failed")
            return False
        logger.exception("could not enqueue an export")
        try:
            _export_request_clear()
            SyncRun.objects.create(
                kind=SyncRun.Kind.EXPORT,
                trigger=trigger,
                status=SyncRun.Status.FAILED,
                started_at=started_at,
                finished_at=timezone.now(),
                duration_ms=int((time.monotonic() - started) * 1000),
                error=f"could not enqueue sync.publish_export: {type(error).__name__}: {error}",
            )
        except DatabaseError:
            logger.exception("could not record the failed enqueue")
        return False


# The importer commits one transaction per category; its exports are deferred to the
# end of the import so that one import publishes one export, even in eager mode.
_deferral = threading.local()


def records_committed() -> None:
    """The reaction to every committed record change (registered in SyncConfig.ready)."""
    if getattr(_deferral, "depth", 0):
        _deferral.pending = True
        return
    export_request()


@contextmanager
def exports_deferred() -> Iterator[None]:
    _deferral.depth = getattr(_deferral, "depth", 0) + 1
    try:
        yield
    finally:
        _deferral.depth -= 1
        if not _deferral.depth and getattr(_deferral, "pending", False):
            _deferral.pending = False
            export_request()
