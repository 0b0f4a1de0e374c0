"""One bot's results from its own fills (pure: no I/O): what it realised, paid and
traded, and what it still holds, at average cost per symbol.

Bots share their account's money, so a bot has no equity of its own to take returns
of; its figures are those of its trades. A bot's position in a symbol is what its buys
brought in less what its sells took out; a sell of more than that (base the account
held before the bot, a rebalance selling the account's coins) realises nothing on the
excess, whose cost the bot never paid. Fees are valued in the quote asset: a fee in
quote as it is, a fee in the base asset at the fill's price; a fee in any other asset
(BNB) is listed apart, not valued. Figures are per quote asset (a bot trading BTC/USDT
and ETH/BTC has two sets).

`BotBook` keeps them fill by fill (the analytics service records a bot's PnL series
with one; `bot_results` applies a list of fills through one), counting a fill once by
its (symbol, trade id), and values what the bot holds at given prices: its PnL in a
quote asset is realised + unrealised - fees (`BotPnl`). `bot_drawdown` is the fall of
that PnL from its peak, as a fraction of the account's equity at the peak;
`MinuteReturns` keeps its one-minute changes as fractions of the account's equity over a
window, for its historical VaR (docs/analytics.md, "Bots").
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from tradewind.domain.exact import EXACT, quotient
from tradewind.domain.model import Side
from tradewind.domain.performance import TradeStats, trade_stats, value_at_risk_of_sorted
from tradewind.domain.time_units import NS_PER_MINUTE

_ZERO = Decimal(0)


@dataclass(frozen=True)
class BotFill:
    ts_ns: int
    symbol: str  # BASE/QUOTE
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    trade_id: str = ""  # "": not known, never taken for a redelivery


@dataclass(frozen=True)
class Holding:
    """What the bot holds of a symbol's base, and the average quote it paid per unit."""

    quantity: Decimal
    average_cost: Decimal | None


@dataclass
class QuoteResults:
    """A bot's results in one quote asset."""

    quote: str
    realized_pnl: Decimal = _ZERO
    fees: Decimal = _ZERO
    bought: Decimal = _ZERO  # quote spent on buys
    sold: Decimal = _ZERO  # quote received for sells
    realized: list[Decimal] = field(default_factory=list)  # per sell that realised any
    holdings: dict[str, Holding] = field(default_factory=dict)  # symbol -> holding

    @property
    def volume(self) -> Decimal:
        return EXACT.add(self.bought, self.sold)

    @property
    def trades(self) -> TradeStats:
        return trade_stats(self.realized)


@dataclass(frozen=True)
class BotResults:
    by_quote: dict[str, QuoteResults]
    fills: int
    unvalued_fees: dict[str, Decimal]  # asset -> amount, fees in neither base nor quote


@dataclass(frozen=True)
class BotPnl:
    """A bot's PnL in one quote asset at some prices: `total` = `realized` +
    `unrealized` - `fees` (what it holds at the prices less what it paid for it)."""

    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    total: Decimal


#: The last price of a symbol (BASE/QUOTE, in the quote asset), None when there is none.
PriceOf = Callable[[str], Decimal | None]


class BotBook:
    """One bot's results kept fill by fill: realised PnL, fees and volume per quote asset,
    and what it still holds at average cost."""

    def __init__(self) -> None:
        self.by_quote: dict[str, QuoteResults] = {}
        self.unvalued: dict[str, Decimal] = {}  # asset -> fees in neither base nor quote
        self.fills = 0
        self._held: dict[str, tuple[Decimal, Decimal]] = {}  # symbol -> (quantity, cost)
        self._seen: set[tuple[str, str]] = set()  # (symbol, trade id) applied

    def has(self, symbol: str, trade_id: str) -> bool:
        """Whether the fill with this (symbol, trade id) was taken (never for an unknown
        trade id: such a fill is taken each time)."""
        return bool(trade_id) and (symbol, trade_id) in self._seen

    def apply(self, fill: BotFill) -> bool:
        """Take one fill (oldest first); False if its (symbol, trade id) was taken
        before (a redelivery, or a fill read again from the record)."""
        if fill.trade_id:
            key = (fill.symbol, fill.trade_id)
            if key in self._seen:
                return False
            self._seen.add(key)
        self.fills += 1
        base, _, quote = fill.symbol.partition("/")
        results = self.by_quote.setdefault(quote, QuoteResults(quote))
        quantity, cost = self._held.get(fill.symbol, (_ZERO, _ZERO))
        notional = EXACT.multiply(fill.price, fill.quantity)
        fee_in_base = fill.fee if fill.fee_asset == base else _ZERO
        if fill.fee_asset == quote:
            results.fees = EXACT.add(results.fees, fill.fee)
        elif fill.fee_asset == base:
            results.fees = EXACT.add(results.fees, EXACT.multiply(fill.fee, fill.price))
        elif fill.fee:
            unvalued = self.unvalued
            unvalued[fill.fee_asset] = EXACT.add(unvalued.get(fill.fee_asset, _ZERO), fill.fee)
        if fill.side is Side.BUY:
            results.bought = EXACT.add(results.bought, notional)
            quantity = EXACT.add(quantity, EXACT.subtract(fill.quantity, fee_in_base))
            cost = EXACT.add(cost, notional)
        else:
            results.sold = EXACT.add(results.sold, notional)
            sold_own = min(fill.quantity, quantity)
            if sold_own > 0:
                cost_out = quotient(EXACT.multiply(cost, sold_own), quantity)
                pnl = EXACT.subtract(EXACT.multiply(fill.price, sold_own), cost_out)
                results.realized.append(pnl)
                results.realized_pnl = EXACT.add(results.realized_pnl, pnl)
                quantity = EXACT.subtract(quantity, sold_own)
                cost = _ZERO if quantity == 0 else EXACT.subtract(cost, cost_out)
            quantity = max(_ZERO, EXACT.subtract(quantity, fee_in_base))
        self._held[fill.symbol] = (quantity, cost)
        results.holdings[fill.symbol] = Holding(
            quantity, quotient(cost, quantity) if quantity > 0 else None
        )
        return True

    def pnl(self, quote: str, price_of: PriceOf) -> BotPnl | None:
        """The PnL in `quote` with what the bot holds at `price_of` (a holding without a
        price at its cost: no unrealised PnL); None before a fill in `quote`."""
        results = self.by_quote.get(quote)
        if results is None:
            return None
        unrealized = _ZERO
        for symbol in results.holdings:
            quantity, cost = self._held[symbol]
            price = price_of(symbol) if quantity > 0 else None
            if price is not None:
                value = EXACT.multiply(quantity, price)
                unrealized = EXACT.add(unrealized, EXACT.subtract(value, cost))
        total = EXACT.subtract(EXACT.add(results.realized_pnl, unrealized), results.fees)
        return BotPnl(results.realized_pnl, unrealized, results.fees, total)


