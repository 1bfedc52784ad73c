"""Real server processes and real network faults for the fault-tolerance tests.

``web_server`` runs the production entry point (gunicorn + the uvicorn worker around
``config.asgi``) against the test database. ``SilentPeer`` accepts connections and
never answers (a hung AI Horde). ``TcpProxy`` forwards to a real service and can be
made to refuse connections or to swallow them (a stopped or hung database).
Everything listens on loopback only.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.conftest import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(host: str | None = None, port: int | None = None) -> str:
    """The test database's URL, optionally reached through another host and port."""
    from django.db import connection

    db = connection.settings_dict
    address = f"{host or db['HOST'] or '127.0.0.1'}:{port or db['PORT'] or 5432}"
    return f"postgres://{db['USER']}@{address}/{db['NAME']}"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes
    seconds: float


def request(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None, body: bytes | None = None
) -> Answer:
    started = time.monotonic()
    prepared = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            status, answer_headers, data = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, data = error.code, dict(error.headers), error.read()
    lowered = {name.lower(): value for name, value in answer_headers.items()}
    return Answer(status, lowered, data, time.monotonic() - started)


#: gunicorn set-ups: the production one (uvicorn workers around config.asgi) and the
#: plain threaded WSGI one.
ASGI_SET_UP = ["config.asgi:application", "--worker-class", "uvicorn_worker.UvicornWorker"]
WSGI_SET_UP = ["config.wsgi:application", "--worker-class", "gthread", "--threads", "2"]


def server_environment(env: dict[str, str], *, inherit: bool = True) -> dict[str, str]:
    """A server process's environment: production settings on loopback, plus ``env``.

    With ``inherit`` false, nothing comes from this process's environment that ``env``
    does not name again (so a variable such as REDIS_URL can be left out on purpose).
    """
    base = os.environ if inherit else {}
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "test-server-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "client")]),
        **env,
    }


def _wait_until_answering(base: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while True:
        try:
            if request(f"{base}/api/heartbeat").status == 200:
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the server at {base} did not start")
        time.sleep(0.2)


@contextmanager
def web_servers(
    env: dict[str, str],
    set_ups: list[list[str]],
    *,
    inherit_environment: bool = True,
    start_seconds: float = 60,
) -> Iterator[list[str]]:
    """One gunicorn process per set-up (one worker each, unless a set-up says otherwise),
    all answering before this yields their base URLs; stopped afterwards."""
    full_env = server_environment(env, inherit=inherit_environment)
    processes: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    try:
        for set_up in set_ups:
            port = free_port()
            defaults = [] if "--workers" in set_up else ["--workers", "1"]
            command = [sys.executable, "-m", "gunicorn", *set_up, *defaults, "--bind", f"127.0.0.1:{port}"]
            processes.append(
                subprocess.Popen([*command, "--log-level", "warning"], cwd=REPO_ROOT, env=full_env)
            )
            bases.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + start_seconds
        for base, process in zip(bases, processes, strict=True):
            _wait_until_answering(base, process, deadline)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextmanager
def web_server(env: dict[str, str], set_up: list[str] | None = None) -> Iterator[str]:
    """One gunicorn process (by default the production ASGI set-up); yields its base URL."""
    with web_servers(env, [set_up or ASGI_SET_UP]) as bases:
        yield bases[0]


class SilentPeer:
    """Accepts every connection and never sends a byte; counts the connections."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = int(self.listener.getsockname()[1])
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def connections(self) -> int:
        with self._lock:
            return self.accepted

    def _accept(self) -> None:
        while True:
            try:
                peer, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self._held.append(peer)

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            for peer in self._held:
                peer.close()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a real service, until told to fail.

    ``refuse()`` drops every connection and stops listening (connection refused, as
    for a stopped server); ``hang()`` drops every connection and then accepts new
    ones without ever forwarding a byte (a hung server or network);
    ``forward()`` heals, on the same port.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.mode = "forward"
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._sockets.append(client)
                mode = self.mode
            if mode == "forward":
                threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        with self._lock:
            self._sockets.append(upstream)
        pair = {client: upstream, upstream: client}
        try:
            while True:
                readable, _, _ = select.select(list(pair), [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pair[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            client.close()
            upstream.close()

    def _drop_everything(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def refuse(self) -> None:
        with self._lock:
            self.mode = "refuse"
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        self._drop_everything()

    def hang(self) -> None:
        with self._lock:
            self.mode = "hang"
            listening = self._listener is not None
        self._drop_everything()
        if not listening:
            self._listen()

    def forward(self) -> None:
        with self._lock:
            self.mode = "forward"
            listening = self._listener is not None
        # Connections swallowed while hanging never forwarded anything: drop them.
        self._drop_everything()
        if not listening:
            self._listen()

    def close(self) -> None:
        self.refuse()
