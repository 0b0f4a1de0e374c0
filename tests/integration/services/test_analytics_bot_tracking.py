"""How the analytics service's bot tracker (`bot_tracking.BotTracker`) reads bots' fills
from the record: all of an account's when it is met, then every round the platform's
fills recorded since a cursor less a margin (whenever they executed, whether or not the
account changed), and now and then an account's all again (the sweep), each fill
counted once (real SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tradewind.services.analytics import bot_tracking
from tradewind.services.analytics.bot_tracking import (
    RECORDED_MARGIN,
    SWEEP_AFTER,
    BotTracker,
)
from tradewind.store import accounts, bot_snapshots, trades, users
from tradewind.store.database import Database
from tradewind.store.schema import fills

D = Decimal
SECOND_NS = 1_000_000_000


async def new_account(database: Database, name: str) -> str:
    """A stored exchange account (valued in USDT) of a new user; its id."""
    async with database.transaction() as conn:
        user = await users.create_user(
            conn, email_index=f"idx-{name}", email_encrypted="c", password_hash="h",
            roles=("trader",),
        )  # fmt: skip
        account = await accounts.add_account(
            conn, user_id=user.id, venue="sim", label=name, api_key_masked="abcd…wxyz",
            api_key_encrypted="k", api_secret_encrypted="s", valuation_asset="USDT",
        )  # fmt: skip
    return account.id


async def record_fill(
    database: Database,
    account: str,
    trade_id: str,
    *,
    executed: datetime,
    recorded: datetime | None = None,
    bot: str = "bot-1",
    price: str = "100",
) -> None:
    """A buy of 1 BTC at `price` by `bot`'s order, executed at `executed`, recorded now
    (its row stamped as the execution service stamps it) or at `recorded` (a commit
    that lagged)."""
    order = trades.OrderRecord(
        client_order_id=f"o-{account[:8]}-{trade_id}", account_id=account, bot_id=bot,
        venue="sim", symbol="BTC/USDT", side="BUY", order_type="MARKET", time_in_force="GTC",
        quantity=D(1), price=None, state="FILLED", filled_quantity=D(1), average_price=D(price),
        venue_order_id=None, reason="", created_at=executed, updated_at=executed,
    )  # fmt: skip
    row = {
        "account_id": account, "trade_id": trade_id, "client_order_id": order.client_order_id,
        "symbol": "BTC/USDT", "side": "BUY", "price": D(price), "quantity": D(1),
        "fee": D(0), "fee_asset": "USDT", "liquidity": "TAKER", "executed_at": executed,
    }  # fmt: skip
    if recorded is not None:
        row["recorded_at"] = recorded
    async with database.transaction() as conn:
        await trades.upsert_order(conn, order)
        await conn.execute(fills.insert().values(**row))


def booked(tracker: BotTracker, account: str) -> int:
    """How many fills the account's bots' books took."""
    return sum(s.book.fills for s in tracker.series if s.account_id == account)


async def test_a_fill_recorded_an_hour_after_it_executed_is_booked_in_the_next_round(
    database: Database,
) -> None:
    # Before: an account met was read for the fills *executed* since its last read less
    # 5 minutes, so a fill a reconciliation recorded an hour late never reached the
    # bot's book until the account was met again (a restart, a take-over).
    account = await new_account(database, "a")
    now = datetime.now(UTC)
    await record_fill(database, account, "1", executed=now - timedelta(minutes=2))
    tracker = BotTracker(database, window_minutes=60)
    now_ns = time.time_ns()
    await tracker.read_fills([account], now_ns)
    assert booked(tracker, account) == 1

    await record_fill(database, account, "2", executed=now - timedelta(hours=1), price="90")
    await tracker.read_fills([account], now_ns + 5 * SECOND_NS)

    assert booked(tracker, account) == 2
    (series,) = tracker.series
    pnl = series.book.pnl("USDT", {"BTC/USDT": D(100)}.get)
    assert pnl is not None and pnl.total == D(10)  # 2 BTC that cost 190, at 100


async def test_a_met_accounts_new_fill_is_read_though_the_account_did_not_change(
    database: Database,
) -> None:
    # The read is every round, for every account followed: not only for those that
    # changed (before: the accounts that changed this round and the one before).
    account = await new_account(database, "a")
    elsewhere = await new_account(database, "b")  # another instance's, or not met yet
    now = datetime.now(UTC)
    await record_fill(database, account, "1", executed=now)
    tracker = BotTracker(database, window_minutes=60)
    now_ns = time.time_ns()
    await tracker.read_fills([account], now_ns)
    await tracker.read_fills([], now_ns + 5 * SECOND_NS)

    await record_fill(database, account, "2", executed=now)
    await record_fill(database, elsewhere, "3", executed=now, bot="bot-2")
    await tracker.read_fills([], now_ns + 10 * SECOND_NS)

    assert booked(tracker, account) == 2
    assert tracker.accounts == [account]
    assert [s.bot_id for s in tracker.series] == ["bot-1"]  # not the other account's


async def test_a_fill_read_again_within_the_margin_is_counted_once(database: Database) -> None:
    account = await new_account(database, "a")
    now = datetime.now(UTC)
    await record_fill(database, account, "1", executed=now)
    tracker = BotTracker(database, window_minutes=60)
    now_ns = time.time_ns()
    await tracker.read_fills([account], now_ns)  # read in full, and by the cursor
    assert booked(tracker, account) == 1

    await record_fill(database, account, "2", executed=now, price="90")
    for round_ in range(1, 4):  # its recorded_at the cursor's: within the margin each time
        await tracker.read_fills([account], now_ns + round_ * SECOND_NS)
    async with database.read() as conn:
        newest = await trades.newest_fill_recorded(conn)
        assert newest is not None
        again, _ = await trades.bot_fills_recorded_since(conn, newest - RECORDED_MARGIN)
    assert [fill.trade_id for _, fill in again[account]] == ["1", "2"]

    assert booked(tracker, account) == 2
    (series,) = tracker.series
    pnl = series.book.pnl("USDT", {"BTC/USDT": D(100)}.get)
    assert pnl is not None and pnl.total == D(10)


async def test_a_fill_whose_commit_lagged_beyond_the_margin_is_booked_by_the_sweep(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cursor reads back only `RECORDED_MARGIN` behind the newest recorded_at it
    # read: a fill stamped earlier than that but committed after is left to the sweep,
    # which reads in full again the accounts read in full longest ago (`SWEEP_ACCOUNTS`
    # a round: one here), once their last full read is `SWEEP_AFTER` old.
    monkeypatch.setattr(bot_tracking, "SWEEP_ACCOUNTS", 1)
    first = await new_account(database, "a")
    second = await new_account(database, "b")
    now = datetime.now(UTC)
    await record_fill(database, first, "1", executed=now)
    await record_fill(database, second, "2", executed=now)
    tracker = BotTracker(database, window_minutes=60)
    now_ns = time.time_ns()
    await tracker.read_fills([first], now_ns)
    await tracker.read_fills([second], now_ns + SECOND_NS)

    # A fill recorded now (the cursor moves on to it), and reconciled fills (executed
    # an hour ago) whose rows were stamped a minute before their commit.
    await record_fill(database, first, "3", executed=now)
    lagged = datetime.now(UTC) - timedelta(minutes=1)
    for account, trade_id in ((first, "4"), (second, "5")):
        await record_fill(
            database, account, trade_id, executed=now - timedelta(hours=1), recorded=lagged
        )
    await tracker.read_fills([first, second], now_ns + 5 * SECOND_NS)
    assert (booked(tracker, first), booked(tracker, second)) == (2, 1)  # beyond the margin

    due_ns = now_ns + SECOND_NS + int(SWEEP_AFTER.total_seconds()) * SECOND_NS
    await tracker.read_fills([], due_ns)  # the first due: read in full first
    assert (booked(tracker, first), booked(tracker, second)) == (3, 1)
    await tracker.read_fills([], due_ns + 5 * SECOND_NS)
    assert (booked(tracker, first), booked(tracker, second)) == (3, 2)
    await tracker.read_fills([], due_ns + 10 * SECOND_NS)  # neither due again yet
    assert (booked(tracker, first), booked(tracker, second)) == (3, 2)


async def test_the_first_round_reads_fills_recorded_while_the_table_was_empty(
    database: Database,
) -> None:
    # The cursor starts at the newest recorded_at when the first accounts are met; with
    # no fill yet, from the beginning, so a fill recorded after that round is read.
    account = await new_account(database, "a")
    tracker = BotTracker(database, window_minutes=60)
    now_ns = time.time_ns()
    await tracker.read_fills([account], now_ns)
    assert tracker.accounts == [account] and tracker.series == []

    await record_fill(database, account, "1", executed=datetime.now(UTC) - timedelta(days=1))
    await tracker.read_fills([], now_ns + 5 * SECOND_NS)
    assert booked(tracker, account) == 1


async def test_a_round_whose_read_of_the_bots_saved_minutes_fails_is_made_again_whole(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The saved minutes carry the drawdown's peak across a restart: a round that read
    # the fills but failed to read them must not leave the bot known without its peak.
    account = await new_account(database, "a")
    now = datetime.now(UTC)
    await record_fill(database, account, "t1", executed=now - timedelta(minutes=30))
    async with database.transaction() as conn:
        await bot_snapshots.insert(
            conn,
            [
                bot_snapshots.BotSnapshot(
                    bot_id="bot-1",
                    account_id=account,
                    ts_ns=int((now - timedelta(minutes=10)).timestamp()) * SECOND_NS,
                    quote="USDT",
                    pnl=D("99.9"),
                    realized_pnl=D(0),
                    unrealized_pnl=D("99.9"),
                    fees=D(0),
                    account_equity=D(1100),
                )
            ],
        )
    tracker = BotTracker(database, window_minutes=60)
    now_ns = time.time_ns()
    saved_minutes = bot_snapshots.since

    async def unavailable(*_: object) -> object:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(bot_snapshots, "since", unavailable)
    with pytest.raises(ConnectionError):
        await tracker.read_fills([account], now_ns)
    monkeypatch.setattr(bot_snapshots, "since", saved_minutes)
    await tracker.read_fills([account], now_ns)
    await tracker.record(now_ns, {"BTC/USDT": D(40)}.get, lambda _a, _q: D(940))
    (series,) = tracker.series
    # 1 BTC bought at 100, now 40: -60, 159.9 below the saved peak of 99.9 on 1,100.
    assert series.current_drawdown() == pytest.approx(-159.9 / 1100)
