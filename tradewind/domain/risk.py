"""Pre-trade risk: the checks every `OrderIntent` passes before execution sees it.

`check(intent, state, limits, now_ns)` answers `Approved` or `Rejected(reason, rule)`;
the reason is one sentence a user understands, with the numbers that decided it. The
rules, in the order they run (the first that refuses decides):

1. kill switches (global, venue, account, bot: the broadest engaged one is named);
2. a well-formed order (positive quantity; a limit order has a positive price);
3. a price to value it at: a limit order's own price, a market order's last price;
4. the price band: a limit price at most `price_band_bps` from the last price;
5. the max order value, quantity x price, in the instrument's quote asset;
6. the max position value per instrument, in the quote asset at the last price (one
   number then fits every instrument with that quote, where a base-quantity cap would
   need one per instrument); orders that shrink the position always pass;
7. the daily loss limit: once equity has fallen that much (realised + unrealised, in the
   valuation asset) since 00:00 UTC, only orders that reduce a position pass;
8. available balance: a buy needs its value plus a fee margin in free quote asset, a
   sell its quantity in free base asset;
9. orders per second per account, a token bucket; only an otherwise approved order
   takes a token, so refused ones never use up the rate.

Limits keyed by quote asset (max order value, max position value) do not apply to
instruments whose quote asset has none. Pure: no I/O, no clock (`now_ns` is ns since
the Unix epoch); amounts are `Decimal`, compared exactly.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Collection
from decimal import ROUND_UP, Decimal

import msgspec
from msgspec import UNSET, UnsetType

from tradewind.domain.commands import OrderIntent
from tradewind.domain.events import BalanceUpdate, Fill, PortfolioUpdate, PositionUpdate, TradeTick
from tradewind.domain.exact import WIDE
from tradewind.domain.kill_switches import KillSwitches
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.domain.rate_limits import TokenBucket
from tradewind.domain.time_units import NS_PER_DAY

_BPS = Decimal(10_000)


class Rule(enum.StrEnum):
    """The rule a `Rejected` names (stable strings, fit for metrics labels)."""

    KILL_SWITCH = "kill_switch"
    ORDER_SHAPE = "order_shape"
    LAST_PRICE = "last_price"
    PRICE_BAND = "price_band"
    MAX_ORDER_VALUE = "max_order_value"
    MAX_POSITION_VALUE = "max_position_value"
    DAILY_LOSS = "daily_loss"
    BALANCE = "balance"
    ORDER_RATE = "orders_per_second"


class Approved(msgspec.Struct, frozen=True):
    """The intent may go to execution; `order_value` is quantity x price in quote asset."""

    order_value: Decimal


class Rejected(msgspec.Struct, frozen=True):
    """The intent is refused: `reason` is for the user, `rule` a `Rule` value."""

    reason: str
    rule: str


class AccountLimits(msgspec.Struct, frozen=True, kw_only=True):
    """One account's limits; None (or no entry for a quote asset) means no limit.

    `max_order_value` and `max_position_value` are per quote asset, e.g.
    `{"USDT": Decimal(10_000)}`. `daily_loss_limit` is in the account's valuation asset
    (the one its `PortfolioUpdate` uses). `max_orders_per_second` refills a bucket of
    `order_burst` orders (default: the rate rounded up). `price_band_bps` and
    `fee_margin_bps` are basis points (1/100 of a percent).
    """

    max_order_value: dict[str, Decimal] = {}
    max_position_value: dict[str, Decimal] = {}
    daily_loss_limit: Decimal | None = None
    max_orders_per_second: float | None = None
    order_burst: int | None = None
    price_band_bps: Decimal | None = None
    fee_margin_bps: Decimal = Decimal(10)

    def __post_init__(self) -> None:
        amounts = {
            **{f"max_order_value[{k}]": v for k, v in self.max_order_value.items()},
            **{f"max_position_value[{k}]": v for k, v in self.max_position_value.items()},
            "daily_loss_limit": self.daily_loss_limit,
            "price_band_bps": self.price_band_bps,
            "fee_margin_bps": self.fee_margin_bps,
        }
        for name, value in amounts.items():
            if value is not None and not (value.is_finite() and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value}")
        if self.max_orders_per_second is not None and not self.max_orders_per_second > 0:
            raise ValueError(f"max_orders_per_second must be > 0, got {self.max_orders_per_second}")
        if self.order_burst is not None and self.order_burst < 1:
            raise ValueError(f"order_burst must be at least 1, got {self.order_burst}")


class LimitOverrides(msgspec.Struct, frozen=True, kw_only=True):
    """An account's departures from the defaults: a field left UNSET keeps the default,
    None removes the limit; a per-asset dict replaces the default dict whole."""

    max_order_value: dict[str, Decimal] | UnsetType = UNSET
    max_position_value: dict[str, Decimal] | UnsetType = UNSET
    daily_loss_limit: Decimal | UnsetType | None = UNSET
    max_orders_per_second: float | UnsetType | None = UNSET
    order_burst: int | UnsetType | None = UNSET
    price_band_bps: Decimal | UnsetType | None = UNSET
    fee_margin_bps: Decimal | UnsetType = UNSET


class RiskLimits(msgspec.Struct, frozen=True, kw_only=True):
    """The limits of every account: `defaults`, and `accounts` overrides by account id."""

    defaults: AccountLimits = AccountLimits()
    accounts: dict[str, LimitOverrides] = {}

    def for_account(self, account_id: str) -> AccountLimits:
        """The defaults with `account_id`'s overrides applied."""
        overrides = self.accounts.get(account_id)
        if overrides is None:
            return self.defaults
        changes = {
            name: value
            for name in overrides.__struct_fields__
            if (value := getattr(overrides, name)) is not UNSET
        }
        return msgspec.structs.replace(self.defaults, **changes)


