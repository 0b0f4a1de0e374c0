"""PostgreSQL servers a chaos run (and the failover tests) start, kill and promote: the
installed binaries and the OS user to run them as, a template cluster made once per
process, postmasters on free ports, and a primary with a synchronous streaming standby.

`find_postgres()` finds the newest server (Debian's /usr/lib/postgresql/N/bin, then
PATH) and, when we are root, the `postgres` OS user (initdb and the server refuse
root). Every cluster is a copy of `template_cluster()`, which holds the superuser role
`tradewind` owning the database `tradewind`: initdb and CREATE DATABASE take over a
second, a copy a tenth of that. Clusters live in memory (/dev/shm) when they can, in
directories the `postgres` user owns; each postmaster is its own session, so a kill
takes its backends too. Whatever cannot be started raises `ServerNotStarted` with the
reason (and the server's log)."""

from __future__ import annotations

import atexit
import contextlib
import glob
import ipaddress
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradewind.bus.tansu import free_port
from tradewind.chaos.servers import ServerNotStarted

STARTUP_TIMEOUT_S = 20.0
#: The role (a superuser) and database every cluster made here has.
USER = DATABASE = "tradewind"
_POLL_S = 0.05
# Copying a cluster's thousand files takes about a second on disk, a tenth on tmpfs.
_SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


@dataclass(frozen=True)
class PostgresInstallation:
    """A PostgreSQL server's binaries in `bin_dir`, run as the OS user `uid`:`gid`
    (None: as ourselves)."""

    bin_dir: Path
    uid: int | None = None
    gid: int | None = None

    def tool(self, name: str) -> str:
        """The path of the binary `name` (postgres, initdb, psql, pg_ctl …)."""
        return str(self.bin_dir / name)

    def own(self, *paths: Path) -> None:
        """Hand `paths` to the server's OS user, so that the server may use them."""
        if self.uid is not None and self.gid is not None:
            for path in paths:
                os.chown(path, self.uid, self.gid)

    def identity(self) -> dict[str, Any]:
        """`subprocess` keyword arguments that run a child as the server's OS user."""
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def home(self, prefix: str) -> Path:
        """A new temporary directory (in memory when /dev/shm is writable) owned by the
        server's OS user, with an empty `sockets` directory for unix sockets. The caller
        removes it."""
        base = Path(tempfile.mkdtemp(prefix=prefix, dir=_SCRATCH))
        (base / "sockets").mkdir()
        self.own(base, base / "sockets")
        return base

    def run(self, cwd: Path, *command: str, timeout_s: float = STARTUP_TIMEOUT_S) -> str:
        """Run `command` as the server's OS user in `cwd`; its standard output, or
        ServerNotStarted with everything it printed."""
        try:
            result = subprocess.run(
                command, cwd=cwd, capture_output=True, text=True, timeout=timeout_s,
                check=False, **self.identity(),
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise ServerNotStarted(f"{Path(command[0]).name} took over {timeout_s} s") from None
        if result.returncode != 0:
            raise ServerNotStarted(
                f"{Path(command[0]).name} exited with {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return str(result.stdout)

    def psql(self, sockets: Path, port: int, *statements: str, database: str = "postgres") -> str:
        """Run `statements` as the superuser `postgres` over the unix socket in `sockets`
        of the server on `port`, stopping at the first error; the rows printed, one a line,
        columns separated by |."""
        command = [
            self.tool("psql"),
            "--host", str(sockets), "--port", str(port),
            "--username", "postgres", "--dbname", database,
            "--no-psqlrc", "--quiet", "--tuples-only", "--no-align",
            "--set", "ON_ERROR_STOP=1",
        ]  # fmt: skip
        for statement in statements:
            command += ["--command", statement]
        return self.run(sockets.parent, *command, timeout_s=10).strip()

    def template_cluster(self) -> Path:
        """The data directory of a stopped cluster holding the superuser role `tradewind`
        and its database `tradewind`, made once per process (removed at exit). Copy it
        with `new_cluster`; never start it."""
        with _TEMPLATES_LOCK:
            if self.bin_dir not in _TEMPLATES:
                _TEMPLATES[self.bin_dir] = self._make_template()
            return _TEMPLATES[self.bin_dir]

    def new_cluster(self, data: Path) -> None:
        """Make `data` (which must not exist) a copy of the template cluster."""
        template = self.template_cluster()
        # `cp -a` keeps the owner (postgres) and the data directory's mode 0700.
        subprocess.run(["cp", "-a", str(template), str(data)], check=True, timeout=60)

    def _make_template(self) -> Path:
        base = self.home("tw-pg-template-")
        atexit.register(shutil.rmtree, base, ignore_errors=True)
        data, sockets = base / "data", base / "sockets"
        self.run(
            base, self.tool("initdb"),
            "--pgdata", str(data), "--username", "postgres", "--auth", "trust",
            "--encoding", "UTF8", "--locale", "C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        # No TCP listener: the port only names the unix socket. A fast (not immediate)
        # shutdown checkpoints, so that the copies start without recovery.
        settings = {"listen_addresses": "", "unix_socket_directories": str(sockets)}
        with postmaster(self, data, base / "postgres.log", settings, stop=signal.SIGINT) as pm:
            self.psql(
                sockets, pm.port,
                f"CREATE ROLE {USER} LOGIN SUPERUSER", f"CREATE DATABASE {DATABASE} OWNER {USER}",
            )  # fmt: skip
        (data / "postmaster.opts").unlink(missing_ok=True)
        return data


_TEMPLATES: dict[Path, Path] = {}  # server binaries -> their template data directory
_TEMPLATES_LOCK = threading.Lock()


def find_postgres() -> PostgresInstallation:
    """The newest installed PostgreSQL server, to be run as `postgres` when we are root;
    ServerNotStarted saying what to install when there is none (or no such user)."""
    candidates = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p).is_dir()]
    candidates.sort(key=lambda p: _version_key(p.parent.name), reverse=True)
    found = [d for d in candidates if (d / "initdb").exists() and (d / "postgres").exists()]
    if not found and (initdb := shutil.which("initdb")) is not None:
        found = [Path(initdb).parent]
    if not found:
        raise ServerNotStarted(
            "no PostgreSQL server binaries (initdb, postgres): install postgresql"
        )
    if os.geteuid() != 0:
        return PostgresInstallation(found[0])
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise ServerNotStarted(
            "running as root and there is no `postgres` OS user to run PostgreSQL as "
            "(install postgresql, or run as another user)"
        ) from None
    return PostgresInstallation(found[0], entry.pw_uid, entry.pw_gid)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


# --- postmasters -----------------------------------------------------------------------


@dataclass
class Postmaster:
    """A running `postgres` on `data`, at `port` (TCP on its listen_addresses, and a
    unix socket), writing its log to `log`; in a session of its own."""

    data: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes]
    stop_signal: signal.Signals = signal.SIGQUIT

    def kill(self) -> None:
        """SIGKILL to the postmaster and all its backends, as a machine that dies:
        nothing flushed, no connection closed politely."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """Shut down with `stop_signal` (SIGQUIT: immediate, SIGINT: fast, with a
        checkpoint); killed if it takes over 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_postmaster(
    installation: PostgresInstallation,
    data: Path,
    log: Path,
    settings: Mapping[str, str] | None = None,
    *,
    port: int | None = None,
    stop: signal.Signals = signal.SIGQUIT,
) -> Postmaster:
    """Start `postgres -D data` on `port` (default: a free one) with `settings` as `-c`
    options, its output appended to `log`, and wait until it accepts connections;
    ServerNotStarted with the log's end if it does not within STARTUP_TIMEOUT_S.
    `stop` is the signal `Postmaster.stop` sends."""
    port = port or free_port()
    command = [installation.tool("postgres"), "-D", str(data), "-c", f"port={port}"]
    for name, value in (settings or {}).items():
        command += ["-c", f"{name}={value}"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            command, cwd=data.parent, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True, **installation.identity(),
        )  # fmt: skip
    server = Postmaster(data, port, log, process, stop)
    try:
        _wait_until_ready(server)
    except BaseException:
        server.kill()
        raise
    return server


