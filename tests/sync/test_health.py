"""/api/health, /api/health/ready and /api/health/live: real checks, bounded in time."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import Client
from django.utils import timezone

from sync import health
from sync.models import SyncRun
from tests.servers import SilentPeer, TcpProxy, database_url, request, web_server

HEALTH = "/api/health"
KINDS = set(SyncRun.Kind.values)


@pytest.fixture(autouse=True)
def _fresh_migration_answer() -> None:
    # The "all applied" answer is cached per process; each test starts from scratch.
    health._migrations_applied = False


def run(kind: str, status: str, finished_minutes_ago: float | None) -> SyncRun:
    now = timezone.now()
    finished = None if finished_minutes_ago is None else now - timedelta(minutes=finished_minutes_ago)
    return SyncRun.objects.create(
        kind=kind, status=status, started_at=(finished or now) - timedelta(seconds=5), finished_at=finished
    )


@pytest.mark.django_db
def test_a_healthy_service_reports_every_dependency(client: Client) -> None:
    answer = client.get(HEALTH)
    assert answer.status_code == 200, answer.content
    assert answer["Cache-Control"] == "no-store"
    body = answer.json()
    assert body["status"] == "ok" and body["writable"] is True
    checks = body["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["migrations"] == {"status": "ok", "pending": []}
    expected_cache = "redis" if django_settings.REDIS_URL else "local"
    assert checks["cache"]["status"] == "ok" and checks["cache"]["backend"] == expected_cache
    assert checks["broker"] == {"status": "eager"}
    assert checks["ai_horde"]["degraded"] is False
    assert set(body["sync_runs"]) == KINDS and all(value is None for value in body["sync_runs"].values())
    assert body["audit_verification"] is None
    # The unprefixed mount answers the same.
    assert client.get("/health").status_code == 200
    assert client.get("/api/health/live").json() == {"status": "alive"}
    ready = client.get("/api/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


@pytest.mark.django_db
def test_the_last_successful_run_of_each_kind_and_the_last_audit_verification(client: Client) -> None:
    run(SyncRun.Kind.EXPORT, "succeeded", 30)
    run(SyncRun.Kind.EXPORT, "succeeded", 2)
    run(SyncRun.Kind.EXPORT, "failed", 1)  # a failure is not a success
    run(SyncRun.Kind.UPSTREAM, "partial", 10)
    run(SyncRun.Kind.PULL_REQUESTS, "running", None)
    # The audit slice's kind: read by name, whatever the choices say.
    run("audit_verify", "succeeded", 60 * 24)
    run("audit_verify", "failed", 5)
    body = client.get(HEALTH).json()
    runs = body["sync_runs"]
    assert 115 <= runs["export"]["age_seconds"] <= 125
    assert abs(runs["export"]["at"] - (time.time() - 120)) < 5
    assert 595 <= runs["upstream"]["age_seconds"] <= 605
    assert runs["pull_requests"] is None and runs["seed"] is None
    assert runs["audit_verify"]["age_seconds"] >= 60 * 60 * 24 - 5
    verification = body["audit_verification"]
    assert verification["status"] == "failed" and 295 <= verification["age_seconds"] <= 305


@pytest.mark.django_db(transaction=True)
def test_a_pending_migration_makes_health_and_readiness_answer_503(client: Client) -> None:
    loader = MigrationLoader(connection)
    (leaf,) = [key for key in loader.graph.leaf_nodes() if key[0] == "audit"]
    (parent,) = [key for key in loader.graph.node_map[leaf].parents if key[0] == "audit"]
    call_command("migrate", "audit", parent[1], verbosity=0)
    try:
        answer = client.get(HEALTH)
        assert answer.status_code == 503, answer.content
        body = answer.json()
        assert body["status"] == "unavailable" and body["writable"] is False
        assert body["detail"].startswith("The service cannot serve writes")
        assert body["checks"]["migrations"] == {"status": "pending", "pending": [f"audit.{leaf[1]}"]}
        assert int(answer["Retry-After"]) >= 1
        ready = client.get("/api/health/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
        assert client.get("/api/health/live").status_code == 200
    finally:
        call_command("migrate", "audit", leaf[1], verbosity=0)
    assert client.get(HEALTH).status_code == 200
    assert client.get("/api/health/ready").status_code == 200


@pytest.mark.django_db
def test_a_hung_cache_and_broker_degrade_the_report_in_time(client: Client, settings: Any) -> None:
    from tests.sync.test_workers import celery_pointed_at

    silent = SilentPeer()
    hung = f"redis://127.0.0.1:{silent.port}/0"
    try:
        settings.HEALTH_CHECK_TIMEOUT_SECONDS = 1.0
        settings.REDIS_URL = hung
        settings.CACHES = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": hung,
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.3, "SOCKET_TIMEOUT": 0.3},
            }
        }
        with celery_pointed_at(hung, "hmr-health-test"):
            settings.CELERY_BROKER_URL = hung
            started = time.monotonic()
            answer = client.get(HEALTH)
            elapsed = time.monotonic() - started
    finally:
        silent.close()
    # Writes are still possible (Redis is an accelerator; a failed enqueue is recorded).
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "degraded" and body["writable"] is True
    assert body["checks"]["cache"]["status"] in ("error", "timeout"), body["checks"]["cache"]
    assert body["checks"]["broker"]["status"] in ("error", "timeout"), body["checks"]["broker"]
    assert elapsed < 3.0, elapsed
    assert silent.connections() >= 2  # both were really asked


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="runs in the PostgreSQL pass (a real server)")
def test_a_hung_database_makes_health_503_within_the_deadline_and_recovery_is_seen(horde: Any) -> None:
    db = connection.settings_dict
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    env = {
        "DATABASE_URL": database_url("127.0.0.1", proxy.port),
        "DATABASE_CONNECT_TIMEOUT_SECONDS": "10",
        "HEALTH_CHECK_TIMEOUT_SECONDS": "1.5",
        "AI_HORDE_URL": horde.url,
    }
    try:
        with web_server(env) as base:
            assert request(base + HEALTH).status == 200
            for fault in (proxy.hang, proxy.refuse):
                fault()
                for route in (HEALTH, HEALTH + "/ready"):
                    answer = request(base + route)
                    assert answer.status == 503, (fault.__name__, route, answer.body)
                    assert answer.seconds < 3.0, (fault.__name__, route, answer.seconds)
                    body = json.loads(answer.body)
                    assert body["checks"]["database"]["status"] in ("error", "timeout")
                assert request(base + HEALTH + "/live").status == 200
            proxy.forward()
            deadline = time.monotonic() + 15
            while request(base + HEALTH).status != 200:
                assert time.monotonic() < deadline, "health did not recover"
                time.sleep(0.3)
    finally:
        proxy.close()