class AccountEquity(msgspec.Struct, frozen=True):
    """An account's equity in `valuation_asset` as of `as_of_ns`, and what it was at
    `day_start_ns` (00:00 UTC of that day); times in ns since the epoch."""

    valuation_asset: str
    equity: Decimal
    as_of_ns: int
    day_start_equity: Decimal
    day_start_ns: int

    def loss_today(self, now_ns: int) -> Decimal:
        """Equity lost since 00:00 UTC of `now_ns`'s day (negative for a gain); 0 if no
        update has come yet that day."""
        if self.day_start_ns < utc_day_start_ns(now_ns):
            return Decimal(0)
        return WIDE.subtract(self.day_start_equity, self.equity)


def utc_day_start_ns(now_ns: int) -> int:
    """00:00 UTC of the day that `now_ns` (ns since the epoch) falls in, in ns."""
    return now_ns - now_ns % NS_PER_DAY


class RiskState:
    """What the risk service knows and keeps up to date from the bus: last prices,
    positions, free balances, equity, and the kill switches and order-rate buckets."""

    def __init__(self, kill_switches: KillSwitches | None = None) -> None:
        self.kill_switches = kill_switches or KillSwitches()
        self._last_prices: dict[Instrument, Decimal] = {}
        self._positions: dict[tuple[str, Instrument], Decimal] = {}
        self._available: dict[tuple[str, str, str], Decimal] = {}
        self._balances_seen: set[str] = set()  # accounts with a venue balance in
        self._equity: dict[str, AccountEquity] = {}
        self._order_buckets: dict[str, TokenBucket] = {}

    def apply(
        self, event: TradeTick | BalanceUpdate | PositionUpdate | PortfolioUpdate | Fill
    ) -> None:
        """Take in an event of the kinds the risk service consumes."""
        if isinstance(event, TradeTick):
            self.set_last_price(event.instrument, event.price)
        elif isinstance(event, Fill):
            self.apply_fill(event)
        elif isinstance(event, BalanceUpdate):
            self.set_available(event.account_id, event.venue, event.asset, event.free)
        elif isinstance(event, PositionUpdate):
            self.set_position(event.account_id, event.instrument, event.quantity)
        else:
            self.set_equity(event.account_id, event.valuation_asset, event.equity, event.ts_ns)

    def set_last_price(self, instrument: Instrument, price: Decimal) -> None:
        self._last_prices[instrument] = price

    def last_price(self, instrument: Instrument) -> Decimal | None:
        return self._last_prices.get(instrument)

    def set_position(self, account_id: str, instrument: Instrument, quantity: Decimal) -> None:
        """Signed position in base asset (negative short); include open orders' remaining
        quantity if pending exposure should count against the position limit."""
        self._positions[account_id, instrument] = quantity

    def position(self, account_id: str, instrument: Instrument) -> Decimal:
        return self._positions.get((account_id, instrument), Decimal(0))

    def knows_position(self, account_id: str, instrument: Instrument) -> bool:
        return (account_id, instrument) in self._positions

    def set_available(self, account_id: str, venue: str, asset: str, free: Decimal) -> None:
        """Free (not locked in open orders) balance of `asset` on the account's venue."""
        self._available[account_id, venue, asset] = free
        self._balances_seen.add(account_id)

    def knows_balances(self, account_id: str) -> bool:
        """Whether a venue balance of the account came in (else its balances are not
        zero but unknown: after a restart, or a partition that moved)."""
        return account_id in self._balances_seen

    def apply_fill(self, fill: Fill) -> None:
        """Move the free balances by a fill until the venue's next `BalanceUpdate`: the
        asset received (net of a fee charged in it) becomes available at once, so a
        strategy can sell what it just bought; the asset given is taken off, never below
        zero (for a limit order the venue had locked it already, which only makes this
        view more cautious until the venue's balances arrive). The quote asset moves by
        `fill.quote_amount`: the venue's own rounded amount when the fill carries it."""
        venue = fill.instrument.venue
        base, quote = fill.instrument.base, fill.instrument.quote
        notional = fill.quote_amount
        if fill.side is Side.BUY:
            received, got, gave, spent = base, fill.quantity, quote, notional
        else:
            received, got, gave, spent = quote, notional, base, fill.quantity
        if fill.fee_asset == received:
            got -= fill.fee
        account = fill.account_id
        self._available[account, venue, received] = self.available(account, venue, received) + got
        left = self.available(account, venue, gave) - spent
        self._available[account, venue, gave] = max(left, Decimal(0))

    def available(self, account_id: str, venue: str, asset: str) -> Decimal:
        return self._available.get((account_id, venue, asset), Decimal(0))

    def set_equity(
        self,
        account_id: str,
        valuation_asset: str,
        equity: Decimal,
        now_ns: int,
        *,
        day_start_equity: Decimal | None = None,
    ) -> None:
        """Record the account's equity at `now_ns`. The first update of a UTC day takes
        the last equity seen before it as the day's starting equity (an account seen for
        the first time starts at its current equity); pass `day_start_equity` to set it
        from a snapshot instead, e.g. after a restart. An update older than the one held
        (a redelivery) is ignored."""
        today = utc_day_start_ns(now_ns)
        known = self._equity.get(account_id)
        if known is not None and now_ns < known.as_of_ns:
            return
        if day_start_equity is None:
            if known is None or known.valuation_asset != valuation_asset:
                day_start_equity = equity
            elif known.day_start_ns < today:
                day_start_equity = known.equity
            else:
                day_start_equity = known.day_start_equity
        self._equity[account_id] = AccountEquity(
            valuation_asset, equity, now_ns, day_start_equity, today
        )

    def equity(self, account_id: str) -> AccountEquity | None:
        return self._equity.get(account_id)

    def forget(self, account_ids: Collection[str]) -> None:
        """Let go of these accounts' positions, balances and equity (their partition
        moved to a twin): met again, they are rebuilt, not taken from when they left.
        Order-rate buckets stay: forgetting one would hand out a fresh burst."""
        if not account_ids:
            return
        gone = set(account_ids)
        self._positions = {k: v for k, v in self._positions.items() if k[0] not in gone}
        self._available = {k: v for k, v in self._available.items() if k[0] not in gone}
        self._balances_seen -= gone
        for account_id in gone:
            self._equity.pop(account_id, None)

    def accounts(self) -> set[str]:
        """Accounts with any position, balance or equity known."""
        known = {k[0] for k in self._positions} | {k[0] for k in self._available}
        return known | self._balances_seen | self._equity.keys()

    def order_bucket(self, account_id: str, rate_per_s: float, burst: int) -> TokenBucket:
        """The account's order-rate bucket, new (full) if the rate or burst changed."""
        bucket = self._order_buckets.get(account_id)
        if bucket is None or bucket.rate_per_s != rate_per_s or bucket.burst != burst:
            bucket = self._order_buckets[account_id] = TokenBucket(rate_per_s, burst)
        return bucket


