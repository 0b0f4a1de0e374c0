"""The live view of a running platform: it listens on the bus (`Bus.listen`, from the
moment it attaches, so it takes nothing from the services and leaves nothing on the
broker) and counts what flows by.

Tick->order latency is the time from a market-data event to the order intent it caused:
the strategy service carries the market event's id as the intent's trace id. It counts
from the moment trading started (the first intent): an intent caused by market data
from before that (a strategy catching up on its first bars) says nothing about latency.
The trace goes on with the order: its fills and other order events carry it, and so do
the intents a strategy makes in answer to them (a grid bot's counter-order), made
after the first order event of the trace. Those answer the order, not the tick, and
are not counted: their "latency" would include the time the order rested.
Percentiles are over the last `LATENCY_WINDOW_S`, rates over the last `RATE_WINDOW_S`.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from tradewind.bus import topics
from tradewind.bus.envelope import Envelope
from tradewind.bus.port import Bus, ConsumerOptions, Subscription
from tradewind.domain.bounded import BoundedLru
from tradewind.domain.commands import OrderIntent
from tradewind.domain.events import (
    AnalyticsUpdate,
    Fill,
    OrderAccepted,
    OrderRejected,
    PortfolioUpdate,
)
from tradewind.domain.exact import EXACT
from tradewind.services.analytics.tracker import AccountSeries

_MARKET_EVENTS_KEPT = 200_000  # market event ids remembered for latency matching
_ORDER_TRACES_KEPT = 200_000  # traces of order events remembered, the same way
_LATENCIES_KEPT = 50_000
_PLATFORM_MINUTES = 7 * 1_440  # the platform's return and drawdown: over the last week
RATE_WINDOW_S = 5.0
LATENCY_WINDOW_S = 60.0


@dataclass
class AccountTally:
    orders: int = 0
    fills: int = 0
    rejects: int = 0
    portfolio: PortfolioUpdate | None = None
    analytics: AnalyticsUpdate | None = None  # the analytics service's latest


class LatencySample(NamedTuple):
    """One intent caused by market data: when the board saw it (monotonic s), its
    tick->order latency (µs), its trace id and when it was made (ns since the epoch)."""

    seen_s: float
    latency_us: float
    trace_id: str
    made_ns: int


@dataclass
class StatusBoard:
    """Counters of one run, fed from the bus."""

    events: int = 0
    intents: int = 0
    accepted: int = 0
    fills: int = 0
    rejects: int = 0
    reject_reasons: Counter[str] = field(default_factory=Counter)
    accounts: dict[str, AccountTally] = field(default_factory=dict)
    latencies: deque[LatencySample] = field(default_factory=lambda: deque(maxlen=_LATENCIES_KEPT))
    trading_started_ns: int | None = None  # the first intent's time
    started_s: float = field(default_factory=time.monotonic)
    last_portfolio_s: float = 0.0
    _market_ts: BoundedLru[str, int] = field(
        default_factory=lambda: BoundedLru(_MARKET_EVENTS_KEPT)
    )
    #: trace id -> when the first order event carrying it was made (ns)
    _answered_ts: BoundedLru[str, int] = field(
        default_factory=lambda: BoundedLru(_ORDER_TRACES_KEPT)
    )
    _samples: deque[tuple[float, int, int]] = field(default_factory=deque)
    _subscriptions: list[Subscription] = field(default_factory=list)
    #: The whole platform's equity per valuation asset, as one account would be.
    platform: dict[str, AccountSeries] = field(default_factory=dict)
    #: Per valuation asset, the sum of every account's latest (equity, realised PnL,
    #: unrealised PnL, fees): kept as updates replace each other, not summed again.
    _platform_totals: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = field(
        default_factory=dict
    )

    async def attach(self, bus: Bus) -> None:
        options = ConsumerOptions(max_batch=2000, max_attempts=1)
        for topic_names, handler in (
            ((topics.MD_TRADE, topics.MD_BAR), self._on_market),
            ((topics.ORDERS_INTENT,), self._on_intents),
            ((topics.ORDERS_EVENTS,), self._on_order_events),
            ((topics.PORTFOLIO_UPDATES,), self._on_portfolio),
            ((topics.ANALYTICS_UPDATES,), self._on_analytics),
        ):
            self._subscriptions.append(
                await bus.listen(topic_names, f"status-{topic_names[0]}", handler, options=options)
            )

    async def detach(self) -> None:
        for sub in self._subscriptions:
            await sub.stop()
        self._subscriptions.clear()

    def tally(self, account_id: str) -> AccountTally:
        tally = self.accounts.get(account_id)
        if tally is None:
            tally = self.accounts[account_id] = AccountTally()
        return tally

    async def _on_market(self, batch: Sequence[Envelope]) -> None:
        self.events += len(batch)
        seen = self._market_ts
        for env in batch:
            seen[env.event_id] = env.ts_ns

    async def _on_intents(self, batch: Sequence[Envelope]) -> None:
        self.events += len(batch)
        now = time.monotonic()
        for env in batch:
            if not isinstance(env.payload, OrderIntent):
                continue
            self.intents += 1
            self.tally(env.payload.account_id).orders += 1
            if self.trading_started_ns is None:
                self.trading_started_ns = env.ts_ns
            caused_by = self._market_ts.get(env.trace_id)
            if caused_by is not None and caused_by >= self.trading_started_ns:
                latency_us = (env.ts_ns - caused_by) / 1000
                self.latencies.append(LatencySample(now, latency_us, env.trace_id, env.ts_ns))

    async def _on_order_events(self, batch: Sequence[Envelope]) -> None:
        self.events += len(batch)
        answered = self._answered_ts
        for env in batch:
            first = answered.get(env.trace_id)
            if first is None or env.ts_ns < first:
                answered[env.trace_id] = env.ts_ns
            event = env.payload
            if isinstance(event, Fill):
                self.fills += 1
                self.tally(event.account_id).fills += 1
            elif isinstance(event, OrderAccepted):
                self.accepted += 1
            elif isinstance(event, OrderRejected):
                self.rejects += 1
                self.tally(event.account_id).rejects += 1
                self.reject_reasons[_reason_kind(event.reason)] += 1

    async def _on_portfolio(self, batch: Sequence[Envelope]) -> None:
        self.events += len(batch)
        newest: dict[str, int] = {}
        for env in batch:
            update = env.payload
            if isinstance(update, PortfolioUpdate):
                tally = self.tally(update.account_id)
                if tally.portfolio is not None:
                    self._count_in(tally.portfolio, EXACT.subtract)
                tally.portfolio = update
                self._count_in(update, EXACT.add)
                asset = update.valuation_asset
                newest[asset] = max(newest.get(asset, 0), update.ts_ns)
        for asset, ts_ns in newest.items():
            self._value_platform(asset, ts_ns)
        self.last_portfolio_s = time.monotonic()

    def _count_in(self, update: PortfolioUpdate, op: Callable[[Decimal, Decimal], Decimal]) -> None:
        zero = Decimal(0)
        equity, realized, unrealized, fees = self._platform_totals.get(
            update.valuation_asset, (zero, zero, zero, zero)
        )
        self._platform_totals[update.valuation_asset] = (
            op(equity, update.equity),
            op(realized, update.realized_pnl),
            op(unrealized, update.unrealized_pnl),
            op(fees, update.fees),
        )

    def _value_platform(self, asset: str, ts_ns: int) -> None:
        """Add the sum of every account's latest valuation in `asset` to the platform's
        series (its deposits, new accounts included, are flows, not returns)."""
        series = self.platform.get(asset)
        if series is None:
            series = self.platform[asset] = AccountSeries(f"platform:{asset}", _PLATFORM_MINUTES)
        series.add(ts_ns, asset, *self._platform_totals[asset])

    async def _on_analytics(self, batch: Sequence[Envelope]) -> None:
        self.events += len(batch)
        for env in batch:
            if isinstance(env.payload, AnalyticsUpdate):
                self.tally(env.payload.account_id).analytics = env.payload

    def platform_analytics(self) -> dict[str, AnalyticsUpdate]:
        """The platform's figures per valuation asset, as of now."""
        now_ns = time.time_ns()
        figures = {asset: series.analytics(now_ns) for asset, series in self.platform.items()}
        return {asset: f for asset, f in figures.items() if f is not None}

    # -- what the screen shows -------------------------------------------------------

    def rates(self) -> tuple[float, float]:
        """(events/s, orders/s) over the last few seconds."""
        now = time.monotonic()
        self._samples.append((now, self.events, self.intents))
        while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW_S:
            self._samples.popleft()
        t0, e0, o0 = self._samples[0]
        span = now - t0
        if span <= 0:
            return 0.0, 0.0
        return (self.events - e0) / span, (self.intents - o0) / span

    def latency_percentiles(self) -> tuple[float | None, float | None]:
        """(p50, p99) of tick->order over the last `LATENCY_WINDOW_S`, µs.

        Checked here rather than when an intent arrives: the order event that makes an
        intent an answer may reach the board after the intent does."""
        since = time.monotonic() - LATENCY_WINDOW_S
        answered = self._answered_ts
        ordered = sorted(
            sample.latency_us
            for sample in self.latencies
            if sample.seen_s >= since
            and sample.made_ns < answered.get(sample.trace_id, sample.made_ns + 1)
        )
        if not ordered:
            return None, None
        return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    def busiest(self, count: int = 3) -> list[tuple[str, AccountTally]]:
        """The accounts that sent the most orders, most first."""
        ranked = sorted(self.accounts.items(), key=lambda item: -item[1].orders)
        return [(account_id, tally) for account_id, tally in ranked[:count] if tally.orders]

    def total_equity(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for tally in self.accounts.values():
            if tally.portfolio is not None:
                asset = tally.portfolio.valuation_asset
                totals[asset] = totals.get(asset, Decimal(0)) + tally.portfolio.equity
        return totals


def _reason_kind(reason: str) -> str:
    """Group reasons that differ only in numbers: the words before the first digit."""
    head = reason.split(":", 1)[0] if ":" in reason[:40] else reason
    words = []
    for word in head.split():
        if any(ch.isdigit() for ch in word):
            break
        words.append(word)
    return " ".join(words[:8]) or reason[:40]


def render(
    board: StatusBoard,
    bots: int,
    breakers: Callable[[], dict[str, Any]] | None,
    names: dict[str, str] | None = None,
) -> Any:
    """A Rich renderable of the board; `names` labels accounts (account id -> a bot's
    strategy and owner)."""
    from rich.table import Table

    events_s, orders_s = board.rates()
    p50, p99 = board.latency_percentiles()
    table = Table(title="Tradewind — embedded", show_header=False, expand=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("uptime", f"{time.monotonic() - board.started_s:,.0f} s")
    table.add_row("bots", f"{bots:,}")
    window = f"(last {RATE_WINDOW_S:.0f} s)"
    table.add_row("events/s", f"{events_s:,.0f}  {window}")
    table.add_row("orders/s", f"{orders_s:,.1f}  {window}, {board.intents:,} in all")
    table.add_row("fills", f"{board.fills:,}")
    table.add_row("rejects", f"{board.rejects:,}")
    for reason, count in board.reject_reasons.most_common(3):
        table.add_row("", f"{count:,} {reason}")
    if p50 is None:
        latency = "— (no order caused by market data yet)"
    else:
        latency = f"p50 {p50:,.0f} µs  p99 {p99:,.0f} µs  (last {LATENCY_WINDOW_S:.0f} s)"
    table.add_row("tick→order", latency)
    for rank, (account_id, tally) in enumerate(board.busiest()):
        label = (names or {}).get(account_id, account_id[:8])
        table.add_row(
            "busiest bots" if rank == 0 else "",
            f"{label}: {tally.orders:,} orders, {tally.fills:,} fills, {tally.rejects:,} rejects",
        )
    states = breakers() if breakers is not None else {}
    venues = ", ".join(f"{venue}: breaker {state}" for venue, state in states.items())
    table.add_row("venues", venues or "—")
    equity = board.total_equity()
    table.add_row("total equity", ", ".join(f"{v:,.8f} {a}" for a, v in equity.items()) or "—")
    platform = board.platform_analytics()
    table.add_row(
        "platform return",
        ", ".join(
            f"{f.total_return:+.3%} {asset}, drawdown {f.max_drawdown:.3%} (deposits taken out)"
            for asset, f in platform.items()
        )
        or "—",
    )
    return table
