"""The chaos run's replicated servers (`tradewind.chaos.postgres`,
`tradewind.chaos.redis_ha`) serve on every address they are given and name the last in
their URLs, as a run whose zones reach the host through a bridge address needs; and a
Sentinel group fails over again once its killed master has come back as a replica.

127.0.0.2 stands for the bridge address: all of 127.0.0.0/8 is local, none of it is
127.0.0.1.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from tests.ha_servers import postgres_primary_and_standby, redis_sentinel_group
from tradewind.bus import tansu
from tradewind.bus.tansu import free_port
from tradewind.chaos import servers
from tradewind.chaos.postgres import trusted_networks
from tradewind.chaos.redis_ha import MASTER_NAME
from tradewind.chaos.servers import Daemon, ServerNotStarted, start_on_a_free_port
from tradewind.store.database import Database

SECOND = "127.0.0.2"


def test_servers_trust_the_network_of_each_address_they_listen_on() -> None:
    assert trusted_networks(["127.0.0.1", "10.213.7.1", "127.0.0.2", "::1"]) == [
        "127.0.0.0/8",
        "10.213.7.0/24",
        "::1/128",
    ]


@pytest.mark.servers
async def test_the_postgres_pair_serves_a_second_address_and_fails_over_there(
    tmp_path: Path,
) -> None:
    with postgres_primary_and_standby(tmp_path, listen=("127.0.0.1", SECOND)) as pair:
        assert pair.url == (
            f"postgresql://tradewind@{SECOND}:{pair.primary.port},{SECOND}:{pair.standby.port}"
            "/tradewind?target_session_attrs=read-write"
        )
        loopback = Database(f"postgresql://tradewind@127.0.0.1:{pair.primary.port}/tradewind")
        database = Database(pair.url)
        try:
            async with loopback.read() as conn:
                assert await conn.scalar(text("SELECT host(inet_server_addr())")) == "127.0.0.1"
            async with database.transaction() as conn:
                await conn.execute(text("CREATE TABLE kept (n int)"))
                await conn.execute(text("INSERT INTO kept VALUES (1)"))
            await database.close()  # the pool's connections die with the primary anyway
            pair.fail_over()
            async with database.transaction() as conn:
                await conn.execute(text("INSERT INTO kept VALUES (2)"))
            async with database.read() as conn:
                assert await conn.scalar(text("SELECT host(inet_server_addr())")) == SECOND
                assert await conn.scalar(text("SELECT inet_server_port()")) == pair.standby.port
                assert (await conn.execute(text("SELECT n FROM kept ORDER BY n"))).all() == [
                    (1,),
                    (2,),
                ]
        finally:
            await loopback.close()
            await database.close()


@pytest.mark.servers
def test_a_sentinel_group_announces_its_second_address_and_fails_over_twice(
    tmp_path: Path,
) -> None:
    with redis_sentinel_group(tmp_path, bind=("127.0.0.1", SECOND)) as group:
        assert group.url.startswith(f"redis://{SECOND}:") and group.host == SECOND
        masters = [group.master_port()]
        for round_ in range(2):
            killed = group.kill_primary()
            assert killed.port == masters[-1]
            group.restart_killed()  # waits for the promotion, then for the rejoin
            masters.append(group.master_port())
            with redis.Redis(
                host=SECOND, port=group.sentinels[0].port, decode_responses=True
            ) as sentinel:
                host, port = sentinel.sentinel_get_master_addr_by_name(MASTER_NAME)
            assert (host, port) == (SECOND, masters[-1]), f"round {round_}"
            with redis.Redis(host=SECOND, port=killed.port) as rejoined:
                assert rejoined.info("replication")["role"] == "slave"
        assert masters[0] != masters[1] != masters[2] and None not in masters


@pytest.mark.servers
def test_a_server_whose_port_was_taken_meanwhile_starts_on_another(tmp_path: Path) -> None:
    """A port found free can be taken before the server binds it (CI: a Sentinel's
    "bind: Address already in use"); the server is started again on a new one, and any
    other failure is not tried again."""
    binary = shutil.which("redis-server")
    assert binary is not None, "redis-server is not installed"
    with socket.socket() as taken:
        # Bound, not listening: as an outgoing connection's port (a listener would answer
        # the start's probe as if it were the server).
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        tried: list[int] = []

        def make() -> Daemon:
            port = free_port() if tried else busy  # the first try: a port taken meanwhile
            tried.append(port)
            argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            return Daemon("redis", argv, "127.0.0.1", port, tmp_path / f"redis-{port}.log")

        daemon = start_on_a_free_port(make)
        try:
            assert tried[0] == busy and len(tried) == 2 and daemon.port == tried[1] != busy
            assert redis.Redis(port=daemon.port).ping()
        finally:
            daemon.stop()

    failed: list[int] = []

    def broken() -> Daemon:
        failed.append(1)
        return Daemon("false", ["false"], "127.0.0.1", free_port(), tmp_path / "false.log")

    with pytest.raises(ServerNotStarted):
        start_on_a_free_port(broken)
    assert len(failed) == 1


@pytest.mark.parametrize("listening", [False, True], ids=["bound", "listening"])
@pytest.mark.parametrize("starter", ["local_kafka_broker", "tansu_in_memory"])
def test_kafka_brokers_whose_port_was_taken_meanwhile_start_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, starter: str, listening: bool
) -> None:
    """Tansu says "AddrInUse" (not the system's words) and exits; both ways of starting
    it (the tests' and benches' broker, the chaos suite's) try again on a new port. A
    port taken by a listener answers the start's probe: the broker must still be ours."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        if listening:
            taken.listen()
        busy = taken.getsockname()[1]
        handed: list[int] = []

        def first_the_taken_one() -> int:
            handed.append(busy if not handed else free_port())
            return handed[-1]

        if starter == "local_kafka_broker":
            monkeypatch.setattr(tansu, "free_port", first_the_taken_one)
            with tansu.local_kafka_broker() as address:
                assert handed[0] == busy and len(handed) == 2, handed
                assert address == f"127.0.0.1:{handed[1]}"
                assert tansu.port_open("127.0.0.1", handed[1])
        else:
            monkeypatch.setattr(servers, "free_port", first_the_taken_one)
            with servers.tansu_in_memory(tmp_path / "kafka") as daemon:
                assert handed[0] == busy and len(handed) == 2, handed
                assert daemon.address == f"127.0.0.1:{handed[1]}"
                assert tansu.port_open("127.0.0.1", handed[1])
