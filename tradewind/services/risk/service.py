"""The risk service: every `OrderIntent` passes the pre-trade rules before execution sees
it.

Subscriptions:

- `risk` (shared by the instances, so one decides for an account at a time):
  orders.intent, keyed by account. Intents are decided (`RiskDesk`);
- `risk-accounts-<instance>` (one group per instance: every instance follows every
  account): portfolio.updates and orders.events. `PortfolioUpdate` gives equity (daily
  loss), `PositionUpdate` positions, `BalanceUpdate` (venue truth) and `Fill` the free
  balances the balance rule needs. So an instance that takes over an account's intents
  (its twin died) already knows that account: no state to rebuild before it decides.
  An account whose balances it has still not seen (its history trimmed away) is not
  taken for empty: its intents are rejected saying so, and a `BalancesRequested` on
  account.balances has execution publish them at once;
- `risk-md-<instance>` (likewise): md.trade, for last prices;
- `risk-controls-<instance>` (likewise): risk.controls, kill switches engaged and
  released. At start the switches stored in the database are loaded first.

Per batch, the approved intents go to orders.approved and the rejections (an
`OrderRejected` from source "risk", with the rule's reason and the intent's client order
id) to orders.rejected and orders.events, one `publish_batch` per topic, keyed by account
and carrying the intent's trace id. Nothing is logged per intent; decisions are counted
in `tradewind_risk_decisions_total{decision,rule}` (rule `balances_unknown`: rejected while
the account's balances were still asked for).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tradewind.bus import topics
from tradewind.bus.envelope import Envelope
from tradewind.bus.port import BatchHandler, Subscription
from tradewind.domain.risk import RiskLimits
from tradewind.runtime.metrics import timed_handler
from tradewind.runtime.service import AdminEndpoints, Service, ServiceContext
from tradewind.services.risk.desk import RiskDesk, kill_switch_from_record
from tradewind.services.risk.metrics import RiskMetrics
from tradewind.services.risk.settings import load_risk_settings

if TYPE_CHECKING:
    from tradewind.store.database import Database

GROUP = "risk"
PRICES_GROUP = "risk-md"  # + "-<instance>": every instance needs every price
CONTROLS_GROUP = "risk-controls"  # + "-<instance>": every instance needs every switch
_LEAVE_S = 10.0  # longest wait for the per-instance subscriptions to close at stop
ACCOUNTS_GROUP = "risk-accounts"  # + "-<instance>": every instance follows every account
ACCOUNT_TOPICS = (topics.PORTFOLIO_UPDATES, topics.ORDERS_EVENTS)


class RiskService(Service):
    """Pre-trade risk; see the module docstring."""

    name = "risk"

    def __init__(
        self,
        limits: RiskLimits | None = None,
        *,
        remember: int | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        """`limits` and `remember` (intents kept for redeliveries) None: from the
        settings at `start`. `clock` gives ns since the epoch."""
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
        settings = load_risk_settings()
        limits = self._limits or settings.limits()
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

        async def on_account_state(batch: Sequence[Envelope]) -> None:
            desk.take(batch, clock())  # no intents here: nothing decided

        async def on_intents(batch: Sequence[Envelope]) -> None:
            decisions = desk.take(batch, clock())
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
        instance = uuid.uuid4().hex[:12]
        try:
            # Controls, prices and accounts first, so that intents meet the newest of each.
            await self._subscribe(
                ctx, [topics.RISK_CONTROLS], CONTROLS_GROUP, instance, on_controls
            )
            await self._subscribe(ctx, [topics.MD_TRADE], PRICES_GROUP, instance, on_trades)
            await self._subscribe(ctx, ACCOUNT_TOPICS, ACCOUNTS_GROUP, instance, on_account_state)
            await self._subscribe(ctx, [topics.ORDERS_INTENT], GROUP, None, on_intents)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        if subscriptions and subscriptions[-1].group == GROUP:
            # The intents first, drained: no decision after the state stops moving.
            await subscriptions.pop().stop()
        # Then the per-instance groups, together and without draining: they feed this
        # instance's state only and nobody reads them after it (a new instance joins
        # groups of its own), so there is nothing to hand over. Draining them waited on
        # their commits, which the Kafka-protocol broker held past the 30 s drain when
        # another group was rebalancing.
        killed = asyncio.gather(*(subscription.kill() for subscription in subscriptions))
        try:
            async with asyncio.timeout(_LEAVE_S):
                await killed
        except TimeoutError:  # a broker that holds a leave: its session timeout ends it
            logging.getLogger(__name__).warning(
                "risk's own subscriptions did not close within %s s; leaving them", _LEAVE_S
            )
        self._desk = None

    @property
    def ready(self) -> bool:
        return self._desk is not None and len(self._subscriptions) == 4

    def admin_endpoints(self) -> AdminEndpoints:
        return {"/risk/kill-switches": self._engaged_switches}

    def _engaged_switches(self) -> list[dict[str, object]]:
        return [] if self._desk is None else self._desk.engaged_switches()

    async def _subscribe(
        self,
        ctx: ServiceContext,
        subscribed: Sequence[str],
        group: str,
        instance: str | None,
        handler: BatchHandler,
    ) -> None:
        """Join `group` (`group-instance` when each instance has its own); handler
        metrics carry `group` without the instance id."""
        timed = timed_handler(ctx.metrics, group, handler)
        name = group if instance is None else f"{group}-{instance}"
        self._subscriptions.append(await ctx.bus.subscribe(subscribed, name, timed))


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
