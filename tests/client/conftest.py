"""Fixtures for the client package's tests: local HTTP stand-ins, real data, a fresh manager.

Nothing here imports Django: these tests also run in a virtual environment that has only
the client, pytest and hypothesis (see requirements-client-test.txt). Async tests use
anyio's pytest plugin (``@pytest.mark.anyio``), which ships with httpx.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from horde_model_reference import settings as settings_module
from horde_model_reference.backends.github import legacy_result_to_v2_document
from horde_model_reference.legacy import legacy_document_to_canonical
from horde_model_reference.legacy.text import text_csv_to_canonical
from horde_model_reference.meta_consts import CATEGORY_DESCRIPTORS, MODEL_REFERENCE_CATEGORY
from horde_model_reference.model_reference_manager import ModelReferenceManager
from horde_model_reference.settings import HordeModelReferenceSettings

#: Record counts of the real data, per category (upstream-data.md §1.3).
REAL_COUNTS: dict[str, int] = {
    "image_generation": 161,
    "text_generation": 719,
    "controlnet": 18,
    "esrgan": 6,
    "blip": 2,
    "clip": 2,
    "miscellaneous": 2,
    "gfpgan": 1,
    "codeformer": 1,
    "safety_checker": 1,
}


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the manager's ASYNC strategy schedules asyncio tasks)."""
    return "asyncio"


# ---------------------------------------------------------------------------- HTTP stand-ins


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int
    if_none_match: str | None


Route = Callable[[str, dict[str, str]], Reply]


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 whose replies come from a Python function.

    Every request is logged (path, status, If-None-Match) so tests can count what a
    client actually sent. ``down = True`` makes it answer 503 to everything.
    """

    def __init__(self, route: Route) -> None:
        self.route = route
        self.log: list[LoggedRequest] = []
        self.down = False
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = Reply(503, b'{"detail": "down"}') if server.down else server.route(self.path, headers)
                with server._lock:
                    server.log.append(
                        LoggedRequest("GET", self.path, reply.status, headers.get("if-none-match"))
                    )
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if reply.body:
                    self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def requests_to(self, fragment: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.log if fragment in r.path]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class FakeReferenceApi:
    """The reference API's v2 read route, with strong ETags and 304s like the real server."""

    PREFIX = "/api/model_references/v2/"

    METADATA_PREFIX = PREFIX + "metadata/"

    def __init__(self, documents: dict[str, dict[str, Any]]) -> None:
        self.documents = {k: dict(v) for k, v in documents.items()}
        #: What the metadata routes answer per category (the server's ``category_metadata`` shape).
        self.metadata: dict[str, dict[str, Any]] = {
            category: {
                "category": category,
                "last_updated": 1_700_000_000,
                "last_operation_type": "update",
                "last_operation_model": next(iter(document), None),
                "total_creates": len(document),
                "total_updates": 1,
                "total_deletes": 0,
                "total_models": len(document),
                "initialization_time": 1_690_000_000,
                "last_successful_operation": 1_700_000_000,
                "error_count": 0,
                "metadata_schema_version": "1.0.0",
                "backend_type": "SQLBackend",
                "revision": 7,
            }
            for category, document in self.documents.items()
        }
        self.server = LocalServer(self._route)

    @property
    def url(self) -> str:
        return self.server.url + "/api"

    def _route(self, path: str, headers: dict[str, str]) -> Reply:
        parsed = urlsplit(path)
        if not parsed.path.startswith(self.PREFIX):
            return Reply(404, b'{"detail": "Not Found"}')
        if parsed.path.startswith(self.METADATA_PREFIX):
            return self._metadata_route(parsed.path[len(self.METADATA_PREFIX) :])
        category = parsed.path[len(self.PREFIX) :]
        if category not in self.documents:
            return Reply(422, b'{"detail": "unknown category"}')
        body = json.dumps(self.documents[category]).encode()
        etag = strong_etag(body)
        if headers.get("if-none-match") == etag:
            return Reply(304, headers={"ETag": etag})
        return Reply(200, body, {"ETag": etag, "Content-Type": "application/json"})

    def _metadata_route(self, rest: str) -> Reply:
        category, _, tail = rest.partition("/")
        if category not in self.metadata:
            detail = [{"loc": ["path", "category"], "msg": "unknown category", "type": "enum"}]
            return Reply(422, json.dumps({"detail": detail}).encode())
        entry = self.metadata[category]
        if tail == "last_updated":
            entry = {"category": category, "last_updated": entry["last_updated"]}
        elif tail:
            return Reply(404, b'{"detail": "Not Found"}')
        return Reply(200, json.dumps(entry).encode(), {"Content-Type": "application/json"})

    def statuses(self) -> list[int]:
        return [r.status for r in self.server.requests_to(self.PREFIX)]


