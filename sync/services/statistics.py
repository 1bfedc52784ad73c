"""The AI Horde statistics run (task ``sync.fetch_statistics``): fetch, store, prune.

Per model type (image, text) it fetches the model status, the usage counts and the
worker list, and stores one ``StatisticsSnapshot`` per category with a row per AI Horde
model name and per worker. A category whose three answers all came and parsed gets a
complete snapshot; otherwise a partial one (kept for the record, never served), so the
routes keep serving the last complete snapshot. Snapshots older than
``STATISTICS_HISTORY_DAYS`` are pruned, and within a day only the latest complete
snapshot is kept: the daily series needs no more, and the tables stay bounded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.horde_api import (
    HordeAnswerError,
    HordeModelStatus,
    HordeModelType,
    HordeModelUsage,
    HordeUnavailableError,
    HordeWorker,
    fetch_model_status,
    fetch_model_usage,
    fetch_workers,
    horde_statistics_client,
)
from sync.model_statistics import STATISTICS_CATEGORIES
from sync.models import ModelStatistics, StatisticsSnapshot, SyncRun, WorkerStatistics
from sync.services.runs import lease_holder, run_finish, run_skipped, sync_lease_acquire, sync_lease_release

logger = logging.getLogger(__name__)


class StatisticsFetchError(Exception):
    """No category's statistics could be fetched (the run is recorded as failed first)."""


@dataclass
class _Fetched:
    status: list[HordeModelStatus] | None = None
    usage: HordeModelUsage | None = None
    workers: list[HordeWorker] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.status is not None and self.usage is not None and self.workers is not None

    @property
    def anything(self) -> bool:
        return self.status is not None or self.usage is not None or self.workers is not None


def _fetch_type(client: httpx.Client, horde_type: HordeModelType) -> _Fetched:
    fetched = _Fetched()
    try:
        fetched.status = fetch_model_status(client, horde_type)
    except (HordeUnavailableError, HordeAnswerError) as error:
        fetched.problems.append(f"status: {error}")
    try:
        fetched.usage = fetch_model_usage(client, horde_type)
    except (HordeUnavailableError, HordeAnswerError) as error:
        fetched.problems.append(f"usage: {error}")
    try:
        fetched.workers = fetch_workers(client, horde_type)
    except (HordeUnavailableError, HordeAnswerError) as error:
        fetched.problems.append(f"workers: {error}")
    return fetched


def _model_rows(snapshot: StatisticsSnapshot, fetched: _Fetched) -> list[ModelStatistics]:
    rows: dict[str, ModelStatistics] = {}
    for status in fetched.status or ():
        # The AI Horde lists a name once; should it repeat, the busier entry speaks.
        known = rows.get(status.name)
        if known is not None and known.workers >= status.count:
            continue
        rows[status.name] = ModelStatistics(
            snapshot=snapshot,
            name=status.name,
            workers=status.count,
            queued=status.queued,
            jobs=status.jobs,
            performance=status.performance,
            eta=status.eta,
        )
    usage = fetched.usage
    if usage is not None:
        for period, counts in (("day", usage.day), ("month", usage.month), ("total", usage.total)):
            for name, count in counts.items():
                row = rows.get(name)
                if row is None:
                    row = rows[name] = ModelStatistics(snapshot=snapshot, name=name[:1000], in_status=False)
                setattr(row, f"usage_{period}", count)
    return list(rows.values())


def _worker_rows(snapshot: StatisticsSnapshot, workers: list[HordeWorker]) -> list[WorkerStatistics]:
    return [
        WorkerStatistics(
            snapshot=snapshot,
            worker_id=worker.id,
            name=worker.name,
            performance=(worker.performance or "")[:200],
            online=worker.online,
            trusted=worker.trusted,
            uptime=worker.uptime,
            threads=worker.threads,
            model_names=worker.models,
        )
        for worker in workers
    ]


@transaction.atomic
def statistics_snapshot_store(
    *, category: str, fetched_at: datetime, complete: bool, run: SyncRun | None, fetched: _Fetched
) -> StatisticsSnapshot:
    """One snapshot with its model and worker rows, in one transaction."""
    snapshot = StatisticsSnapshot.objects.create(
        category=category,
        fetched_at=fetched_at,
        complete=complete,
        run=run,
        problems="\n".join(fetched.problems),
    )
    models = _model_rows(snapshot, fetched)
    workers = _worker_rows(snapshot, fetched.workers or [])
    ModelStatistics.objects.bulk_create(models, batch_size=1000)
    WorkerStatistics.objects.bulk_create(workers, batch_size=1000)
    snapshot.model_count, snapshot.worker_count = len(models), len(workers)
    StatisticsSnapshot.objects.filter(pk=snapshot.pk).update(
        model_count=snapshot.model_count, worker_count=snapshot.worker_count
    )
    return snapshot


