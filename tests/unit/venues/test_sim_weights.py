"""Request weights of the simulated venue's Binance endpoints, and the usage they report."""

from __future__ import annotations

import pytest

from tradewind.venues.simulated.server.weights import (
    BINANCE_RATE_LIMITS,
    SAPI_IP_HEADER,
    SAPI_IP_LIMITS,
    IpRateLimiter,
    OrderRateLimiter,
    request_weight,
    sapi_weight,
)


@pytest.mark.parametrize(
    ("path", "params", "weight"),
    [
        ("/api/v3/historicalTrades", {"symbol": "BTCUSDT"}, 25),
        ("/api/v3/uiKlines", {"symbol": "BTCUSDT"}, 2),
        ("/api/v3/avgPrice", {"symbol": "BTCUSDT"}, 2),
        ("/api/v3/account/commission", {"symbol": "BTCUSDT"}, 20),
        ("/api/v3/rateLimit/order", {}, 40),
        ("/api/v3/ticker", {"symbol": "BTCUSDT"}, 4),
        ("/api/v3/ticker", {"symbols": '["BTCUSDT","ETHUSDT","SOLUSDT"]'}, 12),
        ("/api/v3/ticker/tradingDay", {"symbols": "[" + ",".join(['"A"'] * 50) + "]"}, 200),
        ("/api/v3/ticker/tradingDay", {"symbols": "[" + ",".join(['"A"'] * 80) + "]"}, 200),
    ],
)
def test_weights_are_binance_ones(path: str, params: dict[str, str], weight: int) -> None:
    assert request_weight("GET", path, params) == weight


def test_sapi_weights_are_per_endpoint_ip_weights() -> None:
    assert sapi_weight("GET", "/sapi/v1/capital/config/getall") == 10
    assert sapi_weight("GET", "/sapi/v1/margin/isolated/allPairs") == 10
    assert sapi_weight("GET", "/sapi/v1/account/apiTradingStatus") == 1
    limiter = IpRateLimiter(SAPI_IP_LIMITS, SAPI_IP_HEADER)
    assert limiter.admit("1.2.3.4 /sapi/v1/x", 10, 0) is None
    assert limiter.usage_headers("1.2.3.4 /sapi/v1/x", 0) == {"X-SAPI-USED-IP-WEIGHT-1M": "10"}


def test_order_usage_lists_every_orders_limit_with_its_count() -> None:
    limiter = OrderRateLimiter(BINANCE_RATE_LIMITS)
    assert limiter.admit("acct", 1_000) is None
    assert [
        (limit.interval, limit.limit, count) for limit, count in limiter.usage("acct", 1_000)
    ] == [
        ("SECOND", 100, 1),
        ("DAY", 200_000, 1),
    ]
    assert [count for _, count in limiter.usage("acct", 20_000)] == [0, 1]  # a new 10 s window
