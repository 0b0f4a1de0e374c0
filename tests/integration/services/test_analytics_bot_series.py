"""The analytics service records each bot's PnL series (`bot_snapshots`) from its
orders' fills in the record and the last bar prices, a fill counted once however often
it is read, and pauses a bot whose drawdown or one-minute VaR reaches its limit — bot row with the
reason, audit entry and `BotCommand` through the outbox — once per breach (real memory
bus, real SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.waiting import wait_until
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.memory import MemoryBus
from tradewind.domain.bot_lifecycle import BotAction, BotState
from tradewind.domain.commands import BotCommand
from tradewind.domain.events import Bar, Fill, PortfolioUpdate
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.domain.risk_limits import RiskLimits
from tradewind.runtime.logging import get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, ServiceContext
from tradewind.runtime.settings import Settings
from tradewind.services.analytics import AnalyticsService
from tradewind.store import accounts, audit, bot_snapshots, bots, trades, users
from tradewind.store.database import Database

D = Decimal
MINUTE_NS = 60 * 1_000_000_000
T0 = 1_800_000_000 * 1_000_000_000  # a whole minute
BTC = Instrument("sim", "BTC/USDT", "BTC", "USDT")


async def running_bot(
    database: Database, max_drawdown: Decimal | None, max_var_95: Decimal | None = None
) -> tuple[str, str]:
    async with database.transaction() as conn:
        user = await users.create_user(
            conn, email_index="idx-1", email_encrypted="c", password_hash="h", roles=("trader",)
        )
        account = await accounts.add_account(
            conn, user_id=user.id, venue="sim", label="main", api_key_masked="abcd…wxyz",
            api_key_encrypted="k", api_secret_encrypted="s", valuation_asset="USDT",
        )  # fmt: skip
        bot = await bots.create_bot(
            conn, user_id=user.id, account_id=account.id, strategy="dca", params={}
        )
        await bots.set_bot_state(conn, bot.id, BotState.RUNNING)
        limits = RiskLimits(max_drawdown=max_drawdown, max_var_95=max_var_95)
        await bots.set_bot_limits(conn, bot.id, limits)
    return account.id, bot.id


async def record_fill(
    database: Database, account: str, bot: str, trade_id: str, side: Side, price: str, qty: str
) -> None:
    at = datetime.fromtimestamp(T0 / 1e9, UTC)
    client_order_id = f"o-{trade_id}"
    order = trades.OrderRecord(
        client_order_id=client_order_id, account_id=account, bot_id=bot, venue="sim",
        symbol="BTC/USDT", side=side.value, order_type="MARKET", time_in_force="GTC",
        quantity=D(qty), price=None, state="FILLED", filled_quantity=D(qty),
        average_price=D(price), venue_order_id=None, reason="", created_at=at, updated_at=at,
    )  # fmt: skip
    fill = Fill(
        account_id=account, client_order_id=client_order_id, venue_order_id="v",
        trade_id=trade_id, instrument=BTC, side=side, price=D(price), quantity=D(qty),
        fee=D("0.1"), fee_asset="USDT", liquidity=Liquidity.TAKER, ts_ns=T0,
    )  # fmt: skip
    async with database.transaction() as conn:
        await trades.upsert_order(conn, order)
        assert await trades.insert_fill(conn, fill)


class Commands:
    def __init__(self) -> None:
        self.received: list[BotCommand] = []

    async def handle(self, batch: Sequence[Envelope]) -> None:
        self.received.extend(e.payload for e in batch if isinstance(e.payload, BotCommand))


@asynccontextmanager
async def analytics(
    bus: MemoryBus, database: Database, window_minutes: int, clock: Callable[[], int]
) -> AsyncIterator[AnalyticsService]:
    """An analytics service on `bus` and `database`, a round every 50 ms, at `clock`."""
    service = AnalyticsService(interval_s=0.05, window_minutes=window_minutes, clock=clock)
    ctx = ServiceContext(
        Settings(), bus, get_logger("tradewind.services.analytics"), RuntimeMetrics(),
        Resources(database=database),
    )  # fmt: skip
    await service.start(ctx)
    try:
        yield service
    finally:
        await service.stop()


async def recorded(database: Database, bot: str) -> list[tuple[int, Decimal, Decimal | None]]:
    since = datetime.fromtimestamp(T0 / 1e9, UTC) - timedelta(hours=1)
    async with database.read() as conn:
        rows = await bot_snapshots.series(conn, bot, since, since + timedelta(hours=2), limit=100)
    return [((r.ts_ns - T0) // MINUTE_NS, r.pnl, r.account_equity) for r in rows]


async def test_a_bots_fills_and_bars_become_its_pnl_series_and_its_limit_pauses_it_once(
    bus: MemoryBus, database: Database
) -> None:
    account, bot = await running_bot(database, max_drawdown=D("0.05"))
    await record_fill(database, account, bot, "t1", Side.BUY, "100", "1")  # fee 0.1
    commands = Commands()
    await bus.subscribe([topics.BOT_COMMANDS], "test", commands.handle)
    now = [T0 + 10**9]
    async with analytics(bus, database, 60, lambda: now[0]) as service:
        closes: list[str] = []

        async def market(minute: int, close: str, equity: str, pnl: str) -> None:
            """The clock at `minute`, a bar closing at `close`, the account valued at
            `equity`; returns once a round has valued the bot at `pnl` in that minute."""
            now[0] = T0 + minute * MINUTE_NS + 10**9
            closes.append(close)
            price = D(close)
            bar = Bar(instrument=BTC, interval_s=60, open_ns=T0 + minute * MINUTE_NS,
                      open=price, high=price, low=price, close=price, volume=D(1))  # fmt: skip
            await bus.publish(topics.MD_BAR, envelope(bar, BTC.key))
            await wait_until(lambda: service._prices.close("BTC/USDT") == D(close))
            update = PortfolioUpdate(
                account_id=account, valuation_asset="USDT", equity=D(equity), cash=D(equity),
                realized_pnl=D(0), unrealized_pnl=D(equity) - 1000, fees=D(0),
                balances={"USDT": D(equity)}, ts_ns=now[0] + len(closes),
            )  # fmt: skip
            await bus.publish(topics.PORTFOLIO_UPDATES, envelope(update, account))
            await wait_until(
                lambda: account in service.series and service.series[account].equity == D(equity)
            )
            await wait_until(lambda: [b.latest for b in service.bots] == [(now[0], D(pnl))])

        async def rows_recorded(count: int) -> None:
            """Wait until the service has recorded `count` minutes of the bot."""
            await wait_until(lambda: service.bot_minutes_written >= count)
            assert len(await recorded(database, bot)) == count

        await market(0, "100", "1000", pnl="-0.1")  # bought at 100: the fee
        await market(1, "104", "1004", pnl="3.9")  # +4 - 0.1
        await rows_recorded(1)
        # The same fill, read again while within the cursor's margin, counts once.
        await market(2, "104", "1004", pnl="3.9")
        await rows_recorded(2)
        assert await recorded(database, bot) == [(0, D("-0.1"), D(1000)), (1, D("3.9"), D(1004))]
        assert commands.received == []
        # 40: -60.1, 64 below the peak of 3.9 on an account of 1,004: 6.37 % > 5 %.
        await market(2, "40", "940", pnl="-60.1")
        await wait_until(lambda: commands.received)
        reason = "risk limit: the bot's drawdown 6.37 % reached the bot's limit of 5.00 %"
        async with database.read() as conn:
            paused = await bots.get_bot(conn, bot)
            (entry,) = await audit.query(conn, action="bot.pause")
        assert paused is not None
        assert (paused.state, paused.paused_reason) == (BotState.PAUSED, reason)
        assert entry.target_id == bot and entry.detail["reason"] == reason
        (command,) = commands.received
        assert (command.bot_id, command.action, command.issued_by) == (
            bot, BotAction.PAUSE, "risk-limits"
        )  # fmt: skip
        # Started again by its owner while still beyond the limit: not overruled.
        async with database.transaction() as conn:
            await bots.set_bot_state(conn, bot, BotState.RUNNING, paused_reason=None)
        await market(3, "39", "939", pnl="-61.1")
        await rows_recorded(3)
        assert len(commands.received) == 1
        # Back within the limit re-arms it; a new fall pauses again.
        await market(4, "104", "1004", pnl="3.9")
        await market(5, "104", "1004", pnl="3.9")
        await rows_recorded(5)  # minute 4's: a round saw it back at 0
        assert [pnl for _, pnl, _ in await recorded(database, bot)][2:] == [
            D("-60.1"), D("-61.1"), D("3.9")
        ]  # fmt: skip
        await market(5, "40", "940", pnl="-60.1")
        await wait_until(lambda: len(commands.received) == 2)


async def test_a_restarted_instance_rebuilds_the_bots_book_and_window_from_the_record(
    bus: MemoryBus, database: Database
) -> None:
    account, bot = await running_bot(database, max_drawdown=D("0.1"))
    await record_fill(database, account, bot, "t1", Side.BUY, "100", "1")  # fee 0.1
    async with database.transaction() as conn:  # what the instance before recorded
        await bot_snapshots.insert(
            conn,
            [
                bot_snapshots.BotSnapshot(
                    bot_id=bot,
                    account_id=account,
                    ts_ns=T0 + MINUTE_NS,
                    quote="USDT",
                    pnl=D("99.9"),
                    realized_pnl=D(0),
                    unrealized_pnl=D(100),
                    fees=D("0.1"),
                    account_equity=D(1100),
                )
            ],
        )
    commands = Commands()
    await bus.subscribe([topics.BOT_COMMANDS], "test", commands.handle)
    async with analytics(bus, database, 60, lambda: T0 + 5 * MINUTE_NS) as service:
        price = D(40)
        bar = Bar(instrument=BTC, interval_s=60, open_ns=T0 + 4 * MINUTE_NS, open=price,
                  high=price, low=price, close=price, volume=D(1))  # fmt: skip
        await bus.publish(topics.MD_BAR, envelope(bar, BTC.key))
        await wait_until(lambda: service._prices.close("BTC/USDT") == price)
        update = PortfolioUpdate(
            account_id=account, valuation_asset="USDT", equity=D(940), cash=D(900),
            realized_pnl=D(0), unrealized_pnl=D(-60), fees=D("0.1"),
            balances={"USDT": D(900), "BTC": D(1)}, ts_ns=T0 + 5 * MINUTE_NS,
        )  # fmt: skip
        await bus.publish(topics.PORTFOLIO_UPDATES, envelope(update, account))
        # The book from the stored fill: 1 BTC bought at 100, now 40, less the fee.
        await wait_until(lambda: [b.latest for b in service.bots] == [
            (T0 + 5 * MINUTE_NS, D("-60.1"))
        ])  # fmt: skip
        # The peak of 99.9 recorded before the restart, on 1,100: 160 below it, 14.55 %.
        await wait_until(lambda: commands.received)
        async with database.read() as conn:
            paused = await bots.get_bot(conn, bot)
        assert paused is not None and paused.paused_reason == (
            "risk limit: the bot's drawdown 14.55 % reached the bot's limit of 10.00 %"
        )


async def test_a_bots_var_over_its_recorded_minutes_reaching_its_limit_pauses_it(
    bus: MemoryBus, database: Database
) -> None:
    account, bot = await running_bot(database, max_drawdown=None, max_var_95=D("0.02"))
    await record_fill(database, account, bot, "t1", Side.BUY, "100", "1")
    async with database.transaction() as conn:  # 80 minutes swinging 3 % of 1,000 a minute
        await bot_snapshots.insert(
            conn,
            [
                bot_snapshots.BotSnapshot(
                    bot_id=bot,
                    account_id=account,
                    ts_ns=T0 + minute * MINUTE_NS,
                    quote="USDT",
                    pnl=D(-30 * (minute % 2)),
                    realized_pnl=D(0),
                    unrealized_pnl=D(-30 * (minute % 2)),
                    fees=D(0),
                    account_equity=D(1000),
                )
                for minute in range(80)
            ],
        )
    commands = Commands()
    await bus.subscribe([topics.BOT_COMMANDS], "test", commands.handle)
    clock = T0 + 100 * MINUTE_NS
    async with analytics(bus, database, 120, lambda: clock):
        update = PortfolioUpdate(
            account_id=account, valuation_asset="USDT", equity=D(1000), cash=D(900),
            realized_pnl=D(0), unrealized_pnl=D(0), fees=D("0.1"),
            balances={"USDT": D(900), "BTC": D(1)}, ts_ns=clock,
        )  # fmt: skip
        await bus.publish(topics.PORTFOLIO_UPDATES, envelope(update, account))
        await wait_until(lambda: commands.received)
        async with database.read() as conn:
            paused = await bots.get_bot(conn, bot)
        assert paused is not None and paused.state is BotState.PAUSED
        assert paused.paused_reason == (
            "risk limit: the bot's one-minute 95 % VaR 3.00 % reached the bot's limit of 2.00 %"
        )


async def test_a_bots_old_minutes_are_thinned_to_hours_then_days(database: Database) -> None:
    from tradewind.services.analytics.retention import thin_valuations

    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    first = now - timedelta(days=6)
    async with database.transaction() as conn:
        await bot_snapshots.insert(
            conn,
            [
                bot_snapshots.BotSnapshot(
                    bot_id=bot,
                    account_id="a1",
                    ts_ns=int((first + timedelta(minutes=10 * n)).timestamp()) * 10**9,
                    quote="USDT",
                    pnl=D(n),
                    realized_pnl=D(0),
                    unrealized_pnl=D(n),
                    fees=D(0),
                    account_equity=D(1000),
                )
                for bot in ("b1", "b2")
                for n in range(6 * 24 * 6)  # every 10 minutes for six days
            ],
        )
    deleted = await thin_valuations(database, now, minutes_kept_days=2, hours_kept_days=4)
    days_end = datetime(2026, 12, 2, tzinfo=UTC)
    hours_end = now - timedelta(days=2)
    for bot in ("b1", "b2"):
        async with database.read() as conn:
            kept = await bot_snapshots.series(conn, bot, first, now, limit=10_000)
        times = [datetime.fromtimestamp(s.ts_ns // 10**9, UTC) for s in kept]
        daily = [t for t in times if t < days_end]
        hourly = [t for t in times if days_end <= t < hours_end]
        assert len(daily) == 2 and all((t.hour, t.minute) == (23, 50) for t in daily)
        assert len(hourly) == 60 and all(t.minute == 50 for t in hourly)
        assert len([t for t in times if t >= hours_end]) == 2 * 24 * 6  # untouched
        assert kept[-1].pnl == D(6 * 24 * 6 - 1)
    assert deleted == 2 * (6 * 24 * 6 - 2 - 60 - 288)
