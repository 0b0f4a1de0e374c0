"""The risk service: every `OrderIntent` passes the pre-trade rules before execution sees
it.

Subscriptions:

- `risk` (shared by the instances, so one owns an account at a time): orders.intent,
  portfolio.updates and orders.events, all keyed by account. Intents are decided
  (`RiskDesk`); `PortfolioUpdate` gives equity (daily loss), `PositionUpdate` positions,
  and `BalanceUpdate` (venue truth, on orders.events) the free balances the balance rule
  needs. An account met for the first time (after a start, or when its partition moved
  here) starts from the system of record before its first intent is decided
  (`recovery`: stored venue balances, saved positions and equity) and a
  `BalancesRequested` on account.balances has execution publish fresh balances at once.
  One with nothing stored is not taken for empty: its intents are rejected saying so
  until execution answers. Accounts whose partition moved away are forgotten;
- `risk-md`, a listener (`Bus.listen`: every instance needs every price): md.trade from
  the latest event, for last prices;
- `risk-controls`, a listener likewise: risk.controls from the oldest retained event,
  kill switches engaged and released. At start the switches stored in the database are
  loaded first; the replay then applies every change published since (a change older
  than what is known is ignored), so none published while the instance started is
  missed, and without a database the retained changes are all there is.

Per batch, the approved intents go to orders.approved and the rejections (an
`OrderRejected` from source "risk", with the rule's reason and the intent's client order
id) to orders.rejected and orders.events, one `publish_batch` per topic, keyed by account
and carrying the intent's trace id. Nothing is logged per intent; decisions are counted
in `tradewind_risk_decisions_total{decision,rule}` (rule `balances_unknown`: rejected while
the account's balances were still asked for).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tradewind.bus import topics
from tradewind.bus.envelope import Envelope
from tradewind.bus.port import BatchHandler, Start, Subscription
from tradewind.domain.risk import RiskLimits
from tradewind.runtime.metrics import timed_handler
from tradewind.runtime.service import AdminEndpoints, Service, ServiceContext
from tradewind.services.risk.desk import RiskDesk, kill_switch_from_record
from tradewind.services.risk.metrics import RiskMetrics

if TYPE_CHECKING:
    from tradewind.store.database import Database

GROUP = "risk"
PRICES_LISTENER = "risk-md"  # every instance needs every price
CONTROLS_LISTENER = "risk-controls"  # every instance needs every switch
ACCOUNT_TOPICS = (topics.ORDERS_INTENT, topics.PORTFOLIO_UPDATES, topics.ORDERS_EVENTS)


class RiskService(Service):
    """The risk service: runs every intent through the pre-trade rules (`RiskDesk`) and
    publishes it approved or rejected, keeping the account state the rules need."""

    name = "risk"

    def __init__(
        self,
        limits: RiskLimits | None = None,
        *,
        remember: int | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        """`limits` and `remember` (intents kept for redeliveries) None: from the
        settings at `start` (`ctx.settings.risk`, the limits parsed at load). `clock`
        gives ns since the epoch."""
        self._limits = limits
        self._remember = remember
        self._clock = clock
        self._desk: RiskDesk | None = None
        self._subscriptions: list[Subscription] = []

    @property
    def desk(self) -> RiskDesk | None:
        """The decisions' state while started (for the admin view and tests)."""
        return self._desk

    async def start(self, ctx: ServiceContext) -> None:
        settings = ctx.settings.risk
        limits = self._limits or settings.limits
        desk = RiskDesk(limits, remember=self._remember or settings.risk_dedupe_size)
        metrics = RiskMetrics.of(ctx.metrics.registry)
        database = ctx.resources.database
        if database is not None:
            loaded = await _load_kill_switches(desk, database)
            ctx.log.info("kill switches loaded", engaged=loaded)
        metrics.kill_switches.set(len(desk.engaged_switches()))
        bus, clock = ctx.bus, self._clock

        async def on_controls(batch: Sequence[Envelope]) -> None:
            desk.take_controls(batch)
            metrics.kill_switches.set(len(desk.engaged_switches()))

        async def on_trades(batch: Sequence[Envelope]) -> None:
            desk.take_trades(batch)

        owned: list[frozenset[int]] = [frozenset()]  # the account partitions last seen
        accounts_subscription: list[Subscription] = []

        async def restore_accounts(batch: Sequence[Envelope], now_ns: int) -> None:
            """Forget the accounts whose partition moved away; read the stored state
            of those met for the first time, before their intents are decided."""
            partitions = accounts_subscription[0].partitions() if accounts_subscription else None
            if partitions and partitions != owned[0]:  # none: a rebalance in flight
                owned[0] = partitions
                partition_of = bus.partition_of
                desk.forget_accounts(
                    a for a in desk.known_accounts() if partition_of(a) not in partitions
                )
            accounts = desk.accounts_to_restore(batch)
            if not accounts:
                return
            stored = {}
            if database is not None:
                from tradewind.services.risk.recovery import load_account_states

                stored = await load_account_states(database, accounts, now_ns)
            metrics.accounts_restored.inc(len(stored))
            requests = desk.restore(accounts, stored, now_ns).balance_requests
            if requests:
                await bus.publish_batch(topics.ACCOUNT_BALANCES, requests)

        async def on_account_events(batch: Sequence[Envelope]) -> None:
            now_ns = clock()
            await restore_accounts(batch, now_ns)
            decisions = desk.take(batch, now_ns)
            for (decision, rule), count in decisions.counts.items():
                metrics.decisions.labels(decision, rule).inc(count)
            if decisions.duplicates:
                metrics.duplicates.inc(decisions.duplicates)
            if decisions.approved:
                await bus.publish_batch(topics.ORDERS_APPROVED, decisions.approved)
            if decisions.rejected:
                await bus.publish_batch(topics.ORDERS_REJECTED, decisions.rejected)
                await bus.publish_batch(topics.ORDERS_EVENTS, decisions.rejected)
            if decisions.balance_requests:
                await bus.publish_batch(topics.ACCOUNT_BALANCES, decisions.balance_requests)
            desk.published(decisions)

        self._desk = desk
        try:
            # Controls and prices first, so that intents meet the newest of both.
            await self._listen(
                ctx, [topics.RISK_CONTROLS], CONTROLS_LISTENER, "oldest", on_controls
            )
            await self._listen(ctx, [topics.MD_TRADE], PRICES_LISTENER, "latest", on_trades)
            timed = timed_handler(ctx.metrics, GROUP, on_account_events)
            accounts = await ctx.bus.subscribe(ACCOUNT_TOPICS, GROUP, timed)
            self._subscriptions.append(accounts)
            accounts_subscription.append(accounts)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        if subscriptions:
            # Intents first (they publish decisions); then the controls and prices
            # listeners, together: each may wait for its batch in flight, and one after
            # the other they could outlast the runner's drain.
            *inputs, intents = subscriptions
            await intents.stop()
            await asyncio.gather(*(subscription.stop() for subscription in inputs))
        self._desk = None

    @property
    def ready(self) -> bool:
        return self._desk is not None and len(self._subscriptions) == 3

    def admin_endpoints(self) -> AdminEndpoints:
        return {"/risk/kill-switches": self._engaged_switches}

    def _engaged_switches(self) -> list[dict[str, object]]:
        return [] if self._desk is None else self._desk.engaged_switches()

    async def _listen(
        self,
        ctx: ServiceContext,
        listened: Sequence[str],
        name: str,
        start: Start,
        handler: BatchHandler,
    ) -> None:
        """Listen to `listened` from `start` as `name` (also the handler's metrics)."""
        timed = timed_handler(ctx.metrics, name, handler)
        self._subscriptions.append(await ctx.bus.listen(listened, name, timed, start=start))


async def _load_kill_switches(desk: RiskDesk, database: Database) -> int:
    """Engage the switches the database holds; returns how many."""
    from tradewind.store import audit  # SQLAlchemy loads only where a database is used

    async with database.read() as conn:
        records = await audit.list_kill_switches(conn)
    for record in records:
        desk.apply_kill_switch(
            kill_switch_from_record(
                record.scope, record.target, record.reason, record.actor_id, record.engaged_at
            )
        )
    return len(records)