def bot_results(fills: Iterable[BotFill]) -> BotResults:
    """Apply `fills` (oldest first); see the module docstring."""
    book = BotBook()
    for fill in fills:
        book.apply(fill)
    return BotResults(book.by_quote, book.fills, book.unvalued)


@dataclass(frozen=True)
class BotDrawdown:
    """Fractions of the account's equity, <= 0 (as an account's drawdowns are)."""

    current: float
    max: float


def bot_drawdown(points: Iterable[tuple[Decimal, Decimal | None]]) -> BotDrawdown:
    """The drawdown of a bot's PnL series: `points` are (PnL, the account's equity then),
    oldest first. At each point it is the fall of the PnL from its highest so far, over
    the account's equity when that peak was reached (a later equal PnL is the newer
    peak): a bot that made 100 on a 10,000 account and lost 300 since is 3 % down. A
    peak whose equity is not known, or not positive, measures nothing (0)."""
    peak: Decimal | None = None
    peak_equity: Decimal | None = None
    current = worst = 0.0
    for pnl, equity in points:
        if peak is None or pnl >= peak:
            peak, peak_equity, current = pnl, equity, 0.0
        elif peak_equity is not None and peak_equity > 0:
            current = -float(quotient(EXACT.subtract(peak, pnl), peak_equity))
        else:
            current = 0.0
        worst = min(worst, current)
    return BotDrawdown(current, worst)


class MinuteReturns:
    """A bot's one-minute returns over the last `keep_minutes`: each minute's change of
    its PnL over the account's equity at the start of the minute (a bot that lost 20 in
    a minute on a 10,000 account returned -0.2 %), fed a point a minute, oldest first
    (the minute's last PnL and the account's equity then). A minute with no point is one
    in which the PnL did not change (the analytics service records a minute only when it
    did): a return of 0. A return whose starting equity is not known, or not positive,
    is left out. The returns are kept sorted as they come and go, so a VaR costs no sort.
    """

    def __init__(self, keep_minutes: int) -> None:
        self._keep = keep_minutes
        self._by_minute: deque[tuple[int, float]] = deque()  # (minute, return), oldest first
        self._sorted: list[float] = []
        self._last: tuple[int, Decimal, Decimal | None] | None = None  # (minute, PnL, equity)

    def add(self, ts_ns: int, pnl: Decimal, equity: Decimal | None) -> None:
        """The PnL at the end of the minute `ts_ns` falls in; a point not in a later
        minute than the last one is ignored."""
        minute = ts_ns // NS_PER_MINUTE
        last = self._last
        if last is not None and minute <= last[0]:
            return
        if last is not None:
            last_minute, last_pnl, last_equity = last
            flat = min(minute - last_minute - 1, self._keep)
            for quiet in range(minute - flat, minute):
                self._push(quiet, 0.0)
            if last_equity is not None and last_equity > 0:
                self._push(minute, float(quotient(EXACT.subtract(pnl, last_pnl), last_equity)))
        self._last = (minute, pnl, equity)
        horizon = minute - self._keep
        by_minute, ordered = self._by_minute, self._sorted
        while by_minute and by_minute[0][0] <= horizon:
            _, gone = by_minute.popleft()
            del ordered[bisect_left(ordered, gone)]

    def _push(self, minute: int, value: float) -> None:
        self._by_minute.append((minute, value))
        insort(self._sorted, value)

    @property
    def periods(self) -> int:
        """How many one-minute returns the window holds."""
        return len(self._sorted)

    def var_95(self) -> float | None:
        """The 95 % one-minute historical VaR (the 5 % quantile of the returns, <= 0 for
        a loss; `performance.value_at_risk`), None without returns."""
        return value_at_risk_of_sorted(self._sorted, 0.05)
