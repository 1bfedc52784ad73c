"""Celery for real: the broker's failures, the debounce on a real broker, and real workers.

The app (`config.celery.app`) is eager in the test settings; these tests point it at a
broker on loopback for their duration, each on its own queue, so parallel test runs
sharing a broker never take each other's tasks.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from django.conf import settings as django_settings
from django.db import connection

from audit.services import Actor
from config.celery import app
from references.exports import CURRENT_LINK, MANIFEST_NAME
from references.selectors import record_get
from sync.models import SyncLease, SyncRun
from tests.conftest import REPO_ROOT
from tests.factories import sd_payload
from tests.record_writes import record_create

ACTOR = Actor.system("test")
SD = "image_generation"
# The brokers on this machine (SERVICES.md). Redis: the suite's own database when it has
# one (queue names are unique per test, so they never meet the cache's keys).
REDIS_BROKER = (
    os.environ.get("TEST_CELERY_REDIS_URL") or django_settings.REDIS_URL or "redis://127.0.0.1:6379/10"
)
RABBITMQ_BROKER = os.environ.get("TEST_CELERY_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


@contextmanager
def celery_pointed_at(broker_url: str, queue: str) -> Iterator[None]:
    """The real app, not eager, sending to ``broker_url`` on ``queue``; restored afterwards."""
    # The app reads Django settings under the CELERY_ namespace: override those keys.
    keys = ("broker_url", "task_always_eager", "task_default_queue")
    saved = {f"CELERY_{key.upper()}": getattr(app.conf, key) for key in keys}

    def reset_connections() -> None:
        from kombu import pools

        # Close and forget every pooled broker connection (kombu keeps a global registry).
        pools.reset()  # type: ignore[attr-defined]
        app._pool = None  # type: ignore[attr-defined]
        # The queue declarations and producer pool are built from the configuration once.
        app.__dict__.pop("amqp", None)

    app.conf.update(
        CELERY_BROKER_URL=broker_url, CELERY_TASK_ALWAYS_EAGER=False, CELERY_TASK_DEFAULT_QUEUE=queue
    )
    reset_connections()
    try:
        yield
    finally:
        reset_connections()
        app.conf.update(saved)


def broker_answers(url: str) -> bool:
    import kombu

    try:
        with kombu.Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception:
        return False
    return True


def require_broker(url: str) -> None:
    if not broker_answers(url):
        pytest.skip(f"the broker {url} does not answer (see SERVICES.md)")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says anything."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for sock in held:
        sock.close()
    server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.django_db
@pytest.mark.parametrize("broker", ["refuses", "never answers"])
def test_a_dead_broker_never_fails_the_change(
    broker: str, settings: Any, silent_port: int, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EXPORT_ON_CHANGE = True
    port = closed_port() if broker == "refuses" else silent_port
    with celery_pointed_at(f"redis://127.0.0.1:{port}/0", f"hmr-test-{uuid.uuid4().hex}"):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            record_create(category=SD, name="Alpha", payload=sd_payload("Alpha"), actor=ACTOR, source="api")
        elapsed = time.monotonic() - started
    # Bounded by the broker timeouts in settings (connect/socket timeouts, one publish retry).
    assert elapsed < 4 * django_settings.CELERY_BROKER_TIMEOUT_SECONDS + 2, elapsed
    assert record_get(category=SD, name="Alpha") is not None
    run = SyncRun.objects.get(kind=SyncRun.Kind.EXPORT)
    assert run.status == "failed" and run.trigger == "on_commit"
    assert run.error.startswith("could not enqueue sync.publish_export")
    # The next change tries again instead of waiting for a task that was never sent.
    assert SyncLease.objects.get(kind=SyncRun.Kind.EXPORT).requested_at is None


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_changes_enqueues_one_export(settings: Any) -> None:
    """On a real Redis broker, with no worker: count what the changes put on the queue."""
    import redis

    require_broker(REDIS_BROKER)
    settings.EXPORT_ON_CHANGE = True
    queue = f"hmr-test-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(REDIS_BROKER, socket_timeout=5)
    try:
        with celery_pointed_at(REDIS_BROKER, queue):
            for index in range(5):
                record_create(
                    category=SD, name=f"M{index}", payload=sd_payload(f"M{index}"), actor=ACTOR, source="api"
                )
        messages = [json.loads(raw) for raw in cast(list[bytes], client.lrange(queue, 0, -1))]
    finally:
        client.delete(queue)
    assert len(messages) == 1
    assert messages[0]["headers"]["task"] == "sync.publish_export"
    assert messages[0]["headers"]["eta"] is not None  # sent with the debounce countdown
    assert SyncRun.objects.count() == 0


# Real workers share the test database, so they run in the PostgreSQL pass.
needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="runs in the PostgreSQL pass: the worker process must open the test database",
)


def worker_env(broker_url: str, queue: str, export_dir: Path) -> dict[str, str]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "EXPORT_DIR": str(export_dir),
        "DEBUG": "false",
        "SECRET_KEY": "worker-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "client")]),
    }
    if django_settings.REDIS_URL:
        env["REDIS_URL"] = django_settings.REDIS_URL
        env["CACHE_KEY_PREFIX"] = django_settings.CACHES["default"]["KEY_PREFIX"]
    return env


@contextmanager
def running_worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                "--hostname",
                f"hmr-test-{uuid.uuid4().hex[:8]}@localhost",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield worker
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=5)


def wait_for_export_run(log: Path, timeout: float = 60.0, **filters: Any) -> SyncRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = SyncRun.objects.filter(kind=SyncRun.Kind.EXPORT, **filters).exclude(status="running").first()
        if run is not None:
            return run
        time.sleep(0.2)
    raise AssertionError(f"no export run within {timeout} s; worker log:\n{log.read_text()[-3000:]}")


@pytest.mark.postgres_only
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_redis_worker_publishes_the_export_after_a_burst_of_changes(settings: Any, tmp_path: Path) -> None:
    require_broker(REDIS_BROKER)
    settings.EXPORT_ON_CHANGE = True
    # Long enough that the five changes (on a loaded machine) land before the export runs.
    settings.EXPORT_DEBOUNCE_SECONDS = 3.0
    queue = f"hmr-test-{uuid.uuid4().hex}"
    export_dir = tmp_path / "export"
    log = tmp_path / "worker.log"
    with (
        running_worker(worker_env(REDIS_BROKER, queue, export_dir), log),
        celery_pointed_at(REDIS_BROKER, queue),
    ):
        for index in range(5):
            record_create(
                category=SD, name=f"M{index}", payload=sd_payload(f"M{index}"), actor=ACTOR, source="api"
            )
        run = wait_for_export_run(log)
        # A second (wrong) export would have been enqueued with the first; give it time to run.
        time.sleep(2)
    assert run.status == "succeeded" and run.trigger == "on_commit", (run.summary(), log.read_text()[-3000:])
    assert SyncRun.objects.filter(kind=SyncRun.Kind.EXPORT).count() == 1
    manifest = json.loads((export_dir / CURRENT_LINK / MANIFEST_NAME).read_bytes())
    assert manifest["categories"][SD]["records"] == 5
    document = json.loads((export_dir / CURRENT_LINK / "v2" / "image_generation.json").read_bytes())
    assert list(document) == [f"M{index}" for index in range(5)]


@pytest.mark.postgres_only
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_rabbitmq_worker_runs_the_task_sent_by_celery_call(tmp_path: Path) -> None:
    require_broker(RABBITMQ_BROKER)
    record_create(category=SD, name="Alpha", payload=sd_payload("Alpha"), actor=ACTOR, source="api")
    queue = f"hmr-test-{uuid.uuid4().hex}"
    export_dir = tmp_path / "export"
    log = tmp_path / "worker.log"
    env = worker_env(RABBITMQ_BROKER, queue, export_dir)
    with running_worker(env, log):
        sent = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "config", "call", "sync.publish_export"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert sent.returncode == 0, sent.stderr.decode()
        run = wait_for_export_run(log)
    assert run.status == "succeeded" and run.trigger == "command", (run.summary(), log.read_text()[-3000:])
    manifest = json.loads((export_dir / CURRENT_LINK / MANIFEST_NAME).read_bytes())
    assert manifest["categories"][SD]["records"] == 1