def check(
    intent: OrderIntent, state: RiskState, limits: RiskLimits, now_ns: int
) -> Approved | Rejected:
    """Run every pre-trade rule on `intent` (see the module docstring for the order).
    Only an approval changes `state`: it takes a token from the account's order bucket."""
    halted = state.kill_switches.blocked(
        venue=intent.instrument.venue, account_id=intent.account_id, bot_id=intent.bot_id
    )
    if halted is not None:
        return Rejected(halted, Rule.KILL_SWITCH)
    account = limits.for_account(intent.account_id)
    priced = _shape_and_price(intent, state)
    if isinstance(priced, Rejected):
        return priced
    price, last = priced
    value = WIDE.multiply(intent.quantity, price)
    refusal = (
        _price_band(intent, price, last, account)
        or _max_order_value(intent, value, account)
        or _max_position_value(intent, state, price if last is None else last, account)
        or _daily_loss(intent, state, account, now_ns)
        or _balance(intent, state, value, account)
        or _order_rate(intent, state, account, now_ns)
    )
    return refusal or Approved(value)


def reduces_position(position: Decimal, side: Side, quantity: Decimal) -> bool:
    """Whether trading `quantity` on `side` moves `position` toward zero, not past it."""
    if side is Side.SELL:
        return position > 0 and quantity <= position
    return position < 0 and quantity <= -position


