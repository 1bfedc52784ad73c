"""The ASGI entry point answers warm hot reads on the event loop, from memory only.

Each test puts a recording ASGI application behind ``AsgiDocumentFastPath`` in
place of Django, so it can tell which requests the fast path answered itself and
which it handed on. The full chain (uvicorn, a2wsgi, Django in its thread pool)
runs in ``test_multiprocess.py``.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import Client

from audit.services import Actor
from references.fast_path import AsgiDocumentFastPath, Message, Scope, asgi_environ
from tests.record_writes import record_update

pytestmark = pytest.mark.django_db

V2 = "/api/model_references/v2"
V1 = "/api/model_references/v1"


class Downstream:
    """Stands in for the Django application behind the fast path: records what reaches it."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"handed on"})


def http_scope(path: str, method: str = "GET", query: bytes = b"", **headers: str) -> Scope:
    raw_headers = [(b"host", b"127.0.0.1")]
    raw_headers += [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": raw_headers,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }


async def request(app: Any, scope: Scope) -> tuple[int, dict[str, str], bytes]:
    """One bodiless request through an ASGI application: status, headers, body."""
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start, body = messages[0], b"".join(m.get("body", b"") for m in messages[1:])
    headers = {name.decode(): value.decode() for name, value in start["headers"]}
    return start["status"], headers, body


def call(scope: Scope) -> tuple[Downstream, int, dict[str, str], bytes]:
    downstream = Downstream()
    status, headers, body = asyncio.run(request(AsgiDocumentFastPath(downstream), scope))
    return downstream, status, headers, body


@pytest.mark.parametrize(
    "path",
    [
        f"{V2}/image_generation",
        f"{V1}/image_generation",
        f"{V1}/stable_diffusion.json",
        f"{V2}/text_generation",
        f"{V2}/image_generation/model/stable_diffusion",
        f"{V2}/model_categories",
    ],
)
def test_warm_reads_are_answered_on_the_loop_with_djangos_bytes(
    client: Client, real_reference: Path, path: str, django_assert_num_queries: Any
) -> None:
    django_response = client.get(path)
    assert django_response.status_code == 200
    with django_assert_num_queries(0):
        downstream, status, headers, body = call(http_scope(path))
    assert downstream.scopes == []
    assert status == 200 and body == django_response.content
    # Every header the view's answer has, but DRF's Allow (a 405 matter) and the request
    # id (the fast path answers before the middleware and carries none, on purpose).
    assert headers == {
        name.lower(): value
        for name, value in django_response.items()
        if name not in ("Allow", "X-Request-ID")
    }


def test_cold_documents_are_handed_to_django(real_reference: Path) -> None:
    # Nothing rendered in this process yet: loading it needs the database, off the loop.
    downstream, status, _, body = call(http_scope(f"{V2}/image_generation"))
    assert len(downstream.scopes) == 1 and (status, body) == (299, b"handed on")


def test_gzip_304_and_head(client: Client, real_reference: Path) -> None:
    path = f"{V2}/image_generation"
    plain = client.get(path)
    client.get(path, HTTP_ACCEPT_ENCODING="gzip")
    _, status, headers, body = call(http_scope(path, accept_encoding="gzip, br"))
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == plain.content
    _, status, headers, body = call(http_scope(path, if_none_match=plain["ETag"]))
    assert (status, body) == (304, b"") and headers["etag"] == plain["ETag"]
    _, status, headers, body = call(http_scope(path, method="HEAD"))
    assert (status, body) == (200, b"") and headers["content-length"] == plain["Content-Length"]


def test_a_new_revision_is_not_served_stale(
    client: Client, real_reference: Path, django_capture_on_commit_callbacks: Any
) -> None:
    path = f"{V2}/image_generation/model/stable_diffusion"
    before = client.get(path)
    from references.selectors import record_get

    record = record_get(category="image_generation", name="stable_diffusion")
    assert record is not None
    payload = {**record.payload, "description": "changed on the loop test"}
    with django_capture_on_commit_callbacks(execute=True):
        record_update(
            category="image_generation",
            name="stable_diffusion",
            payload=payload,
            actor=Actor.system("t"),
            source="api",
            expected_version=record.version,
        )
    # The new revision is not rendered here yet: the fast path must not answer
    # with the old bytes, and Django renders the new ones.
    downstream, status, _, _ = call(http_scope(path))
    assert len(downstream.scopes) == 1 and status == 299
    after = client.get(path)
    assert after.content != before.content and b"changed on the loop test" in after.content
    downstream, status, _, body = call(http_scope(path))
    assert downstream.scopes == [] and (status, body) == (200, after.content)


@pytest.mark.parametrize(
    ("path", "method", "query", "headers"),
    [
        (f"{V1}/text_generation", "GET", b"include_group=true", {}),
        (f"{V2}/image_generation", "GET", b"", {"host": "evil.example"}),
        (f"{V2}/image_generation", "POST", b"", {}),
        (f"{V2}/nope", "GET", b"", {}),
        (f"{V1}/db", "GET", b"", {}),
        (f"{V2}/image_generation/search", "GET", b"", {}),
        (f"{V2}/image_generation/model/no such model", "GET", b"", {}),
        ("/admin/", "GET", b"", {}),
    ],
)
def test_everything_else_is_handed_on(
    client: Client, real_reference: Path, path: str, method: str, query: bytes, headers: dict[str, str]
) -> None:
    client.get(f"{V2}/image_generation")
    client.get(f"{V1}/text_generation")
    scope = http_scope(path, method=method, query=query)
    if "host" in headers:
        scope["headers"] = [(b"host", headers["host"].encode())]
    downstream, status, _, _ = call(scope)
    assert len(downstream.scopes) == 1 and status == 299


def test_non_http_scopes_are_handed_on() -> None:
    downstream = Downstream()
    seen: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        seen.append(message)

    asyncio.run(AsgiDocumentFastPath(downstream)({"type": "lifespan"}, receive, send))
    assert [scope["type"] for scope in downstream.scopes] == ["lifespan"]


def test_asgi_environ_spells_paths_and_headers_as_wsgi_does() -> None:
    scope = http_scope(
        f"{V2}/image_generation/model/%C3%BCml%20aut", if_none_match='"a"', accept_encoding="gzip"
    )
    scope["headers"].append((b"if-none-match", b'"b"'))
    environ = asgi_environ(scope)
    assert environ["PATH_INFO"].encode("latin-1").decode("utf-8") == f"{V2}/image_generation/model/üml aut"
    assert environ["HTTP_IF_NONE_MATCH"] == '"a","b"'
    assert environ["HTTP_ACCEPT_ENCODING"] == "gzip"
    assert environ["QUERY_STRING"] == ""


@pytest.mark.django_db(transaction=True)
def test_the_asgi_entry_point_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """config.asgi: Django (in a2wsgi's threads) answers cold, the event loop answers warm."""
    from django.db import connections

    from config.asgi import application
    from tests.factories import sd_payload
    from tests.record_writes import record_create

    # The server threads open their own connections: close them after each request,
    # so none outlives the test.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    record_create(
        category="image_generation",
        name="Loop",
        payload=sd_payload("Loop"),
        actor=Actor.system("t"),
        source="api",
    )
    path = f"{V2}/image_generation/model/Loop"

    async def both() -> list[tuple[int, dict[str, str], bytes]]:
        return [
            await request(application, http_scope(path)),
            await request(application, http_scope(path)),
            await request(application, http_scope("/api/nope")),
        ]

    cold, warm, missing = asyncio.run(both())
    assert cold[0] == warm[0] == 200 and cold[2] == warm[2]
    assert json.loads(warm[2])["name"] == "Loop"
    assert missing[0] == 404 and "detail" in json.loads(missing[2])
