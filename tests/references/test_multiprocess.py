"""Two web processes sharing PostgreSQL and Redis serve a change on their next request."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection

from audit.services import Actor
from references.services import record_create, record_update
from tests.conftest import REPO_ROOT
from tests.factories import sd_payload

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.REDIS_URL,
        reason="runs in the PostgreSQL + Redis pass: processes must share a database and a cache",
    ),
]

ACTOR = Actor.system("test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, etag: str | None = None) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers.get("ETag", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("ETag", "")


@pytest.fixture
def two_servers() -> Iterator[list[str]]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "DEBUG": "false",
        "SECRET_KEY": "multi-process-test-secret-key-0123456789-abcdefghijklmnop",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "client")]),
    }
    processes, bases = [], []
    # Both production entry points: the ASGI one (uvicorn worker, hot reads on the
    # event loop) and the WSGI one (gthread).
    set_ups = [
        ["config.asgi:application", "--worker-class", "uvicorn_worker.UvicornWorker"],
        ["config.wsgi:application", "--worker-class", "gthread", "--threads", "2"],
    ]
    try:
        for set_up in set_ups:
            port = free_port()
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        *set_up,
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "1",
                        "--log-level",
                        "warning",
                    ],
                    cwd=REPO_ROOT,
                    env=env,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        for base in bases:
            while True:
                try:
                    if get(f"{base}/api/heartbeat")[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"server at {base} did not start")
                time.sleep(0.2)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def test_every_process_serves_the_new_revision_on_its_next_request(two_servers: list[str]) -> None:
    record_create(
        category="image_generation", name="Shared", payload=sd_payload("Shared"), actor=ACTOR, source="api"
    )
    url = "/api/model_references/v2/image_generation"
    etags = []
    for base in two_servers:
        status, body, etag = get(base + url)
        assert status == 200 and json.loads(body)["Shared"]["description"] == "A test model"
        etags.append(etag)
    assert etags[0] == etags[1]
    assert all(get(base + url, etags[0])[0] == 304 for base in two_servers)

    record_update(
        category="image_generation",
        name="Shared",
        payload=sd_payload("Shared", description="changed in another process"),
        actor=ACTOR,
        source="api",
    )
    for base in two_servers:
        status, body, etag = get(base + url, etags[0])
        assert status == 200
        assert json.loads(body)["Shared"]["description"] == "changed in another process"
        assert etag != etags[0]
        single = get(base + "/api/model_references/v2/image_generation/model/Shared")
        assert json.loads(single[1])["description"] == "changed in another process"
        # Warm again: answered from memory, the same bytes.
        assert get(base + url) == (status, body, etag)
