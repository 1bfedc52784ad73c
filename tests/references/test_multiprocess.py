"""Two web processes sharing PostgreSQL and Redis serve a change on their next request."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection

from audit.services import Actor
from tests.factories import sd_payload
from tests.record_writes import record_create, record_update
from tests.servers import ASGI_SET_UP, WSGI_SET_UP, database_url, web_servers

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.REDIS_URL,
        reason="runs in the PostgreSQL + Redis pass: processes must share a database and a cache",
    ),
]

ACTOR = Actor.system("test")


def get(url: str, etag: str | None = None) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers.get("ETag", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("ETag", "")


@pytest.fixture
def two_servers() -> Iterator[list[str]]:
    env = {
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
    }
    # Both production entry points: the ASGI one (uvicorn worker, hot reads on the
    # event loop) and the WSGI one (gthread).
    with web_servers(env, [ASGI_SET_UP, WSGI_SET_UP]) as bases:
        yield bases


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