@transaction.atomic
def statistics_history_prune(*, category: str, keep: StatisticsSnapshot | None = None) -> int:
    """Delete snapshots beyond the history window, and those a newer one replaces within
    its day (the latest complete snapshot of each day stays); returns how many went."""
    now = timezone.now()
    horizon = now - timedelta(days=max(1, int(settings.STATISTICS_HISTORY_DAYS)))
    doomed = set(
        StatisticsSnapshot.objects.filter(category=category, fetched_at__lt=horizon).values_list(
            "pk", flat=True
        )
    )
    if keep is not None and keep.complete:
        day_start = keep.fetched_at.replace(hour=0, minute=0, second=0, microsecond=0)
        doomed |= set(
            StatisticsSnapshot.objects.filter(category=category, fetched_at__gte=day_start)
            .filter(fetched_at__lt=keep.fetched_at)
            .values_list("pk", flat=True)
        )
    if keep is not None:
        doomed.discard(keep.pk)
    if not doomed:
        return 0
    # Children first and in bulk: the ORM's cascade would load every row into memory.
    ModelStatistics.objects.filter(snapshot_id__in=doomed).delete()
    WorkerStatistics.objects.filter(snapshot_id__in=doomed).delete()
    StatisticsSnapshot.objects.filter(pk__in=doomed).delete()
    return len(doomed)


def statistics_fetch(*, trigger: str, raise_errors: bool = True) -> SyncRun:
    """Fetch the AI Horde's statistics and store a snapshot per category; one run at a time.

    Recorded as a SyncRun (``statistics``): succeeded when every category is complete,
    partial when some answers were missing or malformed, failed when nothing came (then
    ``StatisticsFetchError`` is raised unless ``raise_errors`` is False). Whatever happens,
    the last complete snapshot stays served.
    """
    kind, source = SyncRun.Kind.STATISTICS, settings.AI_HORDE_URL
    holder = lease_holder()
    if not sync_lease_acquire(kind=kind, holder=holder):
        return run_skipped(kind=kind, trigger=trigger, dry_run=False, source=source)
    run = SyncRun.objects.create(kind=kind, trigger=trigger, source=source, started_at=timezone.now())
    log: list[str] = []
    counts = {"complete": 0, "partial": 0, "models": 0, "workers": 0, "pruned": 0}
    try:
        with horde_statistics_client() as client:
            for category, horde_type in STATISTICS_CATEGORIES.items():
                fetched = _fetch_type(client, horde_type)
                for problem in fetched.problems:
                    log.append(f"{category}: {problem}")
                if not fetched.anything:
                    continue
                snapshot = statistics_snapshot_store(
                    category=category,
                    fetched_at=timezone.now(),
                    complete=fetched.complete,
                    run=run,
                    fetched=fetched,
                )
                counts["complete" if snapshot.complete else "partial"] += 1
                counts["models"] += snapshot.model_count
                counts["workers"] += snapshot.worker_count
                log.append(
                    f"{category}: {'complete' if snapshot.complete else 'partial'} snapshot, "
                    f"{snapshot.model_count} model names, {snapshot.worker_count} workers"
                )
                counts["pruned"] += statistics_history_prune(category=category, keep=snapshot)
    except Exception as error:
        logger.exception("statistics run %s failed", run.pk)
        run_finish(
            run,
            status=SyncRun.Status.FAILED,
            counts=counts,
            log="\n".join(log),
            error=f"{type(error).__name__}: {error}",
        )
        if raise_errors:
            raise
        return run
    finally:
        sync_lease_release(kind=kind, holder=holder)
    if counts["complete"] == len(STATISTICS_CATEGORIES):
        return run_finish(run, status=SyncRun.Status.SUCCEEDED, counts=counts, log="\n".join(log))
    if counts["complete"] or counts["partial"]:
        return run_finish(
            run,
            status=SyncRun.Status.PARTIAL,
            counts=counts,
            log="\n".join(log),
            error="some AI Horde answers were missing or malformed; the last complete snapshots stay served",
        )
    run_finish(
        run,
        status=SyncRun.Status.FAILED,
        counts=counts,
        log="\n".join(log),
        error="the AI Horde gave no usable statistics; the last complete snapshots stay served",
    )
    if raise_errors:
        raise StatisticsFetchError(run.error)
    return run


def statistics_enqueue(*, trigger: str) -> bool:
    """Send ``sync.fetch_statistics`` to the workers (run it here in eager mode); never raises."""
    from sync.tasks import fetch_statistics

    try:
        fetch_statistics.apply_async(kwargs={"trigger": trigger})
    except Exception:
        # Eagerly the task has recorded its own failure; otherwise the broker refused it.
        logger.exception("could not run or enqueue the statistics fetch")
        return False
    return True
