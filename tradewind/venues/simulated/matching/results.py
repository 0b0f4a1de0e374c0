"""What the engine returns: immutable values a Binance-compatible server turns into
REST responses and user-data / depth stream events.

Each value keeps the engine's integers (ticks, lot steps, notional units, amount units —
see `filters`) in fields named by their unit, and exposes the `Decimal` the API speaks
through properties, computed only when read. Times are ns since the Unix epoch (UTC), as
given by the caller; `*_ms` properties give Binance's milliseconds.

They are not wire types (their `rules` field is the engine's scale, which msgspec cannot
encode): the server maps them to its own Binance-shaped responses and events.
"""

from __future__ import annotations

import enum
from decimal import Decimal

import msgspec

from tradewind.domain.events import BookLevel
from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.matching.filters import MarketRules, units_to_amount


class MatchingOrderStatus(enum.StrEnum):
    """Binance's order statuses.

    `EXPIRED` is a market/IOC/FOK remainder the book could not fill (or a market buy
    that ran out of free quote); `EXPIRED_IN_MATCH` is a remainder expired by self-trade
    prevention. `REJECTED` is never stored: a refused order raises `SubmitRejected`.
    """

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"
    REJECTED = "REJECTED"


class StopType(enum.StrEnum):
    """What a contingent order waits for. With `OrderType.MARKET` it is Binance's
    STOP_LOSS / TAKE_PROFIT, with `OrderType.LIMIT` STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT.

    A BUY STOP_LOSS and a SELL TAKE_PROFIT trigger when a trade prints at or above the
    stop price; a SELL STOP_LOSS and a BUY TAKE_PROFIT at or below it.
    """

    STOP_LOSS = "STOP_LOSS"
    TAKE_PROFIT = "TAKE_PROFIT"


class OrderSnapshot(msgspec.Struct, frozen=True, gc=False):
    """An order's state at the moment it was read.

    `price_ticks` is 0 for market orders; `cumulative_quote_units` (amount units of the
    quote asset) is the sum of its trades' quote amounts; `quote_order_units` (the same
    unit) is 0 unless it is a market order by quote amount, whose `quantity_steps` is
    then what it executed, as Binance reports `origQty`. A stop or take-profit order has
    a `stop_type` and `stop_price_ticks`; it waits (NEW, not working, `working_ns` 0) until
    a trade reaches its stop price, then works as `order_type` under the same order id.
    `order_list_id` is the OCO it belongs to, -1 if none.
    """

    symbol: str
    order_id: int
    client_order_id: str
    account_id: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce | None
    status: MatchingOrderStatus
    price_ticks: int
    quantity_steps: int
    executed_steps: int
    cumulative_quote_units: int
    quote_order_units: int
    created_ns: int
    updated_ns: int
    rules: MarketRules
    stop_type: StopType | None = None
    stop_price_ticks: int = 0
    working_ns: int = 0
    order_list_id: int = -1

    @property
    def price(self) -> Decimal:
        """Limit price in the quote asset; 0 for market orders, as Binance shows it."""
        return self.rules.price(self.price_ticks)

    @property
    def quantity(self) -> Decimal:
        """Ordered quantity in the base asset (Binance `origQty`)."""
        return self.rules.quantity(self.quantity_steps)

    @property
    def executed_quantity(self) -> Decimal:
        """Filled quantity in the base asset (Binance `executedQty`)."""
        return self.rules.quantity(self.executed_steps)

    @property
    def remaining_quantity(self) -> Decimal:
        """Unfilled quantity in the base asset; it rests only while the order is open."""
        return self.rules.quantity(self.quantity_steps - self.executed_steps)

    @property
    def cumulative_quote_quantity(self) -> Decimal:
        """Sum of its trades' quote amounts (`cummulativeQuoteQty`), quote asset."""
        return units_to_amount(self.cumulative_quote_units)

    @property
    def quote_order_quantity(self) -> Decimal:
        """Quote amount of a market order by quote (`origQuoteOrderQty`), else 0."""
        return units_to_amount(self.quote_order_units)

    @property
    def is_open(self) -> bool:
        """True while the order rests on the book or waits for its stop price."""
        return (
            self.status is MatchingOrderStatus.NEW
            or self.status is MatchingOrderStatus.PARTIALLY_FILLED
        )

    @property
    def stop_price(self) -> Decimal:
        """Trigger price in the quote asset; 0 unless it is a stop or take-profit order."""
        return self.rules.price(self.stop_price_ticks)

    @property
    def is_working(self) -> bool:
        """False only for a stop or take-profit order still waiting for its trigger."""
        return self.working_ns != 0

    @property
    def working_ms(self) -> int:
        """When the order started working (Binance `workingTime`); -1 while it waits."""
        return self.working_ns // NS_PER_MS if self.working_ns else -1

    @property
    def created_ms(self) -> int:
        return self.created_ns // NS_PER_MS

    @property
    def updated_ms(self) -> int:
        return self.updated_ns // NS_PER_MS


