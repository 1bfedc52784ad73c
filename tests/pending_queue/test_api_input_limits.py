"""Issue #9, items 6, 8, 9 and 10: input that used to break a category or answer 500.

Bounded numbers in records, a JSON nesting limit, bounded query parameters, chunked
bodies, thousands of query parameters, 405 before authentication, and new names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.services import Actor
from horde_model_reference.legacy import canonical_to_legacy_document
from horde_model_reference.meta_consts import CATEGORY_DESCRIPTORS, MODEL_REFERENCE_CATEGORY
from pending_queue.models import ChangeProposal
from references.selectors import category_entries, record_get
from references.services import number_problems, payload_validate, record_render_problem
from tests.factories import sd_legacy, sd_payload
from tests.record_writes import record_create

pytestmark = pytest.mark.django_db

V1 = "/api/model_references/v1"
V2 = "/api/model_references/v2"
QUEUE = f"{V2}/pending_queue"
SD = "image_generation"
MISC = "miscellaneous"
SYSTEM = Actor.system("test")
HUGE = 2**64  # 1180591620717411303424 in the issue is 2**70; any >= 2**64 broke orjson


def send(client: Client, method: str, url: str, body: Any = None, key: str | None = "requestor-key") -> Any:
    headers: dict[str, Any] = {"HTTP_APIKEY": key} if key else {}
    data = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json", **headers)


def misc_payload(name: str = "fresh_misc", **overrides: Any) -> dict[str, Any]:
    return {"name": name, "description": "x", **overrides}


def locs(response: Any) -> list[list[Any]]:
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    return [item["loc"] for item in detail]


# --- item 6: numbers in records --------------------------------------------------------

BAD_NUMBERS = [
    pytest.param({"size_on_disk_bytes": 2**70}, ["body", "size_on_disk_bytes"], id="2**70-size"),
    pytest.param({"size_on_disk_bytes": HUGE}, ["body", "size_on_disk_bytes"], id="2**64-size"),
    pytest.param({"size_on_disk_bytes": 2**63}, ["body", "size_on_disk_bytes"], id="2**63-size"),
    pytest.param({"size_on_disk_bytes": -1}, ["body", "size_on_disk_bytes"], id="negative-size"),
    pytest.param(
        {"config": {"download": [{"file_name": "a", "file_url": "https://x.invalid/a", "size_bytes": -5}]}},
        ["body", "config", "download", 0, "size_bytes"],
        id="negative-download-size",
    ),
    pytest.param({"metadata": {"created_at": HUGE}}, ["body", "metadata", "created_at"], id="huge-time"),
]


@pytest.mark.parametrize(("override", "loc"), BAD_NUMBERS)
def test_out_of_range_integers_are_422_on_v2_writes(
    client: Client, horde: Any, override: dict[str, Any], loc: list[Any]
) -> None:
    response = send(client, "post", f"{V2}/{MISC}", misc_payload(**override))
    assert response.status_code == 422, response.content
    assert loc in locs(response)
    sd = send(client, "post", f"{V2}/{SD}/add", sd_payload("Fresh", **override))
    assert sd.status_code == 422 and loc in locs(sd)
    assert ChangeProposal.objects.count() == 0


@pytest.mark.parametrize("size", [HUGE, 2**70, -1])
def test_out_of_range_integers_are_422_on_v1_writes(client: Client, horde: Any, size: int) -> None:
    response = send(client, "post", f"{V1}/{SD}", sd_legacy("Fresh", size_on_disk_bytes=size))
    assert response.status_code == 422, response.content
    assert ["body", "size_on_disk_bytes"] in locs(response)
    nested = sd_legacy("Fresh", requirements={"clip_skip": size if size > 0 else -(2**64)})
    response = send(client, "post", f"{V1}/{SD}", nested)
    assert response.status_code == 422, response.content
    assert ChangeProposal.objects.count() == 0


def test_text_parameter_counts_are_bounded(client: Client, horde: Any) -> None:
    body = {"name": "org/Model-7B", "parameters": HUGE, "baseline": "llama", "nsfw": False}
    response = send(client, "post", f"{V2}/text_generation", body)
    assert response.status_code == 422 and ["body", "parameters"] in locs(response)
    assert ChangeProposal.objects.count() == 0


def test_infinite_floats_are_422(client: Client, horde: Any) -> None:
    # Python's json reads 1e400 as inf; it is not a number any JSON writer can emit.
    raw = json.dumps(sd_payload("Fresh", requirements={"cfg_scale": 1.0})).replace("1.0", "1e400")
    response = send(client, "post", f"{V2}/{SD}/add", raw)
    assert response.status_code == 422 and ["body", "requirements", "cfg_scale"] in locs(response)
    nan = send(client, "post", f"{V2}/{SD}/add", raw.replace("1e400", "NaN"))
    assert nan.status_code == 422
    assert ChangeProposal.objects.count() == 0


def test_large_but_representable_numbers_are_accepted(client: Client, horde: Any) -> None:
    response = send(client, "post", f"{V2}/{MISC}", misc_payload(size_on_disk_bytes=2**63 - 1))
    assert response.status_code == 202, response.content


def test_every_real_record_is_still_a_valid_write(real_reference: Path) -> None:
    for category in MODEL_REFERENCE_CATEGORY:
        entries = category_entries(category=category.value)
        for entry in entries:
            assert payload_validate(category=category, payload=entry.payload, strict=True) == entry.payload
            assert (
                record_render_problem(category.value, entry.name, entry.payload, entry.legacy_residue) is None
            )
        if entries and CATEGORY_DESCRIPTORS[category].has_legacy_format:
            legacy = canonical_to_legacy_document(category.value, entries)
            assert number_problems(legacy, ["body"]) == []


def test_real_records_pass_v1_and_v2_update_routes(client: Client, horde: Any, real_reference: Path) -> None:
    from sync.services import legacy_import  # noqa: F401  (imported data comes from the fixture)

    for category in (SD, MISC, "controlnet", "esrgan"):
        entries = category_entries(category=category)
        legacy = canonical_to_legacy_document(category, entries[:5])
        for entry in entries[:5]:
            response = send(client, "put", f"{V2}/{category}/model/{entry.name}", entry.payload)
            assert response.status_code == 202, (category, entry.name, response.content)
        for body in legacy.values():
            response = send(client, "put", f"{V1}/{category}", body)
            assert response.status_code == 202, (category, body.get("name"), response.content)


# --- item 8: nesting ---------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize("url", [f"{V1}/{SD}", f"{V2}/{SD}", f"{V2}/{SD}/add", f"{V2}/{MISC}"])
def test_deeply_nested_json_is_422(client: Client, horde: Any, url: str, depth: int) -> None:
    raw = '{"name": "Deep", "description": ' + "[" * depth + "]" * depth + "}"
    response = send(client, "post", url, raw)
    assert response.status_code == 422, response.content[:200]
    (item,) = response.json()["detail"]
    assert item["loc"] == ["body"] and item["type"] == "json_too_deep"
    bare = send(client, "post", url, "[" * depth + "]" * depth)
    assert bare.status_code == 422
    assert ChangeProposal.objects.count() == 0


def test_nesting_within_the_limit_is_parsed(client: Client, horde: Any) -> None:
    raw = '{"name": "Deep", "description": "x", "requirements": {"a": ' + "[" * 20 + "]" * 20 + "}}"
    response = send(client, "post", f"{V2}/{MISC}", raw)
    # Parsed, then refused by the record schema (not by the parser).
    assert response.status_code == 422
    assert all(item["type"] != "json_too_deep" for item in response.json()["detail"])


# --- item 9: numeric query parameters ---------------------------------------------------


def test_the_reported_huge_offsets_are_422(client: Client, horde: Any) -> None:
    search = client.get(f"{V2}/search", {"offset": "18446744073709551616"})
    assert search.status_code == 422 and search.json()["detail"][0]["loc"] == ["query", "offset"]
    changes = client.get(f"{QUEUE}/changes", {"offset": "9223372036854775808"}, HTTP_APIKEY="reader-key")
    assert changes.status_code == 422 and changes.json()["detail"][0]["loc"] == ["query", "offset"]
    assert client.get(f"{QUEUE}/changes/9223372036854775808", HTTP_APIKEY="reader-key").status_code == 422
    assert client.get(f"{QUEUE}/changes/9223372036854775807", HTTP_APIKEY="reader-key").status_code == 404


NUMBERS = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(["", " ", "1e3", "1.5", "-0", "+1", "0x10", "1_0", "9" * 5000, "٣", "NaN", "inf"]),
    st.text(max_size=8).filter(lambda s: "\x00" not in s),
)
ROUTES = [
    (f"{V2}/search", "offset"),
    (f"{V2}/search", "limit"),
    (f"{V2}/{SD}/search", "offset"),
    (f"{V2}/{SD}/search", "limit"),
    (f"{QUEUE}/changes", "offset"),
    (f"{QUEUE}/changes", "limit"),
    (f"{QUEUE}/changes", "batch_id"),
    (f"{QUEUE}/my_changes", "offset"),
    (f"{QUEUE}/my_changes", "limit"),
    (f"{QUEUE}/diffs", "change_ids"),
    (f"{V1}/pending_queue/changes", "offset"),
]


@pytest.mark.parametrize(("url", "param"), ROUTES)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=25)
@given(value=NUMBERS)
def test_numeric_query_parameters_never_answer_500(
    client: Client, horde: Any, url: str, param: str, value: str
) -> None:
    response = client.get(url, {param: value}, HTTP_APIKEY="requestor-key")
    assert response.status_code in (200, 422), (param, value, response.status_code, response.content[:300])
    body = response.json()
    if response.status_code == 422:
        assert body["detail"] and all(set(item) >= {"loc", "msg", "type"} for item in body["detail"])


@pytest.mark.parametrize("raw", ["9223372036854775808", "-1", "0", "x"])
def test_change_ids_in_paths_are_bounded(client: Client, horde: Any, raw: str) -> None:
    for path in (f"{QUEUE}/changes/{raw}", f"{QUEUE}/changes/{raw}/diff"):
        assert client.get(path, HTTP_APIKEY="reader-key").status_code == 422


def test_ids_in_bodies_are_bounded(client: Client, horde: Any) -> None:
    for url, body in (
        (f"{QUEUE}/batches", {"batch_title": "t", "approved_ids": [2**63]}),
        (f"{QUEUE}/apply", {"change_ids": [2**64]}),
    ):
        response = send(client, "post", url, body, key="approver-key")
        assert response.status_code == 422, (url, response.content)


# --- item 10 ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [f"{V1}/{SD}", f"{V2}/{SD}", f"{V2}/{SD}/add"])
def test_a_chunked_body_without_content_length_is_411(client: Client, horde: Any, url: str) -> None:
    body = sd_legacy("Fresh") if url.startswith(V1) else sd_payload("Fresh")
    # What a WSGI server hands over for `Transfer-Encoding: chunked`: no CONTENT_LENGTH.
    response = client.post(
        url,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_APIKEY="requestor-key",
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",
    )
    assert response.status_code == 411, response.content
    assert isinstance(response.json()["detail"], str)
    assert ChangeProposal.objects.count() == 0


def test_thousands_of_query_parameters_are_a_json_400(client: Client, horde: Any) -> None:
    query = "&".join(["tags_any=a"] * 5000)
    for url, key in ((f"{V2}/search?{query}", None), (f"{QUEUE}/changes?{query}", "reader-key")):
        headers: dict[str, Any] = {"HTTP_APIKEY": key} if key else {}
        response = client.get(url, **headers)
        assert response.status_code == 400, (url, response.content[:200])
        assert response["Content-Type"] == "application/json"
        assert isinstance(response.json()["detail"], str)


def test_handler400_is_json_on_api_paths_and_html_elsewhere(rf: Any) -> None:
    from django.core.exceptions import TooManyFieldsSent

    from common.api import json_bad_request

    api = json_bad_request(rf.get(f"{V2}/search"), TooManyFieldsSent("too many"))
    assert api.status_code == 400 and json.loads(api.content)["detail"].startswith("Bad Request")
    html = json_bad_request(rf.get("/admin/"), TooManyFieldsSent("too many"))
    assert html.status_code == 400 and "html" in html["Content-Type"]


CURATION_ROUTES = [
    f"{V1}/{SD}",
    f"{V1}/{SD}/model/Alpha",
    f"{V2}/{SD}",
    f"{V2}/{SD}/add",
    f"{V2}/{SD}/model/Alpha",
    f"{V2}/{SD}/pending",
    f"{V2}/me/roles",
    f"{QUEUE}/changes",
    f"{QUEUE}/my_changes",
    f"{QUEUE}/changes/1",
    f"{QUEUE}/changes/1/diff",
    f"{QUEUE}/diffs",
    f"{QUEUE}/batches",
    f"{QUEUE}/apply",
    f"{QUEUE}/purge",
    f"{V1}/pending_queue/changes",
]


@pytest.mark.parametrize("url", CURATION_ROUTES)
def test_trace_is_405_with_allow_before_authentication(client: Client, horde: Any, url: str) -> None:
    response = client.generic("TRACE", url)
    assert response.status_code == 405, (url, response.status_code)
    assert "TRACE" not in response["Allow"] and response["Allow"]
    assert isinstance(response.json()["detail"], str)
    assert horde.lookups() == 0


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        ("get", f"{V1}/{SD}/model/Alpha", "DELETE"),
        ("patch", f"{V1}/{SD}", "POST"),
        ("patch", f"{V2}/{SD}/model/Alpha", "PUT"),
        ("get", f"{V2}/{SD}/add", "POST"),
        ("put", f"{QUEUE}/changes", "GET"),
        ("delete", f"{QUEUE}/batches", "POST"),
    ],
)
def test_unsupported_methods_are_405_before_authentication(
    client: Client, horde: Any, method: str, url: str, allow: str
) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == 405, (method, url, response.status_code)
    assert allow in [m.strip() for m in response["Allow"].split(",")]
    assert isinstance(response.json()["detail"], str)
    # With a valid key the answer is the same.
    assert getattr(client, method)(url, HTTP_APIKEY="requestor-key").status_code == 405


SPOOFING_NAMES = [
    "safe\u202egnp.exe",
    "layer\u200bdiffuse_sd15",
    "layer_diffuse_sd15 ",
    " lead",
    "a\u2066b",
    "x\ufeff",
]


@pytest.mark.parametrize("name", SPOOFING_NAMES)
def test_new_names_with_invisible_characters_or_edge_spaces_are_422(
    client: Client, horde: Any, name: str
) -> None:
    for method, url, body in (
        ("post", f"{V2}/{MISC}", misc_payload(name)),
        ("post", f"{V2}/{SD}/add", sd_payload(name)),
        ("post", f"{V1}/{SD}", sd_legacy(name)),
    ):
        response = send(client, method, url, body)
        assert response.status_code == 422, (url, name, response.content)
        assert ["body", "name"] in locs(response)
    assert ChangeProposal.objects.count() == 0


def test_existing_legacy_names_stay_readable_updatable_and_deletable(client: Client, horde: Any) -> None:
    legacy_name = "layer_diffuse_sd15 "  # an old row held to the old rules only
    record_create(category=SD, name=legacy_name, payload=sd_payload(legacy_name), actor=SYSTEM, source="sync")
    assert client.get(f"{V2}/{SD}/model/{legacy_name}").status_code == 200
    update = send(client, "put", f"{V2}/{SD}/model/{legacy_name}", sd_payload(legacy_name, description="new"))
    assert update.status_code == 202, update.content
    legacy = send(client, "put", f"{V1}/{SD}", sd_legacy(legacy_name, description="newer"))
    assert legacy.status_code == 202, legacy.content
    assert send(client, "delete", f"{V2}/{SD}/model/{legacy_name}").status_code == 202
    assert record_get(category=SD, name=legacy_name) is not None


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _raw_chunked_post(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    import socket

    chunk = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + chunk)
        received = b""
        while data := sock.recv(65536):
            received += data
    status_line, _, rest = received.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "set_up",
    [
        ["config.wsgi:application", "--worker-class", "gthread", "--threads", "2"],
        ["config.asgi:application", "--worker-class", "uvicorn_worker.UvicornWorker"],
    ],
    ids=["wsgi-gthread", "asgi-uvicorn"],
)
def test_a_real_server_answers_411_to_a_chunked_write(set_up: list[str], tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    from tests.conftest import REPO_ROOT

    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "",
        "DEBUG": "false",
        "SECRET_KEY": "chunked-body-test-secret-key-0123456789-abcdefghijklmnopq",
        "ALLOWED_HOSTS": "127.0.0.1",
        # Loopback stand-in: the server never needs it (411 comes before authentication).
        "AI_HORDE_URL": "http://127.0.0.1:9/api",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "client")]),
    }
    command = [sys.executable, "-m", "gunicorn", *set_up, "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    server = subprocess.Popen(
        [*command, "--log-level", "warning"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("the server did not start") from None
                time.sleep(0.2)
        body = json.dumps(sd_payload("Fresh")).encode()
        status, content = _raw_chunked_post(port, f"{V2}/{SD}/add", body)
        assert status == 411, content[:300]
        assert isinstance(json.loads(content)["detail"], str)
    finally:
        server.terminate()
        server.wait(timeout=10)
