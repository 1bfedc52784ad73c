"""The suite refuses every connection that leaves the machine."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.network_guard import NonLoopbackConnectionError, is_loopback_host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "0.0.0.0", ""])
def test_loopback_hosts_are_allowed(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["aihorde.net", "10.0.0.1", "192.168.1.1", "8.8.8.8", "2001:db8::1"])
def test_other_hosts_are_not(host: str) -> None:
    assert not is_loopback_host(host)


def test_a_raw_socket_cannot_leave_the_machine() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NonLoopbackConnectionError):
        sock.connect(("192.0.2.1", 80))


def test_an_http_client_with_a_forgotten_public_default_fails_loudly() -> None:
    with pytest.raises((NonLoopbackConnectionError, httpx.ConnectError)) as caught:
        httpx.get("https://aihorde.net/api/v2/status/heartbeat", timeout=1.0)
    assert "loopback" in str(caught.value)


def test_loopback_still_works() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=1.0):
            pass
