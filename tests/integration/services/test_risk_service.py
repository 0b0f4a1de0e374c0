"""The risk service on the real memory bus: valid intents go to orders.approved,
over-limit ones become `OrderRejected` on orders.rejected and orders.events with the
rule's reason, kill switches (from the bus and from the database) halt trading, last
prices come from md.trade, and redelivered intents are answered once and the same way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from tradewind.bus import topics
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.memory import MemoryBus
from tradewind.bus.port import BatchHandler
from tradewind.domain.client_order_ids import client_order_id_for
from tradewind.domain.commands import BalancesRequested, OrderIntent
from tradewind.domain.events import BalanceUpdate, KillSwitchChanged, OrderRejected, TradeTick
from tradewind.domain.kill_switches import KillSwitchScope
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.domain.risk import AccountLimits, RiskLimits
from tradewind.runtime.logging import get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, ServiceContext
from tradewind.runtime.service_settings import RiskSettings
from tradewind.runtime.settings import Settings
from tradewind.services.risk import RiskDesk, RiskService
from tradewind.store import audit
from tradewind.store.database import Database

D = Decimal
BTC = Instrument.parse("sim", "BTC/USDT")
LIMITS = RiskLimits(
    defaults=AccountLimits(max_order_value={"USDT": D(1000)}),
    accounts={},
)


def intent(
    intent_id: str,
    quantity: str = "0.01",
    price: str | None = "30000",
    *,
    account_id: str = "a1",
    bot_id: str = "bot-1",
    order_type: OrderType = OrderType.LIMIT,
) -> Envelope:
    """A buy of `quantity` BTC at `price` USDT (0.01 at 30,000: 300 USDT, within limits)."""
    event = OrderIntent(
        account_id=account_id,
        bot_id=bot_id,
        intent_id=intent_id,
        instrument=BTC,
        side=Side.BUY,
        order_type=order_type,
        quantity=D(quantity),
        price=None if price is None else D(price),
        ts_ns=time.time_ns(),
    )
    return envelope(event, account_id)


def funds(account_id: str = "a1", usdt: str = "100000") -> Envelope:
    update = BalanceUpdate(
        account_id=account_id,
        venue="sim",
        asset="USDT",
        free=D(usdt),
        locked=D(0),
        ts_ns=time.time_ns(),
    )
    return envelope(update, account_id)


def kill_switch(
    scope: KillSwitchScope, target: str, *, engaged: bool = True, ts_ns: int | None = None
) -> Envelope:
    change = KillSwitchChanged(
        scope=scope,
        target=target,
        engaged=engaged,
        reason="exchange incident",
        actor_id="ops@tradewind",
        ts_ns=time.time_ns() if ts_ns is None else ts_ns,
    )
    return envelope(change, f"{scope}:{target}")


def trade(price: str) -> Envelope:
    tick = TradeTick(
        instrument=BTC,
        price=D(price),
        quantity=D("0.5"),
        aggressor=Side.SELL,
        trade_id="t1",
        ts_ns=time.time_ns(),
    )
    return envelope(tick, BTC.key)


@dataclass
class Outcomes:
    """What risk published, by topic."""

    approved: list[Envelope] = field(default_factory=list)
    rejected: list[Envelope] = field(default_factory=list)
    events: list[Envelope] = field(default_factory=list)

    def handler(self, into: list[Envelope]) -> BatchHandler:
        async def take(batch: Sequence[Envelope]) -> None:
            into.extend(e for e in batch if isinstance(e.payload, OrderIntent | OrderRejected))

        return take

    def decided(self) -> int:
        return len(self.approved) + len(self.rejected)

    def rejection(self, intent_id: str) -> OrderRejected:
        cid = client_order_id_for("a1", "bot-1", intent_id)
        [found] = [
            e.payload
            for e in self.rejected
            if isinstance(e.payload, OrderRejected) and e.payload.client_order_id == cid
        ]
        assert isinstance(found, OrderRejected)
        return found

    def approved_ids(self) -> list[str]:
        return [e.payload.intent_id for e in self.approved if isinstance(e.payload, OrderIntent)]


@dataclass
class Running:
    bus: MemoryBus
    service: RiskService
    outcomes: Outcomes
    metrics: RuntimeMetrics

    async def send(self, topic: str, *events: Envelope) -> None:
        await self.bus.publish_batch(topic, events)

    async def wait_for(self, decided: int, timeout_s: float = 5.0) -> None:
        await wait_until(
            lambda: self.outcomes.decided() >= decided,
            timeout_s,
            what=f"{decided} decided",
        )

    async def consumed(self, group: str, event_type: str, count: int) -> None:
        """Wait until `group` has handled `count` events of `event_type`."""
        labels = {"group": group, "type": event_type}
        name = "tradewind_bus_events_consumed_total"
        await wait_until(
            lambda: (self.metrics.registry.get_sample_value(name, labels) or 0) >= count
        )

    def decisions(self, decision: str, rule: str) -> float:
        labels = {"decision": decision, "rule": rule}
        return self.metrics.registry.get_sample_value("tradewind_risk_decisions_total", labels) or 0


async def wait_until(
    condition: Callable[[], object], timeout_s: float = 5.0, *, what: str = "the condition"
) -> None:
    """Until `condition()` holds; fails naming `what` if it does not within `timeout_s`."""
    try:
        async with asyncio.timeout(timeout_s):
            while not condition():  # noqa: ASYNC110 - the condition has no event to wait on
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"not within {timeout_s:g} s: {what}")


async def start_risk(
    bus: MemoryBus,
    limits: RiskLimits | None = LIMITS,
    database: Database | None = None,
    *,
    funded: bool = True,
    settings: Settings | None = None,
) -> Running:
    outcomes = Outcomes()
    await bus.subscribe([topics.ORDERS_APPROVED], "test-a", outcomes.handler(outcomes.approved))
    await bus.subscribe([topics.ORDERS_REJECTED], "test-r", outcomes.handler(outcomes.rejected))
    await bus.subscribe([topics.ORDERS_EVENTS], "test-e", outcomes.handler(outcomes.events))
    metrics = RuntimeMetrics()
    service = RiskService(limits)
    ctx = ServiceContext(
        settings or Settings(),
        bus,
        get_logger("tradewind.services.risk", service=service.name),
        metrics,
        Resources(database=database),
    )
    await service.start(ctx)
    assert service.ready
    running = Running(bus, service, outcomes, metrics)
    if funded:
        await running.send(topics.ORDERS_EVENTS, funds())
        await running.consumed("risk", "account.balance", 1)
    return running


async def test_a_valid_intent_is_approved_and_an_over_limit_one_rejected_with_its_reason(
    bus: MemoryBus,
) -> None:
    risk = await start_risk(bus)
    ok, too_big = intent("i-1"), intent("i-2", quantity="0.1")  # 300 and 3,000 USDT
    await risk.send(topics.ORDERS_INTENT, ok, too_big)
    await risk.wait_for(2)
    await wait_until(lambda: risk.outcomes.events)

    [approved] = risk.outcomes.approved
    assert approved.payload == ok.payload
    assert approved.key == "a1" and approved.trace_id == ok.trace_id
    rejection = risk.outcomes.rejection("i-2")
    assert rejection.source == "risk"
    assert rejection.account_id == "a1" and rejection.instrument == BTC
    assert rejection.reason == (
        "order value 3,000.00 USDT exceeds the account's max order value 1,000.00 USDT"
    )
    # The same event reaches orders.events, where users' order histories come from.
    assert [e.payload for e in risk.outcomes.events] == [rejection]
    assert risk.outcomes.rejected[0].trace_id == too_big.trace_id
    assert risk.decisions("approved", "none") == 1
    assert risk.decisions("rejected", "max_order_value") == 1
    await risk.service.stop()
    assert not risk.service.ready


async def test_without_limits_given_the_service_takes_those_its_settings_read(
    bus: MemoryBus,
) -> None:
    document = '{"defaults": {"max_order_value": {"USDT": 1000}}}'
    settings = Settings(risk=RiskSettings(risk_limits=document))
    risk = await start_risk(bus, None, settings=settings)
    await risk.send(topics.ORDERS_INTENT, intent("i-1"), intent("i-2", quantity="0.1"))
    await risk.wait_for(2)
    assert risk.decisions("approved", "none") == 1
    assert risk.decisions("rejected", "max_order_value") == 1
    await risk.service.stop()


async def test_balances_risk_never_saw_are_asked_for_not_taken_for_empty(
    bus: MemoryBus,
) -> None:
    # A restarted risk instance knew no balances and rejected every order "with 0
    # available" until execution's next reconciliation, minutes later.
    requests: list[Envelope] = []

    async def take(batch: Sequence[Envelope]) -> None:
        requests.extend(batch)

    await bus.subscribe([topics.ACCOUNT_BALANCES], "test-balances", take)
    risk = await start_risk(bus, funded=False)
    await risk.send(topics.ORDERS_INTENT, intent("i-1"), intent("i-2"))
    await risk.wait_for(2)
    assert "balances are not known yet" in risk.outcomes.rejection("i-1").reason
    # Counted apart from real shortfalls, so an operator sees a take-over's cost.
    assert risk.decisions("rejected", "balances_unknown") == 2
    assert risk.decisions("rejected", "balance") == 0
    await wait_until(lambda: requests)
    [asked] = requests  # once for both intents
    assert isinstance(asked.payload, BalancesRequested) and asked.key == "a1"
    assert asked.payload.account_id == "a1"

    await risk.send(topics.ORDERS_EVENTS, funds())  # what execution publishes when asked
    await risk.consumed("risk", "account.balance", 1)
    await risk.send(topics.ORDERS_INTENT, intent("i-3"))
    await risk.wait_for(3)
    assert risk.outcomes.approved_ids() == ["i-3"]


async def test_kill_switches_from_the_bus_halt_and_release_trading(bus: MemoryBus) -> None:
    risk = await start_risk(bus)
    await risk.send(topics.RISK_CONTROLS, kill_switch(KillSwitchScope.ACCOUNT, "a1"))
    await risk.consumed("risk-controls", "risk.kill_switch", 1)
    await risk.send(topics.ORDERS_INTENT, intent("i-1"))
    await risk.wait_for(1)
    reason = risk.outcomes.rejection("i-1").reason
    assert reason.startswith("account a1 is halted by a kill switch engaged by ops@tradewind")
    assert reason.endswith("UTC: exchange incident")

    released = kill_switch(KillSwitchScope.ACCOUNT, "a1", engaged=False)
    await risk.send(topics.RISK_CONTROLS, released, kill_switch(KillSwitchScope.BOT, "bot-1"))
    await risk.consumed("risk-controls", "risk.kill_switch", 3)
    await risk.send(topics.ORDERS_INTENT, intent("i-2"), intent("i-3", bot_id="bot-2"))
    await risk.wait_for(3)
    assert risk.outcomes.rejection("i-2").reason.startswith(
        "bot bot-1 of account a1 is halted by a kill switch"
    )
    assert risk.outcomes.approved_ids() == ["i-3"]
    assert risk.decisions("rejected", "kill_switch") == 2
    await risk.service.stop()


async def test_kill_switches_stored_in_the_database_apply_from_the_start(
    bus: MemoryBus, tmp_path: Path
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'tradewind.db'}")
    await database.migrate()
    try:
        async with database.transaction() as conn:
            await audit.engage_kill_switch(
                conn, "venue", "sim", reason="venue maintenance", actor_id="u-ops"
            )
        risk = await start_risk(bus, database=database)
        await risk.send(topics.ORDERS_INTENT, intent("i-1"))
        await risk.wait_for(1)
        reason = risk.outcomes.rejection("i-1").reason
        assert reason.startswith("venue sim is halted by a kill switch engaged by u-ops")
        # A release older than the stored engagement is stale; a newer one applies.
        await risk.send(
            topics.RISK_CONTROLS,
            kill_switch(KillSwitchScope.VENUE, "sim", engaged=False, ts_ns=1),
        )
        await risk.consumed("risk-controls", "risk.kill_switch", 1)
        await risk.send(topics.ORDERS_INTENT, intent("i-2"))
        await risk.wait_for(2)
        await risk.send(
            topics.RISK_CONTROLS, kill_switch(KillSwitchScope.VENUE, "sim", engaged=False)
        )
        await risk.consumed("risk-controls", "risk.kill_switch", 2)
        await risk.send(topics.ORDERS_INTENT, intent("i-3"))
        await risk.wait_for(3)
        assert risk.outcomes.approved_ids() == ["i-3"]
        await risk.service.stop()
    finally:
        await database.close()


async def test_market_orders_wait_for_a_last_price_from_md_trade(bus: MemoryBus) -> None:
    risk = await start_risk(bus)
    await risk.send(topics.ORDERS_INTENT, intent("i-1", price=None, order_type=OrderType.MARKET))
    await risk.wait_for(1)
    assert "no last price for BTC/USDT on sim" in risk.outcomes.rejection("i-1").reason

    await risk.send(topics.MD_TRADE, trade("30000"))
    await risk.consumed("risk-md", "md.trade", 1)
    await risk.send(topics.ORDERS_INTENT, intent("i-2", price=None, order_type=OrderType.MARKET))
    await risk.send(topics.ORDERS_INTENT, intent("i-3", "0.1", None, order_type=OrderType.MARKET))
    await risk.wait_for(3)
    assert risk.outcomes.approved_ids() == ["i-2"]
    assert "3,000.00 USDT exceeds" in risk.outcomes.rejection("i-3").reason
    await risk.service.stop()


async def test_a_redelivered_intent_is_decided_once(bus: MemoryBus) -> None:
    risk = await start_risk(bus)
    approved, rejected = intent("i-1"), intent("i-2", quantity="1")
    await risk.send(topics.ORDERS_INTENT, approved, rejected, approved)
    await risk.send(topics.ORDERS_INTENT, rejected, approved)
    await risk.send(topics.ORDERS_INTENT, intent("i-3"))
    await risk.wait_for(3)
    await asyncio.sleep(0.1)
    assert risk.outcomes.approved_ids() == ["i-1", "i-3"]
    assert len(risk.outcomes.rejected) == 1 and len(risk.outcomes.events) == 1
    duplicates = risk.metrics.registry.get_sample_value("tradewind_risk_duplicate_intents_total")
    assert duplicates == 3
    await risk.service.stop()


def test_a_batch_retried_before_it_was_published_gets_the_same_answer() -> None:
    """The bus retries a batch whose publish failed: the desk answers with the very same
    events, although deciding afresh would now refuse (the one-order bucket is empty)."""
    limits = RiskLimits(defaults=AccountLimits(max_orders_per_second=1.0, order_burst=1))
    desk = RiskDesk(limits)
    batch = [funds(), intent("i-1")]
    first = desk.take(batch, now_ns=10**18)
    again = desk.take(batch, now_ns=10**18)
    assert first.approved and again.approved == first.approved
    assert again.counts == {}  # decided once
    desk.published(again)
    assert desk.take(batch, now_ns=10**18).approved == []
    other = desk.take([intent("i-2")], now_ns=10**18)
    assert not other.approved and other.counts == {("rejected", "orders_per_second"): 1}