def _shape_and_price(
    intent: OrderIntent, state: RiskState
) -> tuple[Decimal, Decimal | None] | Rejected:
    """(the price to value the order at, the last price) or why there is none."""
    qty, instrument = intent.quantity, intent.instrument
    if not (qty.is_finite() and qty > 0):
        return Rejected(f"order quantity must be positive, got {qty}", Rule.ORDER_SHAPE)
    last = state.last_price(instrument)
    if intent.order_type is OrderType.MARKET:
        if last is None:
            return Rejected(
                f"there is no last price for {instrument.symbol} on {instrument.venue} yet, "
                "so a market order cannot be valued; retry once market data has arrived "
                "or send a limit order",
                Rule.LAST_PRICE,
            )
        return last, last
    price = intent.price
    if price is None or not (price.is_finite() and price > 0):
        return Rejected(f"a limit order needs a positive price, got {price}", Rule.ORDER_SHAPE)
    return price, last


def _price_band(
    intent: OrderIntent, price: Decimal, last: Decimal | None, account: AccountLimits
) -> Rejected | None:
    band = account.price_band_bps
    if band is None or intent.order_type is OrderType.MARKET:
        return None
    instrument = intent.instrument
    if last is None:
        return Rejected(
            f"there is no last price for {instrument.symbol} on {instrument.venue} yet to "
            f"check the limit price {_amount(price, instrument.quote)} against the "
            f"{_number(band)} bps price band",
            Rule.PRICE_BAND,
        )
    gap = abs(WIDE.subtract(price, last))
    if WIDE.multiply(gap, _BPS) <= WIDE.multiply(band, last):
        return None
    gap_bps = WIDE.divide(WIDE.multiply(gap, _BPS), last).quantize(Decimal("0.01"), ROUND_UP)
    direction = "above" if price > last else "below"
    return Rejected(
        f"limit price {_amount(price, instrument.quote)} is {_number(gap_bps)} bps {direction} "
        f"the last price {_amount(last, instrument.quote)}; the account allows at most "
        f"{_number(band)} bps",
        Rule.PRICE_BAND,
    )


def _max_order_value(
    intent: OrderIntent, value: Decimal, account: AccountLimits
) -> Rejected | None:
    quote = intent.instrument.quote
    limit = account.max_order_value.get(quote)
    if limit is None or value <= limit:
        return None
    return Rejected(
        f"order value {_amount(value, quote)} exceeds the account's max order value "
        f"{_amount(limit, quote)}",
        Rule.MAX_ORDER_VALUE,
    )