@contextlib.contextmanager
def postmaster(
    installation: PostgresInstallation,
    data: Path,
    log: Path,
    settings: Mapping[str, str] | None = None,
    *,
    port: int | None = None,
    stop: signal.Signals = signal.SIGQUIT,
) -> Iterator[Postmaster]:
    """`start_postmaster`, stopped when the block ends."""
    server = start_postmaster(installation, data, log, settings, port=port, stop=stop)
    try:
        yield server
    finally:
        server.stop()


def _wait_until_ready(server: Postmaster) -> None:
    """Until the status line of postmaster.pid (its eighth) says "ready", which is what
    `pg_ctl start --wait` reads."""
    for _ in range(int(STARTUP_TIMEOUT_S / _POLL_S)):
        with contextlib.suppress(FileNotFoundError):
            lines = (server.data / "postmaster.pid").read_text().splitlines()
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return
        if server.process.poll() is not None:
            break
        time.sleep(_POLL_S)
    code = server.process.poll()
    reason = f"exited with {code}" if code is not None else "timed out"
    raise ServerNotStarted(f"PostgreSQL did not start ({reason}):\n{log_tail(server.log)}")


def log_tail(log: Path, lines: int = 30) -> str:
    """The last `lines` lines of `log`, for an error message."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


# --- a primary and its synchronous standby ---------------------------------------------


@dataclass
class PostgresPair:
    """A PostgreSQL primary and a streaming standby of it. The primary commits only once
    the standby has flushed the commit's WAL (`synchronous_standby_names = '*'`,
    `synchronous_commit = on`): a commit it acknowledged survives its death.

    `url` names both, primary first, for the role `tradewind` (superuser) and its
    database `tradewind`, asking for the one that takes writes."""

    primary: Postmaster
    standby: Postmaster
    url: str
    installation: PostgresInstallation

    def kill_primary(self) -> None:
        """SIGKILL to the primary's process group (postmaster and backends)."""
        self.primary.kill()

    def promote_standby(self) -> None:
        """What a failover manager does once the primary is gone: `pg_ctl promote`,
        waiting until the standby takes writes."""
        data = self.standby.data
        self.installation.run(data.parent, self.installation.tool("pg_ctl"),
                              "promote", "-w", "-D", str(data))  # fmt: skip

    def fail_over(self) -> None:
        """Kill the primary, then promote the standby. Once only: no standby is left."""
        self.kill_primary()
        self.promote_standby()


