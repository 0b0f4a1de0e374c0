"""One trading session on the venue, written once and run through each client's own
calls (`SpotCalls`: python-binance's `Client` and `AsyncClient`, binance-connector's
`Spot`): every order type resting and cancelled (one, then all), marketable orders
filled, stop and take-profit orders triggered and filled, an OCO resting and cancelled
and another one filled; then the account's balances checked to the last decimal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from typing import Any, Protocol

from tests.integration.venues.sim_rest_support import Account
from tests.integration.venues.third_party.venue_support import (
    WAIT_S,
    Traders,
    Venue,
    check_balances,
    stop_price,
    text,
    venue_balances,
)

D = Decimal
Json = dict[str, Any]
WOULD_TRIGGER_OR_MATCH = -2010  # "Order would trigger immediately." / "... match and take."
_ATTEMPTS = 5


class SpotCalls(Protocol):
    """The calls of one client, in Binance's parameter names; what each returns is the
    client's own parsing of the venue's JSON."""

    async def place(self, params: dict[str, str]) -> Json: ...
    async def place_oco(self, params: dict[str, str]) -> Json: ...
    async def order(self, symbol: str, order_id: int) -> Json: ...
    async def cancel(self, symbol: str, order_id: int) -> Json: ...
    async def open_orders(self, symbol: str) -> list[Json]: ...
    async def open_order_lists(self) -> list[Json]: ...
    async def cancel_all(self, symbol: str) -> list[Json]: ...
    async def my_trades(self, symbol: str) -> list[Json]: ...
    async def account(self) -> Json: ...
    async def commission(self, symbol: str) -> Json: ...
    def error_code(self, error: Exception) -> int | None: ...


@dataclass
class Session:
    calls: SpotCalls
    venue: Venue
    traders: Traders
    account: Account
    fill_ids: set[int] = field(default_factory=set)  # trade ids the client was told of
    filled: dict[int, Json] = field(default_factory=dict)  # order id -> final order

    @property
    def symbol(self) -> str:
        return self.venue.market.symbol

    def took(self, order: Json) -> None:
        """A filled order: its reported fills (FULL responses) are remembered."""
        assert order["status"] == "FILLED", order
        self.filled[order["orderId"]] = order
        self.fill_ids |= {int(f["tradeId"]) for f in order.get("fills", [])}

    async def wait_status(self, order_id: int, *wanted: str) -> Json:
        """The order once its status is one of `wanted` (bounded polling)."""
        async with asyncio.timeout(WAIT_S):
            while True:
                order = await self.calls.order(self.symbol, order_id)
                if order["status"] in wanted:
                    return order
                await asyncio.sleep(0.05)


async def run_session(calls: SpotCalls, venue: Venue, traders: Traders, account: Account) -> None:
    """The whole session for `account` (funded with `venue.funding()` as read now)."""
    initial = {a: free for a, (free, _) in venue_balances(venue.url, account.account_id).items()}
    session = Session(calls, venue, traders, account)
    await resting_orders_and_cancels(session)
    await marketable_orders(session)
    for kind, side, up in (
        ("STOP_LOSS_LIMIT", "SELL", False),
        ("TAKE_PROFIT_LIMIT", "SELL", True),
        ("STOP_LOSS", "BUY", True),
        ("TAKE_PROFIT", "BUY", False),
    ):
        await stop_triggered_and_filled(session, kind, side, up=up)
    await oco_filled(session)
    assert await calls.open_orders(session.symbol) == []
    trades = await calls.my_trades(session.symbol)
    for order_id, order in session.filled.items():
        own = [t for t in trades if t["orderId"] == order_id]
        assert sum(D(t["qty"]) for t in own) == D(order["executedQty"]), (order, own)
        assert sum(D(t["quoteQty"]) for t in own) == D(order["cummulativeQuoteQty"])
    check_balances(
        venue,
        account,
        initial,
        trades,
        await calls.account(),
        await calls.commission(session.symbol),
        session.fill_ids,
    )


async def resting_orders_and_cancels(session: Session) -> None:
    """One passive order of each type, far from the market, and an OCO; cancel one, then
    all (the OCO with them)."""
    calls, market, symbol = session.calls, session.venue.market, session.symbol
    bid, ask = session.venue.top()
    quantity = market.order_quantity(ask)
    low, high = market.price(bid * D("0.6")), market.price(ask * D("1.6"), ROUND_CEILING)
    common = {"symbol": symbol, "quantity": text(quantity)}
    gtc = {"timeInForce": "GTC"}
    placed = {
        "LIMIT": {"side": "BUY", "price": text(low), **gtc},
        "LIMIT_MAKER": {"side": "SELL", "price": text(high)},
        "STOP_LOSS": {"side": "SELL", "stopPrice": text(low)},
        "STOP_LOSS_LIMIT": {"side": "SELL", "stopPrice": text(low), "price": text(low), **gtc},
        "TAKE_PROFIT": {"side": "SELL", "stopPrice": text(high)},
        "TAKE_PROFIT_LIMIT": {
            "side": "BUY",
            "stopPrice": text(low),
            "price": text(low),
            **gtc,
        },
    }
    orders = {
        kind: await calls.place({**common, "type": kind, **params})
        for kind, params in placed.items()
    }
    for kind, order in orders.items():
        fetched = await calls.order(symbol, order["orderId"])
        assert fetched["type"] == kind and fetched["status"] == "NEW", fetched
        assert D(fetched["origQty"]) == quantity and D(fetched["executedQty"]) == 0
        if "stopPrice" in placed[kind]:
            assert D(fetched["stopPrice"]) == D(placed[kind]["stopPrice"])
            assert fetched["isWorking"] is False
    oco = await calls.place_oco(
        {
            **common,
            "side": "SELL",
            "aboveType": "LIMIT_MAKER",
            "abovePrice": text(high),
            "belowType": "STOP_LOSS_LIMIT",
            "belowStopPrice": text(low),
            "belowPrice": text(low),
            "belowTimeInForce": "GTC",
        }
    )
    assert oco["contingencyType"] == "OCO" and oco["listOrderStatus"] == "EXECUTING", oco
    legs = {o["orderId"] for o in oco["orders"]}
    assert len(legs) == 2
    singles = {o["orderId"] for o in orders.values()}
    assert {o["orderId"] for o in await calls.open_orders(symbol)} == singles | legs
    assert [x["orderListId"] for x in await calls.open_order_lists()] == [oco["orderListId"]]
    held = venue_balances(session.venue.url, session.account.account_id)
    # sells hold base: LIMIT_MAKER, STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, the OCO
    assert held[market.base][1] == quantity * 5
    # buys hold quote at their price, rounded up to 10**-8: LIMIT, TAKE_PROFIT_LIMIT
    assert held[market.quote][1] == _quote(quantity * low, ROUND_CEILING) * 2

    canceled = await calls.cancel(symbol, orders["LIMIT"]["orderId"])
    assert canceled["status"] == "CANCELED" and canceled["orderId"] == orders["LIMIT"]["orderId"]
    reports = await calls.cancel_all(symbol)
    single_reports = [r for r in reports if "orderListId" not in r or r["orderListId"] == -1]
    list_reports = [r for r in reports if r.get("contingencyType") == "OCO"]
    assert {r["orderId"] for r in single_reports} == singles - {orders["LIMIT"]["orderId"]}
    assert all(r["status"] == "CANCELED" for r in single_reports), single_reports
    assert [r["orderListId"] for r in list_reports] == [oco["orderListId"]], reports
    assert list_reports[0]["listOrderStatus"] == "ALL_DONE"
    assert await calls.open_orders(symbol) == []
    assert await calls.open_order_lists() == []
    held = venue_balances(session.venue.url, session.account.account_id)
    assert held[market.base][1] == held[market.quote][1] == 0


async def marketable_orders(session: Session) -> None:
    """MARKET by quantity and by quote quantity, LIMIT IOC and FOK through the book."""
    calls, market, symbol = session.calls, session.venue.market, session.symbol
    bid, ask = session.venue.top()
    quantity = market.order_quantity(ask)
    common = {"symbol": symbol, "newOrderRespType": "FULL"}
    bought = await calls.place(
        {**common, "side": "BUY", "type": "MARKET", "quantity": text(quantity)}
    )
    spend = market.price(quantity * bid)
    sold = await calls.place(
        {**common, "side": "SELL", "type": "MARKET", "quoteOrderQty": text(spend)}
    )
    limit_buy = market.price(ask * D("1.02"), ROUND_CEILING)
    ioc = await calls.place(
        {**common, "side": "BUY", "type": "LIMIT", "timeInForce": "IOC",
         "quantity": text(quantity), "price": text(limit_buy)}
    )  # fmt: skip
    limit_sell = market.price(bid * D("0.98"))
    fok = await calls.place(
        {**common, "side": "SELL", "type": "LIMIT", "timeInForce": "FOK",
         "quantity": text(quantity), "price": text(limit_sell)}
    )  # fmt: skip
    for order in (bought, sold, ioc, fok):
        session.took(order)
        fills = order["fills"]
        assert fills, order
        assert sum(D(f["qty"]) for f in fills) == D(order["executedQty"])
        # each fill's quote amount is price * qty rounded down to 10**-8
        quote = sum(_quote(D(f["price"]) * D(f["qty"])) for f in fills)
        assert quote == D(order["cummulativeQuoteQty"])
    assert D(bought["executedQty"]) == D(ioc["executedQty"]) == D(fok["executedQty"]) == quantity
    assert D(sold["cummulativeQuoteQty"]) <= spend
    assert all(D(f["price"]) <= limit_buy for f in ioc["fills"])
    assert all(D(f["price"]) >= limit_sell for f in fok["fills"])


async def stop_triggered_and_filled(session: Session, kind: str, side: str, *, up: bool) -> None:
    """A stop (or take-profit) order placed where the last trade has not reached, then
    triggered by a trade the helper accounts print at its stop price, then filled (the
    *_LIMIT ones have a marketable limit price)."""
    calls, market, symbol = session.calls, session.venue.market, session.symbol
    for _ in range(_ATTEMPTS):
        stop = stop_price(session.venue, up=up)
        quantity = market.order_quantity(stop)
        params = {
            "symbol": symbol, "side": side, "type": kind,
            "quantity": text(quantity), "stopPrice": text(stop),
        }  # fmt: skip
        if kind.endswith("_LIMIT"):
            limit = (
                market.price(stop * D("1.03"), ROUND_CEILING)
                if side == "BUY"
                else (market.price(stop * D("0.97")))
            )
            params |= {"price": text(limit), "timeInForce": "GTC"}
        try:
            placed = await calls.place(params)
        except Exception as exc:
            if calls.error_code(exc) == WOULD_TRIGGER_OR_MATCH:
                continue  # the market reached the stop first: try again from where it is
            raise
        for _ in range(_ATTEMPTS):
            await asyncio.to_thread(session.traders.print_through, stop, up=up)
            order = await calls.order(symbol, placed["orderId"])
            if order["status"] != "NEW":
                break
        order = await session.wait_status(placed["orderId"], "FILLED")
        assert order["type"] == kind and order["isWorking"] is True, order
        assert D(order["executedQty"]) == quantity
        session.took(order)
        return
    raise AssertionError(f"{kind}: the market kept reaching the stop before it was placed")


async def oco_filled(session: Session) -> None:
    """An OCO sell whose LIMIT_MAKER leg rests at the top of the book and is taken by the
    helper taker: the leg fills as maker, the stop leg expires, the list is done."""
    calls, market, symbol = session.calls, session.venue.market, session.symbol
    for _ in range(_ATTEMPTS):
        bid, ask = session.venue.top()
        last = session.venue.last_price()
        above = max(market.price((bid + ask) / 2, ROUND_CEILING), last + market.tick)
        below = market.price(bid * D("0.6"))
        quantity = market.order_quantity(above)
        try:
            oco = await calls.place_oco(
                {
                    "symbol": symbol,
                    "side": "SELL",
                    "quantity": text(quantity),
                    "aboveType": "LIMIT_MAKER",
                    "abovePrice": text(above),
                    "belowType": "STOP_LOSS_LIMIT",
                    "belowStopPrice": text(below),
                    "belowPrice": text(below),
                    "belowTimeInForce": "GTC",
                }
            )
        except Exception as exc:
            if calls.error_code(exc) == WOULD_TRIGGER_OR_MATCH:
                continue
            raise
        reports = {r["type"]: r for r in oco["orderReports"]}
        maker_id, stop_id = reports["LIMIT_MAKER"]["orderId"], reports["STOP_LOSS_LIMIT"]["orderId"]
        await asyncio.to_thread(session.traders.print_through, above, up=True)
        filled = await session.wait_status(maker_id, "FILLED")
        expired = await session.wait_status(stop_id, "EXPIRED")
        assert filled["orderListId"] == expired["orderListId"] == oco["orderListId"]
        assert D(filled["executedQty"]) == quantity and D(expired["executedQty"]) == 0
        session.took(filled)
        assert await calls.open_order_lists() == []
        trades = await calls.my_trades(symbol)
        assert all(t["isMaker"] for t in trades if t["orderId"] == maker_id)
        return
    raise AssertionError("OCO: the market kept moving through the leg prices")


def _quote(amount: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
    """A quote amount in Binance's whole 10**-8: what a fill moves (rounded down) or a
    buy holds (`ROUND_CEILING`)."""
    return amount.quantize(D("0.00000001"), rounding)
