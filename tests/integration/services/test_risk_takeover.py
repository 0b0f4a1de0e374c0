"""Risk meeting an account for the first time (after a start, or when the account's
partition moved here from a twin that died) starts from what the system of record holds
— the venue balances execution last read, the portfolio's saved positions and equity,
the equity the day started at — instead of rejecting every intent until execution
answers, and still asks execution for fresh balances. Real SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from tests.integration.services.test_risk_service import BTC, intent, start_risk, wait_until
from tests.integration.services.test_risk_service import LIMITS as VALUE_LIMIT_ONLY
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.memory import MemoryBus
from tradewind.domain.commands import BalancesRequested, OrderIntent
from tradewind.domain.events import BalanceUpdate, PortfolioUpdate
from tradewind.domain.model import Side
from tradewind.domain.portfolio_state import (
    PortfolioState,
    PositionState,
    StoredAccount,
    encode_stored,
)
from tradewind.domain.risk import AccountLimits, RiskLimits
from tradewind.services.risk import RiskDesk
from tradewind.services.risk.recovery import StoredAccountState
from tradewind.store.database import Database
from tradewind.store.portfolio_books import save_books
from tradewind.store.portfolio_snapshots import insert_snapshot
from tradewind.store.venue_balances import save_latest

D = Decimal
NS_PER_DAY = 86_400 * 1_000_000_000
LIMITS = RiskLimits(
    defaults=AccountLimits(
        max_order_value={"USDT": D(10_000)},
        max_position_value={"USDT": D(20_000)},
        daily_loss_limit=D(5_000),
    ),
    accounts={},
)


def balance(asset: str, free: str, ts_ns: int) -> BalanceUpdate:
    return BalanceUpdate(
        account_id="a1", venue="sim", asset=asset, free=D(free), locked=D(0), ts_ns=ts_ns
    )


async def store_account(database: Database) -> None:
    """a1: 50,000 USDT and 0.5 BTC free at the venue; books of 0.5 BTC marked at 30,000
    and 75,000 USDT cash (equity 90,000), which was 100,000 before 00:00 UTC today."""
    now = time.time_ns()
    books = PortfolioState(
        account_id="a1",
        venue="sim",
        valuation_asset="USDT",
        cash=D(75_000),
        realized_pnl=D(0),
        fees=D(0),
        net_contributions=D(100_000),
        positions=[PositionState("BTC/USDT", D("0.5"), D(15_000), D(30_000), D(0))],
        recent_trades=[],
    )
    yesterday = PortfolioUpdate(
        account_id="a1",
        valuation_asset="USDT",
        equity=D(100_000),
        cash=D(100_000),
        realized_pnl=D(0),
        unrealized_pnl=D(0),
        fees=D(0),
        balances={"USDT": D(100_000)},
        ts_ns=now - NS_PER_DAY,
    )
    async with database.transaction() as conn:
        await save_latest(conn, [balance("USDT", "50000", now), balance("BTC", "0.5", now)])
        await save_books(conn, [("a1", 0, encode_stored(StoredAccount(books, [], [])))])
        await insert_snapshot(conn, yesterday)


async def test_an_account_met_first_is_decided_on_its_stored_state_at_once(
    bus: MemoryBus, database: Database
) -> None:
    await store_account(database)
    requests: list[Envelope] = []

    async def take(batch: Sequence[Envelope]) -> None:
        requests.extend(batch)

    await bus.subscribe([topics.ACCOUNT_BALANCES], "test-balances", take)
    risk = await start_risk(bus, LIMITS, database, funded=False)
    small_buy = intent("i-1", quantity="0.01")  # 300 USDT: within value and position
    sell = selling(intent("i-2", quantity="0.01"))
    big_buy = intent("i-3", quantity="0.2")  # 0.7 BTC worth 21,000 > 20,000
    await risk.send(topics.ORDERS_INTENT, small_buy, sell, big_buy)
    await risk.wait_for(3)

    # Nothing was rejected for want of balances: they came from the store.
    assert risk.decisions("rejected", "balances_unknown") == 0
    # Equity 90,000 against a day that started at 100,000: the daily loss limit holds
    # buys back; the sell, which reduces the stored position, goes on the stored BTC.
    assert "daily loss limit" in risk.outcomes.rejection("i-1").reason
    assert risk.outcomes.approved_ids() == ["i-2"]
    # The stored position counts against the position limit.
    assert "max position value" in risk.outcomes.rejection("i-3").reason
    restored = risk.metrics.registry.get_sample_value("tradewind_risk_accounts_restored_total")
    assert restored == 1
    # Stored balances are as old as the last reconciliation: fresh ones are asked for.
    await wait_until(lambda: requests, what="a balances request")
    [asked] = requests
    assert isinstance(asked.payload, BalancesRequested) and asked.payload.account_id == "a1"
    await risk.service.stop()


async def test_an_account_with_nothing_stored_is_asked_for_as_before(
    bus: MemoryBus, database: Database
) -> None:
    risk = await start_risk(bus, VALUE_LIMIT_ONLY, database, funded=False)
    await risk.send(topics.ORDERS_INTENT, intent("i-1"))
    await risk.wait_for(1)
    assert "balances are not known yet" in risk.outcomes.rejection("i-1").reason
    assert risk.decisions("rejected", "balances_unknown") == 1
    await risk.service.stop()


async def test_balances_the_bus_told_first_are_not_overwritten_by_the_store(
    bus: MemoryBus, database: Database
) -> None:
    await store_account(database)
    risk = await start_risk(bus, LIMITS, database, funded=False)
    # Execution's fresh balances arrived before the account's first intent: the stored
    # 0.5 BTC must not overwrite the nothing the venue says is free now.
    await risk.send(topics.ORDERS_EVENTS, envelope(balance("BTC", "0", time.time_ns()), "a1"))
    await risk.consumed("risk", "account.balance", 1)
    await risk.send(topics.ORDERS_INTENT, selling(intent("i-1", quantity="0.01")))
    await risk.wait_for(1)
    assert "available" in risk.outcomes.rejection("i-1").reason
    assert risk.decisions("rejected", "balance") == 1
    await risk.service.stop()


def selling(buy: Envelope) -> Envelope:
    payload = buy.payload
    assert isinstance(payload, OrderIntent) and payload.instrument == BTC
    return envelope(msgspec.structs.replace(payload, side=Side.SELL), buy.key)


def test_an_account_whose_partition_left_is_forgotten_and_restored_when_met_again() -> None:
    desk = RiskDesk(LIMITS)
    now = time.time_ns()
    stored = StoredAccountState(
        balances=[balance("USDT", "50000", now)], positions={BTC: D("0.5")}, equity=None
    )
    batch = [intent("i-1")]
    assert desk.accounts_to_restore(batch) == {"a1"}
    asked = desk.restore({"a1"}, {"a1": stored}, now)
    assert [e.payload.account_id for e in asked.balance_requests] == ["a1"]
    assert desk.accounts_to_restore(batch) == set()
    assert desk.state.position("a1", BTC) == D("0.5")

    # The partition moved to a twin: what was true then must not be used when it returns.
    desk.forget_accounts(["a1"])
    assert not desk.state.knows_balances("a1")
    assert not desk.state.knows_position("a1", BTC)
    assert desk.known_accounts() == set()
    assert desk.accounts_to_restore(batch) == {"a1"}
