"""A small local stand-in for the AI Horde API, speaking its real shapes.

``GET /api/v2/find_user`` with an ``apikey`` header answers 200 with
``{"username": "name#id", "id": id, ...}`` for known keys and 404 with the AI
Horde's error body otherwise. ``slow`` makes it sleep past client timeouts and
``fail`` makes it answer 503, to exercise timeouts and the circuit breaker.
Every request is counted, so tests can prove a lookup was cached (or never sent).

The statistics endpoints (``/v2/status/models``, ``/v2/stats/img|text/models``,
``/v2/workers``) answer from ``status``, ``usage`` and ``workers`` per model type;
``load_reference_statistics`` fills them with realistic payloads built from the real
model names. ``statistics_fail`` (path → HTTP status), ``rate_limited`` (path →
how many 429s with ``Retry-After`` come first) and ``malformed`` (paths answering a
truncated body) break single endpoints.
"""

from __future__ import annotations

import csv
import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REFERENCE_DATA = Path("/work/shared/reference-data")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the timeout tests) closes the socket under us.
        pass


class HordeStub:
    def __init__(self) -> None:
        self.users: dict[str, tuple[str, int]] = {}
        self.slow_seconds = 0.0
        self.fail = False
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.status: dict[str, list[dict[str, Any]]] = {"image": [], "text": []}
        self.usage: dict[str, dict[str, dict[str, int]]] = {
            "image": {"day": {}, "month": {}, "total": {}},
            "text": {"day": {}, "month": {}, "total": {}},
        }
        self.workers: dict[str, list[dict[str, Any]]] = {"image": [], "text": []}
        self.statistics_fail: dict[str, int] = {}
        self.rate_limited: dict[str, int] = {}
        self.retry_after = "1"
        self.malformed: set[str] = set()
        self.statistics_requests: list[str] = []

    def load_reference_statistics(
        self, *, image_names: list[str] | None = None, text_names: list[str] | None = None, workers: int = 500
    ) -> None:
        """Status, usage and workers for the real model names (deterministic).

        Text models appear under their backend spellings too (``aphrodite/<name>``,
        ``koboldcpp/<name without author>``) and some as quant variants
        (``koboldcpp/<name>-Q4_K_M``), as on the AI Horde.
        """
        rng = random.Random(11)
        image = image_names if image_names is not None else reference_image_names()
        text = text_names if text_names is not None else reference_text_names()
        text_served: list[str] = []
        for index, name in enumerate(text):
            short = name.rsplit("/", 1)[-1]
            if index % 3 == 0:
                text_served.append(f"aphrodite/{name}")
            if index % 2 == 0:
                text_served.append(f"koboldcpp/{short}")
            if index % 5 == 0:
                text_served.append(f"koboldcpp/{short}-Q4_K_M")
            if index % 7 == 0:
                text_served.append(name)
        for horde_type, names in (("image", image), ("text", text_served)):
            status = []
            usage: dict[str, dict[str, int]] = {"day": {}, "month": {}, "total": {}}
            for index, name in enumerate(names):
                # Roughly one model in ten is served by nobody and used by nobody.
                if index % 10 == 9:
                    continue
                day = rng.randint(0, 5_000)
                usage["day"][name] = day
                usage["month"][name] = day * rng.randint(20, 30)
                usage["total"][name] = usage["month"][name] * rng.randint(5, 40)
                # And one in ten was used lately but has no worker now.
                if index % 10 == 8:
                    continue
                count = rng.randint(1, 30)
                status.append(
                    {
                        "name": name,
                        "count": count,
                        "performance": round(rng.uniform(0.5, 3.0), 2) * 1_000_000,
                        "queued": float(rng.randint(0, 2_000_000)),
                        "jobs": float(rng.randint(0, 40)),
                        "eta": rng.randint(0, 300),
                        "type": horde_type,
                    }
                )
            self.status[horde_type] = status
            self.usage[horde_type] = usage
            share = workers * 3 // 5 if horde_type == "image" else workers - workers * 3 // 5
            served = [entry["name"] for entry in status]
            self.workers[horde_type] = [
                {
                    "type": horde_type,
                    "name": f"{horde_type}-worker-{index}",
                    "id": f"{horde_type[0]}{index:05d}-4c7e-9a6b-{index:012d}",
                    "online": index % 11 != 0,
                    "requests_fulfilled": rng.randint(0, 100_000),
                    "kudos_rewards": float(rng.randint(0, 10_000_000)),
                    "performance": f"{rng.uniform(0.1, 5):.1f} "
                    + ("megapixelsteps per second" if horde_type == "image" else "tokens per second"),
                    "threads": rng.randint(1, 4),
                    "uptime": rng.randint(0, 10_000_000),
                    "maintenance_mode": False,
                    "nsfw": bool(index % 2),
                    "trusted": index % 3 == 0,
                    "flagged": False,
                    "info": "",
                    "team": {"name": None, "id": None},
                    "models": rng.sample(served, k=min(len(served), rng.randint(1, 6))) if served else [],
                    **(
                        {"max_pixels": 1048576}
                        if horde_type == "image"
                        else {"max_length": 512, "max_context_length": 4096}
                    ),
                }
                for index in range(share)
            ]

    def add_user(self, apikey: str, name: str, user_id: int) -> None:
        self.users[apikey] = (name, user_id)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def lookups(self, apikey: str | None = None) -> int:
        with self.lock:
            return sum(1 for key in self.requests if apikey is None or key == apikey)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _statistics(self, path: str, query: dict[str, list[str]]) -> None:
                with stub.lock:
                    stub.statistics_requests.append(path)
                    limited = stub.rate_limited.get(path, 0)
                    if limited:
                        stub.rate_limited[path] = limited - 1
                if limited:
                    data = b'{"message": "Too many requests"}'
                    self.send_response(429)
                    self.send_header("Retry-After", stub.retry_after)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if path in stub.statistics_fail:
                    self._send(stub.statistics_fail[path], {"message": "Service unavailable"})
                    return
                horde_type = (query.get("type") or ["image"])[0]
                if path == "/api/v2/status/models":
                    body: Any = stub.status.get(horde_type, [])
                elif path == "/api/v2/workers":
                    body = stub.workers.get(horde_type, [])
                else:
                    body = stub.usage["image" if path.startswith("/api/v2/stats/img") else "text"]
                if path in stub.malformed:
                    data = json.dumps(body).encode()[:-7]
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self._send(200, body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path in STATISTICS_PATHS:
                    self._statistics(parts.path, parse_qs(parts.query))
                    return
                if parts.path != "/api/v2/find_user":
                    self._send(404, {"message": "Not found"})
                    return
                apikey = self.headers.get("apikey", "")
                with stub.lock:
                    stub.requests.append(apikey)
                if stub.slow_seconds:
                    time.sleep(stub.slow_seconds)
                if stub.fail:
                    self._send(503, {"message": "Service unavailable", "rc": "ServiceUnavailable"})
                    return
                known = stub.users.get(apikey)
                if known is None:
                    self._send(404, {"message": "User not found", "rc": "UserNotFound"})
                    return
                name, user_id = known
                self._send(
                    200,
                    {
                        "username": f"{name}#{user_id}",
                        "id": user_id,
                        "kudos": 0,
                        "trusted": False,
                        "moderator": False,
                        "worker_count": 0,
                    },
                )

        return Handler

    @contextmanager
    def running(self) -> Iterator[HordeStub]:
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


STATISTICS_PATHS = frozenset(
    {"/api/v2/status/models", "/api/v2/stats/img/models", "/api/v2/stats/text/models", "/api/v2/workers"}
)


def reference_image_names() -> list[str]:
    """The real image generation model names."""
    data = json.loads((REFERENCE_DATA / "image" / "stable_diffusion.json").read_text())
    return list(data)


def reference_text_names() -> list[str]:
    """The real text generation model names (``models.csv``)."""
    with (REFERENCE_DATA / "text" / "models.csv").open(newline="", encoding="utf-8") as handle:
        return [row["name"] for row in csv.DictReader(handle) if row.get("name")]
