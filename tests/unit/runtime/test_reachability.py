from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tradewind.errors import ConfigError
from tradewind.runtime.settings import Settings, check_reachable


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def listening_port() -> AsyncIterator[int]:
    """A local TCP port that accepts connections (and closes them)."""

    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(close_at_once, "127.0.0.1", 0)
    async with server:
        yield int(server.sockets[0].getsockname()[1])


async def test_embedded_defaults_need_no_server(tmp_path: Path) -> None:
    await check_reachable(Settings(database_url=f"sqlite:///{tmp_path}/tradewind.db"))


async def test_unreachable_redis_bus_names_setting_address_and_os_error() -> None:
    port = closed_port()
    with pytest.raises(ConfigError) as caught:
        await check_reachable(Settings(bus_url=f"redis://:hunter2@127.0.0.1:{port}/0"))
    assert caught.value.setting == "TRADEWIND_BUS_URL"
    assert caught.value.problem == (
        f"cannot reach Redis at 127.0.0.1:{port}: [Errno 111] Connection refused"
    )


async def test_unreachable_redis_cache_names_the_cache_setting() -> None:
    with pytest.raises(ConfigError) as caught:
        await check_reachable(Settings(cache_url=f"redis://127.0.0.1:{closed_port()}/0"))
    assert caught.value.setting == "TRADEWIND_CACHE_URL"


async def test_an_unresolvable_host_says_so() -> None:
    with pytest.raises(ConfigError) as caught:
        await check_reachable(Settings(cache_url="redis://no-such-host.invalid:6379/0"))
    assert "no-such-host.invalid:6379: cannot resolve the host" in caught.value.problem


@pytest.mark.servers
async def test_a_running_redis_answers_the_ping(redis_url: str) -> None:
    await check_reachable(Settings(bus_url=f"{redis_url}?lease_ms=3000", cache_url=redis_url))


async def test_kafka_needs_one_bootstrap_server_to_answer(listening_port: int) -> None:
    closed = closed_port()
    await check_reachable(
        Settings(bus_url=f"kafka://127.0.0.1:{closed},127.0.0.1:{listening_port}")
    )
    with pytest.raises(ConfigError) as caught:
        await check_reachable(Settings(bus_url=f"kafka://127.0.0.1:{closed}"))
    assert caught.value.setting == "TRADEWIND_BUS_URL"
    assert f"cannot connect to 127.0.0.1:{closed}: [Errno 111]" in caught.value.problem


async def test_postgresql_is_checked_by_a_tcp_connect(listening_port: int) -> None:
    await check_reachable(Settings(database_url=f"postgresql://u:pw@127.0.0.1:{listening_port}/x"))
    port = closed_port()
    with pytest.raises(ConfigError) as caught:
        await check_reachable(Settings(database_url=f"postgresql://u:pw@127.0.0.1:{port}/x"))
    assert caught.value.setting == "TRADEWIND_DATABASE_URL"
    assert f"127.0.0.1:{port}" in caught.value.problem
    assert "pw" not in caught.value.problem


async def test_sqlite_in_a_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        await check_reachable(Settings(database_url=f"sqlite:///{tmp_path}/absent/tw.db"))
    assert caught.value.setting == "TRADEWIND_DATABASE_URL"
    assert caught.value.problem == (
        f"directory {tmp_path}/absent for the SQLite file does not exist"
    )
