"""A Redis primary with replicas watched by three Sentinels (Debian's redis-sentinel), for
a chaos run (and the failover tests) to kill the master, let the Sentinels promote a
replica, and bring the killed server back as a replica, as often as it likes.

Every server is a `Daemon` (`servers.py`) with its own directory under the group's;
nothing is persisted (a server that comes back copies the master's data again), which
is safe because a replica holds what the master acknowledged once writers ask for
replicas (WAIT, the bus's `min_replicas`). Whatever cannot be started raises
`ServerNotStarted` with the reason."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import redis

from tradewind.bus.tansu import free_port
from tradewind.chaos.servers import Daemon, ServerNotStarted, start_on_a_free_port

#: The master's name in the Sentinels' `sentinel monitor` line and in `url`.
MASTER_NAME = "tradewind"
SENTINELS = 3
QUORUM = 2
#: Sentinel: a master unanswered this long is subjectively down (ms).
DOWN_AFTER_MS = 1_000
#: Sentinel: how long one failover attempt may take before another is tried (ms).
FAILOVER_TIMEOUT_MS = 5_000
STARTUP_TIMEOUT_S = 20.0
#: How long a failover may take before `restart_killed` gives up waiting for it (s).
FAILOVER_WAIT_S = 60.0
_POLL_S = 0.05


def find_redis() -> tuple[str, str]:
    """The paths of redis-server and redis-sentinel; ServerNotStarted saying what to
    install when either is missing."""
    server, sentinel = shutil.which("redis-server"), shutil.which("redis-sentinel")
    if server is None:
        raise ServerNotStarted("redis-server is not installed (Debian package redis-server)")
    if sentinel is None:
        raise ServerNotStarted("redis-sentinel is not installed (Debian package redis-sentinel)")
    return server, sentinel


@dataclass
class RedisSentinelGroup:
    """Redis servers (`servers[0]` started as the primary, the rest as its replicas) and
    three Sentinels (quorum 2) watching them as MASTER_NAME, all on `host`. `url` is the
    platform's Sentinel URL for database 0."""

    servers: list[Daemon]
    sentinels: list[Daemon]
    host: str
    url: str
    killed: list[Daemon] = field(default_factory=list)

    @property
    def primary(self) -> Daemon:
        """The server started as the primary (not necessarily the master now)."""
        return self.servers[0]

    @property
    def replicas(self) -> list[Daemon]:
        """The servers started as replicas."""
        return self.servers[1:]

    def master_port(self) -> int | None:
        """The master's port as the first Sentinel that answers sees it (None: none
        answers)."""
        for sentinel in self.sentinels:
            with contextlib.suppress(redis.RedisError, OSError), self._ask(sentinel) as client:
                address: Any = client.sentinel_get_master_addr_by_name(MASTER_NAME)
                return int(address[1])
        return None

    def kill_primary(self) -> Daemon:
        """SIGKILL to the server the Sentinels name the master now; returns it. The
        Sentinels promote a replica within a few seconds (DOWN_AFTER_MS, agreement,
        promotion)."""
        port = self.master_port()
        master = next((s for s in self.servers if s.port == port), None)
        if master is None:
            raise ServerNotStarted(f"no Sentinel names a master of this group (port {port})")
        master.kill()
        self.killed.append(master)
        return master

    def restart_killed(self) -> None:
        """Once the Sentinels have promoted another master, start every killed server
        again as a replica of it, and wait until each streams from it and every Sentinel
        counts it as a healthy replica, so that the group can fail over again."""
        if not self.killed:
            return
        killed_ports = {s.port for s in self.killed}
        _wait_for(
            lambda: self.master_port() not in (None, *killed_ports),
            "the Sentinels to promote a replica",
            FAILOVER_WAIT_S,
        )
        master_port = self.master_port()
        for server in self.killed:
            follow = ["--replicaof", self.host, str(master_port)]
            server.argv = [*_without_replicaof(server.argv), *follow]
            server.start()
        for server in self.killed:
            _wait_for(partial(self._streams, server), f"{server.name} to sync")
            for sentinel in self.sentinels:
                _wait_for(
                    partial(self._healthy_replica, sentinel, server.port),
                    f"{sentinel.name} to see {server.name} as a replica again",
                )
        self.killed.clear()

    def _ask(self, daemon: Daemon) -> redis.Redis:
        return redis.Redis(
            host=self.host, port=daemon.port, socket_timeout=1, decode_responses=True
        )

    def _streams(self, server: Daemon) -> bool:
        with self._ask(server) as client:
            return bool(client.info("replication").get("master_link_status") == "up")

    def _sees_everyone(self, sentinel: Daemon) -> bool:
        with self._ask(sentinel) as client:
            state: Any = client.sentinel_master(MASTER_NAME)
        return bool(
            state["num-slaves"] == len(self.servers) - 1
            and state["num-other-sentinels"] == SENTINELS - 1
        )

    def _healthy_replica(self, sentinel: Daemon, port: int) -> bool:
        with self._ask(sentinel) as client:
            replicas: Any = client.sentinel_slaves(MASTER_NAME)
        return any(
            int(r["port"]) == port
            and r.get("role-reported") == "slave"
            and not r["is_sdown"]
            and not r["is_disconnected"]
            for r in replicas
        )


