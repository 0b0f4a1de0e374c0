"""Bots coming and going: loading them from the database, and starting, pausing and
stopping them, as `domain.bot_lifecycle` defines the commands.

- start: build the strategy (`registry.create`), restore its saved state and the host's
  open orders, load the history it needs (`warm_up.py`), call `on_start`, then hand it
  the order events it missed while paused.
- pause: stop feeding it market data and timers; its fills and rejections are kept for
  when it resumes; its state is saved. A paused bot stays in memory.
- stop: `on_stop`, ask execution to cancel its open orders (they are then forgotten:
  a restarted bot starts with none), save its state, stop hosting it.

A bot that cannot be built (unknown strategy, bad parameters, a saved state this code
cannot read, a symbol its venue does not list) is paused with the reason logged, so the
user sees it is not running. A venue whose markets cannot be loaded leaves its bots
unhosted but running in the database, to be retried by a start command or a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import structlog

from tradewind.bus.delivery import describe
from tradewind.cache.port import Cache
from tradewind.domain.bot_lifecycle import (
    HOSTED_STATES,
    BotAction,
    BotState,
    action_towards,
    state_after,
)
from tradewind.domain.commands import BotCommand
from tradewind.domain.events import Fill
from tradewind.errors import ConfigError, TradewindError
from tradewind.services.strategy.hooks import HookRunner
from tradewind.services.strategy.host import BotHost
from tradewind.services.strategy.metrics import StrategyMetrics
from tradewind.services.strategy.outbound import Outbound
from tradewind.services.strategy.roster import BotRoster
from tradewind.services.strategy.saved_state import decode_saved
from tradewind.services.strategy.seeding import seed_from_cache
from tradewind.services.strategy.timers import TimerWheel
from tradewind.services.strategy.warm_up import WarmUp
from tradewind.store import accounts as store_accounts
from tradewind.store.bots import (
    BotRecord,
    get_bot,
    load_bots,
    load_strategy_state,
    load_strategy_states,
)
from tradewind.store.database import Database, ns_of
from tradewind.store.portfolio_snapshots import latest_balances
from tradewind.strategies.api import Strategy
from tradewind.venues.directory import load_public_markets
from tradewind.venues.port import VenueDirectory

CreateStrategy = Callable[[str, Mapping[str, Any]], Strategy]
Balances = Mapping[str, tuple[int, dict[str, Decimal]]]


class BotLifecycle:
    """Loads the bots to host and applies `BotCommand`s to them: starts, pauses and stops
    hosted bots, and pauses one that cannot be built or fails too often."""

    def __init__(
        self,
        *,
        roster: BotRoster,
        outbound: Outbound,
        timers: TimerWheel[BotHost],
        metrics: StrategyMetrics,
        database: Database,
        venues: VenueDirectory,
        create_strategy: CreateStrategy,
        cache: Cache | None,
        log: structlog.stdlib.BoundLogger,
        warm_up: WarmUp | None = None,
    ) -> None:
        self._roster = roster
        self._outbound = outbound
        self._timers = timers
        self._metrics = metrics
        self._database = database
        self._venues = venues
        self._create_strategy = create_strategy
        self._cache = cache
        self._log = log
        self._warm_up = warm_up
        self.hooks: HookRunner | None = None  # set by the service, which builds both

    @property
    def _run(self) -> HookRunner:
        assert self.hooks is not None, "BotLifecycle.hooks is not set"
        return self.hooks

    # -- loading --------------------------------------------------------------------

    async def load(self, owns: Callable[[str], bool]) -> int:
        """Host every running and paused bot of the accounts `owns` accepts (that are not
        hosted already); running ones start. Returns how many bots are hosted."""
        hosted = self._roster.hosts
        async with self._database.read() as conn:
            records = [
                r
                for r in await load_bots(conn, HOSTED_STATES)
                if owns(r.account_id) and r.id not in hosted
            ]
            accounts = sorted({r.account_id for r in records})
            venues = await store_accounts.venues(conn, accounts)
            saved = await load_strategy_states(conn, [r.id for r in records])
            balances = await latest_balances(conn, accounts)
        for venue in sorted(set(venues.values())):
            await self._add_venue(venue)
        hosts = [
            self._host(record, venues.get(record.account_id), saved.get(record.id), balances)
            for record in records
        ]
        await self._seed([host for host in hosts if host is not None])
        starting = [
            host
            for record, host in zip(records, hosts, strict=True)
            if host is not None and record.state is BotState.RUNNING
        ]
        await self._prepare(starting)
        for host in starting:
            self.resume(host)
        self.count_bots()
        return len(self._roster.hosts)

    async def _prepare(self, hosts: list[BotHost]) -> None:
        """The history the starting bots' strategies need (`warm_up.WarmUp`)."""
        if self._warm_up is not None and hosts:
            warmed = await self._warm_up.prepare(hosts)
            if warmed:
                self._log.info("bots warmed up with their venue's history", bots=warmed)

    async def _seed(self, hosts: list[BotHost]) -> None:
        if self._cache is not None and hosts:
            await seed_from_cache(self._cache, self._roster, hosts, self._log)

    async def _add_venue(self, venue: str) -> bool:
        """Load `venue`'s markets once; False (logged) if they cannot be loaded."""
        if venue in self._roster.markets:
            return True
        try:
            markets = await load_public_markets(self._venues, venue)
        except TradewindError as error:
            self._log.error("venue markets not loaded", venue=venue, error=describe(error))
            return False
        self._roster.add_venue(venue, markets)
        return True

    def _host(
        self, record: BotRecord, venue: str | None, saved: bytes | None, balances: Balances
    ) -> BotHost | None:
        """Build and host `record`'s bot, paused; None (logged, or paused in the
        database) if it cannot be."""
        if venue is None or venue not in self._roster.markets:
            return None
        try:
            strategy = self._create_strategy(record.strategy, record.params)
            state = decode_saved(saved) if saved else None
            if state is not None:
                strategy.restore(state.strategy)
            markets = self._roster.markets[venue]
            missing = [s for s in strategy.symbols() if s not in markets]
            if missing:
                raise ConfigError("symbols", f"{venue} lists no {', '.join(missing)}")
        except Exception as error:  # a plug-in's constructor may raise anything: contain it
            self._refuse(record, error)
            return None
        new_account = record.account_id not in self._roster.accounts
        account = self._roster.account(record.account_id, venue)
        if new_account and record.account_id in balances:
            ts_ns, amounts = balances[record.account_id]
            account.apply_portfolio(amounts, ts_ns)
        host = BotHost(record.id, strategy, account, self._outbound, self._timers)
        if state is not None and saved is not None:
            host.restore_orders(state)
            host.saved_digest = hash(saved)  # unchanged states are not written back
        self._roster.add(host)
        return host

    def _refuse(self, record: BotRecord, error: Exception) -> None:
        self._metrics.errors.labels(record.strategy).inc()
        self._outbound.set_bot_state(record.id, BotState.PAUSED)
        self._log.error(
            "bot cannot start; paused",
            bot_id=record.id,
            account_id=record.account_id,
            strategy=record.strategy,
            error=describe(error),
        )

    # -- commands -------------------------------------------------------------------

    async def command(self, command: BotCommand) -> None:
        """Bring the bot to the state `command` asks for, or to its database row's state
        if the row changed after the command was issued (an old command redelivered
        must not undo a newer one). The row is updated to the state applied."""
        host = self._roster.hosts.get(command.bot_id)
        venue, saved, balances = None, None, {}
        async with self._database.read() as conn:
            record = await get_bot(conn, command.bot_id)
            if record is None or record.account_id != command.account_id:
                if host is not None:
                    self._drop(host)  # the bot was deleted
                return
            newer_row = ns_of(record.updated_at) > command.ts_ns
            action = action_towards(record.state) if newer_row else command.action
            if action is BotAction.START and host is None:
                venue = (await store_accounts.venues(conn, [record.account_id])).get(
                    record.account_id
                )
                saved = await load_strategy_state(conn, record.id)
                balances = await latest_balances(conn, [record.account_id])
        if action is BotAction.START:
            if host is None and venue is not None and await self._add_venue(venue):
                host = self._host(record, venue, saved, balances)
                if host is not None:
                    await self._seed([host])
            if host is None:
                return  # refused (paused and logged) or its venue is unavailable (logged)
            if not host.running:
                await self._prepare([host])
                self.resume(host)
        elif host is not None and action is BotAction.PAUSE:
            self.pause(host)
        elif host is not None:
            self.stop(host)
        wanted = state_after(action)
        if record.state is not wanted:
            self._outbound.set_bot_state(record.id, wanted)
        self.count_bots()

    # -- transitions ----------------------------------------------------------------

    def resume(self, host: BotHost) -> None:
        """Start a hosted, paused bot: `on_start`, then the order events it missed."""
        host.running = True
        host.errors_in_row = 0
        self._run.start(host, self._timers.clock())
        deferred, host.deferred = host.deferred, []
        for position, event in enumerate(deferred):
            if not host.running:  # given up on while catching up
                host.deferred = deferred[position:]
                break
            if isinstance(event, Fill):
                self._run.fill(host, event)
            else:
                self._run.rejected(host, event)

    def pause(self, host: BotHost) -> None:
        host.running = False
        self._timers.cancel(host)
        host.save_soon()

    def stop(self, host: BotHost) -> None:
        self._run.stop(host, self._timers.clock())
        for client_order_id in list(host.orders):
            host.request_cancel(client_order_id, "bot stopped")
        self._drop(host)
        host.orders.clear()
        host.deferred.clear()
        host.save_soon()

    def give_up(self, host: BotHost, error: Exception) -> None:
        """The bot failed too often in a row: pause it, in the database too."""
        self.pause(host)
        self._outbound.set_bot_state(host.bot_id, BotState.PAUSED)
        self.count_bots()
        self._log.error(
            "bot paused after repeated strategy errors",
            bot_id=host.bot_id,
            account_id=host.account_id,
            strategy=host.strategy.name,
            errors_in_row=host.errors_in_row,
            error=describe(error),
        )

    def hand_over(self, account_ids: set[str]) -> int:
        """Stop hosting the bots of these accounts, whose partition another instance
        reads now: their states are saved (at the next flush) for that instance to load;
        no hook runs, the bots go on there. Returns how many were handed over."""
        leaving = [h for h in self._roster.hosts.values() if h.account_id in account_ids]
        for host in leaving:
            self._outbound.save(host)
            self._drop(host)
        self.count_bots()
        return len(leaving)

    def _drop(self, host: BotHost) -> None:
        host.running = False
        self._timers.cancel(host)
        self._roster.remove(host)

    def count_bots(self) -> None:
        self._metrics.set_bot_counts(*self._roster.counts())
