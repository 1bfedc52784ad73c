"""The WSGI fast path answers hot reads exactly as the Django views do, from memory."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any
from urllib.parse import quote
from wsgiref.util import setup_testing_defaults

import pytest
from django.test import Client

from audit.services import Actor
from references.fast_path import fast_answer
from tests.factories import sd_payload
from tests.record_writes import record_create

pytestmark = pytest.mark.django_db

V2 = "/api/model_references/v2"
V1 = "/api/model_references/v1"


def environ(path: str, method: str = "GET", query: str = "", **headers: str) -> dict[str, Any]:
    # WSGI servers hand PATH_INFO over as latin-1 decoded bytes.
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": query,
        "HTTP_HOST": "127.0.0.1",
    }
    env.update(headers)
    setup_testing_defaults(env)
    return env


def call_app(env: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from config.wsgi import application

    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured["status"], captured["headers"] = status, dict(headers)

    # As Django's test client does: the test's transaction holds the connection,
    # which the request signals would otherwise close.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = application(env, start_response)
        body = b"".join(result)
        getattr(result, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return captured["status"], captured["headers"], body


@pytest.mark.parametrize(
    "path",
    [
        f"{V2}/image_generation",
        f"{V1}/image_generation",
        f"{V1}/stable_diffusion.json",
        f"{V2}/text_generation",
    ],
)
def test_warm_documents_are_served_by_the_fast_path_identically(
    client: Client, real_reference: Path, path: str, django_assert_num_queries: Any
) -> None:
    assert fast_answer(environ(path)) is None  # cold: Django renders first
    django_response = client.get(path)
    with django_assert_num_queries(0):
        answer = fast_answer(environ(path))
    assert answer is not None and answer.status == 200
    assert answer.body == django_response.content
    headers = dict(answer.headers)
    # Every header the view's answer has, but DRF's Allow (a 405 matter) and the request
    # id (the fast path answers before the middleware and carries none, on purpose).
    assert headers == {
        name: value for name, value in django_response.items() if name not in ("Allow", "X-Request-ID")
    }


def test_fast_path_gzip_304_and_head(client: Client, real_reference: Path) -> None:
    path = f"{V2}/image_generation"
    plain = client.get(path)
    client.get(path, HTTP_ACCEPT_ENCODING="gzip")
    zipped = fast_answer(environ(path, HTTP_ACCEPT_ENCODING="gzip"))
    assert zipped is not None and gzip.decompress(zipped.body) == plain.content
    not_modified = fast_answer(environ(path, HTTP_IF_NONE_MATCH=plain["ETag"]))
    assert not_modified is not None and not_modified.status == 304 and not_modified.body == b""
    status, headers, body = call_app(environ(path, method="HEAD"))
    assert status == "200 OK" and body == b"" and headers["ETag"] == plain["ETag"]


def test_single_model_with_an_awkward_name(
    client: Client, real_reference: Path, django_capture_on_commit_callbacks: Any
) -> None:
    name = "org/ümlaut model+1#2"
    with django_capture_on_commit_callbacks(execute=True):
        record_create(
            category="image_generation",
            name=name,
            payload=sd_payload(name),
            actor=Actor.system("t"),
            source="api",
        )
    url = f"{V2}/image_generation/model/{quote(name, safe='/')}"
    from_django = client.get(url)
    assert from_django.status_code == 200
    answer = fast_answer(environ(f"{V2}/image_generation/model/{name}"))
    assert answer is not None and answer.body == from_django.content


@pytest.mark.parametrize(
    ("path", "query", "extra"),
    [
        (f"{V1}/text_generation", "include_group=true", {}),
        (f"{V2}/image_generation", "", {"HTTP_HOST": "evil.example"}),
        (f"{V2}/nope", "", {}),
        (f"{V1}/db", "", {}),
        (f"{V2}/image_generation/search", "", {}),
    ],
)
def test_everything_else_goes_to_django(
    client: Client, real_reference: Path, path: str, query: str, extra: dict[str, str]
) -> None:
    client.get(f"{V2}/image_generation")
    client.get(f"{V1}/text_generation")
    assert fast_answer(environ(path, query=query, **extra)) is None


def test_through_the_wsgi_application(client: Client, real_reference: Path) -> None:
    path = f"{V2}/controlnet"
    first = call_app(environ(path))  # Django renders and warms
    second = call_app(environ(path))  # the fast path answers
    assert first[0] == second[0] == "200 OK"
    assert first[2] == second[2] and first[1]["ETag"] == second[1]["ETag"]
    status, _, _ = call_app(environ(f"{V2}/image_generation", HTTP_HOST="evil.example"))
    assert status.startswith("400")