def static_route(files: dict[str, Path | bytes]) -> Route:
    """Serve ``files`` (URL path -> file or bytes) with ETags, like raw.githubusercontent."""

    def route(path: str, headers: dict[str, str]) -> Reply:
        target = files.get(urlsplit(path).path)
        if target is None:
            return Reply(404, b"404: Not Found")
        body = target if isinstance(target, bytes) else target.read_bytes()
        etag = strong_etag(body)
        if headers.get("if-none-match") == etag:
            return Reply(304, headers={"ETag": etag})
        return Reply(200, body, {"ETag": etag})

    return route


def github_files(reference_data: Path) -> dict[str, Path | bytes]:
    """The legacy files at the raw-URL layout: ``/image/<file>`` and ``/text/models.csv``."""
    files: dict[str, Path | bytes] = {}
    for entry in (reference_data / "image").glob("*.json"):
        files[f"/image/{entry.name}"] = entry
    files["/text/models.csv"] = reference_data / "text" / "models.csv"
    return files


# ---------------------------------------------------------------------------- data


def build_v2_documents(reference_data: Path) -> dict[str, dict[str, Any]]:
    """v2 documents of every category, converted from the real legacy files."""
    documents: dict[str, dict[str, Any]] = {}
    for category in MODEL_REFERENCE_CATEGORY:
        descriptor = CATEGORY_DESCRIPTORS[category]
        if descriptor.managed_elsewhere:
            continue
        if category == MODEL_REFERENCE_CATEGORY.text_generation:
            text = (reference_data / "text" / "models.csv").read_text(encoding="utf-8")
            result = text_csv_to_canonical(text)
        elif descriptor.legacy_filename:
            raw = json.loads(
                (reference_data / "image" / descriptor.legacy_filename).read_text(encoding="utf-8")
            )
            result = legacy_document_to_canonical(category, raw)
        else:
            documents[category.value] = {}
            continue
        documents[category.value] = legacy_result_to_v2_document(category.value, result)
    return documents


@pytest.fixture(scope="session")
def v2_documents(reference_data: Path) -> dict[str, dict[str, Any]]:
    return build_v2_documents(reference_data)


@pytest.fixture
def api(v2_documents: dict[str, dict[str, Any]]) -> Iterator[FakeReferenceApi]:
    fake = FakeReferenceApi(v2_documents)
    fake.server.start()
    yield fake
    fake.server.stop()


@pytest.fixture
def github(reference_data: Path) -> Iterator[LocalServer]:
    server = LocalServer(static_route(github_files(reference_data))).start()
    yield server
    server.stop()


@pytest.fixture
def dead_url() -> str:
    """A URL on which nothing listens (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------------------- manager


@pytest.fixture(autouse=True)
def _fresh_manager() -> Iterator[None]:
    """Every test starts and ends without a manager singleton."""
    ModelReferenceManager.reset()
    yield
    ModelReferenceManager.reset()


SettingsFactory = Callable[..., HordeModelReferenceSettings]


@pytest.fixture
def make_settings(tmp_path: Path, dead_url: str) -> SettingsFactory:
    """Settings isolated from the real network: a temp cache dir, GitHub off, dead URLs."""

    def factory(**overrides: Any) -> HordeModelReferenceSettings:
        values: dict[str, Any] = {
            "primary_api_url": dead_url,
            "cache_dir": tmp_path / "cache",
            "enable_github_fallback": False,
            "github_image_base_url": dead_url + "/image",
            "github_text_base_url": dead_url + "/text",
            "ai_horde_url": dead_url,
            "primary_api_timeout": 5.0,
        }
        values.update(overrides)
        return HordeModelReferenceSettings(**values)

    return factory


@pytest.fixture
def env_settings(
    monkeypatch: pytest.MonkeyPatch, make_settings: SettingsFactory, api: FakeReferenceApi
) -> HordeModelReferenceSettings:
    """Make the import-time settings point at the local API, as the environment variables would.

    Lets tests call ``ModelReferenceManager()`` with no arguments, exactly as user code does.
    """
    configured = make_settings(primary_api_url=api.url)
    monkeypatch.setattr(settings_module, "horde_model_reference_settings", configured)
    return configured
