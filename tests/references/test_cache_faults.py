"""A dead or hung Redis costs a bounded delay, never an outage (issue #9, items 1, 2, 15).

Each test starts its own ``redis-server`` on a free port and points the cache at
it, then pauses it (SIGSTOP: connections are accepted by the kernel and never
answered, the worst case) or kills it (connections refused).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client

from audit.services import Actor
from common.health import CACHE_BREAKER
from references.document_cache import POINTER_FEED, document_cache_reset
from references.fast_path import fast_answer
from tests.factories import sd_payload
from tests.record_writes import record_create, record_update

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary"),
]

ACTOR = Actor.system("test")
V2 = "/api/model_references/v2"
DOCUMENT = f"{V2}/image_generation"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        persistence = ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", *persistence],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("redis-server did not start")
            time.sleep(0.05)

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateRedis]:
    """The cache (and the revision subscription) on a Redis of this test's own."""
    redis = PrivateRedis()
    settings.REDIS_URL = redis.url
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis.url,
            "KEY_PREFIX": "faults",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.3,
                "SOCKET_TIMEOUT": 0.3,
            },
        }
    }
    # A short cool-down keeps the recovery part of the tests quick.
    monkeypatch.setattr(CACHE_BREAKER, "cool_down_seconds", 1.0)
    CACHE_BREAKER.record_success()
    POINTER_FEED.disconnect()
    document_cache_reset()
    try:
        yield redis
    finally:
        redis.resume()
        document_cache_reset()
        redis.stop()
        POINTER_FEED.disconnect()
        caches.close_all()
        CACHE_BREAKER.record_success()


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def publish(change: Callable[[], Any], capture: Any) -> None:
    with capture(execute=True):
        change()


def wsgi_environ(path: str) -> dict[str, Any]:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "HTTP_HOST": "127.0.0.1"}


def warm_up(client: Client) -> None:
    for _ in range(2):
        assert client.get(DOCUMENT).status_code == 200
    assert fast_answer(wsgi_environ(DOCUMENT)) is not None  # warm: answered from memory


