"""The strategy service: hosts thousands of bots in one process and turns their
decisions into `orders.intent`.

Bots come from the database: at start every running (and paused) bot of the accounts
this instance owns (`instance_slots.py`), later as `BotCommand`s arrive. Subscriptions:

- `bot.commands`, `orders.events`, `portfolio.updates` as the consumer group of this
  instance's placement slot (`strategy` when alone). All are keyed by account, so one
  instance sees an account's events in order. A batch is acknowledged only after the
  intents it caused are published and the touched bots' states are written
  (`Outbound.flush`); a redelivered event whose id this instance has already handled is
  skipped, one it has not (after a restart) re-runs its hook against the state saved
  before it.
- `md.bar`, `md.trade` as a listener (`strategy-md`, `Bus.listen`: every instance gets
  all market data) from the latest event: events published before the instance started
  listening never arrive, so bots never decide on stale prices, and nothing is
  redelivered across restarts. A batch's intents are published (`Outbound.publish`)
  and the states they changed encoded and written in the background (`StateWriter`):
  the next bar does not wait for the database. A crash before that write restarts the bots from
  their previous states, whose next decisions reuse the same intent ids (so the same
  client order ids: execution places each at most once).

One timer task ticks every `TRADEWIND_STRATEGY_TIMER_TICK_S` (100 ms): due bots get
`on_timer`; the same task publishes what timers produced and, every
`TRADEWIND_STRATEGY_SAVE_INTERVAL_S` (10 s), saves the bots whose memory
market data or timers changed without an intent and waits for every queued state to be
written (a crash loses at most that much indicator history).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence

from tradewind.bus.delivery import describe
from tradewind.bus.envelope import Envelope
from tradewind.bus.ownership import OwnedPartitions
from tradewind.bus.port import ConsumerOptions, Subscription
from tradewind.bus.topics import BOT_COMMANDS, MD_BAR, MD_TRADE, ORDERS_EVENTS, PORTFOLIO_UPDATES
from tradewind.domain.bounded import RecentlySeen
from tradewind.domain.commands import BotCommand
from tradewind.domain.events import (
    Bar,
    Fill,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    PortfolioUpdate,
    TradeTick,
)
from tradewind.domain.time_units import NS_PER_S
from tradewind.errors import ConfigError
from tradewind.runtime.metrics import timed_handler
from tradewind.runtime.service import AdminEndpoints, Service, ServiceContext
from tradewind.runtime.service_settings import StrategySettings
from tradewind.services.strategy.account_events import AccountEvents
from tradewind.services.strategy.hooks import HookRunner
from tradewind.services.strategy.host import BotHost
from tradewind.services.strategy.instance_slots import InstanceSlot
from tradewind.services.strategy.lifecycle import BotLifecycle, CreateStrategy
from tradewind.services.strategy.metrics import StrategyMetrics
from tradewind.services.strategy.outbound import Outbound
from tradewind.services.strategy.roster import BotRoster
from tradewind.services.strategy.timers import TimerWheel
from tradewind.services.strategy.warm_up import WarmUp
from tradewind.strategies import registry
from tradewind.venues.port import VenueDirectory

MARKET_DATA_LISTENER = "strategy-md"
_TRADES_REMEMBERED = 1024  # per market: repeats arrive within a batch or two
_FOLLOW_S = 0.5  # how often the partitions this instance reads are looked at
#: How long a partition must be another instance's before its bots are handed over: a
#: lease can lapse for a heartbeat without moving, and a bot run in two places for that
#: long sends the same intents twice (placed once: their ids are the same).
_LOSS_GRACE_S = 1.0
# A bar's bots run in the task that published it (in one process): no loop turn between
# the bar and its hooks. Other buses read it in their consumer's task as before.
_MARKET_DATA_OPTIONS = ConsumerOptions(inline=True)


class StrategyService(Service):
    """The strategy service: hosts the bots of the accounts this instance owns, feeds them
    market data, order events and timers, and publishes their intents."""

    name = "strategy"

    def __init__(
        self,
        placement: InstanceSlot | None = None,
        *,
        settings: StrategySettings | None = None,
        create_strategy: CreateStrategy = registry.create,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        """`settings` default to the runtime's (`ctx.settings.strategy`, read at
        `start`); `placement` to the slot they name (`TRADEWIND_INSTANCE_INDEX` / `_COUNT`);
        `create_strategy(name, params)` builds a bot's strategy; `clock` (ns since the
        epoch) is the time of timers and of commands' hooks."""
        self._placement = placement
        self._given = settings
        self._settings = settings or StrategySettings()
        self._create_strategy = create_strategy
        self._clock = clock
        self._subscriptions: list[Subscription] = []
        self._ticker: asyncio.Task[None] | None = None
        self._following: asyncio.Task[None] | None = None
        self._partitions: OwnedPartitions | None = None
        self._follow_lock = asyncio.Lock()
        self._recent: RecentlySeen[str] = RecentlySeen(self._settings.strategy_remembered_events)
        self._flush_failing = False
        self._last_bar_ns: dict[tuple[str, int], int] = {}  # (key, interval) -> open ns
        self._recent_trades: dict[str, RecentlySeen[str]] = {}  # market key -> its last trade ids
        # Empty until the start fills them, so the admin view answers before it.
        self.roster = BotRoster()
        self.timers: TimerWheel[BotHost] = TimerWheel(self._clock)

    def _warm_up(self, venues: VenueDirectory, ctx: ServiceContext) -> WarmUp:
        interval_s = ctx.settings.marketdata.bar_interval_s  # the bars marketdata builds
        return WarmUp(venues, interval_s, self.metrics, ctx.log)

    async def start(self, ctx: ServiceContext) -> None:
        database, venues = ctx.resources.database, ctx.resources.venues
        if database is None:
            raise ConfigError("TRADEWIND_DATABASE_URL", "the strategy service needs the database")
        if venues is None:
            raise ConfigError("TRADEWIND_VENUE_URLS", "the strategy service needs the venues")
        settings = self._settings = self._given or ctx.settings.strategy
        placement = self._placement = self._placement or InstanceSlot.from_settings(settings)
        self._recent = RecentlySeen(settings.strategy_remembered_events)
        self._log = ctx.log
        self.metrics = StrategyMetrics(ctx.metrics.registry)
        self.roster = BotRoster()
        self.timers = TimerWheel(self._clock)
        self.outbound = Outbound(ctx.bus, database, self.roster.routes, self.metrics)
        self.outbound.writer.report = self._report_writes
        self.lifecycle = BotLifecycle(
            roster=self.roster,
            outbound=self.outbound,
            timers=self.timers,
            metrics=self.metrics,
            database=database,
            venues=venues,
            create_strategy=self._create_strategy,
            cache=ctx.resources.cache,
            log=ctx.log,
            warm_up=self._warm_up(venues, ctx) if settings.strategy_warm_up else None,
        )
        self.hooks = HookRunner(
            self.outbound,
            self.metrics,
            max_errors_in_row=settings.strategy_max_errors_in_row,
            give_up=self.lifecycle.give_up,
        )
        self.lifecycle.hooks = self.hooks
        self._account_events = AccountEvents(self.roster, self.hooks)

        if placement.count > 1:  # static slots: load first, then consume
            await self.lifecycle.load(placement.owns)
            await self.outbound.flush()
        handler = timed_handler(ctx.metrics, MARKET_DATA_LISTENER, self._on_market_data)
        market_data = await ctx.bus.listen(
            (MD_BAR, MD_TRADE), MARKET_DATA_LISTENER, handler, options=_MARKET_DATA_OPTIONS
        )
        self._subscriptions.append(market_data)
        handler = timed_handler(ctx.metrics, placement.account_group, self._on_account_events)
        topics = (BOT_COMMANDS, ORDERS_EVENTS, PORTFOLIO_UPDATES)
        accounts = await ctx.bus.subscribe(topics, placement.account_group, handler)
        self._subscriptions.append(accounts)
        if placement.count == 1:  # shared by lease: host the partitions this one reads
            self._partitions = OwnedPartitions(
                accounts.partitions, ctx.bus.partition_of, grace_s=_LOSS_GRACE_S
            )
            await self._follow_partitions()
            self._following = asyncio.get_running_loop().create_task(
                self._keep_following(), name="strategy-partitions"
            )
        hosted = len(self.roster.hosts)
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="strategy-timers")
        ctx.log.info(
            "strategy service started",
            bots=hosted,
            instance=placement.index,
            instances=placement.count,
            group=placement.account_group,
        )

    async def stop(self) -> None:
        """Stop the timers (no new decisions of their own), drain the subscriptions,
        then publish what is pending and save every changed bot."""
        for task in (self._ticker, self._following):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._ticker = self._following = None
        # Together: each may wait for its batch in flight and then leave its group, and
        # one after the other they could outlast the runner's drain (the chaos run on
        # Kafka saw an instance, stopped just after a rebalance, take over 15 s).
        subscriptions, self._subscriptions = self._subscriptions, []
        await asyncio.gather(*(subscription.stop() for subscription in subscriptions))
        for host in self.roster.hosts.values():
            if host.dirty:
                self.outbound.save(host)
        await self.outbound.flush()
        await self.outbound.writer.close()

    @property
    def ready(self) -> bool:
        return self._ticker is not None and not self._ticker.done()

    def admin_endpoints(self) -> AdminEndpoints:
        return {"/strategy": self.summary}

    def summary(self) -> dict[str, int]:
        """Hosted bots by state, accounts and timers set (all 0 before the start)."""
        running, paused = self.roster.counts()
        accounts, timers = len(self.roster.accounts), len(self.timers)
        return {"running": running, "paused": paused, "accounts": accounts, "timers": timers}

    # -- market data ----------------------------------------------------------------

    async def _on_market_data(self, batch: Sequence[Envelope]) -> None:
        outbound = self.outbound
        outbound.saving_later = True  # the states: encoded and written after the publish
        try:
            for env in batch:
                outbound.cause = env.event_id  # the intents' trace: tick-to-order latency
                payload = env.payload
                if type(payload) is Bar:
                    self._on_bar(env.key, payload)
                elif type(payload) is TradeTick:
                    self._on_trade(env.key, payload)
        finally:
            outbound.cause = None
            outbound.saving_later = False
        if not outbound.idle:
            await self._publish_or_log()  # market data is not redelivered: never raise

    def _on_bar(self, key: str, bar: Bar) -> None:
        # A bar no newer than the last of its series is a repeat (two marketdata
        # instances publishing one market, a redelivery): the bots have seen it.
        series = (key, bar.interval_s)
        last = self._last_bar_ns.get(series)
        if last is not None and bar.open_ns <= last:
            self.metrics.bars_repeated.inc()
            return
        self._last_bar_ns[series] = bar.open_ns
        close_ns = bar.open_ns + bar.interval_s * NS_PER_S
        self.roster.set_price(bar.instrument.venue, bar.instrument.symbol, bar.close, close_ns)
        hosts = self.roster.bar_index.get(key)
        if hosts:
            self.hooks.bars(hosts.values(), bar, close_ns)

    def _on_trade(self, key: str, tick: TradeTick) -> None:
        # The same trade twice (two marketdata instances publishing one market, a
        # redelivery): the bots saw it already.
        seen = self._recent_trades.get(key)
        if seen is None:
            seen = self._recent_trades[key] = RecentlySeen(_TRADES_REMEMBERED)
        if tick.trade_id in seen:
            self.metrics.trades_repeated.inc()
            return
        seen.add(tick.trade_id)
        instrument = tick.instrument
        self.roster.set_price(instrument.venue, instrument.symbol, tick.price, tick.ts_ns)
        hosts = self.roster.tick_index.get(key)
        if hosts:
            self.hooks.ticks(hosts.values(), tick)

    # -- account events ---------------------------------------------------------------

    async def _on_account_events(self, batch: Sequence[Envelope]) -> None:
        assert self._placement is not None
        owns: Callable[[str], bool]
        if self._partitions is not None:
            await self._follow_partitions()  # a partition just gained: its bots first
            owns = self._partitions.holds
        else:
            owns = self._placement.owns
        recent, events = self._recent, self._account_events
        outbound = self.outbound
        for env in batch:
            if env.event_id in recent or not owns(env.key):
                continue
            outbound.cause = env.trace_id
            payload = env.payload
            if isinstance(payload, Fill):
                events.fill(payload)
            elif isinstance(payload, OrderRejected):
                events.rejected(payload)
            elif isinstance(payload, OrderFilled | OrderCanceled | OrderExpired):
                events.finished(payload)
            elif isinstance(payload, PortfolioUpdate):
                events.portfolio(payload)
            elif isinstance(payload, BotCommand):
                outbound.cause = None
                await self.lifecycle.command(payload)
            recent.add(env.event_id)
        outbound.cause = None
        await outbound.flush()  # raises: the batch is redelivered, handled ones skipped

    # -- partitions -------------------------------------------------------------------

    async def _keep_following(self) -> None:
        while True:
            await asyncio.sleep(_FOLLOW_S)
            try:
                await self._follow_partitions()
            except Exception as error:  # the database may be failing over: try again
                self._log.warning("bots of new partitions not loaded", error=describe(error))

    async def _follow_partitions(self) -> None:
        """Host the bots of the accounts whose partition of the account topics this
        instance reads, and only those: load the bots of partitions gained (from the
        database, with their saved states), hand over those of partitions another
        instance has read for `_LOSS_GRACE_S` (their states saved for it to load)."""
        partitions = self._partitions
        assert partitions is not None
        async with self._follow_lock:
            gained, lost = partitions.changes(time.monotonic())
            if gained:
                await self.lifecycle.load(lambda account: partitions.of(account) in gained)
                partitions.followed |= gained
            if lost:
                accounts = {h.account_id for h in self.roster.hosts.values()}
                leaving = {a for a in accounts if partitions.of(a) in lost}
                handed = self.lifecycle.hand_over(leaving)
                partitions.followed -= lost
                self._log.info("bots handed over", bots=handed, partitions=sorted(lost))
            if gained or lost:
                await self.outbound.flush()

    # -- timers and periodic saves ----------------------------------------------------

    async def _tick(self) -> None:
        settings = self._settings
        tick_s = settings.strategy_timer_tick_s
        save_every = max(1, round(settings.strategy_save_interval_s / tick_s))
        ticks = 0
        while True:
            await asyncio.sleep(tick_s)
            now_ns = self._clock()
            due = self.timers.pop_due(now_ns, settings.strategy_timers_per_tick)
            if due:
                self.outbound.saving_later = True
                try:
                    self.hooks.timers(due, now_ns)
                finally:
                    self.outbound.saving_later = False
            ticks += 1
            if ticks % save_every == 0:
                for host in self.roster.hosts.values():
                    if host.dirty:
                        self.outbound.save(host)
                await self._publish_or_log(wait_for_writes=True)
            else:
                await self._publish_or_log()

    async def _publish_or_log(self, *, wait_for_writes: bool = False) -> None:
        """Publish, writing the states in the background (`wait_for_writes`: wait until
        they are written); on failure log once (the work stays queued for the next
        tick)."""
        outbound = self.outbound
        try:
            await (outbound.flush() if wait_for_writes else outbound.publish())
        except Exception as error:
            self._report_writes(error)
            return
        if wait_for_writes or outbound.writer.idle:
            self._report_writes(None)

    def _report_writes(self, error: Exception | None) -> None:
        """Log the first failure to publish or write, and the first success after."""
        if error is not None:
            if not self._flush_failing:
                self._log.error("cannot publish intents or save bot states", error=describe(error))
            self._flush_failing = True
        elif self._flush_failing:
            self._log.info("publishing intents and saving bot states again")
            self._flush_failing = False
