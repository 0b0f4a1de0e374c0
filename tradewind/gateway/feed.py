"""The gateway's consumer of account events: `portfolio.updates` keep the portfolio
cache current, and every account event (orders, fills, valuations, analytics) is fanned
out to the WebSocket clients watching that account.

Each gateway instance listens (`Bus.listen`, as `gateway`) from the latest event, so
every instance sees every account's events from its start on: the cache and the fan-out
need them all. An account with no update since the start is read from its stored
snapshot (`cache`); nothing is replayed, and nothing of the listener is left on the
broker when the instance goes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from tradewind.bus.envelope import Envelope
from tradewind.bus.port import BatchHandler
from tradewind.bus.topics import ANALYTICS_UPDATES, ORDERS_EVENTS, PORTFOLIO_UPDATES
from tradewind.domain.events import PortfolioUpdate
from tradewind.gateway.cache import PortfolioCache
from tradewind.gateway.hub import StreamHub

TOPICS = (PORTFOLIO_UPDATES, ORDERS_EVENTS, ANALYTICS_UPDATES)
LISTENER = "gateway"  # the listener's name in metrics


def account_events_handler(
    cache: PortfolioCache, hub: StreamHub, *, since_ns: int | None = None
) -> BatchHandler:
    """The bus handler; events published before `since_ns` (default: now) only update
    the cache. Idempotent: a redelivered update is older than or equal to the one held,
    so the cache keeps it out and it is not sent twice."""
    started_ns = time.time_ns() if since_ns is None else since_ns

    async def handle(batch: Sequence[Envelope]) -> None:
        for event in batch:
            payload = event.payload
            body = None
            if isinstance(payload, PortfolioUpdate):
                if not cache.apply(payload):
                    continue
                body = cache.get(payload.account_id)
            if event.ts_ns >= started_ns:
                hub.dispatch(event, body)

    return handle