class Trade(msgspec.Struct, frozen=True, gc=False):
    """One fill between a resting (maker) and an incoming (taker) order.

    `quote_units` (amount units of the quote asset) is what the buyer paid and the
    seller received: price * quantity rounded down to a whole 10**-8, as Binance's
    `quoteQty`. Each side pays its fee in the asset it receives: the buyer in the base
    asset, the seller in the quote asset (`*_fee_units` are amount units). `maker_*` and
    `taker_*` counters are each order's cumulative state right after this fill, so
    per-fill executionReports can be built in order.
    """

    symbol: str
    trade_id: int
    price_ticks: int
    quantity_steps: int
    quote_units: int
    maker_side: Side
    maker_order_id: int
    taker_order_id: int
    maker_client_order_id: str
    taker_client_order_id: str
    maker_account_id: str
    taker_account_id: str
    maker_fee_units: int
    taker_fee_units: int
    maker_executed_steps: int
    maker_cumulative_quote_units: int
    maker_status: MatchingOrderStatus
    taker_executed_steps: int
    taker_cumulative_quote_units: int
    ts_ns: int
    rules: MarketRules

    @property
    def price(self) -> Decimal:
        """Execution price (the maker's limit price), quote asset per base unit."""
        return self.rules.price(self.price_ticks)

    @property
    def quantity(self) -> Decimal:
        """Executed quantity in the base asset."""
        return self.rules.quantity(self.quantity_steps)

    @property
    def quote_quantity(self) -> Decimal:
        """What the buyer paid and the seller received, quote asset (`quoteQty`)."""
        return units_to_amount(self.quote_units)

    @property
    def is_buyer_maker(self) -> bool:
        return self.maker_side is Side.BUY

    @property
    def buyer_account_id(self) -> str:
        return self.maker_account_id if self.maker_side is Side.BUY else self.taker_account_id

    @property
    def seller_account_id(self) -> str:
        return self.taker_account_id if self.maker_side is Side.BUY else self.maker_account_id

    @property
    def buyer_order_id(self) -> int:
        return self.maker_order_id if self.maker_side is Side.BUY else self.taker_order_id

    @property
    def seller_order_id(self) -> int:
        return self.taker_order_id if self.maker_side is Side.BUY else self.maker_order_id

    @property
    def maker_fee(self) -> Decimal:
        """Maker's commission, in `maker_fee_asset`."""
        return units_to_amount(self.maker_fee_units)

    @property
    def taker_fee(self) -> Decimal:
        """Taker's commission, in `taker_fee_asset`."""
        return units_to_amount(self.taker_fee_units)

    @property
    def maker_fee_asset(self) -> str:
        return self.rules.base if self.maker_side is Side.BUY else self.rules.quote

    @property
    def taker_fee_asset(self) -> str:
        return self.rules.quote if self.maker_side is Side.BUY else self.rules.base

    def fee_for(self, account_id: str) -> tuple[Decimal, str]:
        """The commission `account_id` paid on this trade, and its asset."""
        if account_id == self.maker_account_id:
            return self.maker_fee, self.maker_fee_asset
        if account_id == self.taker_account_id:
            return self.taker_fee, self.taker_fee_asset
        raise ValueError(f"account {account_id!r} took no part in trade {self.trade_id}")

    @property
    def time_ms(self) -> int:
        return self.ts_ns // NS_PER_MS


class SubmitResult(msgspec.Struct, frozen=True, gc=False):
    """The outcome of one accepted order: its state when the call returned and its fills.

    `prevented_maker_order_id` names the own resting order that made self-trade
    prevention expire the rest of this order (status EXPIRED_IN_MATCH), else None.
    `consequences` are what its fills set off, in order: stop orders they triggered
    (with those orders' own fills and consequences flattened in), OCO legs that expired
    because their sibling traded or triggered, and the order lists that ended.
    """

    order: OrderSnapshot
    trades: list[Trade]
    prevented_maker_order_id: int | None = None
    consequences: tuple[Consequence, ...] = ()


class TriggeredOrder(msgspec.Struct, frozen=True, gc=False):
    """A stop or take-profit order whose stop price was reached: `result.order` is its
    state after it worked (same order id), `result.trades` the fills it took."""

    result: SubmitResult
    triggered_ns: int


class ExpiredOrder(msgspec.Struct, frozen=True, gc=False):
    """An OCO leg that expired because the other leg traded or triggered."""

    order: OrderSnapshot


class OrderListSnapshot(msgspec.Struct, frozen=True, gc=False):
    """An order list (Binance's OCO) as of one moment.

    `list_status_type` is EXEC_STARTED while both legs wait, ALL_DONE once one leg
    traded or triggered (and the other expired) or the list was canceled;
    `list_order_status` is EXECUTING or ALL_DONE alongside. `orders` are its legs, the
    stop-loss leg first, as Binance lists them.
    """

    order_list_id: int
    list_client_order_id: str
    symbol: str
    account_id: str
    list_status_type: str
    list_order_status: str
    transaction_ns: int
    orders: tuple[OrderSnapshot, ...]

    @property
    def contingency_type(self) -> str:
        return "OCO"

    @property
    def is_open(self) -> bool:
        return self.list_order_status == "EXECUTING"

    @property
    def transaction_ms(self) -> int:
        return self.transaction_ns // NS_PER_MS


class OrderListUpdate(msgspec.Struct, frozen=True, gc=False):
    """An order list changed status (Binance's `listStatus` event)."""

    order_list: OrderListSnapshot


Consequence = TriggeredOrder | ExpiredOrder | OrderListUpdate


class BalanceSnapshot(msgspec.Struct, frozen=True):
    """One asset of one account: `free` to trade, `locked` by open orders."""

    asset: str
    free: Decimal
    locked: Decimal


class DepthSnapshot(msgspec.Struct, frozen=True):
    """Aggregated levels, best first, as of `last_update_id` (Binance `GET /depth`)."""

    symbol: str
    last_update_id: int
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]


class DepthUpdate(msgspec.Struct, frozen=True):
    """Levels changed by update ids `first_update_id..final_update_id` (Binance `U`/`u`).

    Quantities are the level's new total; 0 means the level is gone.
    """

    symbol: str
    first_update_id: int
    final_update_id: int
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]


class BookTicker(msgspec.Struct, frozen=True):
    """Best bid and ask with their total quantities; None where that side is empty."""

    symbol: str
    update_id: int
    bid_price: Decimal | None
    bid_quantity: Decimal | None
    ask_price: Decimal | None
    ask_quantity: Decimal | None
