"""A database outage answers 503 with Retry-After on every route that needs it, and heals.

In process (both passes): the connection is pointed at a database that cannot be
reached (an SQLite file in a directory that does not exist, a PostgreSQL port
nobody listens on). With a real server (PostgreSQL pass): the server reaches
PostgreSQL through a TCP proxy that is made to refuse, then to hang, then healed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, connections
from django.test import Client

from audit.services import Actor
from common.database import DETAIL
from common.health import DATABASE_BREAKER
from pending_queue.models import ChangeProposal
from tests.factories import sd_payload
from tests.record_writes import record_create
from tests.servers import TcpProxy, database_url, free_port, request, web_server

V2 = "/api/model_references/v2"
QUEUE = f"{V2}/pending_queue/changes"
ADD = f"{V2}/image_generation/add"
DOCUMENT = f"{V2}/image_generation"


@pytest.fixture(autouse=True)
def _closed_breaker() -> Iterator[None]:
    DATABASE_BREAKER.record_success()
    yield
    DATABASE_BREAKER.record_success()


@contextmanager
def database_unreachable(tmp_path: Path) -> Iterator[None]:
    """This thread's connection now leads nowhere; the real one is kept aside and restored."""
    db = connections["default"]
    saved_connection, saved_settings = db.connection, dict(db.settings_dict)
    if db.vendor == "sqlite":
        db.settings_dict["NAME"] = str(tmp_path / "removed-directory" / "db.sqlite3")
    else:
        db.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    db.connection = None
    try:
        yield
    finally:
        if db.connection is not None:
            db.connection.close()
        db.settings_dict.clear()
        db.settings_dict.update(saved_settings)
        db.connection = saved_connection
        db.errors_occurred = False
        db.needs_rollback = False


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.content
    assert response.json() == {"detail": DETAIL}
    assert 1 <= int(response["Retry-After"]) <= 60


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_is_503_on_queue_reads_and_writes_and_warm_reads_still_answer(
    client: Client, horde: Any, tmp_path: Path
) -> None:
    record_create(
        category="image_generation",
        name="Kept",
        payload=sd_payload("Kept"),
        actor=Actor.system("test"),
        source="api",
    )
    admin = User.objects.create_superuser("admin", password="pw")
    staff = Client()
    staff.force_login(admin)
    # Warm: the document rendered, both keys known (cached), the admin reachable.
    assert client.get(DOCUMENT).status_code == 200
    assert client.get(QUEUE, HTTP_APIKEY="reader-key").status_code == 200
    assert client.get(f"{V2}/me/roles", HTTP_APIKEY="requestor-key").status_code == 200
    assert staff.get("/admin/").status_code == 200

    with database_unreachable(tmp_path):
        _assert_unavailable(client.get(QUEUE, HTTP_APIKEY="reader-key"))
        _assert_unavailable(
            client.post(
                ADD,
                data=json.dumps(sd_payload("Alpha")),
                content_type="application/json",
                HTTP_APIKEY="requestor-key",
            )
        )
        assert DATABASE_BREAKER.is_open
        # The admin (HTML) says so too, instead of a traceback page.
        page = staff.get("/admin/pending_queue/changeproposal/")
        assert page.status_code == 503 and page["Retry-After"] and b"database is unavailable" in page.content
        # Reads the process holds in memory need no database.
        warm = client.get(DOCUMENT)
        assert warm.status_code == 200 and "Kept" in warm.json()

    # Healed: no restart, and the first successful query closes the breaker.
    assert client.get(QUEUE, HTTP_APIKEY="reader-key").status_code == 200
    assert not DATABASE_BREAKER.is_open
    response = client.post(
        ADD,
        data=json.dumps(sd_payload("Alpha")),
        content_type="application/json",
        HTTP_APIKEY="requestor-key",
    )
    assert response.status_code == 202, response.content
    assert ChangeProposal.objects.count() == 1


def test_an_outage_raised_outside_a_view_is_a_503_too(rf: Any) -> None:
    from django.db import OperationalError

    from common.api import json_server_error

    for path in ("/api/model_references/v2/pending_queue/changes", "/admin/"):
        try:
            raise OperationalError("connection refused")
        except OperationalError:
            response = json_server_error(rf.get(path))
        assert response.status_code == 503 and response["Retry-After"]
    assert json.loads(json_server_error(rf.get("/api/x")).content) == {"detail": "Internal Server Error"}


# --- a real server, a real PostgreSQL behind a proxy -------------------------------------------

CONNECT_TIMEOUT = 2


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    db = connection.settings_dict
    forwarder = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    try:
        yield forwarder
    finally:
        forwarder.close()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="runs in the PostgreSQL pass (a real server process)"
)
def test_postgresql_stopped_or_hung_is_a_bounded_503_and_the_server_recovers_by_itself(
    horde: Any, proxy: TcpProxy
) -> None:
    record_create(
        category="image_generation",
        name="Kept",
        payload=sd_payload("Kept"),
        actor=Actor.system("test"),
        source="api",
    )
    env = {
        "DATABASE_URL": database_url("127.0.0.1", proxy.port),
        "DATABASE_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT),
        "REDIS_URL": settings.REDIS_URL or "",
        "CACHE_KEY_PREFIX": f"hmr-db-outage-{proxy.port}",
        "AI_HORDE_URL": horde.url,
        "REQUESTOR_IDS": "1",
        "APPROVER_IDS": "2",
    }
    reader = {"apikey": "reader-key"}
    writer = {"apikey": "requestor-key", "Content-Type": "application/json"}
    body = json.dumps(sd_payload("Alpha")).encode()
    with web_server(env) as base:
        for _ in range(2):  # the second answer comes from memory
            assert request(base + DOCUMENT).status == 200
        assert request(base + QUEUE, headers=reader).status == 200
        assert request(base + f"{V2}/me/roles", headers=writer).status == 200

        for fault in (proxy.refuse, proxy.hang):
            fault()
            for _ in range(3):
                for answer in (
                    request(base + QUEUE, headers=reader),
                    request(base + ADD, method="POST", headers=writer, body=body),
                ):
                    assert answer.status == 503, (fault.__name__, answer.status, answer.body)
                    assert json.loads(answer.body) == {"detail": DETAIL}
                    assert int(answer.headers["retry-after"]) >= 1
                    assert answer.seconds < CONNECT_TIMEOUT + 1.5, (fault.__name__, answer.seconds)
                warm = request(base + DOCUMENT)
                assert warm.status == 200 and warm.seconds < 1.0
                assert b"Kept" in warm.body

        proxy.forward()
        deadline = time.monotonic() + 10
        while request(base + QUEUE, headers=reader).status != 200:
            assert time.monotonic() < deadline, "the server did not recover by itself"
            time.sleep(0.2)
        created = request(base + ADD, method="POST", headers=writer, body=body)
        assert created.status == 202, created.body
    assert ChangeProposal.objects.count() == 1
