"""Replicated servers on free loopback ports, for the failover tests: a Redis primary
with replicas watched by three Sentinels (Debian's redis-sentinel), and a PostgreSQL
primary with a streaming standby that a test promotes, as a failover manager would.
Each lives in temporary directories removed on exit; its processes are stopped however
the test ends. Under CI=true a missing binary fails the run; elsewhere it skips.

The process helpers (PostgreSQL's binaries, its OS user, the template cluster, waiting
for a port or for the postmaster) are those of `tests.tls_servers`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.servers import missing
from tests.tls_servers import (
    _SCRATCH,
    LOOPBACK,
    ServerNotStarted,
    _identity,
    _OsUser,
    _own,
    _postgres_bin_dir,
    _postgres_os_user,
    _run_as,
    _stop,
    _tail,
    _template_cluster,
    _wait_for_port,
    _wait_until_postgres_ready,
)
from tradewind.bus.tansu import free_port

MASTER_NAME = "tradewind"
#: Sentinel: a master unanswered this long is subjectively down (ms).
DOWN_AFTER_MS = 1_000
#: Sentinel: how long one failover attempt may take before another is tried (ms).
FAILOVER_TIMEOUT_MS = 5_000
_POLL_S = 0.05
_READY_POLLS = 400  # x _POLL_S: how long a group may take to be ready (20 s)


@dataclass
class Process:
    """A server process we started, at 127.0.0.1:`port`, logging to `log`. Each runs in
    a session of its own, so `kill` takes its children too (PostgreSQL's backends)."""

    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes]
    stop_signal: signal.Signals = signal.SIGTERM

    def kill(self) -> None:
        """SIGKILL to the whole session, as a machine that dies: no shutdown, nothing
        flushed, no connection closed politely."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        _stop(self.process, self.stop_signal)


# --- Redis with Sentinel -------------------------------------------------------------


@dataclass
class RedisSentinelGroup:
    """A Redis primary, its replicas and three Sentinels (quorum 2) watching it as
    `MASTER_NAME`. `url` is the platform's Sentinel URL for database 0."""

    primary: Process
    replicas: list[Process]
    sentinels: list[Process]
    url: str

    def master_port(self) -> int | None:
        """The master's port as the first Sentinel that answers sees it (None: none
        answers)."""
        for sentinel in self.sentinels:
            with (
                contextlib.suppress(redis.RedisError, OSError),
                redis.Redis(host=LOOPBACK, port=sentinel.port, socket_timeout=1) as client,
            ):
                _, port = client.sentinel_get_master_addr_by_name(MASTER_NAME)
                return int(port)
        return None


@contextlib.contextmanager
def redis_sentinel_group(directory: Path, *, replicas: int = 1) -> Iterator[RedisSentinelGroup]:
    """Start a primary, `replicas` replicas and three Sentinels on free ports, and wait
    until every replica streams from the primary and every Sentinel knows the replicas
    and the two other Sentinels (else a failover could not be agreed)."""
    server, sentinel_binary = shutil.which("redis-server"), shutil.which("redis-sentinel")
    if server is None:
        missing("redis-server is not installed (Debian package redis-server)")
    if sentinel_binary is None:
        missing("redis-sentinel is not installed (Debian package redis-sentinel)")
    assert server is not None and sentinel_binary is not None
    base = Path(tempfile.mkdtemp(prefix="tw-redis-ha-", dir=_SCRATCH))
    started: list[Process] = []
    try:
        primary = _start_redis(server, base, "primary", [])
        started.append(primary)
        followers = []
        for n in range(replicas):
            follow = ["--replicaof", LOOPBACK, str(primary.port)]
            followers.append(_start_redis(server, base, f"replica{n}", follow))
            started.append(followers[-1])
        for follower in followers:
            _wait_for(lambda f=follower: _replication_up(f.port), f"{follower.name} to sync")
        sentinels = []
        for n in range(3):
            sentinels.append(_start_sentinel(sentinel_binary, base, f"sentinel{n}", primary.port))
            started.append(sentinels[-1])
        for sentinel in sentinels:
            _wait_for(
                lambda s=sentinel: _sentinel_sees(s.port, replicas), f"{sentinel.name} to see all"
            )
        hosts = ",".join(f"{LOOPBACK}:{s.port}" for s in sentinels)
        url = f"redis://{hosts}/0?sentinel_master={MASTER_NAME}"
        yield RedisSentinelGroup(primary, followers, sentinels, url)
    finally:
        for process in reversed(started):
            process.stop()
        for process in started:
            if process.log.exists():
                directory.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(process.log, directory / f"{process.name}.log")
        shutil.rmtree(base, ignore_errors=True)


