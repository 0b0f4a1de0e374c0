"""Binance's rate limits on the simulated venue, made small so tests reach them: request
weight per IP (429 with Retry-After, then a 418 ban for not backing off) and new orders
per account (-1015).

Each test talks from its own loopback address (127.0.0.x), so their IP budgets are apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import httpx
import pytest

from tests.integration.venues.sim_rest_support import (
    BinanceClient,
    binance_error,
    open_account,
    running_venue,
)
from tradewind.venues.simulated.server.weights import RateLimit

SMALL_LIMITS = (
    RateLimit("REQUEST_WEIGHT", "MINUTE", 1, 50),
    RateLimit("ORDERS", "SECOND", 10, 3),
    RateLimit("ORDERS", "DAY", 1, 200_000),
    RateLimit("RAW_REQUESTS", "MINUTE", 5, 61_000),
)


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    with running_venue(SMALL_LIMITS) as (url, _):
        yield url


def first_refusal(responses: Iterable[httpx.Response]) -> httpx.Response:
    """The first response that is not a 200 (the iterable is lazy: requests stop there)."""
    for response in responses:
        if response.status_code != 200:
            return response
    raise AssertionError("every request was served")


def client_from(venue_url: str, source_ip: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source_ip)
    return httpx.Client(base_url=venue_url, transport=transport, timeout=5)


def test_exceeding_request_weight_gets_429_then_a_418_ban_for_not_backing_off(
    venue_url: str,
) -> None:
    with client_from(venue_url, "127.0.0.2") as http:
        warned = first_refusal(http.get("/api/v3/exchangeInfo") for _ in range(5))  # weight 20
        status, code, msg = binance_error(warned)
        assert (status, code) == (429, -1003)
        assert msg.startswith("Too much request weight used; current limit is 50 request weight")
        assert 1 <= int(warned.headers["Retry-After"]) <= 60
        assert int(warned.headers["X-MBX-USED-WEIGHT-1M"]) <= 50
        banned = http.get("/api/v3/ping")  # did not wait Retry-After seconds
        status, code, msg = binance_error(banned)
        assert (status, code) == (418, -1003)
        assert msg.startswith("Way too much request weight used; IP banned until ")
        assert 60 < int(banned.headers["Retry-After"]) <= 120  # a first ban lasts 2 minutes
        assert http.get("/api/v3/ping").status_code == 418  # still banned


def test_a_banned_ip_does_not_affect_other_clients(venue_url: str) -> None:
    with client_from(venue_url, "127.0.0.3") as offender:
        for _ in range(5):
            offender.get("/api/v3/exchangeInfo")
        assert offender.get("/api/v3/ping").status_code == 418
    with client_from(venue_url, "127.0.0.4") as bystander:
        response = bystander.get("/api/v3/ping")
        assert response.status_code == 200
        assert response.headers["X-MBX-USED-WEIGHT-1M"] == "1"


def test_too_many_new_orders_per_account_are_refused_without_retry_after(
    venue_url: str,
) -> None:
    account = open_account(venue_url, {"USDT": "1000"})
    client = BinanceClient(venue_url, account)
    client.http = client_from(venue_url, "127.0.0.5")
    limit_order = {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.001", "price": "10000.00",
    }  # fmt: skip
    try:
        # 3 per 10 s: refused within 8 orders even if a window turns over meanwhile.
        refused = first_refusal(client.order(**limit_order) for _ in range(8))
    finally:
        client.close()
    assert binance_error(refused) == (
        429,
        -1015,
        "Too many new orders; current limit is 3 orders per 10 SECOND.",
    )
    assert "Retry-After" not in refused.headers
    assert refused.headers["X-MBX-ORDER-COUNT-10S"] == "3"
