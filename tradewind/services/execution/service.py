"""The execution service: approved intents become orders at the venues, and what the
venues do with them becomes `orders.events` (order events, `Fill`s, `BalanceUpdate`s).

It consumes `orders.approved` as consumer group `execution` (keyed by account, so one
instance owns an account's orders) and `risk.controls` as a group of its own per
instance (every instance needs every kill switch). See `desk` for the handling,
`order_placement` for how an order is sent at most once, `reconcile` for the periodic
alignment with the venue, `gate` for rate limits and circuit breakers, and `settings`
for the knobs.

It needs `ctx.resources.venues`, and the account credentials: an injected
`CredentialsSource`, else the account store (`ctx.resources.database`) decrypted with
`ctx.resources.encryptor`. With a database, orders and fills are stored with the events
they make (the transactional outbox, see `outbox`), sessions are opened for every stored
account at start, and a relay publishes events a killed process left staged (at start,
then every second); without, everything lives in memory.
`GET /breakers` shows each venue's circuit breaker; the metrics are
`tradewind_execution_*`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from tradewind.bus.port import Subscription
from tradewind.bus.topics import (
    ACCOUNT_BALANCES,
    BOT_COMMANDS,
    ORDERS_APPROVED,
    ORDERS_CANCEL,
    RISK_CONTROLS,
)
from tradewind.domain.kill_switches import KillSwitches
from tradewind.errors import ConfigError
from tradewind.runtime.metrics import timed_handler
from tradewind.runtime.service import AdminEndpoints, Service, ServiceContext
from tradewind.runtime.service_settings import ExecutionSettings
from tradewind.services.execution.credentials import CredentialsSource, StoredCredentials
from tradewind.services.execution.desk import ExecutionDesk
from tradewind.services.execution.gate import BreakerStatus, VenueGates
from tradewind.services.execution.metrics import ExecutionMetrics
from tradewind.services.execution.order_placement import OrderPlacement
from tradewind.services.execution.outbox import RELAY_MIN_AGE_S, EventOutbox
from tradewind.services.execution.reconcile import Reconciler
from tradewind.services.execution.session_pool import SessionPool
from tradewind.services.execution.tracking import OrderTracker
from tradewind.services.execution.trade_history import TradeHistory
from tradewind.store.outbox import OutboxRelay
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.egress import parse_egress
from tradewind.venues.port import VenueDirectory
from tradewind.venues.profile import RateRules

GROUP = "execution"
_RELAY_POLL_S = 1.0  # how often the relay looks for events left staged


class ExecutionService(Service):
    """The execution service: turns approved intents into orders at the venues and what
    the venues do with them into `orders.events`, and applies the kill switches."""

    name = "execution"

    def __init__(
        self,
        settings: ExecutionSettings | None = None,
        credentials: CredentialsSource | None = None,
    ) -> None:
        """`settings` None: `ctx.settings.execution` at `start`. `credentials` None:
        from the account store."""
        self._settings = settings
        self._credentials = credentials
        self._subscriptions: list[Subscription] = []
        self._gates: VenueGates | None = None
        self._pool: SessionPool | None = None
        self._outbox: EventOutbox | None = None
        self._relay: OutboxRelay | None = None
        self._desk: ExecutionDesk | None = None
        self._opening: asyncio.Task[None] | None = None
        self._log: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(__name__)

    async def start(self, ctx: ServiceContext) -> None:
        settings = self._settings or ctx.settings.execution
        venues = ctx.resources.venues
        if venues is None:
            raise ConfigError(
                "TRADEWIND_VENUE_URLS",
                "the execution service needs venues: run it with `tradewind up` (the "
                "simulated exchange in process) or set TRADEWIND_VENUE_URLS or TRADEWIND_VENUES",
            )
        credentials = self._credentials or _stored_credentials(ctx)
        database = ctx.resources.database
        log, metrics = ctx.log, ExecutionMetrics.of(ctx.metrics.registry)
        self._log = log
        outbox = EventOutbox(ctx.bus, database, log)
        if database is not None:
            # Events a process left staged (killed after its commit): published first.
            self._relay = OutboxRelay(
                database, ctx.bus, poll_s=_RELAY_POLL_S, min_age_s=RELAY_MIN_AGE_S
            )
            relayed = 0
            while moved := await self._relay.relay_once():
                relayed += moved
            if relayed:
                log.warning("events left staged by an earlier process published", events=relayed)
            await self._relay.start()
        local = frozenset(venues.names) if isinstance(venues, SimulatedVenues) else frozenset()
        gates = VenueGates(settings, metrics, log, rules=pacing(settings, venues), local=local)
        tracker = OrderTracker(
            outbox,
            metrics,
            log,
            fill_lookback_ms=settings.execution_fill_lookback_ms,
            retry=settings.backoff(),
        )
        interval_s = settings.execution_reconcile_interval_s
        history = TradeHistory(
            tracker, outbox, database, metrics, log,
            lookback_ms=settings.execution_fill_lookback_ms,
        )  # fmt: skip
        reconciler = Reconciler(tracker, history, outbox, metrics, log, interval_s=interval_s)
        pool = SessionPool(
            venues,
            credentials,
            gates,
            tracker,
            reconciler,
            outbox,
            database,
            metrics,
            log,
            remembered_orders=settings.execution_remembered_orders,
            stream_backoff=settings.backoff(),
            egress=parse_egress(ctx.settings.egress),
        )
        placement = OrderPlacement(settings, tracker, outbox, metrics, log)
        switches = KillSwitches()
        desk = ExecutionDesk(
            pool, placement, tracker, outbox, switches, database, metrics, log,
            deadline_s=settings.execution_order_deadline_s,
        )  # fmt: skip
        pool.resume = desk.resume
        self._gates, self._pool, self._outbox, self._desk = gates, pool, outbox, desk
        controls = f"{GROUP}.controls"  # every instance needs every kill switch: a listener
        accounts = await ctx.bus.subscribe(
            [ORDERS_APPROVED, ORDERS_CANCEL, BOT_COMMANDS, ACCOUNT_BALANCES],
            GROUP,
            timed_handler(ctx.metrics, GROUP, desk.on_account_requests),
        )
        self._subscriptions = [
            await ctx.bus.listen(
                [RISK_CONTROLS],
                controls,
                timed_handler(ctx.metrics, controls, desk.on_controls),
                start="oldest",
            ),
            accounts,
        ]
        pool.fence(accounts.sole_partitions, ctx.bus.partition_of)
        following = pool.follow(
            accounts.partitions, ctx.bus.partition_of, database,
            open_stored=settings.execution_sessions_at_start,
        )  # fmt: skip
        self._opening = asyncio.create_task(following)

    async def stop(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in reversed(subscriptions):
            await subscription.stop()
        opening, self._opening = self._opening, None
        if opening is not None:
            opening.cancel()
            await asyncio.gather(opening, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close_all()
        if self._outbox is not None:
            await self._outbox.close()
            try:
                await self._outbox.flush()
            except Exception as exc:  # what is left is re-read by the next start
                self._log.error("events not flushed at stop", error=str(exc))
        relay, self._relay = self._relay, None
        if relay is not None:
            await relay.stop()

    @property
    def ready(self) -> bool:
        return bool(self._subscriptions)

    def breakers(self) -> list[BreakerStatus]:
        """Every venue's circuit breaker (the venues used so far)."""
        return [] if self._gates is None else self._gates.statuses()

    def admin_endpoints(self) -> AdminEndpoints:
        return {"/breakers": self.breakers}


def _stored_credentials(ctx: ServiceContext) -> CredentialsSource:
    database, encryptor = ctx.resources.database, ctx.resources.encryptor
    if database is None or encryptor is None:
        missing = "TRADEWIND_DATABASE_URL" if database is None else "TRADEWIND_MASTER_KEYS"
        raise ConfigError(
            missing,
            "the execution service reads exchange keys from the account store, decrypted "
            "with the master keys: configure both",
        )
    return StoredCredentials(database, encryptor)


def pacing(
    settings: ExecutionSettings, venues: VenueDirectory
) -> Callable[[str], RateRules | None]:
    """The limits execution's gate paces each venue by (`execution_rate_limits`): in
    `auto`, those its adapter publishes (none for the in-process simulated exchange, which
    has no network, nor for venues whose adapter knows none: ccxt's own limiter paces
    those); in `off`, none."""
    if settings.execution_rate_limits == "off":
        return lambda venue: None
    return lambda venue: venues.profile(venue).limits