def _start_redis(binary: str, base: Path, name: str, extra: list[str]) -> Process:
    home = base / name
    home.mkdir()
    port, log = free_port(), home / "redis.log"
    command = [
        binary,
        "--port", str(port),
        "--bind", LOOPBACK,
        "--dir", str(home),
        "--logfile", str(log),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        *extra,
    ]  # fmt: skip
    return _spawn(name, port, log, command)


def _start_sentinel(binary: str, base: Path, name: str, primary_port: int) -> Process:
    home = base / name
    home.mkdir()
    port, log, config = free_port(), home / "sentinel.log", home / "sentinel.conf"
    # Sentinel rewrites its configuration file as it learns, so each has its own.
    config.write_text(
        f"port {port}\n"
        f"bind {LOOPBACK}\n"
        f"dir {home}\n"
        f"logfile {log}\n"
        "daemonize no\n"
        f"sentinel monitor {MASTER_NAME} {LOOPBACK} {primary_port} 2\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
        f"sentinel parallel-syncs {MASTER_NAME} 1\n"
    )
    return _spawn(name, port, log, [binary, str(config)])


def _spawn(name: str, port: int, log: Path, command: list[str]) -> Process:
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        _wait_for_port(port, process.poll, lambda: _tail(log), name)
    except BaseException:
        _stop(process, signal.SIGKILL)
        raise
    return Process(name, port, log, process)


def _replication_up(port: int) -> bool:
    with redis.Redis(host=LOOPBACK, port=port, socket_timeout=1) as client:
        return bool(client.info("replication").get("master_link_status") == "up")


def _sentinel_sees(port: int, replicas: int) -> bool:
    with redis.Redis(host=LOOPBACK, port=port, socket_timeout=1, decode_responses=True) as client:
        state = client.sentinel_master(MASTER_NAME)
    assert isinstance(state, dict)
    return bool(state["num-slaves"] == replicas and state["num-other-sentinels"] == 2)


# --- PostgreSQL with a streaming standby ---------------------------------------------


@dataclass
class PostgresPair:
    """A PostgreSQL primary and a streaming standby of it. The primary commits only once
    the standby has flushed the commit's WAL (`synchronous_standby_names = '*'`,
    `synchronous_commit = on`): a commit it acknowledged survives its death.

    `url` names both, primary first, for the role `tradewind` (superuser) and its
    database `tradewind`."""

    primary: Process
    standby: Process
    url: str
    bin_dir: Path
    run_as: _OsUser | None
    base: Path

    def promote_standby(self) -> None:
        """What a failover manager does once the primary is gone: `pg_ctl promote`,
        waiting until the standby takes writes."""
        data = self.base / self.standby.name
        _run_as(
            self.run_as, self.base, str(self.bin_dir / "pg_ctl"), "promote", "-w", "-D", str(data)
        )


