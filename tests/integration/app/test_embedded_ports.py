"""`tradewind up` serves each simulated exchange's API on its own port: the first on
`--venue-port`, the Coinbase-style one on `--coinbase-port`; the welcome says where."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_runtime_cli import free_port, run_tradewind


def test_up_serves_each_exchanges_api_on_the_port_asked_for_it(tmp_path: Path) -> None:
    venue_port, coinbase_port = free_port(), free_port()
    done = run_tradewind(
        "up", "--no-live", "--bots", "0", "--for", "2",
        "--venue-port", str(venue_port), "--coinbase-port", str(coinbase_port),
        cwd=tmp_path, TRADEWIND_HTTP_PORT=str(free_port()),
        TRADEWIND_HEALTH_PORT=str(free_port()),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    exchanges = [line for line in done.stdout.splitlines() if line.strip().startswith("exchange")]
    assert len(exchanges) == 2, done.stdout
    assert f"http://127.0.0.1:{venue_port}   (Binance API;" in exchanges[0]
    assert f"http://127.0.0.1:{coinbase_port}   (Coinbase Advanced Trade API;" in exchanges[1]
