"""The Coinbase WebSocket's `user` channel with a raw client: a JWT-authenticated
subscription gets the account's open orders as a snapshot, then every change of its
orders (and no other account's), with what ccxt's watch_orders parses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.integration.venues.coinbase.test_ws_protocol import ws_jwt
from tests.integration.venues.coinbase.ws_support import (
    BTC,
    ETH,
    coinbase_ws_venue,
    on_channel,
    receive_until,
    subscribe,
    subscribed,
)
from tradewind.domain.model import OrderType, Side
from tradewind.venues.simulated.server.coinbase.orders import coinbase_order_id
from tradewind.venues.simulated.server.coinbase.streams import USER_DATA_PATH


def orders_of(message: Any) -> list[dict[str, str]]:
    return [order for event in message["events"] for order in event["orders"]]


async def test_snapshot_lists_the_accounts_open_orders() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        account_id, name, pem = venue.account()
        bid = venue.exchange.engine.book_ticker(BTC).bid_price
        assert bid is not None
        resting = venue.exchange.submit_order(
            account_id, BTC, Side.BUY, OrderType.LIMIT, quantity=Decimal("0.1"),
            price=bid - 100, client_order_id="mine-1",
        )  # fmt: skip
        (snapshot,) = await subscribed(client, subscribe("user", jwt=ws_jwt(name, pem)))
        assert snapshot["channel"] == "user"
        (event,) = snapshot["events"]
        assert event["type"] == "snapshot"
        (order,) = event["orders"]
        assert order["order_id"] == coinbase_order_id(BTC, resting.order.order_id)
        assert order["client_order_id"] == "mine-1"
        assert order["status"] == "OPEN"
        assert order["product_id"] == "BTC-USD"
        assert order["order_side"] == "BUY" and order["order_type"] == "Limit"
        assert Decimal(order["limit_price"]) == bid - 100
        assert Decimal(order["leaves_quantity"]) == Decimal("0.1")
        assert Decimal(order["cumulative_quantity"]) == 0
        assert order["creation_time"].endswith("Z")


async def test_a_market_order_is_reported_open_then_filled_with_its_fills_and_fees() -> None:
    async with coinbase_ws_venue() as venue, venue.connect(USER_DATA_PATH) as client:
        account_id, name, pem = venue.account()
        await subscribed(client, subscribe("user", "BTC-USD", jwt=ws_jwt(name, pem)))
        venue.stepping.clear()
        result = venue.exchange.submit_order(
            account_id, BTC, Side.BUY, OrderType.MARKET, quantity=Decimal("0.05"),
            client_order_id="mkt-1",
        )  # fmt: skip
        assert result.order.status.value == "FILLED" and len(result.trades) > 1
        order_id = coinbase_order_id(BTC, result.order.order_id)
        message = await receive_until(
            client,
            lambda m: (
                on_channel("user")(m)
                and any(o["order_id"] == order_id and o["status"] == "FILLED" for o in orders_of(m))
            ),
        )
        assert message["events"][0]["type"] == "update"
        reports = [o for o in orders_of(message) if o["order_id"] == order_id]
        assert reports[0]["status"] == "OPEN"
        assert reports[0]["number_of_fills"] == "0" and Decimal(reports[0]["total_fees"]) == 0
        assert [r["number_of_fills"] for r in reports[1:]] == [
            str(n) for n in range(1, len(reports))
        ]
        final = reports[-1]
        trades = result.trades
        executed = sum((t.quantity for t in trades), Decimal(0))
        paid = sum((t.quote_quantity for t in trades), Decimal(0))
        fees = sum((t.fee_for(account_id)[0] * t.price for t in trades), Decimal(0))
        assert Decimal(final["cumulative_quantity"]) == executed == Decimal("0.05")
        assert Decimal(final["leaves_quantity"]) == 0
        assert Decimal(final["filled_value"]) == paid
        assert Decimal(final["avg_price"]) == (paid / executed).normalize()
        assert Decimal(final["total_fees"]) == fees  # the base fee, valued in USD
        assert final["number_of_fills"] == str(len(trades))
        assert final["client_order_id"] == "mkt-1"
        assert final["order_type"] == "Market" and final["order_side"] == "BUY"


async def test_a_partly_filled_then_cancelled_order_keeps_its_fills() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        maker_id, name, pem = venue.account()
        taker_id, _, _ = venue.account()
        await subscribed(client, subscribe("user", jwt=ws_jwt(name, pem)))
        venue.stepping.clear()
        top = venue.exchange.engine.book_ticker(ETH)
        assert top.ask_price is not None and top.bid_price is not None
        assert top.ask_price - top.bid_price > Decimal("0.002")
        price = top.ask_price - Decimal("0.001")  # inside the spread: the best ask
        placed = venue.exchange.submit_order(
            maker_id, ETH, Side.SELL, OrderType.LIMIT, quantity=Decimal("2"), price=price
        )
        venue.exchange.submit_order(
            taker_id, ETH, Side.BUY, OrderType.LIMIT, quantity=Decimal("0.5"), price=price,
        )  # fmt: skip
        venue.exchange.cancel_order(maker_id, ETH, order_id=placed.order.order_id)
        order_id = coinbase_order_id(ETH, placed.order.order_id)
        message = await receive_until(
            client,
            lambda m: (
                on_channel("user")(m)
                and any(
                    o["order_id"] == order_id and o["status"] == "CANCELLED" for o in orders_of(m)
                )
            ),
        )
        (cancelled,) = [o for o in orders_of(message) if o["order_id"] == order_id]
        assert Decimal(cancelled["cumulative_quantity"]) == Decimal("0.5")
        assert Decimal(cancelled["leaves_quantity"]) == 0
        assert Decimal(cancelled["avg_price"]) == price
        assert cancelled["number_of_fills"] == "1"
        (fill,) = venue.exchange.engine.account_trades(maker_id, ETH)
        assert Decimal(cancelled["total_fees"]) == fill.fee_for(maker_id)[0]  # USD already


async def test_other_accounts_orders_and_other_products_are_not_sent() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        account_id, name, pem = venue.account()
        other_id, _, _ = venue.account()
        await subscribed(client, subscribe("user", "ETH-USD", jwt=ws_jwt(name, pem)))
        venue.stepping.clear()
        for owner, symbol in ((other_id, ETH), (account_id, BTC), (account_id, ETH)):
            venue.exchange.submit_order(
                owner, symbol, Side.BUY, OrderType.MARKET, quantity=Decimal("0.01")
            )
        message = await receive_until(client, on_channel("user"))
        products = {o["product_id"] for o in orders_of(message)}
        assert products == {"ETH-USD"}
        mine = {o["order_id"] for o in orders_of(message)}
        owned = {
            coinbase_order_id(ETH, o.order_id)
            for o in venue.exchange.engine.all_orders(account_id, ETH)
        }
        assert mine <= owned
