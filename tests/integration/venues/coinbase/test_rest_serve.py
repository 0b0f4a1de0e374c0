"""`tradewind venue serve --api coinbase` as users run it: a real process, real HTTP,
a real SIGTERM."""

from __future__ import annotations

import signal
import subprocess

import httpx

from tests.integration.venues.test_sim_rest_serve import TRADEWIND, free_port, wait_until_serving


def test_venue_serve_api_coinbase_replays_the_datas_pairs_and_stops_on_sigterm() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [TRADEWIND, "venue", "serve", "--api", "coinbase", "--port", str(port),
         "--market", "replay:", "--speed", "60", "--seed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_until_serving(process, f"{base}/api/v3/brokerage/time")
        products = httpx.get(f"{base}/api/v3/brokerage/market/products").json()["products"]
        assert {"ETH-BTC", "LTC-BTC"} <= {p["product_id"] for p in products}
        book = httpx.get(
            f"{base}/api/v3/brokerage/market/product_book", params={"product_id": "ETH-BTC"}
        ).json()["pricebook"]
        assert book["bids"] and book["asks"]  # the market is being stepped
        assert httpx.get(f"{base}/api/v3/exchangeInfo").status_code == 404  # not Binance
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr


def test_venue_serve_explains_an_unknown_api_and_exits_2() -> None:
    result = subprocess.run(
        [TRADEWIND, "venue", "serve", "--api", "kraken"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--api" in result.stderr and "binance or coinbase" in result.stderr
