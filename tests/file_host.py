"""A local stand-in for the file hosts download links point at (Hugging Face, Civitai...).

Paths choose the answer, so one record can hold every case:

- ``/files/<name>``: 200 with ``Content-Length`` (HEAD), 206 with ``Content-Range`` to a
  ``Range: bytes=0-0`` GET; the size is ``FileHost.size`` (or ``?size=N``).
- ``/redirect/<name>``: 302 to ``/files/<name>`` (or to ``redirect_to`` + the path, another host).
- ``/loop``: redirects to itself forever.
- ``/missing``: 404. ``/auth``: 401. ``/forbidden``: 403 to HEAD and GET.
- ``/no-head/<name>``: 405 to HEAD, the file to a ranged GET (as some CDNs do).
- ``/gated/<name>``: 302 to ``/login?next=...`` (a sign-in wall; the login page is 200 HTML).
- ``/slow/<name>``: the file after ``slow_seconds``.

Every request is recorded (method, path, Range header) so tests can prove what was sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a checker that gave up closes the socket under us


class FileHost:
    def __init__(self, *, size: int = 123_456_789, slow_seconds: float = 2.0) -> None:
        self.size = size
        self.slow_seconds = slow_seconds
        self.redirect_to = ""
        #: Added before every answer: a round trip to a real host (the benchmark uses it).
        self.latency_seconds = 0.0
        self.requests: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def netloc(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    def seen(self, method: str | None = None) -> list[tuple[str, str, str]]:
        with self.lock:
            return [r for r in self.requests if method is None or r[0] == method]

    def handler(self) -> type[BaseHTTPRequestHandler]:
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD" and body:
                    self.wfile.write(body)

            def _file(self, size: int) -> None:
                if self.command == "GET" and self.headers.get("Range") == "bytes=0-0":
                    self._answer(206, {"Content-Range": f"bytes 0-0/{size}"}, b"\0")
                elif self.command == "HEAD":
                    self._answer(
                        200, {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
                    )
                else:
                    self._answer(500, {}, b"the stand-in never sends whole files")

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                path = parts.path
                with host.lock:
                    host.requests.append((self.command, path, self.headers.get("Range", "")))
                if host.latency_seconds:
                    time.sleep(host.latency_seconds)
                size = int(parse_qs(parts.query).get("size", [host.size])[0])
                name = path.split("/", 2)[2] if path.count("/") >= 2 else ""
                if path.startswith("/files/"):
                    self._file(size)
                elif path.startswith("/redirect/"):
                    target = (host.redirect_to or "") + f"/files/{name}"
                    self._answer(302, {"Location": target})
                elif path == "/loop":
                    self._answer(302, {"Location": "/loop"})
                elif path == "/missing":
                    self._answer(404, {"Content-Type": "text/plain"}, b"not found")
                elif path == "/auth":
                    self._answer(401, {"WWW-Authenticate": "Bearer"}, b"unauthorized")
                elif path == "/forbidden":
                    self._answer(403, {}, b"forbidden")
                elif path.startswith("/no-head/"):
                    if self.command == "HEAD":
                        self._answer(405, {"Allow": "GET"})
                    else:
                        self._file(size)
                elif path.startswith("/gated/"):
                    self._answer(302, {"Location": "/login?next=" + quote(path)})
                elif path == "/login":
                    self._answer(200, {"Content-Type": "text/html"}, b"<form>sign in</form>")
                elif path.startswith("/slow/"):
                    time.sleep(host.slow_seconds)
                    self._file(size)
                else:
                    self._answer(404, {}, b"unknown path")

            def do_HEAD(self) -> None:
                self._handle()

            def do_GET(self) -> None:
                self._handle()

        return Handler

    @contextmanager
    def running(self) -> Iterator[FileHost]:
        self.server = _QuietServer(("127.0.0.1", 0), self.handler())
        thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