@pytest.mark.parametrize("fault", ["paused", "killed"])
def test_a_failing_redis_costs_a_bounded_delay_and_reads_keep_answering(
    private_redis: PrivateRedis,
    fault: str,
    client: Client,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    publish(
        lambda: record_create(
            category="image_generation", name="Alpha", payload=sd_payload("Alpha"), actor=ACTOR, source="api"
        ),
        django_capture_on_commit_callbacks,
    )
    warm_up(client)
    private_redis.pause() if fault == "paused" else private_redis.stop()

    # A warm read is answered at once: from memory (the subscription's copy) while
    # the fault is unnoticed, else by Django from the database's pointer.
    answer, took = timed(lambda: fast_answer(wsgi_environ(DOCUMENT)))
    assert took < 0.5 and (answer is None or answer.status == 200)
    response, took = timed(lambda: client.get(DOCUMENT))
    assert response.status_code == 200 and took < 0.5

    # A cold read needs the pointer: one timeout at most, then the database.
    response, took = timed(lambda: client.get(f"{V2}/text_generation"))
    assert response.status_code == 200 and took < 2.0
    assert CACHE_BREAKER.is_open

    # A change still commits, and this process serves it at once (from SQL).
    _, took = timed(
        lambda: publish(
            lambda: record_update(
                category="image_generation",
                name="Alpha",
                payload=sd_payload("Alpha", description="changed while Redis failed"),
                actor=ACTOR,
                source="api",
            ),
            django_capture_on_commit_callbacks,
        )
    )
    assert took < 2.0

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        started = time.monotonic()
        for _ in range(100):
            response = client.get(DOCUMENT)
            assert response.status_code == 200
            assert json.loads(response.content)["Alpha"]["description"] == "changed while Redis failed"
            assert client.get(f"{V2}/image_generation/model/Alpha").status_code == 200
        # The warm path keeps answering too (from the database's pointer).
        assert client.get("/api/heartbeat").status_code == 200
        elapsed = time.monotonic() - started
    # 200 reads within a few cool-downs: at most one timeout per cool-down.
    assert elapsed < 10.0
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 3

    heartbeat, took = timed(lambda: client.get("/api/heartbeat").json())
    assert took < 0.5
    assert heartbeat["status"] == "degraded"
    assert heartbeat["cache"]["backend"] == "redis" and heartbeat["cache"]["degraded"] is True
    assert heartbeat["database"]["degraded"] is False
    assert set(heartbeat["ai_horde"]) == {"degraded", "consecutive_failures", "seconds_until_retry"}


def test_after_a_pause_redis_never_serves_the_pointer_it_missed(
    private_redis: PrivateRedis, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    """The pointer set before the pause is stale after it: it must not be served again.

    While the breaker is open a publish is not even attempted (it would cost a
    timeout), so Redis keeps the previous pointer; the writer invalidates it once
    Redis answers again.
    """
    publish(
        lambda: record_create(
            category="image_generation", name="Alpha", payload=sd_payload("Alpha"), actor=ACTOR, source="api"
        ),
        django_capture_on_commit_callbacks,
    )
    warm_up(client)
    old_etag = client.get(DOCUMENT)["ETag"]
    private_redis.pause()
    assert client.get(f"{V2}/text_generation").status_code == 200
    assert CACHE_BREAKER.is_open
    publish(
        lambda: record_update(
            category="image_generation",
            name="Alpha",
            payload=sd_payload("Alpha", description="changed during the pause"),
            actor=ACTOR,
            source="api",
        ),
        django_capture_on_commit_callbacks,
    )
    private_redis.resume()
    time.sleep(CACHE_BREAKER.cool_down_seconds + 0.1)
    for _ in range(3):
        response = client.get(DOCUMENT, HTTP_IF_NONE_MATCH=old_etag)
        assert response.status_code == 200
        assert json.loads(response.content)["Alpha"]["description"] == "changed during the pause"
    assert not CACHE_BREAKER.is_open
    assert client.get("/api/heartbeat").json()["status"] == "ok"


@pytest.mark.parametrize("fault", ["paused", "killed"])
def test_curation_answers_without_redis(
    private_redis: PrivateRedis, fault: str, client: Client, horde: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Throttling and the API-key cache fail open: no 500, no hang, few warnings."""
    private_redis.pause() if fault == "paused" else private_redis.stop()
    body = json.dumps(sd_payload("Fresh"))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        started = time.monotonic()
        statuses = []
        for name in ("Fresh", "Second", "Third"):
            response = client.post(
                f"{V2}/image_generation/add",
                data=body.replace("Fresh", name),
                content_type="application/json",
                HTTP_APIKEY="requestor-key",
            )
            statuses.append(response.status_code)
        for _ in range(50):
            statuses.append(client.get(f"{V2}/me/roles", HTTP_APIKEY="requestor-key").status_code)
        elapsed = time.monotonic() - started
    assert statuses[:3] == [202, 202, 202], statuses
    assert set(statuses[3:]) == {200}
    assert elapsed < 5.0
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 3


def test_the_heartbeat_reports_a_local_cache_as_healthy(client: Client, settings: Any) -> None:
    settings.REDIS_URL = ""
    heartbeat = client.get("/api/heartbeat").json()
    assert heartbeat["status"] == "ok"
    assert heartbeat["cache"]["backend"] == "local" and heartbeat["cache"]["degraded"] is False


def test_recovery_closes_the_breaker(
    private_redis: PrivateRedis, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    publish(
        lambda: record_create(
            category="image_generation", name="Alpha", payload=sd_payload("Alpha"), actor=ACTOR, source="api"
        ),
        django_capture_on_commit_callbacks,
    )
    assert client.get(f"{V2}/image_generation").status_code == 200
    private_redis.pause()
    assert client.get(f"{V2}/image_generation").status_code == 200  # known: no Redis call
    assert client.get("/api/heartbeat").json()["status"] == "ok", CACHE_BREAKER.last_error
    assert client.get(f"{V2}/text_generation").status_code == 200  # the pointer is needed
    assert client.get("/api/heartbeat").json()["status"] == "degraded"
    private_redis.resume()
    time.sleep(CACHE_BREAKER.cool_down_seconds + 0.1)
    assert client.get(f"{V2}/text_generation").status_code == 200
    assert client.get("/api/heartbeat").json()["status"] == "ok"