@contextlib.contextmanager
def postgres_primary_and_standby(directory: Path) -> Iterator[PostgresPair]:
    """Start a primary (a copy of the template cluster, trust for 127.0.0.1, replication
    allowed) and a standby made by `pg_basebackup -R`, and wait until the standby is
    the primary's synchronous standby."""
    bin_dir = _postgres_bin_dir()
    run_as = _postgres_os_user()
    template = _template_cluster(bin_dir, run_as)
    base = Path(tempfile.mkdtemp(prefix="tw-pg-ha-", dir=_SCRATCH))
    sockets, primary_data, standby_data = base / "sockets", base / "primary", base / "standby"
    sockets.mkdir()
    _own(run_as, base, sockets)
    started: list[Process] = []
    try:
        subprocess.run(["cp", "-a", str(template), str(primary_data)], check=True, timeout=60)
        _configure_for_replication(primary_data, sockets)
        primary = _start_postgres(
            bin_dir, run_as, primary_data, base / "primary.log",
            # Only the primary waits for a standby: a promoted standby must not wait
            # for one it does not have (Patroni's synchronous_mode does the same).
            {"synchronous_standby_names": "*", "synchronous_commit": "on"},
        )  # fmt: skip
        started.append(primary)
        _run_as(
            run_as,
            base,
            str(bin_dir / "pg_basebackup"),
            "--host", LOOPBACK,
            "--port", str(primary.port),
            "--username", "postgres",
            "--pgdata", str(standby_data),
            "--write-recovery-conf",
            "--wal-method", "stream",
            "--checkpoint", "fast",
            "--no-sync",
        )  # fmt: skip
        standby = _start_postgres(bin_dir, run_as, standby_data, base / "standby.log", {})
        started.append(standby)
        _wait_for(
            lambda: _psql(bin_dir, run_as, base, primary.port, _SYNC_STANDBYS) == "1",
            "the standby to become synchronous",
        )
        url = (
            f"postgresql://tradewind@{LOOPBACK}:{primary.port},{LOOPBACK}:{standby.port}"
            "/tradewind?target_session_attrs=read-write"
        )
        yield PostgresPair(primary, standby, url, bin_dir, run_as, base)
    finally:
        for process in reversed(started):
            process.stop()
        for process in started:
            if process.log.exists():
                directory.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(process.log, directory / process.log.name)
        shutil.rmtree(base, ignore_errors=True)


_SYNC_STANDBYS = (
    "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state = 'sync'"
)


def _configure_for_replication(data: Path, sockets: Path) -> None:
    settings = {
        "listen_addresses": f"'{LOOPBACK}'",
        "unix_socket_directories": f"'{sockets}'",
        "wal_level": "replica",
        "max_wal_senders": "5",
        "hot_standby": "on",
        # A killed process, not a lost machine: the operating system keeps what was
        # written, so fsync buys these tests nothing.
        "fsync": "off",
        "full_page_writes": "off",
        "shared_buffers": "16MB",
        "max_connections": "30",
    }
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("".join(f"{key} = {value}\n" for key, value in settings.items()))
    (data / "pg_hba.conf").write_text(
        "local all all trust\n"
        f"host all all {LOOPBACK}/32 trust\n"
        f"host replication all {LOOPBACK}/32 trust\n"
    )


def _start_postgres(
    bin_dir: Path, run_as: _OsUser | None, data: Path, log: Path, options: dict[str, str]
) -> Process:
    port = free_port()
    command = [str(bin_dir / "postgres"), "-D", str(data), "-c", f"port={port}"]
    for name, value in options.items():
        command += ["-c", f"{name}={value}"]
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            cwd=data.parent,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **_identity(run_as),
        )
    try:
        _wait_until_postgres_ready(data, process, log)
    except BaseException:
        _stop(process, signal.SIGKILL)
        raise
    # SIGQUIT: an immediate shutdown, which does not wait for clients to leave.
    return Process(data.name, port, log, process, signal.SIGQUIT)


def _psql(bin_dir: Path, run_as: _OsUser | None, cwd: Path, port: int, query: str) -> str:
    result = subprocess.run(
        [str(bin_dir / "psql"), "--host", LOOPBACK, "--port", str(port), "--username",
         "postgres", "--dbname", "postgres", "--no-psqlrc", "--tuples-only",
         "--no-align", "--command", query],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
        **_identity(run_as),
    )  # fmt: skip
    return result.stdout.strip()


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` (errors count as not yet) a bounded number of times."""
    for _ in range(_READY_POLLS):
        with contextlib.suppress(redis.RedisError, OSError):
            if condition():
                return
        time.sleep(_POLL_S)
    raise ServerNotStarted(f"gave up waiting for {what}")
