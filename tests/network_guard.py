"""The suite's network guard: in the pytest process, any connection to an address that is
not loopback, and any name lookup other than `localhost`, fails at once with
`NetworkGuardError` naming the host, so no test can reach a real exchange (or wait on a
network timeout trying).

Patched at the socket layer, under asyncio, aiohttp (its threaded resolver), ccxt, httpx
and websockets: `socket.getaddrinfo`, `socket.create_connection`, `socket.socket.connect`
and `connect_ex`; and, where installed, uvloop's loop methods that resolve and connect
in C (`getaddrinfo`, `create_connection`, `sock_connect`). Allowed: 127.0.0.0/8, ::1 (and
::ffff:127.x), an address of one of this machine's own interfaces (a socket can bind
it), a chaos zone's address behind such an interface (`ZONES_BLOCK`), `localhost` and
`*.localhost`,
numeric addresses when only resolved (a server binding 0.0.0.0 resolves it), and unix
sockets. A name under `.invalid` (RFC 6761:
never resolves) fails as the resolver would, with `socket.gaierror`, and asks no DNS.
Subprocesses the tests start are not guarded: they talk to loopback servers only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest


class NetworkGuardError(RuntimeError):
    """A test tried to reach a host off this machine. Not an `OSError`, so no client
    retries it, tries the next address, or reports it as the venue being down."""


def _refuse(host: object, what: str) -> NetworkGuardError:
    return NetworkGuardError(
        f"tests must not reach real exchanges: {what} {host!r} is not this machine "
        "(tests/network_guard.py allows 127.0.0.0/8, ::1, this machine's own addresses, "
        "localhost and unix sockets)"
    )


def _numeric(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _is_loopback_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def _is_loopback(host: str) -> bool:
    address = _numeric(host)
    if address is None:
        return _is_loopback_name(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


ZONES_BLOCK = ipaddress.IPv4Network("10.213.0.0/16")
"""Where tradewind.chaos.zones puts its network namespaces, all on this machine: a run's
zones take a /24 of it, behind a bridge of this machine holding its .1 address."""


def _is_a_zone_here(host: str) -> bool:
    address = _numeric(host)
    if not isinstance(address, ipaddress.IPv4Address) or address not in ZONES_BLOCK:
        return False
    bridge = ipaddress.IPv4Network(f"{address}/24", strict=False)[1]
    return _is_this_machine(str(bridge))


def _is_this_machine(host: str) -> bool:
    """Whether `host` (numeric) is an address of this machine: only those can be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((host.strip("[]"), 0))
    except OSError:
        return False
    return True


def check_lookup(host: object) -> None:
    """Raise unless resolving `host` asks no DNS server about a name off this machine."""
    if host is None:
        return  # a wildcard, for binding
    text = host.decode() if isinstance(host, bytes) else str(host)
    if text == "" or _numeric(text) is not None or _is_loopback_name(text):
        return
    if text.rstrip(".").lower().endswith(".invalid") or text.lower() == "invalid":
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    raise _refuse(text, "resolving")


def check_address(address: object) -> None:
    """Raise unless connecting to `address` stays on this machine."""
    if not isinstance(address, tuple):
        return  # a unix socket's path (str or bytes)
    host = address[0]
    text = host.decode() if isinstance(host, bytes) else str(host)
    if _is_loopback(text):
        return
    if _numeric(text) is None:
        check_lookup(text)  # any other name fails there, as its lookup would
    elif _is_this_machine(text) or _is_a_zone_here(text):
        return
    raise _refuse(text, "connecting to")


def _guarded_getaddrinfo(original: Callable[..., Any]) -> Callable[..., Any]:
    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        check_lookup(host)
        return original(host, *args, **kwargs)

    return getaddrinfo


def _guarded_create_connection(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        check_address(tuple(address))
        return original(address, *args, **kwargs)

    return create_connection


def _guarded_connect(original: Callable[..., Any]) -> Callable[..., Any]:
    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check_address(address)
        return original(self, address)

    return connect


def _guarded_loop_getaddrinfo(original: Callable[..., Any]) -> Callable[..., Any]:
    async def getaddrinfo(self: Any, host: Any, *args: Any, **kwargs: Any) -> Any:
        check_lookup(host)
        return await original(self, host, *args, **kwargs)

    return getaddrinfo


def _guarded_loop_create_connection(original: Callable[..., Any]) -> Callable[..., Any]:
    async def create_connection(
        self: Any, protocol_factory: Any, host: Any = None, port: Any = None, **kwargs: Any
    ) -> Any:
        if host is not None:
            check_address((host, port))
        return await original(self, protocol_factory, host, port, **kwargs)

    return create_connection


def _guarded_loop_sock_connect(original: Callable[..., Any]) -> Callable[..., Any]:
    async def sock_connect(self: Any, sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            check_address(address)
        return await original(self, sock, address)

    return sock_connect


@contextlib.contextmanager
def network_guard() -> Iterator[None]:
    """The guard, installed for the `with` block."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo(socket.getaddrinfo))
        patch.setattr(
            socket, "create_connection", _guarded_create_connection(socket.create_connection)
        )
        patch.setattr(socket.socket, "connect", _guarded_connect(socket.socket.connect))
        patch.setattr(socket.socket, "connect_ex", _guarded_connect(socket.socket.connect_ex))
        try:
            import uvloop
        except ImportError:  # pragma: no cover - uvloop is a dependency
            uvloop = None
        if uvloop is not None:
            loop = uvloop.Loop
            patch.setattr(loop, "getaddrinfo", _guarded_loop_getaddrinfo(loop.getaddrinfo))
            patch.setattr(
                loop, "create_connection", _guarded_loop_create_connection(loop.create_connection)
            )
            patch.setattr(loop, "sock_connect", _guarded_loop_sock_connect(loop.sock_connect))
        yield
