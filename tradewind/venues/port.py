"""The venue port: what the platform asks of an exchange, whichever it is.

Two adapters implement it: `ccxt_venue.CcxtVenue` (any exchange ccxt supports, REST
plus ccxt's `watch_*` WebSocket methods) and `simulated.inprocess.InProcessVenue`
(calls the matching engine directly: embedded mode and backtests). Symbols are ccxt's
unified `BASE/QUOTE`; money and quantities are `Decimal`; times are ms since the epoch.

Errors are `tradewind.errors.VenueError` subclasses: `VenueUnavailable` (the outcome of
an order request is unknown: look it up by client order id before resending),
`RateLimited` (with `retry_after_s`), `OrderRejectedByVenue` / `InsufficientFunds` (with the
venue's code), `UnknownOrder`, `AuthenticationFailed`.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

import msgspec

from tradewind.domain.model import Liquidity, OrderType, Side, TimeInForce

if TYPE_CHECKING:  # profile.py reads VenueOrderStatus from here
    from tradewind.venues.key_check import KeyCheck
    from tradewind.venues.profile import VenueProfile


class VenueOrderStatus(enum.StrEnum):
    """The platform's order statuses at a venue; each adapter reads its venue's statuses
    into them (`VenueProfile.statuses`, or ccxt's unified ones)."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"

    @property
    def is_open(self) -> bool:
        return self in (VenueOrderStatus.NEW, VenueOrderStatus.PARTIALLY_FILLED)


class Market(msgspec.Struct, frozen=True):
    """A tradable pair and its filters: prices are multiples of `tick_size`, quantities
    of `step_size`, at least `min_quantity`, and price x quantity >= `min_notional`.
    `taker_fee`: the fee of an order that takes liquidity, a fraction of its value, as
    the venue lists it (None: not listed; an account's own rate may differ)."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_quantity: Decimal
    min_notional: Decimal
    taker_fee: Decimal | None = None


class OrderRequest(msgspec.Struct, frozen=True, kw_only=True):
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC


class VenueFill(msgspec.Struct, frozen=True, kw_only=True):
    """One execution of one of the account's orders; `fee` is in `fee_asset`.

    `quote_quantity` is the quote asset the venue moved for it, before fees (the buyer
    paid it, the seller received it): price x quantity rounded to the quote asset's
    precision (e.g. down to 10^-8). None when the venue does not report it.
    """

    trade_id: str
    venue_order_id: str
    client_order_id: str
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal | None = None
    fee: Decimal
    fee_asset: str
    liquidity: Liquidity
    ts_ms: int


class VenueOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the venue reports it. `average_price` is None until something filled.
    `fills`: the executions the report itself carries, where the venue sends them with
    it (an order that executed as it was placed: a placement's answer; an order-stream
    update of an execution, where the venue's stream says it); empty otherwise, and then
    its fills are read apart (`Venue.fetch_my_fills`)."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    status: VenueOrderStatus
    quantity: Decimal
    filled_quantity: Decimal
    price: Decimal | None
    average_price: Decimal | None
    updated_ms: int
    fills: tuple[VenueFill, ...] = ()


class PublicTrade(msgspec.Struct, frozen=True, kw_only=True):
    trade_id: str
    symbol: str
    price: Decimal
    quantity: Decimal
    aggressor: Side
    ts_ms: int


class BookSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Price levels `(price, quantity)`, best first, as of `update_id` (None when the
    venue does not number its book updates)."""

    symbol: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    update_id: int | None
    ts_ms: int


class Candle(msgspec.Struct, frozen=True, kw_only=True):
    """OHLCV over `[open_ms, open_ms + interval)`, volume in the base asset."""

    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


class Balance(msgspec.Struct, frozen=True):
    asset: str
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


class Balances(msgspec.Struct, frozen=True):
    """One reading of an account's balances: every asset it holds (free or locked), and
    `as_of_ms`, the venue's time of the newest change the reading holds: every trade of
    the account at or before it is in these balances, none after it. None where the venue
    does not say."""

    assets: dict[str, Balance]
    as_of_ms: int | None = None


#: Called with the headers of a venue's response (`Venue.on_usage`).
UsageObserver = Callable[[Mapping[str, str]], None]


class Venue(Protocol):
    """One account's session with one exchange."""

    @property
    def name(self) -> str: ...

    async def load_markets(self) -> dict[str, Market]: ...

    async def place_order(self, request: OrderRequest) -> VenueOrder:
        """Send a new order. A `VenueUnavailable` means the outcome is unknown."""
        ...

    async def cancel_order(self, symbol: str, client_order_id: str) -> VenueOrder: ...

    async def fetch_order(self, symbol: str, client_order_id: str) -> VenueOrder:
        """The order with this client order id; `UnknownOrder` if the venue has none."""
        ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]: ...

    async def fetch_balances(self) -> Balances: ...

    async def fetch_my_fills(self, symbol: str, since_ms: int | None = None) -> list[VenueFill]: ...

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> BookSnapshot: ...

    async def fetch_candles(self, symbol: str, interval_s: int, count: int) -> list[Candle]:
        """The last `count` closed candles of `interval_s` seconds (aligned on the Unix
        epoch, as the platform's bars are), oldest first, built from the widest of the
        venue's candle widths that divides `interval_s` (`venues.candles`); a period
        without trades has none. `VenueError` if no width divides it."""
        ...

    def watch_trades(self, symbol: str) -> AsyncIterator[list[PublicTrade]]: ...

    def watch_order_book(self, symbol: str) -> AsyncIterator[BookSnapshot]: ...

    def watch_orders(self) -> AsyncIterator[list[VenueOrder]]:
        """The account's own order updates as they happen."""
        ...

    def on_usage(self, observer: UsageObserver) -> None:
        """Have `observer` called with the headers of each response the venue answers
        (where it reports its rate-limit usage in them: e.g. the weight an address has
        spent this minute), so that the limits execution paces by count what others spent
        too: an execution instance restarted within a window, another one behind the same
        address. A venue with no such reports never calls it."""
        ...

    async def close(self) -> None: ...


class VenueDirectory(Protocol):
    """Where services get venue sessions from: one public session per venue for market
    data, one per exchange account. The application picks the directory
    (`venues.directory`: simulated exchanges in process, or venues reached through ccxt);
    services see only this."""

    @property
    def names(self) -> tuple[str, ...]:
        """The venues this directory serves."""
        ...

    def public(self, venue: str) -> Venue:
        """A session without keys, for market data."""
        ...

    def session(self, venue: str, api_key: str, secret: str, *, egress: str | None = None) -> Venue:
        """A session trading for the account these keys belong to; its calls leave from
        `egress` (a source address; None: the default route)."""
        ...

    async def check_key(self, venue: str, api_key: str, secret: str) -> KeyCheck:
        """A read-only call with the key; AuthenticationFailed if the venue refuses it."""
        ...

    def profile(self, venue: str) -> VenueProfile:
        """What the platform knows of the venue: its adapter's profile."""
        ...