def _max_position_value(
    intent: OrderIntent, state: RiskState, mark: Decimal, account: AccountLimits
) -> Rejected | None:
    instrument = intent.instrument
    limit = account.max_position_value.get(instrument.quote)
    if limit is None:
        return None
    before = state.position(intent.account_id, instrument)
    signed = intent.quantity if intent.side is Side.BUY else -intent.quantity
    after = WIDE.add(before, signed)
    worth = WIDE.multiply(abs(after), mark)
    if abs(after) <= abs(before) or worth <= limit:
        return None
    return Rejected(
        f"the position in {instrument.symbol} after this order, {_number(after)} "
        f"{instrument.base} worth {_amount(worth, instrument.quote)} at "
        f"{_amount(mark, instrument.quote)}, would exceed the account's max position value "
        f"{_amount(limit, instrument.quote)}",
        Rule.MAX_POSITION_VALUE,
    )


def _daily_loss(
    intent: OrderIntent, state: RiskState, account: AccountLimits, now_ns: int
) -> Rejected | None:
    limit = account.daily_loss_limit
    if limit is None:
        return None
    position = state.position(intent.account_id, intent.instrument)
    if reduces_position(position, intent.side, intent.quantity):
        return None
    equity = state.equity(intent.account_id)
    if equity is None:
        return Rejected(
            f"the account's equity is not known yet, so its daily loss limit "
            f"{_number(limit)} cannot be checked; only orders that reduce a position are "
            "accepted until it is",
            Rule.DAILY_LOSS,
        )
    loss = equity.loss_today(now_ns)
    if loss < limit:
        return None
    asset = equity.valuation_asset
    return Rejected(
        f"the account has lost {_amount(loss, asset)} since 00:00 UTC, reaching its daily "
        f"loss limit {_amount(limit, asset)}; until the next UTC day only orders that "
        "reduce a position are accepted",
        Rule.DAILY_LOSS,
    )


def _balance(
    intent: OrderIntent, state: RiskState, value: Decimal, account: AccountLimits
) -> Rejected | None:
    instrument, qty = intent.instrument, intent.quantity
    if intent.side is Side.BUY:
        asset = instrument.quote
        need = WIDE.divide(WIDE.multiply(value, _BPS + account.fee_margin_bps), _BPS)
        wording = (
            f"buying {_number(qty)} {instrument.base} for {_amount(value, asset)} needs "
            f"{_amount(need, asset)} available (with a {_number(account.fee_margin_bps)} bps "
            "fee margin)"
        )
    else:
        asset, need = instrument.base, qty
        wording = f"selling {_number(qty)} {asset} needs {_number(qty)} {asset} available"
    if not state.knows_balances(intent.account_id):
        return Rejected(
            f"{wording}; the account's balances are not known yet (asked of the venue: "
            "the next orders are decided on them)",
            Rule.BALANCE,
        )
    have = state.available(intent.account_id, instrument.venue, asset)
    if have >= need:
        return None
    return Rejected(f"{wording}; the account has {_number(have)} {asset} available", Rule.BALANCE)


def _order_rate(
    intent: OrderIntent, state: RiskState, account: AccountLimits, now_ns: int
) -> Rejected | None:
    rate = account.max_orders_per_second
    if rate is None:
        return None
    burst = account.order_burst or max(1, math.ceil(rate))
    bucket = state.order_bucket(intent.account_id, rate, burst)
    if bucket.try_take(1, now_ns):
        return None
    return Rejected(
        f"the account may send at most {_number(Decimal(str(rate)))} orders per second "
        f"(bursts of {burst}); the next order can go in "
        f"{bucket.wait_time(1, now_ns):.3f} s",
        Rule.ORDER_RATE,
    )


def _amount(value: Decimal, asset: str) -> str:
    """Money as users read it: thousands separators, at least two decimals, never
    rounded: "12,500.00 USDT", "0.00012345 BTC"."""
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return f"{value:,.2f} {asset}"
    return f"{_number(value)} {asset}"


def _number(value: Decimal) -> str:
    """A quantity with thousands separators and no trailing zeros: "1,000", "0.5"."""
    return f"{value.normalize():,f}"
