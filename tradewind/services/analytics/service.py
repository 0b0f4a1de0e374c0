"""The analytics service: each account's performance and risk, computed off the order
path (docs/analytics.md).

Subscription `analytics` (shared by the instances, so one follows an account at a time):
portfolio.updates, keyed by account. Every instance also reads all of md.bar: the
benchmark (`TRADEWIND_ANALYTICS_BENCHMARK`, BTC/USDT) each account's beta and
correlation are measured against, and the last prices its exposure is valued at.

Each `PortfolioUpdate` extends the account's minute series (`tracker.AccountSeries`); an
account met for the first time (after a start, or when its partition moved here) is
first read back from the record (`portfolio_snapshots`, the last
`TRADEWIND_ANALYTICS_WINDOW_MINUTES`), so a restart or a take-over loses only
resolution, not history. Every `TRADEWIND_ANALYTICS_INTERVAL_S` the accounts that changed
are computed, one computation each however many updates came, and published as
`AnalyticsUpdate`s on analytics.updates (keyed by account; the gateway pushes them to the
account's WebSocket watchers). Accounts whose partition moved away are let go. A stop
computes the accounts changed since the last round once more on its way out.

Nothing of the figures is stored: what it publishes is derived from what portfolio
stored, and a round lost in a crash is computed again by whoever follows the account
next. With a database, each round's figures are also checked against the accounts' risk
limits (`limits.LimitGuard`): a breach engages the account's kill switch, row, audit
entry and event committed together through the outbox.

With a database, each round also follows the bots of the accounts it owns
(`bot_tracking.BotTracker`): their fills read from the record, their PnL valued at the
last bar prices and recorded a minute at a time in `bot_snapshots`, and their drawdown
and VaR checked against their limits (`bot_limits.BotGuard`: a breach pauses the bot, row, audit
entry and `BotCommand` through the outbox). docs/analytics.md, "Bots".
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from tradewind.bus import topics
from tradewind.bus.delivery import describe
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.port import Subscription
from tradewind.domain.events import AnalyticsUpdate, Bar, PortfolioUpdate
from tradewind.domain.time_units import datetime_from_ns
from tradewind.runtime.metrics import timed_handler
from tradewind.runtime.service import AdminEndpoints, Service, ServiceContext
from tradewind.runtime.service_settings import AnalyticsSettings
from tradewind.services.analytics.benchmark import Benchmark, LastPrices
from tradewind.services.analytics.metrics import AnalyticsMetrics
from tradewind.services.analytics.tracker import AccountSeries

if TYPE_CHECKING:
    from tradewind.services.analytics.bot_limits import BotGuard
    from tradewind.services.analytics.bot_series import BotSeries
    from tradewind.services.analytics.bot_tracking import BotTracker
    from tradewind.services.analytics.limits import LimitGuard
    from tradewind.store.database import Database

GROUP = "analytics"
BENCHMARK_LISTENER = "analytics-md"  # md.bar, every instance all of it
#: A round hands the event loop back after this long (`hand_back`).
YIELD_AFTER_S = 0.002


class AnalyticsService(Service):
    """The analytics service: each followed account's performance and risk from its equity
    series, published on analytics.updates; it also records its bots' PnL series."""

    name = "analytics"

    def __init__(
        self,
        *,
        interval_s: float | None = None,
        window_minutes: int | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        """`interval_s` and `window_minutes` None: from the settings at `start`. `clock`
        gives ns since the epoch."""
        self._interval_s = interval_s
        self._window_minutes = window_minutes
        self._clock = clock
        self._series: dict[str, AccountSeries] = {}
        self._changed: set[str] = set()
        self._subscription: Subscription | None = None
        self._rounds: asyncio.Task[None] | None = None
        self._retention: asyncio.Task[None] | None = None
        self._guard: LimitGuard | None = None
        self._bots: BotTracker | None = None
        self._bot_guard: BotGuard | None = None
        self._benchmark: Benchmark | None = None
        self._prices = LastPrices()
        self._market: Subscription | None = None
        self._started: tuple[ServiceContext, AnalyticsMetrics] | None = None

    @property
    def series(self) -> dict[str, AccountSeries]:
        """The accounts followed now (for tests and the admin view)."""
        return self._series

    @property
    def bots(self) -> list[BotSeries]:
        """The bots followed now, with a fill (for tests and the admin view)."""
        return [] if self._bots is None else self._bots.series

    @property
    def bot_minutes_written(self) -> int:
        """Minutes of bots' PnL recorded since the start (for tests and the admin view)."""
        return 0 if self._bots is None else self._bots.written

    async def start(self, ctx: ServiceContext) -> None:
        settings = ctx.settings.analytics
        interval_s = self._interval_s or settings.analytics_interval_s
        window = self._window_minutes or settings.analytics_window_minutes
        metrics = AnalyticsMetrics.of(ctx.metrics.registry)
        self._started = ctx, metrics
        database = ctx.resources.database
        series, clock = self._series, self._clock
        if database is not None:
            from tradewind.services.analytics.bot_limits import BotGuard
            from tradewind.services.analytics.bot_tracking import BotTracker
            from tradewind.services.analytics.limits import LimitGuard

            self._guard = LimitGuard(database, ctx.bus, ctx.log)
            self._bots = BotTracker(database, window)
            self._bot_guard = BotGuard(database, ctx.bus, ctx.log)

        async def on_updates(batch: Sequence[Envelope]) -> None:
            updates = [e.payload for e in batch if isinstance(e.payload, PortfolioUpdate)]
            new = sorted({u.account_id for u in updates} - series.keys())
            if new:
                shared = any(service is not self for service in ctx.resources.services)
                met = await _restored(new, window, database, clock(), metrics, ctx, shared=shared)
                series.update(met)
            for update in updates:
                if series[update.account_id].add_update(update):
                    self._changed.add(update.account_id)  # a round swaps the set: no alias
            metrics.accounts.set(len(series))

        benchmark = self._benchmark = (
            Benchmark(settings.analytics_benchmark, window)
            if settings.analytics_benchmark
            else None
        )
        prices = self._prices

        async def on_bars(batch: Sequence[Envelope]) -> None:
            for env in batch:
                if isinstance(env.payload, Bar):
                    prices.add_bar(env.payload)
                    if benchmark is not None:
                        benchmark.add_bar(env.payload)

        bars = timed_handler(ctx.metrics, BENCHMARK_LISTENER, on_bars)
        self._market = await ctx.bus.listen([topics.MD_BAR], BENCHMARK_LISTENER, bars)
        handler = timed_handler(ctx.metrics, GROUP, on_updates)
        self._subscription = await ctx.bus.subscribe([topics.PORTFOLIO_UPDATES], GROUP, handler)
        self._rounds = asyncio.create_task(
            self._compute_rounds(ctx, interval_s, metrics), name="analytics-rounds"
        )
        if database is not None:
            self._retention = asyncio.create_task(
                self._keep_retention(ctx, database, settings), name="analytics-retention"
            )

    async def _keep_retention(
        self, ctx: ServiceContext, database: Database, settings: AnalyticsSettings
    ) -> None:
        """Thin the recorded valuations as they age (`retention.py`), by the instance
        that reads partition 0 (one at a time); the first pass covers the whole past, the
        next ones what aged since the pass before, with an interval to spare."""
        from tradewind.services.analytics.retention import thin_valuations

        interval_s = settings.analytics_retention_interval_s
        since: datetime | None = None
        while True:
            await asyncio.sleep(min(interval_s, 60.0) if since is None else interval_s)
            subscription = self._subscription
            if subscription is None or 0 not in subscription.partitions():
                since = None  # whoever reads partition 0 does it; all of it if we take over
                continue
            now = datetime_from_ns(self._clock())
            try:
                deleted = await thin_valuations(
                    database, now,
                    minutes_kept_days=settings.analytics_minutes_kept_days,
                    hours_kept_days=settings.analytics_hours_kept_days,
                    since=since,
                )  # fmt: skip
            except Exception as error:  # tried again at the next pass, from the same point
                ctx.log.warning("valuations not thinned", error=describe(error))
                continue
            if deleted:
                ctx.log.info("old valuations thinned", deleted=deleted)
            since = now - timedelta(seconds=2 * interval_s)

    async def _compute_rounds(
        self, ctx: ServiceContext, interval_s: float, metrics: AnalyticsMetrics
    ) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.compute_round(ctx, metrics)
            except Exception as error:  # the next round tries again; a dead loop would not
                ctx.log.warning("analytics round failed", error=describe(error))

    async def compute_round(self, ctx: ServiceContext, metrics: AnalyticsMetrics) -> int:
        """Let go of accounts whose partition moved away, then compute and publish the
        accounts that changed since the last round; returns how many were published."""
        subscription = self._subscription
        owned = subscription.partitions() if subscription is not None else frozenset()
        if owned:  # none: a rebalance in flight, keep everything until it settles
            partition_of = ctx.bus.partition_of
            for account_id in [a for a in self._series if partition_of(a) not in owned]:
                del self._series[account_id]
                self._changed.discard(account_id)
                if self._guard is not None:
                    self._guard.forget(account_id)
            if self._bots is not None:
                for account_id in [a for a in self._bots.accounts if partition_of(a) not in owned]:
                    gone = self._bots.forget(account_id)
                    if self._bot_guard is not None:
                        self._bot_guard.forget(gone)
            metrics.accounts.set(len(self._series))
        changed, self._changed = self._changed, set()
        try:
            return await self._compute(ctx, metrics, changed)
        except asyncio.CancelledError:  # a stop: its last round computes them
            self._changed |= changed
            raise

    async def _compute(
        self, ctx: ServiceContext, metrics: AnalyticsMetrics, changed: set[str]
    ) -> int:
        """`compute_round` of the accounts in `changed`."""
        if self._bots is not None:
            await self._bot_round(ctx, self._bots, changed)
        if not changed:
            return 0
        started = time.perf_counter()
        now_ns = self._clock()
        updates: list[AnalyticsUpdate] = []
        benchmark = self._benchmark
        returns = benchmark.returns() if benchmark is not None else None  # once a round
        name = benchmark.symbol if benchmark is not None else ""
        shared = any(service is not self for service in ctx.resources.services)
        handed_back = time.perf_counter()
        for account_id in sorted(changed):
            account = self._series.get(account_id)
            update = (
                account.analytics(now_ns, returns, name, self._prices)
                if account is not None
                else None
            )
            if update is not None:
                updates.append(update)
            if time.perf_counter() - handed_back >= YIELD_AFTER_S:
                # ~1 ms per account with a full day kept: let the loop breathe (embedded,
                # the order path shares it) rather than block it for the whole round.
                await hand_back(shared=shared)
                handed_back = time.perf_counter()
        events = [envelope(u, u.account_id) for u in updates]
        try:
            await ctx.bus.publish_batch(topics.ANALYTICS_UPDATES, events)
        except Exception:
            self._changed |= changed  # computed again next round
            raise
        metrics.computed.inc(len(events))
        if self._guard is not None:
            try:
                engaged = await self._guard.check(updates)
            except Exception as error:  # checked again next round
                self._changed |= {u.account_id for u in updates}
                ctx.log.warning("risk limits not checked", error=describe(error))
            else:
                metrics.halted.inc(len(engaged))
        metrics.round_seconds.observe(time.perf_counter() - started)
        return len(events)

    async def _bot_round(self, ctx: ServiceContext, tracker: BotTracker, changed: set[str]) -> None:
        """The bots' PnL series (`bot_tracking.py`): the accounts that changed met, the
        fills recorded since the last round read, every bot valued and its closed minute
        recorded, then their drawdown and VaR limits checked (`bot_limits.py`)."""
        try:
            now_ns = self._clock()
            await tracker.read_fills(changed, now_ns)
            await tracker.record(now_ns, self._prices.close, self._equity_of)
        except Exception as error:  # the next round tries again
            ctx.log.warning("bots' PnL not recorded", error=describe(error))
            return
        if self._bot_guard is not None:
            try:
                await self._bot_guard.check(tracker.series)
            except Exception as error:  # checked again next round
                ctx.log.warning("bots' risk limits not checked", error=describe(error))

    def _equity_of(self, account_id: str, asset: str) -> Decimal | None:
        """The account's newest equity, if it is valued in `asset`."""
        account = self._series.get(account_id)
        if account is None or account.last_ts_ns == 0 or account.valuation_asset != asset:
            return None
        return account.equity

    async def stop(self) -> None:
        retention, self._retention = self._retention, None
        if retention is not None:
            retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retention
        rounds, self._rounds = self._rounds, None
        if rounds is not None:
            rounds.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rounds
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await subscription.stop()
        market, self._market = self._market, None
        if market is not None:
            await market.stop()
        started, self._started = self._started, None
        if started is not None and self._changed:
            await self._last_round(*started)

    async def _last_round(self, ctx: ServiceContext, metrics: AnalyticsMetrics) -> None:
        """On the way out, the accounts that changed since the last round, so what was
        published last is each account's final valuation's figures (the end-of-run
        report's; a successor would compute them only when the account next changes)."""
        try:
            await self.compute_round(ctx, metrics)
        except Exception as error:  # stopping either way; the record still has the valuations
            ctx.log.warning("last analytics round failed", error=describe(error))

    @property
    def ready(self) -> bool:
        return self._subscription is not None

    def admin_endpoints(self) -> AdminEndpoints:
        return {"/analytics/accounts": lambda: sorted(self._series)}


async def hand_back(*, shared: bool) -> None:
    """Let the rest of the process run between two slices of a round. Alone in its
    process (`tradewind service analytics`) one turn of the loop is enough (the bus
    consumers stay alive). `shared` with other services (`tradewind up`), it is not: an
    event through the in-process bus takes several turns (bar, intent, order), so a
    round that took the loop back for one turn per slice would hold the order path to
    one step per slice (p99 tick to order ~1 s at 1,000 accounts); the round then waits
    a slice's length, taking at most half of the loop."""
    await asyncio.sleep(YIELD_AFTER_S if shared else 0)


async def _restored(
    account_ids: list[str],
    window_minutes: int,
    database: Database | None,
    now_ns: int,
    metrics: AnalyticsMetrics,
    ctx: ServiceContext,
    *,
    shared: bool,
) -> dict[str, AccountSeries]:
    """These accounts' series, read back from their recorded valuations of the window
    (none without a database, or when the read fails: the live updates still count), 500
    accounts to a query. Each account's day is restored in one go
    (`AccountSeries.restore`: ~20 ms an account with its read, where taking its
    valuations one at a time took 70 ms), and the loop is handed back between slices
    (`hand_back`), as a round does: meeting thousands of accounts takes seconds to
    minutes, in which the bars, the health checks and a sharing order path go on
    (`shared`: as `hand_back`'s)."""
    accounts = {a: AccountSeries(a, window_minutes) for a in account_ids}
    if database is None:
        return accounts
    from tradewind.store import portfolio_snapshots
    from tradewind.store.database import in_chunks

    until = datetime_from_ns(now_ns)
    since = until - timedelta(minutes=window_minutes)
    handed_back = time.perf_counter()
    for chunk in in_chunks(account_ids):
        try:
            async with database.read() as conn:
                found = await portfolio_snapshots.valuation_columns_of(
                    conn, chunk, since, until, limit=2 * window_minutes + 10
                )
        except Exception as error:
            ctx.log.warning("recorded equity not read", accounts=len(chunk), error=describe(error))
            continue
        for account_id, columns in found.items():
            accounts[account_id].restore(columns)
            if time.perf_counter() - handed_back >= YIELD_AFTER_S:
                await hand_back(shared=shared)
                handed_back = time.perf_counter()
        metrics.restored.inc(len(found))
    return accounts
