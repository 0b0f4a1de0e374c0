"""The suite's network guard (tests/network_guard.py, autouse in tests/conftest.py): a
test that reaches for a host off this machine fails at once, naming it; loopback,
`localhost` and unix sockets work as ever."""

from __future__ import annotations

import asyncio
import re
import socket
from contextlib import AbstractContextManager
from pathlib import Path

import ccxt.async_support  # type: ignore[import-untyped]
import pytest

from tests.network_guard import NetworkGuardError
from tradewind.venues import catalog

GUARD = "tests must not reach real exchanges"
TEST_NET_3 = ("203.0.113.1", 443)


def refused(host: str, doing: str = "") -> AbstractContextManager[object]:
    """Expect the guard's error, naming `host` (after `doing`, if given)."""
    named = f"{GUARD}: {doing} {host!r}" if doing else host
    return pytest.raises(NetworkGuardError, match=re.escape(named))


def test_a_connection_off_this_machine_fails_naming_the_address() -> None:
    with socket.socket() as sock, refused("203.0.113.1", "connecting to"):
        sock.connect(TEST_NET_3)
    with socket.socket() as sock, refused("203.0.113.1", "connecting to"):
        sock.connect_ex(TEST_NET_3)
    with refused("203.0.113.1", "connecting to"):
        socket.create_connection(TEST_NET_3, timeout=1)
    with socket.socket(socket.AF_INET6) as sock, refused("2001:db8::1", "connecting to"):
        sock.connect(("2001:db8::1", 443, 0, 0))


def test_resolving_an_exchange_host_fails_naming_it() -> None:
    with refused("api.binance.com", "resolving"):
        socket.getaddrinfo("api.binance.com", 443)
    with refused("api.coinbase.com", "resolving"):
        socket.create_connection(("api.coinbase.com", 443), timeout=1)


async def test_asyncio_connections_off_this_machine_fail_too() -> None:
    with refused("api.binance.com", "resolving"):
        await asyncio.open_connection("api.binance.com", 443)
    with refused("203.0.113.1", "connecting to"):
        await asyncio.open_connection(*TEST_NET_3)


def test_uvloop_connections_off_this_machine_fail_too() -> None:
    uvloop = pytest.importorskip("uvloop")

    async def reach(host: str) -> None:
        await asyncio.open_connection(host, 443)

    for host in ("api.binance.com", "203.0.113.1"):
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner, refused(host):
            runner.run(reach(host))


async def test_a_ccxt_call_to_binance_fails_with_the_guard_not_a_timeout() -> None:
    exchange = ccxt.async_support.binance({"timeout": 60_000})
    try:
        with refused("api.binance.com", "resolving"):
            await asyncio.wait_for(exchange.fetch_time(), timeout=30)
    finally:
        await exchange.close()


async def test_a_declared_real_venue_fails_with_the_guard() -> None:
    (spec,) = catalog.parse_venues("cb=coinbase")
    session = catalog.exchange_for(spec)
    try:
        with refused("api.coinbase.com", "resolving"):
            await asyncio.wait_for(session.load_markets(), timeout=30)
    finally:
        await session.close()


async def test_loopback_localhost_and_unix_sockets_still_connect(tmp_path: Path) -> None:
    async def hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hi")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(hello, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    path = str(tmp_path / "s.sock")
    unix_server = await asyncio.start_unix_server(hello, path)
    async with server, unix_server:
        for host in ("127.0.0.1", "localhost"):
            reader, writer = await asyncio.open_connection(host, port)
            assert await reader.read() == b"hi"
            writer.close()
        reader, writer = await asyncio.open_unix_connection(path)
        assert await reader.read() == b"hi"
        writer.close()
    assert socket.getaddrinfo("127.0.0.2", 80)  # loopback aliases
    assert socket.getaddrinfo(None, 80, flags=socket.AI_PASSIVE)  # binding a wildcard


def test_a_reserved_invalid_name_fails_as_unresolvable_without_asking_dns() -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("no-such-host.invalid", 6379)
