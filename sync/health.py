"""What ``/api/health`` reports: each dependency asked for real, each answer bounded in time.

The heartbeat stays cheap (breaker states only); this asks the database, the cache and
the broker, and reads the migration plan and the latest sync runs. Every network check
runs in its own short-lived thread with a deadline (``HEALTH_CHECK_TIMEOUT_SECONDS``),
so a hung dependency makes the answer late by at most that, never hangs it. A thread
that misses its deadline is abandoned; it ends at its client's own timeout.

Writes need the database and every migration applied: without them the report is
``unavailable`` (HTTP 503). A failing cache or broker is ``degraded``: writes still
succeed (Redis is an accelerator; an enqueue that fails is logged and recorded).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Max
from django.utils import timezone

from common.cache_keys import health_probe_key
from common.health import CACHE_BREAKER, DATABASE_BREAKER
from common.horde_api import AI_HORDE_BREAKER
from common.log_format import redact
from sync.models import SyncRun

Check = dict[str, Any]
#: The SyncRun kind of the audit chain's verification (added by the audit slice); read
#: by name so the report needs no change when it exists.
AUDIT_VERIFY_KIND = "audit_verify"
_SUCCESSFUL = (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL)

# Once every migration is applied it stays so for the life of the process (a deploy
# that adds one starts new processes), so the plan is computed until then, not after.
_migrations_applied = False


def _deadline() -> float:
    return float(settings.HEALTH_CHECK_TIMEOUT_SECONDS)


def _error_text(error: BaseException) -> str:
    # Connection errors can quote a URL with its password.
    return redact(f"{type(error).__name__}: {error}")[:200]


class _Bounded:
    """A check running in its own thread; ``result`` waits for it until ``deadline_at``."""

    def __init__(self, check: Callable[[], Check], *, uses_database: bool = False) -> None:
        self.check, self.uses_database = check, uses_database
        self.outcome: list[Check] = []
        self.thread = threading.Thread(target=self._run, name="health-check", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        try:
            answer = self.check()
        except Exception as error:  # any failure of a dependency is a report, not a 500
            answer = {"status": "error", "error": _error_text(error)}
        finally:
            if self.uses_database:
                # The thread's own connection: close it, or every poll would leak one.
                connections.close_all()
        answer.setdefault("ms", round((time.monotonic() - started) * 1000, 1))
        self.outcome.append(answer)

    def result(self, deadline_at: float) -> Check:
        self.thread.join(max(0.0, deadline_at - time.monotonic()))
        if self.outcome:
            return self.outcome[0]
        return {"status": "timeout", "error": f"no answer within {_deadline():g} s"}


def _database_and_migrations() -> Check:
    global _migrations_applied
    db = connections[DEFAULT_DB_ALIAS]
    with transaction.atomic(using=DEFAULT_DB_ALIAS), db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute("SET LOCAL statement_timeout = %s", [int(_deadline() * 1000)])
        cursor.execute("SELECT 1")
    answer: Check = {"status": "ok"}
    if _migrations_applied:
        answer["pending_migrations"] = []
        return answer
    executor = MigrationExecutor(db)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    pending = [f"{migration.app_label}.{migration.name}" for migration, backwards in plan if not backwards]
    _migrations_applied = not plan
    answer["pending_migrations"] = pending
    return answer


def start_database_check() -> _Bounded:
    """The database (a real ``SELECT 1``) and the migrations still to apply."""
    return _Bounded(_database_and_migrations, uses_database=True)


def database_result(started: _Bounded, deadline_at: float) -> tuple[Check, Check]:
    answer = started.result(deadline_at)
    if answer["status"] != "ok":
        return answer, {"status": "unknown", "pending": None}
    pending = answer.pop("pending_migrations")
    migrations: Check = {"status": "pending" if pending else "ok", "pending": pending}
    return answer, migrations


def _cache_round_trip() -> Check:
    cache = caches["default"]
    key = health_probe_key(uuid.uuid4().hex)
    token = uuid.uuid4().hex
    cache.set(key, token, timeout=10)
    seen = cache.get(key)
    cache.delete(key)
    if seen != token:
        return {"status": "error", "error": "the value written was not read back"}
    return {"status": "ok"}


def start_cache_check() -> _Bounded | None:
    """A real round trip to Redis (bounded by its socket timeout); None without Redis."""
    return _Bounded(_cache_round_trip) if settings.REDIS_URL else None


def cache_result(started: _Bounded | None, deadline_at: float) -> Check:
    if started is None:
        return {"status": "ok", "backend": "local"}
    answer = started.result(deadline_at)
    answer["backend"] = "redis"
    answer["breaker"] = CACHE_BREAKER.state()
    return answer


def _broker_connect() -> Check:
    # The project's Celery app (``config.celery``, loaded with Django through
    # ``config/__init__``) is the current app: reach it through Celery, since sync
    # sits below config and may not import it.
    from celery import current_app

    with current_app.connection_for_write() as broker:
        broker.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=max(1, int(_deadline()))
        )
    return {"status": "ok"}


def start_broker_check() -> _Bounded | None:
    """A connection to the broker when one is configured; None (tasks run eagerly) otherwise."""
    return _Bounded(_broker_connect) if settings.CELERY_BROKER_URL else None


def broker_result(started: _Bounded | None, deadline_at: float) -> Check:
    return {"status": "eager"} if started is None else started.result(deadline_at)


def _when(moment: Any, now: Any) -> Check:
    return {"at": int(moment.timestamp()), "age_seconds": int((now - moment).total_seconds())}


def last_successful_runs() -> dict[str, Check | None]:
    """Per sync kind, when its last successful run finished (null when none has)."""
    now = timezone.now()
    finished = (
        SyncRun.objects.filter(status__in=_SUCCESSFUL, finished_at__isnull=False)
        .values("kind")
        .annotate(last=Max("finished_at"))
        .order_by("kind")
    )
    runs: dict[str, Check | None] = {kind: None for kind in SyncRun.Kind.values}
    for row in finished:
        runs[row["kind"]] = _when(row["last"], now)
    return runs


def last_audit_verification() -> Check | None:
    """The latest audit verification run, whatever its outcome; null when none ran."""
    run = SyncRun.objects.filter(kind=AUDIT_VERIFY_KIND).order_by("-started_at").first()
    if run is None:
        return None
    now = timezone.now()
    return {"status": run.status, **_when(run.finished_at or run.started_at, now)}


def health_report() -> tuple[bool, dict[str, Any]]:
    """``(writable, report)``: everything an operator needs to know at one glance."""
    # All at once, against one deadline: the answer is late by one timeout at most.
    deadline_at = time.monotonic() + _deadline()
    checks = start_database_check(), start_cache_check(), start_broker_check()
    database, migrations = database_result(checks[0], deadline_at)
    cache, broker = cache_result(checks[1], deadline_at), broker_result(checks[2], deadline_at)
    ai_horde = AI_HORDE_BREAKER.state()
    writable = database["status"] == "ok" and migrations["status"] == "ok"
    report: dict[str, Any] = {
        "status": "ok",
        "writable": writable,
        "time": int(time.time()),
        "checks": {
            "database": database,
            "migrations": migrations,
            "cache": cache,
            "broker": broker,
            "ai_horde": ai_horde,
        },
        "sync_runs": None,
        "audit_verification": None,
    }
    if database["status"] == "ok":
        try:
            report["sync_runs"] = last_successful_runs()
            report["audit_verification"] = last_audit_verification()
        except Exception as error:  # e.g. the sync tables are the pending migration
            report["sync_runs_error"] = _error_text(error)
    if not writable:
        report["status"] = "unavailable"
    elif (
        cache["status"] not in ("ok",)
        or broker["status"] not in ("ok", "eager")
        or ai_horde.get("degraded")
        or DATABASE_BREAKER.is_open
    ):
        report["status"] = "degraded"
    return writable, report


def readiness() -> tuple[bool, dict[str, Any]]:
    """Ready to take traffic: the database answers and no migration is pending."""
    database, migrations = database_result(start_database_check(), time.monotonic() + _deadline())
    ready = database["status"] == "ok" and migrations["status"] == "ok"
    return ready, {
        "status": "ready" if ready else "not_ready",
        "checks": {"database": database, "migrations": migrations},
    }
