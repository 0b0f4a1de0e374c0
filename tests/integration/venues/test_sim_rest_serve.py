"""`tradewind venue serve` as users run it: a real process, real HTTP, a real SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TRADEWIND = str(Path(sys.executable).with_name("tradewind"))
STARTUP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(process: subprocess.Popen[str], url: str) -> None:
    for _ in range(int(STARTUP_TIMEOUT_S / 0.1)):
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"nothing answered {url} in {STARTUP_TIMEOUT_S} s")


def test_venue_serve_replays_bundled_candles_and_stops_cleanly_on_sigterm() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [TRADEWIND, "venue", "serve", "--port", str(port), "--market", "replay:",
         "--speed", "60", "--seed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_until_serving(process, f"{base}/api/v3/ping")
        symbols = httpx.get(f"{base}/api/v3/exchangeInfo").json()["symbols"]
        assert {"ETHBTC", "LTCBTC"} <= {s["symbol"] for s in symbols}
        book = httpx.get(f"{base}/api/v3/depth", params={"symbol": "ETHBTC"}).json()
        assert book["bids"] and book["asks"]  # the market is being stepped
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr


def test_venue_serve_explains_a_bad_market_and_exits_2() -> None:
    result = subprocess.run(
        [TRADEWIND, "venue", "serve", "--market", "historic"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "tradewind: error: --market: expected synthetic, replay: or replay:DIR" in result.stderr


def test_venue_serve_reports_a_busy_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [TRADEWIND, "venue", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 2
    assert f"--port: cannot listen on 127.0.0.1:{port}" in result.stderr
