"""Risk's own inputs are listeners (`Bus.listen`): kill switches replayed from the oldest
retained change, prices only from the start on, and nothing left on the bus after."""

from __future__ import annotations

from tests.integration.services.test_risk_service import (
    intent,
    kill_switch,
    start_risk,
    trade,
)
from tradewind.bus import topics
from tradewind.bus.memory import MemoryBus
from tradewind.domain.kill_switches import KillSwitchScope
from tradewind.domain.model import OrderType


async def test_a_kill_switch_published_before_the_start_halts_trading_without_a_database() -> None:
    bus = MemoryBus(partitions=4)
    await bus.start()
    try:
        await bus.publish(topics.RISK_CONTROLS, kill_switch(KillSwitchScope.ACCOUNT, "a1"))
        risk = await start_risk(bus)
        await risk.consumed("risk-controls", "risk.kill_switch", 1)
        await risk.send(topics.ORDERS_INTENT, intent("i-1"))
        await risk.wait_for(1)
        assert "account a1 is halted by a kill switch" in risk.outcomes.rejection("i-1").reason
        await risk.service.stop()
    finally:
        await bus.close()


async def test_prices_from_before_the_start_are_not_taken_and_no_group_is_left_behind() -> None:
    bus = MemoryBus(partitions=4)
    await bus.start()
    try:
        await bus.publish(topics.MD_TRADE, trade("30000"))  # before the start: stale
        risk = await start_risk(bus)
        market = intent("i-1", price=None, order_type=OrderType.MARKET)
        await risk.send(topics.ORDERS_INTENT, market)
        await risk.wait_for(1)
        assert "no last price for BTC/USDT on sim" in risk.outcomes.rejection("i-1").reason
        await risk.service.stop()
        groups = {name: set(t.groups) for name, t in bus._topics.items()}
        assert groups[topics.MD_TRADE] == set()
        assert groups[topics.RISK_CONTROLS] == set()
    finally:
        await bus.close()
