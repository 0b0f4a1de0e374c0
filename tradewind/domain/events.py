"""The domain's events: facts that cross the bus (what happened), as frozen msgspec
Structs. What one part asks another to do is a command (`commands.py`).

Every event is a member of the tagged union `Event`; its tag (the `type` field on the
wire) names it, so a consumer decodes any event without knowing it in advance. Times are
integers in nanoseconds since the Unix epoch (UTC). Money and quantities are `Decimal`.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from tradewind.domain.analytics_figures import AccountFigures
from tradewind.domain.exact import EXACT
from tradewind.domain.kill_switches import KillSwitchScope
from tradewind.domain.model import Instrument, Liquidity, OrderType, Side


class BaseEvent(msgspec.Struct, frozen=True, tag_field="type", kw_only=True):
    """Base of every event; the subclass's `tag` is its type on the wire."""


# -- market data ----------------------------------------------------------------------


class TradeTick(BaseEvent, frozen=True, tag="md.trade"):
    instrument: Instrument
    price: Decimal
    quantity: Decimal
    aggressor: Side
    trade_id: str
    ts_ns: int


class BookLevel(msgspec.Struct, frozen=True, array_like=True):
    """One price level; `quantity` 0 in an update removes the level."""

    price: Decimal
    quantity: Decimal


class OrderBookSnapshot(BaseEvent, frozen=True, tag="md.book.snapshot"):
    """Full book state as of `update_id`; bids best (highest) first, asks best first."""

    instrument: Instrument
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    update_id: int
    ts_ns: int


class OrderBookUpdate(BaseEvent, frozen=True, tag="md.book.update"):
    """Changed levels covering update ids `first_update_id..final_update_id` inclusive."""

    instrument: Instrument
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    first_update_id: int
    final_update_id: int
    ts_ns: int


class Bar(BaseEvent, frozen=True, tag="md.bar"):
    """OHLCV over `[open_ns, open_ns + interval_s * NS_PER_S)`; volume in the base asset."""

    instrument: Instrument
    interval_s: int
    open_ns: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


# -- orders ---------------------------------------------------------------------------


class OrderEventBase(BaseEvent, frozen=True):
    account_id: str
    client_order_id: str
    instrument: Instrument
    ts_ns: int


class OrderAccepted(OrderEventBase, frozen=True, tag="order.accepted"):
    venue_order_id: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None


class OrderRejected(OrderEventBase, frozen=True, tag="order.rejected"):
    """Refused by risk or by the venue; `reason` is meant for the user to read."""

    reason: str
    source: str  # "risk", "execution" or "venue"


class OrderPartiallyFilled(OrderEventBase, frozen=True, tag="order.partially_filled"):
    venue_order_id: str
    filled_quantity: Decimal
    remaining_quantity: Decimal


class OrderFilled(OrderEventBase, frozen=True, tag="order.filled"):
    venue_order_id: str
    filled_quantity: Decimal


class OrderCanceled(OrderEventBase, frozen=True, tag="order.canceled"):
    venue_order_id: str
    filled_quantity: Decimal
    reason: str = ""


class OrderExpired(OrderEventBase, frozen=True, tag="order.expired"):
    venue_order_id: str
    filled_quantity: Decimal


class Fill(BaseEvent, frozen=True, tag="order.fill"):
    """One execution; `fee` is in `fee_asset`, `price` in the quote asset.

    `quote_quantity` is the quote asset the venue moved for it, before fees (the buyer
    paid it, the seller received it): price x quantity rounded to the quote asset's
    precision (e.g. rounded down to 10^-8), so books kept from fills
    can equal the venue's balances to the last digit. None when the venue did not report
    it, and in fills published before the field existed; `quote_amount` falls back to
    price x quantity then.
    """

    account_id: str
    client_order_id: str
    venue_order_id: str
    trade_id: str
    instrument: Instrument
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: Liquidity
    ts_ns: int
    quote_quantity: Decimal | None = None

    @property
    def quote_amount(self) -> Decimal:
        """The quote asset that changed hands, before fees: `quote_quantity` when the
        venue reported it, else price x quantity (exact)."""
        if self.quote_quantity is not None:
            return self.quote_quantity
        return EXACT.multiply(self.price, self.quantity)


