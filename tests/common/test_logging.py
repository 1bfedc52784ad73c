"""Log lines carry the request id, never a secret; LOG_FORMAT=json writes one object per line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from common.log_format import JsonFormatter, RequestIdFilter, SecretRedactingFilter, redact
from tests.factories import sd_payload

V2 = "/api/model_references/v2"
SD = "image_generation"
APIKEY = "sEcReT-apikey-0c1d2e3f4a5b"
BAD_APIKEY = "sEcReT-badkey-9f8e7d6c5b4a"
PASSWORD = "sEcReT-Passw0rd-7a6b5c"
TOKEN = "sEcReT-drf-token-11aa22bb33cc"
GITHUB_TOKEN = "ghp_sEcReT0123456789abcdefghijklmnop"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root handler as production configures it (JSON, both filters), at DEBUG."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(SecretRedactingFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield output
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.django_db
def test_no_secret_reaches_any_log_line(
    client: Client,
    horde: Any,
    json_log: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from rest_framework.authtoken.models import Token

    settings.GITHUB_TOKEN = GITHUB_TOKEN
    horde.add_user(APIKEY, "dora", 1)
    caplog.set_level(logging.DEBUG)
    body = json.dumps(sd_payload("Alpha"))

    # An authenticated API write and read, with an apikey.
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            f"{V2}/{SD}/add",
            data=body,
            content_type="application/json",
            HTTP_APIKEY=APIKEY,
            HTTP_X_REQUEST_ID="logged-request-01",
        )
    assert answer.status_code == 202, answer.content
    assert client.get(f"{V2}/pending_queue/my_changes", HTTP_APIKEY=APIKEY).status_code == 200
    # A failed authentication (unknown key), twice (the second from the negative cache).
    for _ in range(2):
        refused = client.post(
            f"{V2}/{SD}/add", data=body, content_type="application/json", HTTP_APIKEY=BAD_APIKEY
        )
        assert refused.status_code == 401
    # An admin login with username and password, a failed one, then session-authenticated requests.
    User.objects.create_superuser(username="root", password=PASSWORD)
    failed = client.post("/admin/login/", {"username": "root", "password": PASSWORD + "x", "next": "/admin/"})
    assert failed.status_code == 200
    logged_in = client.post("/admin/login/", {"username": "root", "password": PASSWORD, "next": "/admin/"})
    assert logged_in.status_code == 302
    session_id = client.cookies["sessionid"].value
    assert client.get("/admin/").status_code == 200
    assert client.get(f"{V2}/pending_queue/changes").status_code == 200
    # A DRF token.
    token = Token.objects.create(user=User.objects.get(username="root"), key=TOKEN)
    assert client.get(f"{V2}/me/roles", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200
    # Code that logs a header or a setting by mistake is redacted all the same.
    headers = {"apikey": APIKEY, "Authorization": f"Token {TOKEN}", "Cookie": f"sessionid={session_id}"}
    logging.getLogger("tests.careless").warning("headers: %s", headers)
    logging.getLogger("tests.careless").warning("pushing with %s", GITHUB_TOKEN)

    secrets = (APIKEY, BAD_APIKEY, PASSWORD, TOKEN, GITHUB_TOKEN, session_id)
    written = json_log.getvalue()
    lines = [json.loads(line) for line in written.splitlines()]
    assert lines, "nothing was logged"
    assert {"time", "level", "logger", "message", "request_id"} <= set(lines[0])
    assert any(line["request_id"] == "logged-request-01" for line in lines), lines
    for secret in secrets:
        assert secret not in written, secret
        assert secret not in caplog.text, secret
        for record in caplog.records:
            assert secret not in record.getMessage(), (secret, record.name)


def test_redact_keeps_the_line_readable() -> None:
    assert redact("apikey=abc123 and more") == "apikey=[redacted] and more"
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer [redacted]"
    assert redact("Cookie: sessionid=abc; csrftoken=def") == "Cookie: [redacted]"
    assert redact('{"password": "hunter2", "name": "x"}') == '{"password": "[redacted]", "name": "x"}'
    assert redact("token ghp_0123456789abcdefghijklmnopq used") == "token [redacted] used"
    assert redact("the apikey header is missing") == "the apikey header is missing"
    assert redact(redact("apikey: abc")) == "apikey: [redacted]"
    assert redact("Error connecting to redis://:pw0rd@10.0.0.1:6379/0") == (
        "Error connecting to redis://:[redacted]@10.0.0.1:6379/0"
    )
    assert redact(redact("amqp://guest:guest@h//")) == "amqp://guest:[redacted]@h//"


def test_json_lines_carry_the_exception(json_log: io.StringIO) -> None:
    try:
        raise ValueError("boom apikey=leaked-in-exception")
    except ValueError:
        logging.getLogger("tests.failing").exception("it failed")
    (line,) = [json.loads(text) for text in json_log.getvalue().splitlines() if "tests.failing" in text]
    assert line["level"] == "ERROR" and line["message"] == "it failed"
    assert "ValueError: boom apikey=[redacted]" in line["exception"]
    assert "leaked-in-exception" not in json_log.getvalue()
