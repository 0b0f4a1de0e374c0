"""Fault switches of the simulated venue (`/sim/v1/faults`): server errors, timeouts, rate
limiting and orders that execute but answer 500, as clients must survive them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from tests.integration.venues.sim_rest_support import (
    Account,
    BinanceClient,
    binance_error,
    open_account,
    running_venue,
)


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    with running_venue() as (url, _):
        yield url


@pytest.fixture
def faults(venue_url: str) -> Iterator[str]:
    """The faults URL; every fault is switched off after the test."""
    url = f"{venue_url}/sim/v1/faults"
    yield url
    httpx.delete(url).raise_for_status()


@pytest.fixture
def client(venue_url: str) -> Iterator[BinanceClient]:
    client = BinanceClient(venue_url, open_account(venue_url, {"USDT": "1000"}))
    yield client
    client.close()


def switch(faults: str, **settings: object) -> dict[str, object]:
    response = httpx.post(faults, json=settings)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_http_5xx_fault_answers_503_without_a_binance_code_until_cleared(
    faults: str, client: BinanceClient
) -> None:
    switch(faults, http_5xx_s=30)
    response = client.public("/api/v3/ping")
    assert response.status_code == 503
    assert "code" not in response.json()  # ccxt: ExchangeNotAvailable, not an order error
    assert client.signed("GET", "/api/v3/account").status_code == 503
    assert httpx.get(faults).json()["http_5xx_s"] > 29  # the simulator API still answers
    httpx.delete(faults)
    assert client.public("/api/v3/ping").status_code == 200


def test_faults_end_by_themselves_after_their_duration(faults: str, client: BinanceClient) -> None:
    switch(faults, http_5xx_s=0.3)
    assert client.public("/api/v3/ping").status_code == 503
    time.sleep(0.4)
    assert client.public("/api/v3/ping").status_code == 200


def test_timeout_fault_hangs_then_answers_504(faults: str, client: BinanceClient) -> None:
    switch(faults, timeout_s=30, hang_s=0.5)
    with pytest.raises(httpx.ReadTimeout):
        client.http.get("/api/v3/ping", timeout=0.2)
    elapsed = threading.Timer(0.45, lambda: None)  # a hang shorter than 0.5 s outlives it
    elapsed.start()
    response = client.public("/api/v3/ping")
    assert response.status_code == 504
    assert not elapsed.is_alive(), "the timeout fault answered before its hang"


def test_rate_limit_fault_answers_429_with_retry_after_and_never_bans(
    faults: str, client: BinanceClient
) -> None:
    switch(faults, rate_limit_s=5)
    for _ in range(3):
        response = client.public("/api/v3/time")
        assert binance_error(response) == (429, -1003, "Too many requests queued.")
        assert 1 <= int(response.headers["Retry-After"]) <= 5
    httpx.delete(faults)
    assert client.public("/api/v3/time").status_code == 200


def test_fail_after_accept_executes_the_order_then_answers_500(
    faults: str, client: BinanceClient
) -> None:
    switch(faults, fail_after_accept=1)
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "quantity": "0.001", "price": "20000.00"}  # fmt: skip
    response = client.order(**order, newClientOrderId="unknown-outcome")
    assert binance_error(response) == (
        500,
        -1007,
        "Timeout waiting for response from backend server. Send status unknown; execution "
        "status unknown.",
    )
    found = client.signed(
        "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "unknown-outcome"}
    )
    assert found.status_code == 200 and found.json()["status"] == "NEW"
    assert httpx.get(faults).json()["fail_after_accept"] == 0
    assert client.order(**order).status_code == 200  # only the next N orders fail


def test_drop_websockets_advances_the_epoch_streams_watch(faults: str) -> None:
    before = httpx.get(faults).json()["websocket_epoch"]
    after = switch(faults, drop_websockets=True)["websocket_epoch"]
    assert after == before + 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"http_5xx_s": -1}, "http_5xx_s must be a number of seconds >= 0"),
        ({"timeout_s": "10"}, "timeout_s must be a number of seconds >= 0"),
        ({"fail_after_accept": 1.5}, "fail_after_accept must be an integer >= 0"),
        ({"drop_websockets": "yes"}, "drop_websockets must be true or false"),
        ({"http_500_s": 1}, "unknown field(s) http_500_s"),
    ],
)
def test_malformed_fault_requests_are_refused_and_change_nothing(
    faults: str, body: dict[str, object], problem: str
) -> None:
    before = httpx.get(faults).json()
    response = httpx.post(faults, json={"rate_limit_s": 60, **body})
    assert response.status_code == 400
    assert problem in response.json()["error"]
    assert httpx.get(faults).json() == before


def test_the_simulator_counts_new_order_requests_per_client_order_id() -> None:
    with running_venue() as (url, _state):
        creds = httpx.post(f"{url}/sim/v1/accounts", json={"balances": {"USDT": "1000"}}).json()
        client = BinanceClient(
            url, Account(creds["api_key"], creds["api_secret"], creds["account_id"])
        )
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
        assert (
            client.signed(
                "POST", "/api/v3/order", {**order, "newClientOrderId": "once"}
            ).status_code
            == 200
        )
        assert (
            client.signed(
                "POST", "/api/v3/order", {**order, "newClientOrderId": "twice"}
            ).status_code
            == 200
        )
        assert (
            client.signed(
                "POST", "/api/v3/order", {**order, "newClientOrderId": "twice"}
            ).status_code
            == 400
        )
        repeated = httpx.get(f"{url}/sim/v1/submissions?repeated=1").json()["submissions"]
        times = repeated[0].pop("times_ms")
        assert repeated == [
            {"account_id": creds["account_id"], "client_order_id": "twice", "requests": 2}
        ]
        assert len(times) == 2 and times[0] <= times[1], times
        held = httpx.get(f"{url}/sim/v1/accounts/{creds['account_id']}/balances").json()
        assert set(held) == {"USDT", "BTC"} and held["USDT"]["locked"] == "0"
        client.close()


def test_the_simulator_lists_an_accounts_open_orders_until_they_finish() -> None:
    with running_venue() as (url, _state):
        creds = httpx.post(f"{url}/sim/v1/accounts", json={"balances": {"USDT": "1000"}}).json()
        client = BinanceClient(
            url, Account(creds["api_key"], creds["api_secret"], creds["account_id"])
        )
        open_orders = f"{url}/sim/v1/accounts/{creds['account_id']}/open_orders"
        assert httpx.get(open_orders).json() == []
        last = Decimal(httpx.get(f"{url}/api/v3/ticker/price?symbol=BTCUSDT").json()["price"])
        below = (last * Decimal("0.95")).quantize(Decimal("0.01"))  # rests on the book
        resting = {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.001",
            "price": str(below),
            "newClientOrderId": "resting",
        }
        placed = client.signed("POST", "/api/v3/order", resting)
        assert placed.status_code == 200, placed.text
        assert httpx.get(open_orders).json() == [
            {"symbol": "BTC/USDT", "client_order_id": "resting", "status": "NEW"}
        ]
        canceled = client.signed(
            "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "resting"}
        )
        assert canceled.status_code == 200
        assert httpx.get(open_orders).json() == []
        client.close()