@contextlib.contextmanager
def postgres_primary_and_standby(
    directory: Path, listen: Sequence[str] = ("127.0.0.1",), *, advertise: str | None = None
) -> Iterator[PostgresPair]:
    """Start a primary and a standby made of it by `pg_basebackup`, both listening on
    every address of `listen`, and wait until the standby is the primary's synchronous
    standby; both are stopped, and their clusters removed, when the block ends. Their
    logs go to `directory` (primary.log, standby.log).

    Connections are trusted from each address's network: 127.0.0.0/8 for a loopback
    address, else its /24 (IPv6: /64), so that clients in the network namespaces behind
    a bridge address reach the servers through it. `url` names `advertise` (default: the
    last of `listen`, the address the farthest clients reach), which must be one of
    `listen`."""
    advertise = advertise or listen[-1]
    if advertise not in listen:
        raise ValueError(f"advertise={advertise!r} is none of listen={list(listen)!r}")
    installation = find_postgres()
    base = installation.home("tw-pg-ha-")
    sockets, primary_data, standby_data = base / "sockets", base / "primary", base / "standby"
    started: list[Postmaster] = []
    try:
        installation.new_cluster(primary_data)
        _configure_for_replication(primary_data, sockets, listen)
        # Only the primary waits for a standby: a promoted standby must not wait for
        # one it does not have (Patroni's synchronous_mode does the same).
        wait_for_standby = {"synchronous_standby_names": "*", "synchronous_commit": "on"}
        primary = start_postmaster(
            installation, primary_data, directory / "primary.log", wait_for_standby
        )
        started.append(primary)
        installation.run(
            base, installation.tool("pg_basebackup"),
            "--host", str(sockets), "--port", str(primary.port), "--username", "postgres",
            "--pgdata", str(standby_data), "--write-recovery-conf", "--wal-method", "stream",
            "--checkpoint", "fast", "--no-sync",
        )  # fmt: skip
        standby = start_postmaster(installation, standby_data, directory / "standby.log")
        started.append(standby)
        _wait_for(
            lambda: installation.psql(sockets, primary.port, _SYNC_STANDBYS) == "1",
            "the standby to become synchronous",
        )
        host = f"[{advertise}]" if ":" in advertise else advertise
        url = (
            f"postgresql://{USER}@{host}:{primary.port},{host}:{standby.port}"
            f"/{DATABASE}?target_session_attrs=read-write"
        )
        yield PostgresPair(primary, standby, url, installation)
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


_SYNC_STANDBYS = (
    "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state = 'sync'"
)


def trusted_networks(listen: Sequence[str]) -> list[str]:
    """The networks whose clients a server listening on `listen` trusts: 127.0.0.0/8
    (::1/128) for loopback, else the address's /24 (IPv6: /64)."""
    networks: dict[str, None] = {}
    for address in listen:
        ip = ipaddress.ip_address(address)
        if ip.is_loopback:
            prefix = 8 if ip.version == 4 else 128
        else:
            prefix = 24 if ip.version == 4 else 64
        networks[str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))] = None
    return list(networks)


def _configure_for_replication(data: Path, sockets: Path, listen: Sequence[str]) -> None:
    settings = {
        "listen_addresses": f"'{','.join(listen)}'",
        "unix_socket_directories": f"'{sockets}'",
        "wal_level": "replica",
        "max_wal_senders": "5",
        "hot_standby": "on",
        # A killed process, not a lost machine: the operating system keeps what was
        # written, so fsync buys nothing here.
        "fsync": "off",
        "full_page_writes": "off",
        "shared_buffers": "16MB",
        "max_connections": "100",
    }
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("".join(f"{key} = {value}\n" for key, value in settings.items()))
    # The standby streams over the unix socket, which only the postgres OS user (and
    # root) can reach; the pg_basebackup copy takes this file along.
    rules = ["local all all trust", "local replication all trust"]
    rules += [f"host all all {network} trust" for network in trusted_networks(listen)]
    (data / "pg_hba.conf").write_text("".join(f"{rule}\n" for rule in rules))


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` (ServerNotStarted counts as not yet) for STARTUP_TIMEOUT_S."""
    for _ in range(int(STARTUP_TIMEOUT_S / _POLL_S)):
        with contextlib.suppress(ServerNotStarted):
            if condition():
                return
        time.sleep(_POLL_S)
    raise ServerNotStarted(f"gave up waiting for {what}")