# -- accounts and portfolio -----------------------------------------------------------


class BalanceUpdate(BaseEvent, frozen=True, tag="account.balance"):
    """An asset's balance as the venue reports it: `free` plus `locked` in open orders.
    The updates of one reading share `ts_ns`.

    `settled`: no order of the account moved while the balances were read, so fills
    published before this update are in it and none published after it is. An unsettled
    reading (orders kept moving: published anyway where a starting point is needed, for
    risk or for books that have none) may already hold fills that arrive after it;
    books that have a starting point ignore it, or those fills would count twice.

    `as_of_ns`: the venue's time of the newest change this reading holds (its update
    time), where the venue says: every trade of the account at or before it is
    in these balances, none after it; books use it to tell a late fill already counted
    here from a new one (`Portfolio.in_balances`), whatever instance published what."""

    account_id: str
    venue: str
    asset: str
    free: Decimal
    locked: Decimal
    ts_ns: int
    settled: bool = True
    as_of_ns: int | None = None


class PositionUpdate(BaseEvent, frozen=True, tag="account.position"):
    account_id: str
    instrument: Instrument
    quantity: Decimal
    average_cost: Decimal
    ts_ns: int


class PortfolioUpdate(BaseEvent, frozen=True, tag="portfolio.update"):
    """An account's valuation, in `valuation_asset`. `fees` and `traded` (the quote
    amounts of every fill booked) are cumulative since the books began."""

    account_id: str
    valuation_asset: str
    equity: Decimal
    cash: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    balances: dict[str, Decimal]
    ts_ns: int
    traded: Decimal = Decimal(0)


class AnalyticsUpdate(BaseEvent, AccountFigures, frozen=True, tag="analytics.update"):
    """An account's performance and risk over its recent equity (`period_s` returns
    since `since_ns`, its newest `equity` in `valuation_asset`), as computed by the
    analytics service at `ts_ns` (docs/analytics.md). The figures are the fields of
    `AccountFigures`, the same as the API's (`analytics_figures.figures_json` writes
    both); ratios are floats (analytics may: ARCHITECTURE.md)."""

    account_id: str
    valuation_asset: str
    equity: Decimal
    since_ns: int
    ts_ns: int


class KillSwitchChanged(BaseEvent, frozen=True, kw_only=True, tag="risk.kill_switch"):
    """A kill switch was engaged (`engaged` True) or released. `target` is "" for the
    global switch, else the venue, account id or bot id. `cancel_open_orders` asks
    execution to cancel the open orders the switch covers."""

    scope: KillSwitchScope
    target: str
    engaged: bool
    reason: str
    actor_id: str
    cancel_open_orders: bool = False
    ts_ns: int


# -- the bus's own --------------------------------------------------------------------


class DeadLetter(BaseEvent, frozen=True, tag="bus.dead_letter"):
    """An event a consumer group gave up on, with why. `raw` is the original message as
    it was on the wire (msgpack), kept whole even when it could not be decoded."""

    topic: str
    group: str
    reason: str
    attempts: int
    event_id: str
    raw: bytes
    ts_ns: int


Event = (
    TradeTick
    | OrderBookSnapshot
    | OrderBookUpdate
    | Bar
    | OrderAccepted
    | OrderRejected
    | OrderPartiallyFilled
    | OrderFilled
    | OrderCanceled
    | OrderExpired
    | Fill
    | BalanceUpdate
    | PositionUpdate
    | PortfolioUpdate
    | AnalyticsUpdate
    | KillSwitchChanged
    | DeadLetter
)
