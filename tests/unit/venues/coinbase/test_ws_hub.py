"""The Coinbase stream hub over a real simulated exchange, without sockets: what a
subscriber's queue receives, numbered per connection, and the user channel's fill
accounting across updates."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from tradewind.domain.model import OrderType, Side
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket, SyntheticSpec
from tradewind.venues.simulated.server.coinbase.orders import coinbase_order_id
from tradewind.venues.simulated.server.coinbase.streams_hub import CoinbaseClient, CoinbaseStreamHub
from tradewind.venues.simulated.server.state import FaultSwitches

BTC = "BTC/USD"


def exchange() -> SimulatedExchange:
    prices = SyntheticMarket(
        {BTC: SyntheticSpec(Decimal(30_000))}, start_ms=time.time_ns() // 10**6
    )
    venue = SimulatedExchange(prices)
    venue.step()
    return venue


def drain(client: CoinbaseClient) -> list[Any]:
    queue = client.outbox._queue
    return [json.loads(queue.get_nowait()) for _ in range(queue.qsize())]


def orders_in(messages: list[Any]) -> list[dict[str, str]]:
    return [o for m in messages if m["channel"] == "user" for e in m["events"] for o in e["orders"]]


async def test_each_connection_numbers_its_own_messages_from_zero() -> None:
    venue = exchange()
    hub = CoinbaseStreamHub(venue, FaultSwitches())
    venue.add_listener(hub)
    first, second = hub.connect(), hub.connect()
    hub.subscribe(first, "level2", ["BTC-USD"], None)
    hub.subscribe(second, "market_trades", ["BTC-USD"], None)
    account = venue.create_account({"USD": Decimal(100_000)})
    venue.submit_order(account.account_id, BTC, Side.BUY, OrderType.MARKET, quantity=Decimal("0.1"))
    for client in (first, second):
        numbers = [m["sequence_num"] for m in drain(client)]
        assert numbers == list(range(len(numbers))) and len(numbers) >= 2
    hub.disconnect(first)
    hub.disconnect(second)


async def test_user_updates_count_fills_and_fees_across_batches_and_forget_closed_orders() -> None:
    venue = exchange()
    hub = CoinbaseStreamHub(venue, FaultSwitches())
    venue.add_listener(hub)
    owner = venue.create_account({"USD": Decimal(100_000), "BTC": Decimal(5)}).account_id
    taker = venue.create_account({"USD": Decimal(100_000), "BTC": Decimal(5)}).account_id
    top = venue.engine.book_ticker(BTC)
    assert top.ask_price is not None and top.bid_price is not None
    price = top.ask_price - (top.ask_price - top.bid_price) / 2  # inside the spread
    placed = venue.submit_order(
        owner, BTC, Side.SELL, OrderType.LIMIT, quantity=Decimal("0.3"), price=price
    )
    client = hub.connect()
    hub.subscribe(client, "user", [], owner)
    snapshot = orders_in(drain(client))
    assert [o["order_id"] for o in snapshot] == [coinbase_order_id(BTC, placed.order.order_id)]
    for _ in range(3):  # three fills, one a batch
        venue.submit_order(
            taker, BTC, Side.BUY, OrderType.LIMIT, quantity=Decimal("0.1"), price=price
        )
    reports = orders_in(drain(client))
    assert [r["number_of_fills"] for r in reports] == ["1", "2", "3"]
    assert [r["status"] for r in reports] == ["OPEN", "OPEN", "FILLED"]
    fills = venue.engine.account_trades(owner, BTC)
    fees = sum((t.fee_for(owner)[0] for t in fills), Decimal(0))  # a seller pays in USD
    assert Decimal(reports[-1]["total_fees"]) == fees
    assert Decimal(reports[-1]["filled_value"]) == sum(
        (t.quote_quantity for t in fills), Decimal(0)
    )
    assert not hub._orders._fills
    hub.disconnect(client)
    assert not hub.watched_accounts


async def test_a_subscriber_arriving_mid_fill_counts_the_earlier_fills() -> None:
    venue = exchange()
    hub = CoinbaseStreamHub(venue, FaultSwitches())
    venue.add_listener(hub)
    owner = venue.create_account({"USD": Decimal(100_000), "BTC": Decimal(5)}).account_id
    taker = venue.create_account({"USD": Decimal(100_000)}).account_id
    top = venue.engine.book_ticker(BTC)
    assert top.ask_price is not None and top.bid_price is not None
    price = top.ask_price - (top.ask_price - top.bid_price) / 2
    venue.submit_order(owner, BTC, Side.SELL, OrderType.LIMIT, quantity=Decimal("0.3"), price=price)
    venue.submit_order(taker, BTC, Side.BUY, OrderType.LIMIT, quantity=Decimal("0.1"), price=price)
    client = hub.connect()
    hub.subscribe(client, "user", ["BTC-USD"], owner)
    (open_order,) = orders_in(drain(client))
    assert open_order["number_of_fills"] == "1"
    venue.submit_order(taker, BTC, Side.BUY, OrderType.LIMIT, quantity=Decimal("0.1"), price=price)
    (update,) = orders_in(drain(client))
    assert update["number_of_fills"] == "2"
    assert Decimal(update["cumulative_quantity"]) == Decimal("0.2")
    hub.disconnect(client)


async def test_unsubscribing_every_product_ends_the_channel() -> None:
    venue = exchange()
    hub = CoinbaseStreamHub(venue, FaultSwitches())
    client = hub.connect()
    hub.subscribe(client, "ticker", ["BTC-USD"], None)
    hub.unsubscribe(client, "ticker", ["BTC-USD"])
    ack = drain(client)[-1]
    assert ack["channel"] == "subscriptions" and ack["events"] == [{"subscriptions": {}}]
    hub.disconnect(client)
