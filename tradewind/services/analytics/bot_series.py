"""One bot's PnL series as the analytics service keeps it (pure: no I/O): its book
(`domain.bot_pnl.BotBook`, fills counted once by trade id), valued at the last prices
each round, one point a minute — the last value of the minute — kept over the service's
window for the bot's drawdown and its one-minute VaR (`bot_pnl.MinuteReturns`), and
handed out to be recorded when it changed.

A bot's series is in its account's valuation asset: the PnL of its fills in that quote
(the drawdown is a fraction of the account's equity, so it must be in the same money);
fills in other quote assets are in the bot's figures (`GET /bots/{id}/analytics`'s
`by_quote`) but not in its series (docs/analytics.md, "Bots").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from decimal import Decimal

from tradewind.domain.bot_pnl import (
    BotBook,
    BotDrawdown,
    BotPnl,
    MinuteReturns,
    PriceOf,
    bot_drawdown,
)
from tradewind.domain.exact import EXACT, quotient
from tradewind.domain.time_units import NS_PER_MINUTE


class BotSeries:
    def __init__(self, bot_id: str, account_id: str, quote: str, keep_minutes: int) -> None:
        self.bot_id = bot_id
        self.account_id = account_id
        self.quote = quote
        self.book = BotBook()
        self._keep_ns = keep_minutes * NS_PER_MINUTE
        self._minutes: deque[tuple[int, Decimal, Decimal | None]] = deque()  # closed ones
        # The kept minutes that no later one equals or exceeds, oldest (the window's
        # peak) first: the current drawdown in O(1) a round (a sliding-window maximum).
        self._peaks: deque[tuple[int, Decimal, Decimal | None]] = deque()
        self._returns = MinuteReturns(keep_minutes)
        self._open: tuple[int, BotPnl, Decimal | None] | None = None  # (ts, pnl, equity)
        self._recorded: BotPnl | None = None  # the last handed out to be recorded

    def restore(self, minutes: Iterable[tuple[int, BotPnl, Decimal | None]]) -> None:
        """Take back the recorded minutes of the window (oldest first, before any
        `observe`): the drawdown's peak survives a restart, and the last one is not
        written again."""
        for ts_ns, pnl, equity in minutes:
            self._keep((ts_ns, pnl.total, equity))
            self._recorded = pnl

    def observe(
        self, ts_ns: int, price_of: PriceOf, equity: Decimal | None
    ) -> tuple[int, BotPnl, Decimal | None] | None:
        """Value the bot at `ts_ns` with `price_of` (`equity`: the account's then, if
        known). Returns the minute that closed (ts, PnL, equity) when `ts_ns` is in a
        later minute and that minute's PnL differs from the last one returned; None
        before a fill in the series' quote."""
        pnl = self.book.pnl(self.quote, price_of)
        if pnl is None:
            return None
        opened = self._open
        closed = None
        if opened is not None and ts_ns // NS_PER_MINUTE != opened[0] // NS_PER_MINUTE:
            closed = self._close(opened)
        if opened is None or ts_ns >= opened[0]:
            self._open = (ts_ns, pnl, equity)
        return closed

    def _close(
        self, minute: tuple[int, BotPnl, Decimal | None]
    ) -> tuple[int, BotPnl, Decimal | None] | None:
        ts_ns, pnl, equity = minute
        self._keep((ts_ns, pnl.total, equity))
        if self._recorded is not None and self._recorded == pnl:
            return None
        self._recorded = pnl
        return minute

    def _keep(self, point: tuple[int, Decimal, Decimal | None]) -> None:
        minutes, peaks = self._minutes, self._peaks
        minutes.append(point)
        self._returns.add(*point)
        while peaks and peaks[-1][1] <= point[1]:
            peaks.pop()  # an equal later PnL is the newer peak, as `bot_drawdown` has it
        peaks.append(point)
        horizon = point[0] - self._keep_ns
        while minutes and minutes[0][0] < horizon:
            minutes.popleft()
        while peaks and peaks[0][0] < horizon:
            peaks.popleft()

    def current_drawdown(self) -> float:
        """`drawdown().current`, without walking the window: from the window's peak."""
        opened = self._open
        if opened is None:
            return 0.0
        now = opened[1].total
        if not self._peaks or now >= self._peaks[0][1]:
            return 0.0
        _, peak, equity = self._peaks[0]
        if equity is None or equity <= 0:
            return 0.0
        return -float(quotient(EXACT.subtract(peak, now), equity))

    def var_95(self) -> tuple[float | None, int]:
        """The one-minute 95 % VaR over the kept minutes and how many returns it was
        taken over (the open minute is not one yet)."""
        returns = self._returns
        return returns.var_95(), returns.periods

    @property
    def latest(self) -> tuple[int, Decimal] | None:
        """(ts, PnL) of the newest valuation, None before one."""
        return None if self._open is None else (self._open[0], self._open[1].total)

    def drawdown(self) -> BotDrawdown:
        """Over the kept minutes and the open one (`bot_pnl.bot_drawdown`)."""
        points = [(pnl, equity) for _, pnl, equity in self._minutes]
        if self._open is not None:
            points.append((self._open[1].total, self._open[2]))
        return bot_drawdown(points)
