"""Reads of sync state."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sync.circuit_breaker import AI_HORDE_BREAKER
from sync.model_statistics import (
    STATISTICS_CATEGORIES,
    HordeModelRow,
    HordeModelType,
    LoadedStatistics,
    WorkerRow,
)
from sync.models import ModelStatistics, StatisticsSnapshot, SyncRun, WorkerStatistics


def ai_horde_health() -> dict[str, object]:
    """How this process sees the AI Horde API: the circuit breaker's state."""
    return AI_HORDE_BREAKER.state()


# --- AI Horde statistics snapshots ---

_LOADED: dict[str, LoadedStatistics] = {}
_LOADED_LOCK = threading.Lock()


def statistics_horde_type(category: str) -> HordeModelType | None:
    """The AI Horde's model type for ``category``; None when it keeps no statistics for it."""
    return STATISTICS_CATEGORIES.get(category)


def _load(
    category: str, horde_type: HordeModelType, snapshot_id: int, fetched_at: datetime
) -> LoadedStatistics:
    models = [
        HordeModelRow(*row)
        for row in ModelStatistics.objects.filter(snapshot_id=snapshot_id).values_list(
            "name",
            "workers",
            "queued",
            "jobs",
            "performance",
            "eta",
            "in_status",
            "usage_day",
            "usage_month",
            "usage_total",
        )
    ]
    workers = [
        WorkerRow(worker_id, name, performance, online, trusted, uptime, tuple(str(m) for m in names or ()))
        for worker_id, name, performance, online, trusted, uptime, names in WorkerStatistics.objects.filter(
            snapshot_id=snapshot_id
        ).values_list("worker_id", "name", "performance", "online", "trusted", "uptime", "model_names")
    ]
    return LoadedStatistics.build(
        snapshot_id=snapshot_id,
        category=category,
        horde_type=horde_type,
        fetched_at=fetched_at.timestamp(),
        models=models,
        workers=workers,
    )


def statistics_latest(category: str) -> LoadedStatistics | None:
    """The latest complete snapshot of ``category``, loaded once per snapshot per process
    (one indexed query per call finds out whether a newer one exists)."""
    horde_type = statistics_horde_type(category)
    if horde_type is None:
        return None
    latest = (
        StatisticsSnapshot.objects.filter(category=category, complete=True)
        .order_by("-fetched_at")
        .values_list("pk", "fetched_at")
        .first()
    )
    if latest is None:
        return None
    snapshot_id, fetched_at = latest
    with _LOADED_LOCK:
        loaded = _LOADED.get(category)
        # The time too: SQLite may hand a rolled-back id out again.
        if (
            loaded is not None
            and loaded.snapshot_id == snapshot_id
            and loaded.fetched_at == fetched_at.timestamp()
        ):
            loaded.verified_at = time.monotonic()
            return loaded
    loaded = _load(category, horde_type, snapshot_id, fetched_at)
    loaded.verified_at = time.monotonic()
    with _LOADED_LOCK:
        _LOADED[category] = loaded
    return loaded


def statistics_in_memory(category: str, *, max_age_seconds: float) -> LoadedStatistics | None:
    """The snapshot this process holds for ``category`` if SQL confirmed it the latest within
    ``max_age_seconds``; no I/O (the event loop's fast path asks).

    Past that age, one caller per second gets None (and goes to the view, which asks SQL
    again) while the others keep the snapshot for up to twice the age: a whole burst of
    requests falling through to SQL at once is what made the slow tail.
    """
    loaded = _LOADED.get(category)
    if loaded is None:
        return None
    now = time.monotonic()
    age = now - loaded.verified_at
    if age <= max_age_seconds:
        return loaded
    with _LOADED_LOCK:
        if age > 2 * max_age_seconds or now - loaded.refresh_claimed_at > 1.0:
            loaded.refresh_claimed_at = now
            return None
    return loaded


def statistics_daily_snapshots(category: str, *, days: int, until: float) -> list[LoadedStatistics]:
    """The last complete snapshot of each of the ``days`` days up to ``until``, oldest first."""
    horde_type = statistics_horde_type(category)
    if horde_type is None:
        return []
    since = datetime.fromtimestamp(until, tz=UTC) - timedelta(days=days)
    rows = list(
        StatisticsSnapshot.objects.filter(category=category, complete=True, fetched_at__gt=since)
        .order_by("fetched_at")
        .values_list("pk", "fetched_at")
    )
    per_day: dict[str, tuple[int, datetime]] = {}
    for snapshot_id, fetched_at in rows:
        per_day[fetched_at.astimezone(UTC).date().isoformat()] = (snapshot_id, fetched_at)
    return [_load(category, horde_type, sid, at) for sid, at in per_day.values()]


def statistics_last_problem(category: str) -> str:
    """Why no snapshot is served: the latest statistics run's error or problems, or ''."""
    run = SyncRun.objects.filter(kind=SyncRun.Kind.STATISTICS).exclude(status=SyncRun.Status.SKIPPED).first()
    if run is None:
        return "no statistics run has happened yet"
    if run.status == SyncRun.Status.RUNNING:
        return "the first statistics run is in progress"
    lines = [line for line in run.log.splitlines() if line.startswith(f"{category}:")]
    return "; ".join(lines) or run.error or f"the last statistics run {run.status}"


def statistics_cache_reset() -> None:
    """Forget the snapshots this process loaded (tests)."""
    with _LOADED_LOCK:
        _LOADED.clear()
