"""Importing the legacy reference files, publishing exports, and the runs that do both."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone

from audit.models import EventSource
from audit.services import Actor
from common.errors import DomainError
from horde_model_reference.legacy import LegacyFormatError, LegacyImportResult, legacy_document_to_canonical
from horde_model_reference.legacy.types import ConversionIssue
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from references.exports import ReleaseResult, export_release_publish
from references.models import ModelRecord
from references.selectors import category_revisions
from references.services import CategorySyncReport, category_sync
from sync.legacy_source import TEXT_CSV, SourceFile, SourceUnavailableError, read_source
from sync.models import SyncLease, SyncRun

logger = logging.getLogger(__name__)

IMPORTER = Actor.system("legacy-importer")


@dataclass
class CategoryImportOutcome:
    category: str
    origin: str
    report: CategorySyncReport | None = None
    invalid: list[ConversionIssue] = field(default_factory=list)
    error: str | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.invalid


@dataclass
class LegacyImportReport:
    source: str
    dry_run: bool
    outcomes: list[CategoryImportOutcome] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(outcome.ok for outcome in self.outcomes)

    def counts(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = {}
        for outcome in self.outcomes:
            report = outcome.report
            result[outcome.category] = {
                "created": len(report.created) if report else 0,
                "updated": len(report.updated) if report else 0,
                "deleted": len(report.deleted) if report else 0,
                "unchanged": len(report.unchanged) if report else 0,
                "invalid": len(outcome.invalid),
            }
        return result

    def lines(self) -> list[str]:
        """A readable account, one line per fact, for the command's output and the SyncRun log."""
        out = [f"note: {notice}" for notice in self.notices]
        if self.error:
            out.append(f"error: {self.error}")
        for outcome in self.outcomes:
            out.extend(f"note: {notice}" for notice in outcome.notices)
            if outcome.error:
                out.append(f"error: {outcome.category} ({outcome.origin}): {outcome.error}")
                continue
            report = outcome.report
            if report is not None:
                out.append(
                    f"{outcome.category}: created {len(report.created)}, updated {len(report.updated)}, "
                    f"deleted {len(report.deleted)}, unchanged {len(report.unchanged)}, "
                    f"invalid {len(outcome.invalid)}"
                )
            for issue in outcome.invalid:
                out.append(
                    f"invalid: {outcome.category} ({outcome.origin}) record '{issue.name}': {issue.reason}"
                )
        return out


