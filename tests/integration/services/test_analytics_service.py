"""The analytics service on the real memory bus and a real database (SQLite and
PostgreSQL): portfolio updates become one `AnalyticsUpdate` per account per round,
deposits are not returns, a restarted instance reads the account's recorded equity
back, and two instances share the accounts by partition."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

import msgspec
import pytest

from tests.waiting import wait_until
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.memory import MemoryBus
from tradewind.domain.events import AnalyticsUpdate, Bar, KillSwitchChanged, PortfolioUpdate
from tradewind.domain.model import Instrument
from tradewind.domain.risk_limits import VAR_MIN_PERIODS, RiskLimits
from tradewind.runtime.logging import get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, ServiceContext
from tradewind.runtime.settings import Settings
from tradewind.services.analytics import AnalyticsService
from tradewind.store import accounts, audit, risk_limits, users
from tradewind.store.database import Database
from tradewind.store.portfolio_snapshots import insert_snapshot, valuations_of

D = Decimal
MINUTE_NS = 60 * 1_000_000_000
T0 = 1_800_000_000 * 1_000_000_000  # a whole minute
BTC = Instrument("sim", "BTC/USDT", "BTC", "USDT")


def valuation(account: str, minute: int, equity: str, realized: str = "0") -> PortfolioUpdate:
    return PortfolioUpdate(
        account_id=account, valuation_asset="USDT", equity=D(equity), cash=D(equity),
        realized_pnl=D(realized), unrealized_pnl=D(0), fees=D(0),
        balances={"USDT": D(equity)}, ts_ns=T0 + minute * MINUTE_NS,
    )  # fmt: skip


class Published:
    def __init__(self) -> None:
        self.updates: list[AnalyticsUpdate] = []

    async def handle(self, batch: Sequence[Envelope]) -> None:
        self.updates.extend(e.payload for e in batch if isinstance(e.payload, AnalyticsUpdate))

    def latest(self, account: str) -> AnalyticsUpdate:
        return [u for u in self.updates if u.account_id == account][-1]


async def start(bus: MemoryBus, database: Database | None, now_minute: int) -> AnalyticsService:
    service = AnalyticsService(
        interval_s=0.05, window_minutes=60, clock=lambda: T0 + now_minute * MINUTE_NS
    )
    ctx = ServiceContext(
        Settings(), bus, get_logger("tradewind.services.analytics"), RuntimeMetrics(),
        Resources(database=database),
    )  # fmt: skip
    await service.start(ctx)
    assert service.ready
    return service


async def test_updates_become_one_analytics_per_account_per_round_deposits_taken_out(
    bus: MemoryBus,
) -> None:
    published = Published()
    await bus.subscribe([topics.ANALYTICS_UPDATES], "test", published.handle)
    service = await start(bus, None, now_minute=10)
    updates = [
        valuation("a1", 0, "1000"),
        valuation("a1", 1, "1100", realized="100"),  # +10 %
        valuation("a1", 2, "1600", realized="100"),  # +500 deposited
        valuation("a1", 2, "1600", realized="100"),  # redelivered: ignored
        valuation("a1", 4, "1520", realized="20"),  # -5 %, minute 3 flat
    ]
    await bus.publish_batch(topics.PORTFOLIO_UPDATES, [envelope(u, u.account_id) for u in updates])
    await wait_until(lambda: published.updates)
    await asyncio.sleep(0.2)  # more rounds: nothing changed, nothing more published
    assert len(published.updates) == 1
    figures = published.latest("a1")
    assert figures.total_return == pytest.approx(1.1 * 0.95 - 1)
    assert figures.max_drawdown == pytest.approx(-0.05)
    assert (figures.periods, figures.period_s, figures.equity) == (4, 60, D(1520))
    assert figures.since_ns == T0 and figures.ts_ns == T0 + 10 * MINUTE_NS
    await bus.publish(
        topics.PORTFOLIO_UPDATES, envelope(valuation("a1", 5, "1600", realized="100"), "a1")
    )
    await wait_until(lambda: len(published.updates) == 2)
    assert published.latest("a1").current_drawdown == pytest.approx(
        0.0
    )  # +5.26 %: back at the peak
    await service.stop()


async def test_a_restarted_instance_reads_the_recorded_equity_back(
    bus: MemoryBus, database: Database
) -> None:
    # A loss of 200, then a gain of 80, in realised PnL (not money moved).
    async with database.transaction() as conn:
        for update in (valuation("a1", 0, "1000"), valuation("a1", 1, "800", realized="-200")):
            await insert_snapshot(conn, update)
    published = Published()
    await bus.subscribe([topics.ANALYTICS_UPDATES], "test", published.handle)
    service = await start(bus, database, now_minute=2)
    await bus.publish(
        topics.PORTFOLIO_UPDATES, envelope(valuation("a1", 2, "880", realized="-120"), "a1")
    )
    await wait_until(lambda: published.updates)
    figures = published.latest("a1")
    # 1000 -> 800 -> 880: the first two from the record, not only the live one.
    assert figures.periods == 2
    assert figures.total_return == pytest.approx(0.88 - 1)
    assert figures.max_drawdown == pytest.approx(-0.2)
    await service.stop()


def traded_valuation(account: str, step: int) -> PortfolioUpdate:
    """A valuation of a busy account: two a minute, a trade closed in most, fees and
    turnover growing, a deposit every 7 minutes, an unrealised PnL that moves (amounts
    without trailing zeros: the record keeps none, `schema.Money`)."""
    realized = D(step % 5 - 2) * D("3.5") * step
    unrealized = D(step % 3) / 4
    fees = D(step) / 8
    deposits = 1000 + 100 * (step // 14)
    equity = deposits + realized + unrealized - fees
    return PortfolioUpdate(
        account_id=account, valuation_asset="USDT", equity=equity, cash=equity,
        realized_pnl=realized, unrealized_pnl=unrealized, fees=fees,
        balances={"USDT": equity}, ts_ns=T0 + step * MINUTE_NS // 2 + 1_000, traded=D(25 * step),
    )  # fmt: skip


async def test_a_restarted_instance_restores_the_figures_the_live_one_has_to_the_last_bit(
    database: Database,
) -> None:
    """The instance that follows an account from its first valuation, and one that meets
    it later (a restart, a take-over: the day read back from the record in one go,
    `AccountSeries.restore`), publish the same figures after the same next valuation:
    every one equal, not approximately."""
    updates = [traded_valuation("a1", step) for step in range(100)]
    async with database.transaction() as conn:
        for update in updates[:-1]:
            await insert_snapshot(conn, update)
    figures = []
    for recorded in (None, database):
        bus = MemoryBus(partitions=4)
        await bus.start()
        published = Published()
        await bus.subscribe([topics.ANALYTICS_UPDATES], "test", published.handle)
        service = await start(bus, recorded, now_minute=55)
        live = updates if recorded is None else updates[-1:]
        await bus.publish_batch(topics.PORTFOLIO_UPDATES, [envelope(u, "a1") for u in live])
        await wait_until(lambda: published.updates)  # noqa: B023
        await service.stop()
        await bus.close()
        figures.append(published.latest("a1"))
    live_figures, restored_figures = figures
    assert restored_figures.periods == live_figures.periods == 49
    assert restored_figures.trades == live_figures.trades > 50
    assert msgspec.msgpack.encode(restored_figures) == msgspec.msgpack.encode(live_figures)


async def test_two_instances_share_the_accounts_by_partition(bus: MemoryBus) -> None:
    published = Published()
    await bus.subscribe([topics.ANALYTICS_UPDATES], "test", published.handle)
    first = await start(bus, None, now_minute=5)
    second = await start(bus, None, now_minute=5)
    accounts = [f"acct-{n}" for n in range(12)]
    await bus.publish_batch(
        topics.PORTFOLIO_UPDATES,
        [envelope(valuation(a, m, str(1000 + m)), a) for a in accounts for m in range(3)],
    )
    await wait_until(lambda: {u.account_id for u in published.updates} == set(accounts))
    assert set(first.series) | set(second.series) == set(accounts)
    assert not set(first.series) & set(second.series)
    await first.stop()
    await second.stop()


async def account_with_limits(
    database: Database, limits: RiskLimits, email_index: str = "idx-1"
) -> str:
    async with database.transaction() as conn:
        user = await users.create_user(
            conn, email_index=email_index, email_encrypted="c", password_hash="h",
            roles=("trader",),
        )  # fmt: skip
        account = await accounts.add_account(
            conn, user_id=user.id, venue="sim", label="main", api_key_masked="abcd…wxyz",
            api_key_encrypted="k", api_secret_encrypted="s", valuation_asset="USDT",
        )  # fmt: skip
        assert await risk_limits.set_account_limits(conn, account.id, limits)
    return account.id


class Controls:
    def __init__(self) -> None:
        self.changes: list[KillSwitchChanged] = []

    async def handle(self, batch: Sequence[Envelope]) -> None:
        self.changes.extend(e.payload for e in batch if isinstance(e.payload, KillSwitchChanged))


async def switches(database: Database) -> dict[str, tuple[str, str | None]]:
    async with database.read() as conn:
        return {
            s.target: (s.reason, s.actor_id)
            for s in await audit.list_kill_switches(conn)
            if s.scope == "account"
        }


async def test_a_drawdown_beyond_the_accounts_limit_engages_its_kill_switch_once_per_breach(
    bus: MemoryBus, database: Database
) -> None:
    account = await account_with_limits(database, RiskLimits(max_drawdown=D("0.1")))
    controls, published = Controls(), Published()
    await bus.subscribe([topics.RISK_CONTROLS], "test", controls.handle)
    await bus.subscribe([topics.ANALYTICS_UPDATES], "test", published.handle)
    service = await start(bus, database, now_minute=30)

    async def value(minute: int, equity: str) -> None:
        # The same money throughout: the change is realised PnL, not a withdrawal.
        realized, seen = str(D(equity) - 1000), len(published.updates)
        await bus.publish(
            topics.PORTFOLIO_UPDATES,
            envelope(valuation(account, minute, equity, realized), account),
        )
        await wait_until(
            lambda: len(published.updates) > seen and published.latest(account).equity == D(equity)
        )

    await value(0, "1000")
    await value(1, "950")  # -5 %: within the limit
    assert await switches(database) == {}
    await value(2, "880")  # -12 %
    await wait_until(lambda: controls.changes)
    reason = "risk limit: drawdown 12.00 % reached the account's limit of 10.00 %"
    assert await switches(database) == {account: (reason, "risk-limits")}
    (change,) = controls.changes
    assert (change.target, change.engaged, change.reason) == (account, True, reason)
    assert change.cancel_open_orders  # a halted account's resting orders go too
    async with database.read() as conn:
        (entry,) = await audit.query(conn, action="kill_switch.engaged")
    assert entry.target_id == account and entry.detail["engaged_by"] == "risk-limits"
    # Released by its owner while still beyond the limit: not overruled next round.
    async with database.transaction() as conn:
        await audit.release_kill_switch(conn, "account", account)
    await value(3, "870")
    await asyncio.sleep(0.2)
    assert await switches(database) == {}
    # Back within the limit re-arms it; a new fall halts again.
    await value(4, "1000")
    await value(5, "890")
    await wait_until(lambda: len(controls.changes) == 2)
    assert account in await switches(database)
    await service.stop()


async def test_the_platform_ceiling_caps_a_looser_account_limit_and_an_operators_switch_stays(
    bus: MemoryBus, database: Database
) -> None:
    loose = await account_with_limits(database, RiskLimits(max_drawdown=D("0.5")), "idx-1")
    held = await account_with_limits(database, RiskLimits(), "idx-2")
    async with database.transaction() as conn:
        await risk_limits.set_platform_limits(conn, RiskLimits(max_drawdown=D("0.2")), actor_id="a")
        await audit.engage_kill_switch(conn, "account", held, reason="checking", actor_id="op")
    controls = Controls()
    await bus.subscribe([topics.RISK_CONTROLS], "test", controls.handle)
    service = await start(bus, database, now_minute=30)
    updates = [
        valuation(account, minute, equity, str(D(equity) - 1000))
        for account in (loose, held)
        for minute, equity in ((0, "1000"), (1, "700"))  # -30 %
    ]
    await bus.publish_batch(topics.PORTFOLIO_UPDATES, [envelope(u, u.account_id) for u in updates])
    await wait_until(lambda: controls.changes)
    assert await switches(database) == {
        loose: (
            "risk limit: drawdown 30.00 % reached the platform's limit of 20.00 %",
            "risk-limits",
        ),
        held: ("checking", "op"),  # already halted by an operator: left as it was
    }
    await asyncio.sleep(0.2)
    assert [c.target for c in controls.changes] == [loose]
    await service.stop()


def var_path(minutes: range) -> list[tuple[int, str]]:
    """(minute, equity) of an account that loses 3 % every fifth minute and gains 1 % in
    the others: a one-minute 95 % VaR of about -3 %, from its first returns on."""
    equity, path = D(1000), []
    for minute in minutes:
        if minute:
            equity *= D("0.97") if minute % 5 == 0 else D("1.01")
        path.append((minute, str(equity.quantize(D("0.01")))))
    return path


async def test_a_var_beyond_the_accounts_limit_engages_its_kill_switch_once_enough_returns(
    bus: MemoryBus, database: Database
) -> None:
    """The VaR of `domain.risk_limits` through the service: not counted while the window
    holds fewer than `VAR_MIN_PERIODS` returns, then the account halted with the figure
    and the limit in the reason (row, audit entry, event)."""
    account = await account_with_limits(database, RiskLimits(max_var_95=D("0.02")))
    controls, published = Controls(), Published()
    await bus.subscribe([topics.RISK_CONTROLS], "test", controls.handle)
    await bus.subscribe([topics.ANALYTICS_UPDATES], "test", published.handle)
    service = await start(bus, database, now_minute=70)
    path = var_path(range(70))

    async def value(minutes: list[tuple[int, str]]) -> AnalyticsUpdate:
        await bus.publish_batch(
            topics.PORTFOLIO_UPDATES,
            [
                envelope(valuation(account, minute, equity, str(D(equity) - 1000)), account)
                for minute, equity in minutes
            ],
        )
        last = D(minutes[-1][1])
        await wait_until(lambda: published.updates and published.latest(account).equity == last)
        return published.latest(account)

    early = await value(path[:40])
    assert early.periods < VAR_MIN_PERIODS
    assert early.var_95 is not None and early.var_95 <= -0.02  # beyond the limit already
    await value(path[40:41])  # a round later: the one before it was checked
    assert await switches(database) == {} and not controls.changes
    await value(path[41:])
    await wait_until(lambda: controls.changes)
    breached = next(u for u in published.updates if u.periods >= VAR_MIN_PERIODS)
    assert breached.var_95 is not None
    reason = (
        f"risk limit: one-minute 95 % VaR {-breached.var_95 * 100:.2f} % reached the "
        "account's limit of 2.00 %"
    )
    assert await switches(database) == {account: (reason, "risk-limits")}
    (change,) = controls.changes
    assert (change.target, change.engaged, change.reason) == (account, True, reason)
    assert change.cancel_open_orders
    async with database.read() as conn:
        (entry,) = await audit.query(conn, action="kill_switch.engaged")
    assert entry.target_id == account and entry.detail["reason"] == reason
    await service.stop()


async def test_beta_and_correlation_to_btc_from_the_bars_marketdata_publishes(
    bus: MemoryBus,
) -> None:
    published = Published()
    await bus.subscribe([topics.ANALYTICS_UPDATES], "test", published.handle)
    service = await start(bus, None, now_minute=59)
    price, equity, updates, bars = 100.0, D(1000), [], []
    for minute in range(40):  # the account moves half as much as BTC, the same way
        move = 0.004 if minute % 4 else -0.006
        price *= 1 + move
        equity = (equity * D(1 + move / 2)).quantize(D("0.00000001"))
        close = D(f"{price:.8f}")
        bars.append(
            Bar(instrument=BTC, interval_s=60, open_ns=T0 + minute * MINUTE_NS, open=close,
                high=close, low=close, close=close, volume=D(1))
        )  # fmt: skip
        updates.append(valuation("a1", minute, str(equity), str(equity - 1000)))
    await bus.publish_batch(topics.MD_BAR, [envelope(b, b.instrument.key) for b in bars])
    await asyncio.sleep(0.1)  # the bars first: the round that computes a1 has them all
    await bus.publish_batch(topics.PORTFOLIO_UPDATES, [envelope(u, "a1") for u in updates])
    await wait_until(lambda: published.updates and published.latest("a1").beta is not None)
    figures = published.latest("a1")
    assert figures.benchmark == "BTC/USDT"
    assert figures.beta == pytest.approx(0.5, rel=1e-3)
    assert figures.correlation == pytest.approx(1.0, rel=1e-3)
    # Its holdings (all USDT in `valuation`): all of its exposure, concentration 1; with
    # half in BTC at the last bar's price, half each.
    assert (figures.exposure, figures.concentration) == ({"USDT": 1.0}, 1.0)
    half = msgspec.structs.replace(
        valuation("a1", 40, str(equity), str(equity - 1000)),
        balances={"USDT": equity / 2, "BTC": (equity / 2 / close).quantize(D("1e-12"))},
    )
    await bus.publish(topics.PORTFOLIO_UPDATES, envelope(half, "a1"))
    await wait_until(lambda: published.latest("a1").exposure.get("BTC") is not None)
    assert published.latest("a1").exposure == pytest.approx({"USDT": 0.5, "BTC": 0.5})
    assert published.latest("a1").concentration == pytest.approx(0.5)
    await service.stop()


async def test_old_valuations_are_thinned_to_hours_then_days(database: Database) -> None:
    from datetime import UTC, datetime, timedelta

    from tradewind.services.analytics.retention import thin_valuations

    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    first = now - timedelta(days=6)
    async with database.transaction() as conn:
        for account in ("a1", "a2"):
            for n in range(6 * 24 * 6):  # every 10 minutes for six days
                at = first + timedelta(minutes=10 * n)
                update = valuation(account, 0, str(1000 + n))
                update = msgspec.structs.replace(update, ts_ns=int(at.timestamp()) * 10**9)
                await insert_snapshot(conn, update)
    deleted = await thin_valuations(database, now, minutes_kept_days=2, hours_kept_days=4)

    async with database.read() as conn:
        kept = await valuations_of(conn, ["a1", "a2"], first, now, limit=10_000)
    # Days before the day that began 4 days ago; hours before the hour 2 days ago.
    days_end = datetime(2026, 12, 2, tzinfo=UTC)
    hours_end = now - timedelta(days=2)
    for account in ("a1", "a2"):
        times = [datetime.fromtimestamp(ts // 10**9, UTC) for ts, *_ in kept[account]]
        daily = [t for t in times if t < days_end]
        hourly = [t for t in times if days_end <= t < hours_end]
        recent = [t for t in times if t >= hours_end]
        assert len(daily) == 2  # 30 Nov (from noon) and 1 Dec: their last valuation each
        assert all(t.hour == 23 and t.minute == 50 for t in daily)
        assert len(hourly) == 60 and all(t.minute == 50 for t in hourly)
        assert len(recent) == 2 * 24 * 6  # untouched
        # The equity each kept point says is the one of its time (the last of its bucket).
        assert [row[2] for row in kept[account]][-1] == D(1000 + 6 * 24 * 6 - 1)
    assert deleted == 2 * (6 * 24 * 6 - 2 - 60 - 288)
    # A second pass finds nothing more to thin.
    assert await thin_valuations(database, now, minutes_kept_days=2, hours_kept_days=4) == 0