@contextlib.contextmanager
def redis_sentinel_group(
    directory: Path,
    *,
    replicas: int = 1,
    bind: Sequence[str] = ("127.0.0.1",),
    advertise: str | None = None,
) -> Iterator[RedisSentinelGroup]:
    """Start a primary, `replicas` replicas and three Sentinels on free ports of every
    address in `bind`, each in its own directory under `directory` (its data, its log
    and, for a Sentinel, the configuration it rewrites), and wait until every replica
    streams from the primary and every Sentinel knows the replicas and the other two
    Sentinels (else a failover could not be agreed). All are stopped when the block ends.

    `advertise` (default: the last of `bind`, the address the farthest clients reach;
    one of `bind`) is the address the servers announce, so the one the Sentinels give
    clients, and the one `url` names."""
    advertise = advertise or bind[-1]
    if advertise not in bind:
        raise ValueError(f"advertise={advertise!r} is none of bind={list(bind)!r}")
    server_binary, sentinel_binary = find_redis()
    started: list[Daemon] = []
    try:
        servers: list[Daemon] = []
        for n in range(1 + replicas):
            follow = ["--replicaof", advertise, str(servers[0].port)] if servers else []
            name = f"replica{n - 1}" if servers else "primary"
            make = partial(_redis, server_binary, directory / name, name, bind, advertise, follow)
            servers.append(start_on_a_free_port(make))
            started.append(servers[-1])
        sentinels: list[Daemon] = []
        for n in range(SENTINELS):
            home = directory / f"sentinel{n}"
            make = partial(_sentinel, sentinel_binary, home, bind, advertise, servers[0].port)
            sentinels.append(start_on_a_free_port(make))
            started.append(sentinels[-1])
        hosts = ",".join(f"{_in_url(advertise)}:{s.port}" for s in sentinels)
        url = f"redis://{hosts}/0?sentinel_master={MASTER_NAME}"
        group = RedisSentinelGroup(servers, sentinels, advertise, url)
        for server in group.replicas:
            _wait_for(partial(group._streams, server), f"{server.name} to sync")
        for sentinel in sentinels:
            _wait_for(partial(group._sees_everyone, sentinel), f"{sentinel.name} to see all")
        yield group
    finally:
        for daemon in reversed(started):
            daemon.stop()


def _redis(
    binary: str, home: Path, name: str, bind: Sequence[str], advertise: str, extra: list[str]
) -> Daemon:
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        binary,
        "--port", str(port), "--bind", *bind, "--protected-mode", "no",
        "--replica-announce-ip", advertise,
        "--dir", str(home), "--save", "", "--appendonly", "no", "--daemonize", "no",
        *extra,
    ]  # fmt: skip
    return Daemon(f"redis {name}", argv, advertise, port, home / "redis.log")


def _sentinel(
    binary: str, home: Path, bind: Sequence[str], advertise: str, primary_port: int
) -> Daemon:
    home.mkdir(parents=True, exist_ok=True)
    port, config = free_port(), home / "sentinel.conf"
    # Sentinel rewrites its configuration file as it learns, so each has its own.
    config.write_text(
        f"port {port}\n"
        f"bind {' '.join(bind)}\n"
        "protected-mode no\n"
        f"sentinel announce-ip {advertise}\n"
        f"dir {home}\n"
        "daemonize no\n"
        f"sentinel monitor {MASTER_NAME} {advertise} {primary_port} {QUORUM}\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
        f"sentinel parallel-syncs {MASTER_NAME} 1\n"
    )
    return Daemon(home.name, [binary, str(config)], advertise, port, home / "sentinel.log")


def _without_replicaof(argv: list[str]) -> list[str]:
    if "--replicaof" not in argv:
        return argv
    at = argv.index("--replicaof")
    return argv[:at] + argv[at + 3 :]


def _in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _wait_for(
    condition: Callable[[], bool], what: str, within_s: float = STARTUP_TIMEOUT_S
) -> None:
    """Poll `condition` (connection errors count as not yet) for about `within_s`."""
    for _ in range(int(within_s / _POLL_S)):
        with contextlib.suppress(redis.RedisError, OSError):
            if condition():
                return
        time.sleep(_POLL_S)
    raise ServerNotStarted(f"gave up waiting for {what}")
