"""`tradewind analytics rebuild` writes the bots' PnL minutes lost from `bot_snapshots`
again, from the stored fills, the venue's 1-minute candles and the recorded valuations,
exactly as the live analytics service wrote them, filling holes only and writing
nothing the second time (real memory bus, the in-process simulated venue, real SQLite
and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete

from tests.integration.services.test_analytics_bot_series import analytics, running_bot
from tests.waiting import wait_until
from tradewind.bus import topics
from tradewind.bus.envelope import envelope
from tradewind.bus.memory import MemoryBus
from tradewind.domain.events import Bar, Fill, PortfolioUpdate
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.errors import ConfigError
from tradewind.services.analytics.rebuild import rebuild_bot_minutes
from tradewind.store import bot_snapshots, portfolio_snapshots, schema, trades
from tradewind.store.database import Database
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.port import Candle
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket

D = Decimal
S_NS = 1_000_000_000
MINUTE_NS = 60 * S_NS
T0 = 1_800_000_000 * S_NS  # a whole minute
VENUE_NOW = T0 + 20 * MINUTE_NS + 5 * S_NS  # the venue's clock: minutes 0-19 have closed
BTC = Instrument("sim", "BTC/USDT", "BTC", "USDT")


def venues() -> SimulatedVenues:
    """A simulated exchange whose BTC/USDT has three hours of past up to `VENUE_NOW`."""
    market = SyntheticMarket(seed=1, start_ms=VENUE_NOW // 10**6, history_ms=3 * 3600_000)
    return SimulatedVenues(SimulatedExchange(market, clock=lambda: VENUE_NOW))


async def record_fill(
    database: Database,
    account: str,
    bot: str,
    trade_id: str,
    side: Side,
    qty: str,
    ts_ns: int,
    instrument: Instrument = BTC,
) -> None:
    at = datetime.fromtimestamp(ts_ns / 1e9, UTC)
    order = trades.OrderRecord(
        client_order_id=f"o-{trade_id}", account_id=account, bot_id=bot, venue="sim",
        symbol=instrument.symbol, side=side.value, order_type="MARKET", time_in_force="GTC",
        quantity=D(qty), price=None, state="FILLED", filled_quantity=D(qty),
        average_price=D(30_000), venue_order_id=None, reason="", created_at=at, updated_at=at,
    )  # fmt: skip
    fill = Fill(
        account_id=account, client_order_id=f"o-{trade_id}", venue_order_id="v",
        trade_id=trade_id, instrument=instrument, side=side, price=D("29800.5"), quantity=D(qty),
        fee=D("0.37"), fee_asset="USDT", liquidity=Liquidity.TAKER, ts_ns=ts_ns,
    )  # fmt: skip
    async with database.transaction() as conn:
        await trades.upsert_order(conn, order)
        assert await trades.insert_fill(conn, fill)


Row = tuple[int, str, str, Decimal, Decimal, Decimal, Decimal, Decimal | None]


async def rows_of(database: Database, bot: str) -> list[Row]:
    """The bot's recorded minutes: (minute, account, quote, PnL, realised, unrealised,
    fees, account equity)."""
    since = datetime.fromtimestamp(T0 / 1e9, UTC) - timedelta(hours=1)
    async with database.read() as conn:
        rows = await bot_snapshots.series(conn, bot, since, since + timedelta(hours=2), limit=100)
    return [
        ((r.ts_ns - T0) // MINUTE_NS, r.account_id, r.quote, r.pnl, r.realized_pnl,
         r.unrealized_pnl, r.fees, r.account_equity)
        for r in rows
    ]  # fmt: skip


async def record_live(
    bus: MemoryBus, database: Database, account: str, bot: str, candles: list[Candle]
) -> None:
    """The live service records the bot's minutes 0-12 from bars that are the venue's
    candles, the account valued (and the valuation recorded) at 1,000 + m each minute m,
    a buy in minute 0 and a sell in minute 6."""
    closes = {(c.open_ms * 10**6 - T0) // MINUTE_NS: c.close for c in candles}
    fills = {0: ("t1", Side.BUY, "1"), 6: ("t2", Side.SELL, "0.4")}
    now = [T0 + S_NS]
    async with analytics(bus, database, 60, lambda: now[0]) as service:
        applied = 0
        for minute in range(14):
            start = T0 + minute * MINUTE_NS
            now[0] = start + S_NS
            if minute:  # a round in this minute: the one before has closed
                await wait_until(lambda: [b.latest[0] for b in service.bots] == [now[0]])  # type: ignore[index]
            if minute == 13:
                break
            if minute in fills:
                trade_id, side, qty = fills[minute]
                await record_fill(database, account, bot, trade_id, side, qty, start + 30 * S_NS)
                applied += 1
            close = closes[minute]
            bar = Bar(instrument=BTC, interval_s=60, open_ns=start, open=close, high=close,
                      low=close, close=close, volume=D(1))  # fmt: skip
            await bus.publish(topics.MD_BAR, envelope(bar, BTC.key))
            equity = D(1000 + minute)
            update = PortfolioUpdate(
                account_id=account, valuation_asset="USDT", equity=equity, cash=equity,
                realized_pnl=D(0), unrealized_pnl=D(0), fees=D(0), balances={"USDT": equity},
                ts_ns=start + S_NS + S_NS // 2,
            )  # fmt: skip
            async with database.transaction() as conn:
                await portfolio_snapshots.insert_snapshot(conn, update)
            await bus.publish(topics.PORTFOLIO_UPDATES, envelope(update, account))
            await wait_until(lambda: service._prices.close(BTC.symbol) == close)  # noqa: B023
            await wait_until(
                lambda: account in service.series and service.series[account].equity == equity  # noqa: B023
            )
            await wait_until(lambda: [b.book.fills for b in service.bots] == [applied])  # noqa: B023
            # The minute's last round values all of it.
            now[0] = start + 2 * S_NS
            await wait_until(lambda: [b.latest[0] for b in service.bots] == [now[0]])  # type: ignore[index]


async def test_lost_minutes_are_rebuilt_as_the_live_service_wrote_them_and_only_once(
    bus: MemoryBus, database: Database
) -> None:
    account, bot = await running_bot(database, max_drawdown=None)
    directory = venues()
    candles = await directory.public("sim").fetch_candles(BTC.symbol, 60, 20)
    await record_live(bus, database, account, bot, candles)
    live = await rows_of(database, bot)
    minutes = [row[0] for row in live]
    assert minutes[0] == 0 and 6 in minutes and len(minutes) >= 5  # prices moved
    # Lost: two minutes in the middle, and the tail.
    lost = {minutes[1], minutes[2], minutes[-2], minutes[-1]}
    async with database.transaction() as conn:
        for minute in lost:
            start = datetime.fromtimestamp((T0 + minute * MINUTE_NS) / 1e9, UTC)
            await conn.execute(
                delete(schema.bot_snapshots).where(
                    schema.bot_snapshots.c.bot_id == bot,
                    schema.bot_snapshots.c.taken_at >= start,
                    schema.bot_snapshots.c.taken_at < start + timedelta(minutes=1),
                )
            )
    assert len(await rows_of(database, bot)) == len(live) - 4

    async def rebuild() -> int:
        report = await rebuild_bot_minutes(
            database, directory, account_ids=[account], since_ns=T0,
            until_ns=T0 + 12 * MINUTE_NS, now_ns=VENUE_NOW, minutes_kept_days=7,
        )  # fmt: skip
        assert report.skipped == []
        return report.minutes_written

    assert await rebuild() == 4
    assert await rows_of(database, bot) == live
    assert await rebuild() == 0
    assert await rows_of(database, bot) == live


async def test_a_bot_whose_symbol_has_no_candles_is_skipped_and_named(
    database: Database,
) -> None:
    account, bot = await running_bot(database, max_drawdown=None)
    foo = Instrument("sim", "FOO/USDT", "FOO", "USDT")  # not listed by the venue
    await record_fill(database, account, bot, "t1", Side.BUY, "1", T0 + 30 * S_NS, foo)
    report = await rebuild_bot_minutes(
        database, venues(), account_ids=[account], since_ns=T0, now_ns=VENUE_NOW,
        minutes_kept_days=7,
    )  # fmt: skip
    (skipped,) = report.skipped
    assert (skipped.bot_id, report.rebuilt, report.minutes_written) == (bot, [], 0)
    assert skipped.reason.startswith("sim gave no 1-minute candles of FOO/USDT: ")
    assert await rows_of(database, bot) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"account_ids": ["nope"]}, "--account: no account nope in the record"),
        (
            {"since_ns": T0 + 5 * MINUTE_NS, "until_ns": T0},
            "--since: 2027-01-15T08:05:00+00:00 is after --until 2027-01-15T08:00:00+00:00",
        ),
        ({"since_ns": T0 - 8 * 86_400 * S_NS}, "older than the 7 days of minutes retention"),
    ],
)
async def test_bad_requests_are_refused_before_anything_is_written(
    database: Database, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        await rebuild_bot_minutes(
            database,
            venues(),
            now_ns=VENUE_NOW,
            minutes_kept_days=7,
            **kwargs,  # type: ignore[arg-type]
        )
