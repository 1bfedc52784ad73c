"""Reads of sync state."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import DatabaseError
from django.db.models import Case, Count, IntegerField, Subquery, Value, When

from common.health import DATABASE_BREAKER
from common.horde_api import AI_HORDE_BREAKER
from sync.model_statistics import (
    STATISTICS_CATEGORIES,
    HordeModelRow,
    HordeModelType,
    LoadedStatistics,
    WorkerRow,
)
from sync.models import DownloadLinkCheck, ModelStatistics, StatisticsSnapshot, SyncRun, WorkerStatistics


def ai_horde_health() -> dict[str, object]:
    """How this process sees the AI Horde API: the circuit breaker's state."""
    return AI_HORDE_BREAKER.state()


# --- download-link health (sync.services.links) --------------------------------------

#: Worst first: a record's link status is that of its worst file.
LINK_SEVERITY = ("broken", "unknown_host", "login_required", "slow", "ok")
PROBLEM_STATUSES = ("broken", "login_required")


def link_problems(category: str) -> dict[str, list[str]]:
    """Models of ``category`` with broken or login-gated downloads, for the deletion-risk flags.

    ``{model_name: [status, ...]}``: one status (``"broken"`` or ``"login_required"``)
    per problem file, in URL order; models whose links are fine (or unchecked) are absent.
    """
    problems: dict[str, list[str]] = {}
    rows = (
        DownloadLinkCheck.objects.filter(category=category, status__in=PROBLEM_STATUSES)
        .order_by("model_name", "url")
        .values_list("model_name", "status")
    )
    for name, status in rows:
        problems.setdefault(name, []).append(status)
    return problems


def link_checks_of(*, category: str, name: str) -> list[DownloadLinkCheck]:
    """The latest check of each download of one record."""
    return list(DownloadLinkCheck.objects.filter(category=category, model_name=name).order_by("url"))


def worst_link_status(category_ref: Any, name_ref: Any) -> Subquery:
    """A subquery for the worst link status of a record (None when never checked)."""
    severity = Case(
        *(When(status=status, then=Value(rank)) for rank, status in enumerate(LINK_SEVERITY)),
        default=Value(len(LINK_SEVERITY)),
        output_field=IntegerField(),
    )
    worst = (
        DownloadLinkCheck.objects.filter(category=category_ref, model_name=name_ref)
        .annotate(severity=severity)
        .order_by("severity")
        .values("status")[:1]
    )
    return Subquery(worst)


def links_not_ok(*, limit: int = 20) -> list[DownloadLinkCheck]:
    """Links that are not ok, those that just stopped working first."""
    fresh = Case(When(previous_status="ok", then=Value(0)), default=Value(1), output_field=IntegerField())
    return list(
        DownloadLinkCheck.objects.exclude(status="ok")
        .annotate(fresh=fresh)
        .order_by("fresh", "category", "model_name", "url")[:limit]
    )


def link_status_counts() -> dict[str, int]:
    counts = {status: 0 for status in LINK_SEVERITY}
    for row in DownloadLinkCheck.objects.values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


def last_run_per_kind() -> list[SyncRun]:
    """The newest run of every kind that ever ran, in the order of the kinds."""
    runs = []
    for kind in SyncRun.Kind.values:
        run = SyncRun.objects.filter(kind=kind).order_by("-started_at", "-id").first()
        if run is not None:
            runs.append(run)
    return runs


# The heartbeat reports the last audit verification. Pollers may hit it often, so each
# process reads the latest run (one indexed query, syncrun_kind_started_idx) at most once
# per AUDIT_VERIFY_STATUS_SECONDS and keeps the answer in memory meanwhile.
AUDIT_VERIFY_STATUS_SECONDS = 60.0
_audit_verify_cache: dict[str, Any] = {"at": None, "value": None}
_audit_verify_lock = threading.Lock()


def audit_verification_latest(*, now: float | None = None) -> dict[str, Any]:
    """The last finished audit verification: ``{ok, checked_at, events_checked, first_bad_sequence}``.

    All None when none has run yet. A database error keeps the previous answer (or None
    values): the heartbeat must answer while the database is down.
    """
    moment = time.monotonic() if now is None else now
    with _audit_verify_lock:
        cached_at = _audit_verify_cache["at"]
        previous: dict[str, Any] | None = _audit_verify_cache["value"]
        fresh = cached_at is not None and moment - cached_at < AUDIT_VERIFY_STATUS_SECONDS
        if (fresh or DATABASE_BREAKER.is_open) and previous is not None:
            return previous
        if DATABASE_BREAKER.is_open:
            return _audit_verification_unknown()
        try:
            run = (
                SyncRun.objects.filter(
                    kind=SyncRun.Kind.AUDIT_VERIFY,
                    status__in=[SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED],
                )
                .order_by("-started_at")
                .values("status", "finished_at", "counts")
                .first()
            )
        except DatabaseError:
            return previous or _audit_verification_unknown()
        value = _audit_verification_unknown()
        if run is not None:
            counts = run["counts"] if isinstance(run["counts"], dict) else {}
            finished = run["finished_at"]
            value = {
                "ok": run["status"] == SyncRun.Status.SUCCEEDED,
                "checked_at": int(finished.timestamp()) if finished is not None else None,
                "events_checked": counts.get("events_checked"),
                "first_bad_sequence": counts.get("first_bad_sequence"),
            }
        _audit_verify_cache.update(at=moment, value=value)
        return value


def audit_verification_forget() -> None:
    """Drop this process's cached answer (tests; a command that just verified)."""
    with _audit_verify_lock:
        _audit_verify_cache.update(at=None, value=None)


def _audit_verification_unknown() -> dict[str, Any]:
    return {"ok": None, "checked_at": None, "events_checked": None, "first_bad_sequence": None}


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