def _convert(source_file: SourceFile) -> LegacyImportResult:
    """Parse one file and convert it; LegacyFormatError when the whole file is unusable."""
    try:
        text = source_file.content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LegacyFormatError(f"not UTF-8 text ({error})") from error
    if source_file.filename == TEXT_CSV:
        from horde_model_reference.legacy.text import text_csv_to_canonical

        return text_csv_to_canonical(text)
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise LegacyFormatError(
            f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from error
    return legacy_document_to_canonical(source_file.category, document)


def _import_file(
    source_file: SourceFile, *, strict: bool, dry_run: bool, allow_mass_delete: bool
) -> CategoryImportOutcome:
    outcome = CategoryImportOutcome(category=source_file.category.value, origin=source_file.origin)
    try:
        result = _convert(source_file)
    except LegacyFormatError as error:
        outcome.error = f"{source_file.filename}: {error}; category left unchanged"
        return outcome
    outcome.invalid = result.invalid
    outcome.notices = result.notices
    if strict and result.invalid:
        outcome.error = (
            f"{len(result.invalid)} invalid record(s) in {source_file.filename}; "
            "--strict: category left unchanged"
        )
        return outcome
    try:
        outcome.report = category_sync(
            category=source_file.category,
            entries=result.entries,
            keep_names=[issue.name for issue in result.invalid if issue.name],
            actor=IMPORTER,
            source=EventSource.SYNC,
            allow_mass_delete=allow_mass_delete,
            dry_run=dry_run,
        )
    except DomainError as error:
        outcome.error = f"{error}; category left unchanged"
    return outcome


def legacy_import(
    *,
    source: str,
    dry_run: bool = False,
    strict: bool = False,
    allow_mass_delete: bool = False,
    kind: str = SyncRun.Kind.LEGACY_IMPORT,
) -> LegacyImportReport:
    """Import every legacy file the source holds; each category in its own transaction.

    Categories whose file is absent are left untouched. With ``strict``, a category
    with any invalid record is not changed at all; otherwise valid records are
    applied and each invalid one keeps its existing row.
    """
    with _exports_deferred():
        return _legacy_import(
            source=source, dry_run=dry_run, strict=strict, allow_mass_delete=allow_mass_delete, kind=kind
        )


def _legacy_import(
    *, source: str, dry_run: bool, strict: bool, allow_mass_delete: bool, kind: str
) -> LegacyImportReport:
    report = LegacyImportReport(source=source or "github", dry_run=dry_run)
    run = SyncRun.objects.create(kind=kind, source=report.source, dry_run=dry_run, started_at=timezone.now())
    try:
        files, notices = read_source(source)
    except SourceUnavailableError as error:
        report.error = str(error)
        files, notices = [], []
    report.notices = [n for n in notices if not n.startswith("error: ")]
    for failure in (n for n in notices if n.startswith("error: ")):
        report.outcomes.append(CategoryImportOutcome(category="?", origin=source, error=failure[7:]))
    for source_file in files:
        report.outcomes.append(
            _import_file(source_file, strict=strict, dry_run=dry_run, allow_mass_delete=allow_mass_delete)
        )
    if not files and report.error is None:
        report.error = "the source holds no legacy reference files"
    _sync_run_finish(run, report)
    return report


def _sync_run_finish(run: SyncRun, report: LegacyImportReport) -> None:
    if report.error and not report.outcomes:
        status = SyncRun.Status.FAILED
    elif report.ok:
        status = SyncRun.Status.SUCCEEDED
    elif any(outcome.report is not None for outcome in report.outcomes):
        status = SyncRun.Status.PARTIAL
    else:
        status = SyncRun.Status.FAILED
    finished = timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(
        status=status,
        finished_at=finished,
        duration_ms=_milliseconds(run.started_at, finished),
        counts=report.counts(),
        log="\n".join(report.lines()),
        error=report.error or "",
    )


def reference_is_empty() -> bool:
    return not ModelRecord.objects.exists()


def seed_if_empty(*, source: str) -> LegacyImportReport | None:
    """Seed the reference when the database holds no record; None when it already has data."""
    if not reference_is_empty():
        return None
    return legacy_import(source=source, kind=SyncRun.Kind.SEED, allow_mass_delete=True)


def _milliseconds(start: Any, end: Any) -> int:
    return max(0, int((end - start).total_seconds() * 1000))


# Leases: one row per run kind. Taking it is one conditional UPDATE (free or expired →
# ours), so two workers can never both run a kind, and a lease whose holder crashed
# expires (SYNC_LEASE_SECONDS outlives the task's hard time limit) and is taken over.


def _lease_holder() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lease_row(kind: str) -> None:
    SyncLease.objects.get_or_create(kind=kind, defaults={"expires_at": timezone.now()})


def sync_lease_acquire(*, kind: str, holder: str, seconds: int | None = None) -> bool:
    """Take the lease of ``kind`` for ``holder``; False when another live holder has it."""
    _lease_row(kind)
    now = timezone.now()
    duration = timedelta(seconds=seconds if seconds is not None else settings.SYNC_LEASE_SECONDS)
    taken = (
        SyncLease.objects.filter(kind=kind)
        .filter(Q(holder="") | Q(expires_at__lte=now))
        .update(holder=holder, expires_at=now + duration)
    )
    return taken == 1


def sync_lease_release(*, kind: str, holder: str) -> None:
    """Give the lease back, if we still hold it (an expired one may have been taken over)."""
    SyncLease.objects.filter(kind=kind, holder=holder).update(holder="", expires_at=timezone.now())


def _run_skipped(*, kind: str, trigger: str, dry_run: bool, source: str) -> SyncRun:
    now = timezone.now()
    lease = SyncLease.objects.filter(kind=kind).first()
    held = f" by {lease.holder} until {lease.expires_at:%Y-%m-%d %H:%M:%S}" if lease else ""
    return SyncRun.objects.create(
        kind=kind,
        trigger=trigger,
        status=SyncRun.Status.SKIPPED,
        source=source,
        dry_run=dry_run,
        started_at=now,
        finished_at=now,
        duration_ms=0,
        log=f"another {kind} run is in progress (lease held{held}); this one did nothing",
    )


def _run_finish(run: SyncRun, *, status: str, counts: dict[str, Any], log: str, error: str = "") -> SyncRun:
    run.finished_at = timezone.now()
    run.duration_ms = _milliseconds(run.started_at, run.finished_at)
    run.status, run.counts, run.log, run.error = status, counts, log, error
    SyncRun.objects.filter(pk=run.pk).update(
        status=status,
        finished_at=run.finished_at,
        duration_ms=run.duration_ms,
        counts=counts,
        log=log,
        error=error,
    )
    return run


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
    holder = _lease_holder()
    if not sync_lease_acquire(kind=kind, holder=holder):
        return _run_skipped(kind=kind, trigger=trigger, dry_run=dry_run, source=source)
    run = SyncRun.objects.create(
        kind=kind, trigger=trigger, dry_run=dry_run, source=source, started_at=timezone.now()
    )
    try:
        result = export_release_publish(
            export_dir=export_dir, keep=settings.EXPORT_KEEP_RELEASES, dry_run=dry_run
        )
    except Exception as error:
        logger.exception("export run %s failed", run.pk)
        _run_finish(
            run, status=SyncRun.Status.FAILED, counts={}, log="", error=f"{type(error).__name__}: {error}"
        )
        if raise_errors:
            raise
        return run
    finally:
        sync_lease_release(kind=kind, holder=holder)
    counts = {"released": int(result.created), "files": len(result.files), "pruned": len(result.pruned)}
    log = _release_log(result, dry_run=dry_run)
    _run_finish(run, status=SyncRun.Status.SUCCEEDED, counts=counts, log=log)
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
        _lease_row(SyncRun.Kind.EXPORT)
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
def _exports_deferred() -> Iterator[None]:
    _deferral.depth = getattr(_deferral, "depth", 0) + 1
    try:
        yield
    finally:
        _deferral.depth -= 1
        if not _deferral.depth and getattr(_deferral, "pending", False):
            _deferral.pending = False
            export_request()


__all__ = [
    "MODEL_REFERENCE_CATEGORY",
    "CategoryImportOutcome",
    "LegacyImportReport",
    "export_enqueue",
    "export_publish",
    "export_request",
    "legacy_import",
    "records_committed",
    "seed_if_empty",
    "sync_lease_acquire",
    "sync_lease_release",
]
