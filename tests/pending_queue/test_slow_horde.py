"""A hung AI Horde costs curation callers a bounded 503, and public reads nothing.

A real server process (the production ASGI entry point); the AI Horde is a local
socket that accepts connections and never answers.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection

from tests.servers import Answer, SilentPeer, database_url, request, web_server

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="runs in the PostgreSQL pass: the server process must share the test database",
    ),
]

TIMEOUT = 2.0
COOL_DOWN = 3.0
SLOTS = 3
ROLES = "/api/model_references/v2/me/roles"
SEARCH = "/api/model_references/v2/search?name_contains=flux"


@pytest.fixture
def hung_horde() -> Iterator[SilentPeer]:
    peer = SilentPeer()
    try:
        yield peer
    finally:
        peer.close()


@pytest.fixture
def server(hung_horde: SilentPeer) -> Iterator[str]:
    env = {
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL or "",
        "CACHE_KEY_PREFIX": f"hmr-slow-horde-{secrets.token_hex(4)}",
        "AI_HORDE_URL": hung_horde.url,
        "AI_HORDE_TIMEOUT_SECONDS": str(TIMEOUT),
        "AI_HORDE_COOL_DOWN_SECONDS": str(COOL_DOWN),
        "AI_HORDE_MAX_CONCURRENT_LOOKUPS": str(SLOTS),
        "AUTH_CHECKS_PER_MINUTE": "1000",
        "WSGI_THREADS": "8",
        "REQUESTOR_IDS": "1",
        "APPROVER_IDS": "2",
    }
    with web_server(env) as base:
        yield base


def _burst(base: str, count: int) -> tuple[list[Answer], list[Answer]]:
    """``count`` curation calls with random keys, and public reads while they wait."""
    with ThreadPoolExecutor(max_workers=count + 1) as pool:
        curation = [
            pool.submit(request, base + ROLES, headers={"apikey": secrets.token_urlsafe(16)})
            for _ in range(count)
        ]
        time.sleep(0.3)
        reads = [request(base + SEARCH) for _ in range(5)]
        reads.append(request(base + "/api/model_references/v2/image_generation"))
        return [future.result() for future in curation], reads


def test_a_hung_ai_horde_is_a_bounded_503_and_public_reads_stay_fast(
    server: str, hung_horde: SilentPeer
) -> None:
    assert request(server + SEARCH).status == 200
    started = time.monotonic()
    answers, reads = _burst(server, 24)
    assert time.monotonic() - started < TIMEOUT + 2.0
    assert [answer.status for answer in answers] == [503] * 24
    for answer in answers:
        assert answer.seconds < TIMEOUT + 1.0
        assert int(answer.headers["retry-after"]) >= 1
        assert isinstance(json.loads(answer.body)["detail"], str)
    assert all(read.status == 200 and read.seconds < 1.0 for read in reads), [
        (read.status, round(read.seconds, 2)) for read in reads
    ]
    # Only as many threads as there are slots ever waited on the AI Horde.
    assert hung_horde.connections() == SLOTS

    # Those timeouts opened the breaker: during the cool-down nothing is sent.
    answers, _ = _burst(server, 8)
    assert [answer.status for answer in answers] == [503] * 8
    assert all(answer.seconds < 1.0 for answer in answers)
    assert hung_horde.connections() == SLOTS

    # After the cool-down, one probe reaches the AI Horde; every other caller fails fast.
    time.sleep(COOL_DOWN + 0.5)
    answers, reads = _burst(server, 12)
    assert [answer.status for answer in answers] == [503] * 12
    assert sorted(answer.seconds < 1.0 for answer in answers) == [False] + [True] * 11
    assert all(read.status == 200 and read.seconds < 1.0 for read in reads)
    assert hung_horde.connections() == SLOTS + 1
