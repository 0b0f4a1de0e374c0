"""Binance spot's published limits (exchangeInfo `rateLimits`) and the request weight of
each call execution makes (Binance's API documentation, spot, 2026)."""

from __future__ import annotations

from tradewind.domain.rate_limits import RateWindow
from tradewind.venues.profile import Call, RateRules


def ip_windows() -> tuple[RateWindow, ...]:
    """Per egress IP: REQUEST_WEIGHT 6000 per minute and RAW_REQUESTS 61000 per 5
    minutes."""
    return (
        RateWindow("REQUEST_WEIGHT 1m", 6000, 60, header="X-MBX-USED-WEIGHT-1M"),
        RateWindow("RAW_REQUESTS 5m", 61_000, 300, counts_requests=True),
    )


def order_windows() -> tuple[RateWindow, ...]:
    """New orders per account: 100 per 10 s and 200,000 per day."""
    return (
        RateWindow("ORDERS 10s", 100, 10, header="X-MBX-ORDER-COUNT-10S", counts_requests=True),
        RateWindow(
            "ORDERS 1d", 200_000, 86_400, header="X-MBX-ORDER-COUNT-1D", counts_requests=True
        ),
    )


COSTS = {
    Call.PLACE_ORDER: 1,
    Call.CANCEL_ORDER: 1,
    Call.FETCH_ORDER: 4,
    Call.FETCH_OPEN_ORDERS: 6,  # one symbol
    Call.FETCH_ALL_OPEN_ORDERS: 80,  # every symbol
    Call.FETCH_BALANCES: 20,
    Call.FETCH_FILLS: 40,  # myTrades and allOrders, 20 each
    # The user data stream through the WebSocket API: connecting costs 2, and
    # userDataStream.subscribe.signature 2.
    Call.WATCH_ORDERS: 4,
}


def rules() -> RateRules:
    return RateRules(ip_windows(), order_windows(), COSTS)
