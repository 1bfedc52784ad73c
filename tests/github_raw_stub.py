"""A local stand-in for raw.githubusercontent.com: files served by path, faults on demand.

``/<owner>/<repo>/<branch>/<file>`` answers the file's bytes (``text/plain``, as the
raw host does) or 404. ``faults[path]`` holds what to do instead for one path, each
consumed on use: ``("status", 500)``, ``("retry_after", seconds)`` (a 429 with
``Retry-After``), ``("body", bytes)`` (a 200 with other bytes: an HTML error page,
malformed JSON). Every request is logged with its time, so tests can show a retry
came after the delay. Loopback only; importing it needs no Django (the bench uses it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

IMAGE_REPO = "Haidra-Org/AI-Horde-image-model-reference/main"
TEXT_REPO = "Haidra-Org/AI-Horde-text-model-reference/main"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class GitHubRawStub:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}  # path without the leading slash -> bytes
        self.faults: dict[str, list[tuple[str, Any]]] = {}
        self.requests: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    @property
    def image_url(self) -> str:
        return f"{self.base}{IMAGE_REPO}/"

    @property
    def text_url(self) -> str:
        return f"{self.base}{TEXT_REPO}/"

    def load(self, reference_data: Path) -> None:
        """Serve a directory laid out like shared/reference-data (image/*.json, text/models.csv)."""
        for path in sorted((reference_data / "image").glob("*.json")):
            self.files[f"{IMAGE_REPO}/{path.name}"] = path.read_bytes()
        for name in ("models.csv", "db.json"):
            path = reference_data / "text" / name
            if path.is_file():
                self.files[f"{TEXT_REPO}/{name}"] = path.read_bytes()

    def image_path(self, filename: str) -> str:
        return f"{IMAGE_REPO}/{filename}"

    def text_path(self, filename: str) -> str:
        return f"{TEXT_REPO}/{filename}"

    def fault(self, path: str, *kinds: tuple[str, Any]) -> None:
        with self.lock:
            self.faults.setdefault(path, []).extend(kinds)

    def requested(self, path: str) -> list[float]:
        with self.lock:
            return [when for when, requested in self.requests if requested == path]

    def handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].lstrip("/")
                with stub.lock:
                    stub.requests.append((time.monotonic(), path))
                    pending = stub.faults.get(path) or []
                    fault = pending.pop(0) if pending else None
                    content = stub.files.get(path)
                if fault is not None:
                    kind, value = fault
                    if kind == "status":
                        self._send(int(value), b"500: Internal Server Error")
                    elif kind == "retry_after":
                        self._send(429, b"429: Too Many Requests", {"Retry-After": str(value)})
                    else:
                        self._send(200, bytes(value))
                    return
                if content is None:
                    self._send(404, b"404: Not Found")
                else:
                    self._send(200, content)

        return Handler


@contextmanager
def github_raw_stub() -> Iterator[GitHubRawStub]:
    stub = GitHubRawStub()
    stub.server = _QuietServer(("127.0.0.1", 0), stub.handler())
    thread = threading.Thread(target=stub.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.server.shutdown()
        stub.server.server_close()
