"""Reads of sync state."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db import DatabaseError

from common.health import DATABASE_BREAKER
from sync.circuit_breaker import AI_HORDE_BREAKER
from sync.models import SyncRun


def ai_horde_health() -> dict[str, object]:
    """How this process sees the AI Horde API: the circuit breaker's state."""
    return AI_HORDE_BREAKER.state()


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
