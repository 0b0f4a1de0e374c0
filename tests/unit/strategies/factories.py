"""Small builders for strategy tests: markets, bars, fills, and `ScriptedContext`, an
in-memory host whose balances and prices a test sets and which records what the
strategy submits. Nothing fills by itself: a test delivers fills it builds with `fill`."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tradewind.domain.events import Bar, Fill, OrderRejected
from tradewind.domain.model import Instrument, Liquidity, OrderType, Side, TimeInForce
from tradewind.strategies.api import OpenOrder, Strategy, client_order_id_for
from tradewind.venues.port import Market

D = Decimal
T0 = 1_700_000_000_000_000_000  # ns
MINUTE_NS = 60_000_000_000
DAY_NS = 86_400_000_000_000


def market(
    symbol: str = "ETH/BTC",
    *,
    tick: str = "0.00001",
    step: str = "0.001",
    min_quantity: str = "0.001",
    min_notional: str = "0.0001",
) -> Market:
    """A market with Binance-like filters (defaults fit ETH/BTC near 0.05)."""
    base, quote = symbol.split("/")
    return Market(symbol, base, quote, D(tick), D(step), D(min_quantity), D(min_notional))


def bar(
    symbol: str,
    close: str | Decimal,
    *,
    open_ns: int = T0,
    open: str | Decimal | None = None,
    high: str | Decimal | None = None,
    low: str | Decimal | None = None,
    interval_s: int = 300,
) -> Bar:
    """A bar of `symbol`; open/high/low default to the close."""
    c = D(close)
    o = D(open) if open is not None else c
    return Bar(
        instrument=Instrument.parse("sim", symbol),
        interval_s=interval_s,
        open_ns=open_ns,
        open=o,
        high=D(high) if high is not None else max(o, c),
        low=D(low) if low is not None else min(o, c),
        close=c,
        volume=D(1),
    )


@dataclass
class Submitted:
    intent_id: str
    side: Side
    symbol: str
    quantity: Decimal
    order_type: OrderType
    price: Decimal | None
    tif: TimeInForce

    account_id: str = "acc-1"
    bot_id: str = "bot-1"

    @property
    def client_order_id(self) -> str:
        return client_order_id_for(self.account_id, self.bot_id, self.intent_id)

    @property
    def value(self) -> Decimal:
        """Quantity x price (the limit price; market orders need `price` passed in)."""
        assert self.price is not None
        return self.quantity * self.price


@dataclass
class ScriptedContext:
    """A `StrategyContext` whose world the test scripts. Submitted orders stay open
    (in `open_orders()`) until the test calls `close`."""

    strategy: Strategy
    markets: dict[str, Market]
    free: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[str, Decimal] = field(default_factory=dict)
    prices: dict[str, Decimal] = field(default_factory=dict)
    now_ns: int = T0
    account_id: str = "acc-1"
    bot_id: str = "bot-1"
    submitted: list[Submitted] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    timer_s: float | None = None
    _open: dict[str, OpenOrder] = field(default_factory=dict)

    def balances(self) -> dict[str, Decimal]:
        return dict(self.free)

    def position(self, symbol: str) -> Decimal:
        return self.positions.get(symbol, D(0))

    def price(self, symbol: str) -> Decimal | None:
        return self.prices.get(symbol)

    def market(self, symbol: str) -> Market:
        return self.markets[symbol]

    def open_orders(self) -> list[OpenOrder]:
        return list(self._open.values())

    def submit(
        self,
        side: Side,
        symbol: str,
        quantity: Decimal,
        *,
        order_type: OrderType,
        price: Decimal | None = None,
        tif: TimeInForce = TimeInForce.GTC,
    ) -> str:
        intent_id = self.strategy.next_intent_id(self.bot_id)
        self.submitted.append(Submitted(intent_id, side, symbol, quantity, order_type, price, tif))
        self._open[intent_id] = OpenOrder(
            intent_id=intent_id,
            client_order_id=client_order_id_for(self.account_id, self.bot_id, intent_id),
            symbol=symbol,
            side=side,
            order_type=order_type,
            quantity=quantity,
            price=price,
            time_in_force=tif,
        )
        return intent_id

    def cancel(self, intent_id: str) -> None:
        self.canceled.append(intent_id)
        self._open.pop(intent_id, None)

    def set_timer(self, interval_s: float) -> None:
        self.timer_s = interval_s

    # -- for the tests ------------------------------------------------------------

    def close(self, intent_id: str) -> None:
        """The order is no longer open (filled, canceled or rejected)."""
        self._open.pop(intent_id, None)

    def take_submitted(self) -> list[Submitted]:
        """What was submitted since the last call."""
        taken, self.submitted = self.submitted, []
        return taken


def fill(
    order: Submitted,
    *,
    price: str | Decimal | None = None,
    quantity: str | Decimal | None = None,
    fee: str | Decimal = "0",
    fee_asset: str | None = None,
    ts_ns: int = T0,
) -> Fill:
    """A fill of `order` (whole, at its limit price, unless told otherwise); the fee is
    in the base asset by default for buys and the quote for sells."""
    instrument = Instrument.parse("sim", order.symbol)
    fill_price = D(price) if price is not None else order.price
    assert fill_price is not None, "a market order's fill needs a price"
    return Fill(
        account_id="acc-1",
        client_order_id=order.client_order_id,
        venue_order_id=order.intent_id,
        trade_id=f"t-{order.intent_id}",
        instrument=instrument,
        side=order.side,
        price=fill_price,
        quantity=D(quantity) if quantity is not None else order.quantity,
        fee=D(fee),
        fee_asset=fee_asset or (instrument.base if order.side is Side.BUY else instrument.quote),
        liquidity=Liquidity.MAKER,
        ts_ns=ts_ns,
    )


def rejection(order: Submitted, reason: str = "insufficient balance") -> OrderRejected:
    return OrderRejected(
        account_id="acc-1",
        client_order_id=order.client_order_id,
        instrument=Instrument.parse("sim", order.symbol),
        ts_ns=T0,
        reason=reason,
        source="venue",
    )
