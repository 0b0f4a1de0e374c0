"""One account's recent equity at one-minute resolution, kept from its `PortfolioUpdate`s
(pure: no I/O). Deposits and withdrawals are read from the books' identity (see
`domain.performance.samples_from_valuations`), so they are not taken for returns."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from tradewind.domain.events import AnalyticsUpdate, PortfolioUpdate
from tradewind.domain.performance import (
    EquitySample,
    bucketed,
    performance,
)

PERIOD_S = 60
_PERIOD_NS = PERIOD_S * 1_000_000_000


class AccountSeries:
    """The last `keep_minutes` minutes of one account's equity, a sample per minute (the
    minute's last valuation, its flows summed). Valuations older than the newest taken
    are ignored (redelivery, or a stored one after a live one)."""

    __slots__ = (
        "_contributions",
        "_samples",
        "account_id",
        "keep_ns",
        "last_ts_ns",
        "valuation_asset",
    )

    def __init__(self, account_id: str, keep_minutes: int) -> None:
        self.account_id = account_id
        self.keep_ns = keep_minutes * _PERIOD_NS
        self.valuation_asset = ""
        self.last_ts_ns = 0
        self._contributions: Decimal | None = None
        self._samples: deque[EquitySample] = deque()

    def __len__(self) -> int:
        return len(self._samples)

    def add(
        self,
        ts_ns: int,
        valuation_asset: str,
        equity: Decimal,
        realized: Decimal,
        unrealized: Decimal,
        fees: Decimal,
    ) -> bool:
        """Take one valuation; False (nothing changed) unless it is newer than the last.
        A change of valuation asset starts the series again (returns across two assets
        mean nothing)."""
        if ts_ns <= self.last_ts_ns:
            return False
        if valuation_asset != self.valuation_asset:
            self._samples.clear()
            self._contributions = None
            self.valuation_asset = valuation_asset
        contributions = equity - realized - unrealized + fees
        flow = Decimal(0) if self._contributions is None else contributions - self._contributions
        self._contributions = contributions
        self.last_ts_ns = ts_ns
        samples = self._samples
        if samples and samples[-1].ts_ns // _PERIOD_NS == ts_ns // _PERIOD_NS:
            flow += samples[-1].flow
            samples.pop()
        samples.append(EquitySample(ts_ns, equity, flow))
        horizon = ts_ns - self.keep_ns
        while samples and samples[0].ts_ns < horizon:
            samples.popleft()
        return True

    def add_update(self, update: PortfolioUpdate) -> bool:
        return self.add(
            update.ts_ns, update.valuation_asset, update.equity,
            update.realized_pnl, update.unrealized_pnl, update.fees,
        )  # fmt: skip

    def analytics(self, now_ns: int) -> AnalyticsUpdate | None:
        """The figures of the kept minutes (flat minutes filled in), None before the
        first valuation."""
        if not self._samples:
            return None
        samples = bucketed(list(self._samples), PERIOD_S, fill=True)
        figures = performance(samples, PERIOD_S)
        dd = figures.drawdown
        return AnalyticsUpdate(
            account_id=self.account_id,
            valuation_asset=self.valuation_asset,
            equity=samples[-1].equity,
            period_s=PERIOD_S,
            periods=figures.periods,
            since_ns=samples[0].ts_ns,
            total_return=figures.total_return,
            max_drawdown=dd.max,
            current_drawdown=dd.current,
            volatility=figures.volatility,
            sharpe=figures.sharpe,
            sortino=figures.sortino,
            var_95=figures.var_95,
            cvar_95=figures.cvar_95,
            ts_ns=now_ns,
        )
