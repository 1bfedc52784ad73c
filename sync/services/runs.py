"""Sync runs and their leases: every run is a ``SyncRun``; one run of a kind at a time."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from sync.models import SyncLease, SyncRun


def milliseconds(start: Any, end: Any) -> int:
    return max(0, int((end - start).total_seconds() * 1000))


# Leases: one row per run kind. Taking it is one conditional UPDATE (free or expired →
# ours), so two workers can never both run a kind, and a lease whose holder crashed
# expires (SYNC_LEASE_SECONDS outlives the task's hard time limit) and is taken over.


def lease_holder() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_row(kind: str) -> None:
    SyncLease.objects.get_or_create(kind=kind, defaults={"expires_at": timezone.now()})


def sync_lease_acquire(*, kind: str, holder: str, seconds: int | None = None) -> bool:
    """Take the lease of ``kind`` for ``holder``; False when another live holder has it."""
    lease_row(kind)
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


def run_skipped(*, kind: str, trigger: str, dry_run: bool, source: str) -> SyncRun:
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


def run_finish(run: SyncRun, *, status: str, counts: dict[str, Any], log: str, error: str = "") -> SyncRun:
    run.finished_at = timezone.now()
    run.duration_ms = milliseconds(run.started_at, run.finished_at)
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
