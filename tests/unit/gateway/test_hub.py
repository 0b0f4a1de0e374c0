"""WebSocket fan-out by account."""

from __future__ import annotations

import json
import time
from decimal import Decimal

from tradewind.bus.envelope import envelope
from tradewind.domain.events import OrderCanceled, PortfolioUpdate
from tradewind.domain.model import Instrument
from tradewind.gateway.cache import PortfolioCache
from tradewind.gateway.feed import account_events_handler
from tradewind.gateway.hub import CLOSE, StreamHub

BTC = Instrument.parse("sim", "BTC/USDT")


def update(account_id: str, equity: str = "1") -> PortfolioUpdate:
    return PortfolioUpdate(
        account_id=account_id,
        valuation_asset="USDT",
        equity=Decimal(equity),
        cash=Decimal(0),
        realized_pnl=Decimal(0),
        unrealized_pnl=Decimal(0),
        fees=Decimal(0),
        balances={},
        ts_ns=time.time_ns(),
    )


async def test_events_reach_only_the_clients_watching_their_account() -> None:
    hub, cache = StreamHub(), PortfolioCache()
    handle = account_events_handler(cache, hub, since_ns=0)
    alice = hub.connect("alice", ["a1"])
    alice_phone = hub.connect("alice", ["a1"])
    bob = hub.connect("bob", ["b1"])
    canceled = OrderCanceled(
        account_id="a1",
        client_order_id="c",
        instrument=BTC,
        ts_ns=1,
        venue_order_id="v",
        filled_quantity=Decimal(0),
    )
    await handle([envelope(update("a1", "5"), "a1"), envelope(canceled, "a1")])
    for client in (alice, alice_phone):
        first, second = client.queue.get_nowait(), client.queue.get_nowait()
        assert first is not None and json.loads(first)["data"]["equity"] == "5"
        assert second is not None and json.loads(second)["data"]["type"] == "order.canceled"
    assert bob.queue.empty()
    assert len(cache) == 1


async def test_history_from_before_start_warms_the_cache_but_is_not_streamed() -> None:
    hub, cache = StreamHub(), PortfolioCache()
    old = envelope(update("a1"), "a1")
    handle = account_events_handler(cache, hub)  # since now
    client = hub.connect("alice", ["a1"])
    await handle([old])
    assert client.queue.empty() and cache.get("a1") is not None


def test_a_client_that_falls_behind_is_dropped_and_told_why() -> None:
    hub = StreamHub(queue_size=3)
    slow = hub.connect("alice", ["a1"])
    for n in range(5):
        hub.dispatch(envelope(update("a1", str(n)), "a1"), b'{"n":%d}' % n)
    assert hub.dropped_slow == 1 and hub.connections == 0
    assert slow.queue.get_nowait() is CLOSE
    assert "too slow" in slow.close_reason


def test_accounts_added_later_are_watched_and_removed_ones_forgotten() -> None:
    hub = StreamHub()
    client = hub.connect("alice", [])
    hub.account_added("alice", "a2")
    hub.account_added("bob", "b9")
    assert client.accounts == {"a2"}
    hub.account_removed("a2")
    assert client.accounts == set()
    assert hub.dispatch(envelope(update("a2"), "a2"), b"{}") == 0
