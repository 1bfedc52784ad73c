"""Tests talk to loopback only: any other connection fails loudly.

Every URL setting in the suite points at a local stand-in; a forgotten default (the
real AI Horde, GitHub) must fail the test that reaches for it, not quietly use the
network. Installed by ``tests/conftest.py`` for the whole run, client tests included.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NonLoopbackConnectionError(OSError):
    """A test tried to reach an address that is not on this machine's loopback."""


def is_loopback_host(host: object) -> bool:
    if host is None or host == "":
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _check(family: int, address: Any) -> None:
    if family not in (socket.AF_INET, socket.AF_INET6):
        return  # Unix sockets and the like stay on this machine
    host = address[0] if isinstance(address, tuple) and address else address
    if not is_loopback_host(host):
        raise NonLoopbackConnectionError(
            f"tests may only connect to loopback, not {address!r}: point the setting at a local stand-in"
        )


_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_original_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(self.family, address)
    _original_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(self.family, address)
    return _original_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    # Resolving a public name already sends a DNS query off the machine.
    if not is_loopback_host(host):
        raise NonLoopbackConnectionError(
            f"tests may only resolve loopback names, not {host!r}: point the setting at a local stand-in"
        )
    return _original_getaddrinfo(host, *args, **kwargs)


def install() -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _guarded_getaddrinfo
