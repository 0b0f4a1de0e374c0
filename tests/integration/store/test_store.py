"""The system of record on SQLite and PostgreSQL: the same behaviour on both."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.memory import MemoryBus
from tradewind.domain.bot_lifecycle import BotAction, BotState
from tradewind.domain.bot_pnl import BotFill
from tradewind.domain.commands import BotCommand
from tradewind.domain.events import BalanceUpdate, Fill, PortfolioUpdate
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.errors import BusUnavailable
from tradewind.store import (
    accounts,
    audit,
    bots,
    login_failures,
    portfolio_snapshots,
    trades,
    users,
    venue_balances,
)
from tradewind.store.database import Database, ns_of
from tradewind.store.outbox import OutboxRelay, discard, enqueue, enqueue_returning
from tradewind.store.schema import fills as fills_table
from tradewind.store.schema import outbox

BTC = Instrument.parse("sim", "BTC/USDT")


async def make_user(db: Database, email_index: str = "idx-1") -> users.UserRecord:
    async with db.transaction() as conn:
        return await users.create_user(
            conn,
            email_index=email_index,
            email_encrypted="ciphertext",
            password_hash="$argon2id$...",
            roles=("trader",),
        )


def filled_buy(
    cid: str, account_id: str, bot_id: str, quantity: Decimal, at: datetime
) -> trades.OrderRecord:
    """A bot's market buy of BTC/USDT, filled at 100."""
    return trades.OrderRecord(
        client_order_id=cid, account_id=account_id, bot_id=bot_id, venue="sim",
        symbol="BTC/USDT", side="BUY", order_type="MARKET", time_in_force="GTC",
        quantity=quantity, price=None, state="filled", filled_quantity=quantity,
        average_price=Decimal(100), venue_order_id="1", reason="", created_at=at,
        updated_at=at,
    )  # fmt: skip


async def make_account(db: Database) -> accounts.ExchangeAccountRecord:
    """A stored exchange account of a new user."""
    user = await make_user(db)
    async with db.transaction() as conn:
        return await accounts.add_account(
            conn, user_id=user.id, venue="sim", label="main", api_key_masked="abcd…wxyz",
            api_key_encrypted="k", api_secret_encrypted="s", valuation_asset="USDT",
        )  # fmt: skip


async def test_migrations_are_idempotent(db: Database) -> None:
    await db.migrate()
    await db.migrate()


async def test_a_second_user_with_the_same_email_is_refused(db: Database) -> None:
    await make_user(db)
    with pytest.raises(users.DuplicateUser):
        await make_user(db)


async def test_login_failures_are_counted_for_admins_and_success_resets(db: Database) -> None:
    user = await make_user(db)
    until = datetime.now(UTC) + timedelta(minutes=15)
    async with db.transaction() as conn:
        for n in range(5):
            await users.record_login_failure(conn, user.id, blocked_until=until if n else None)
    async with db.read() as conn:
        counted = await users.get_user(conn, user.id)
    assert counted is not None and counted.failed_logins == 5
    assert counted.locked_until is not None
    assert abs((counted.locked_until - until).total_seconds()) < 1
    async with db.transaction() as conn:
        await users.record_login_success(conn, user.id)
        reset = await users.get_user(conn, user.id)
    assert reset is not None and reset.failed_logins == 0 and reset.locked_until is None


async def test_failures_per_address_and_source_block_that_source_only(db: Database) -> None:
    policy = login_failures.DelayPolicy(free=2, base_s=10, max_s=60)
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        seen = [
            await login_failures.record_failure(conn, "idx", "198.51.100.1", now, policy)
            for _ in range(4)
        ]
        await login_failures.record_failure(conn, "idx", "203.0.113.2", now, policy)
    assert [failures for failures, _ in seen] == [1, 2, 3, 4]
    assert [until and int((until - now).total_seconds()) for _, until in seen] == [
        None, 10, 20, 40,
    ]  # fmt: skip
    async with db.read() as conn:
        assert await login_failures.blocked_until(conn, "idx", "203.0.113.2") is None
        assert await login_failures.blocked_until(conn, "idx", "198.51.100.1") is not None
    async with db.transaction() as conn:
        await login_failures.clear(conn, "idx", "198.51.100.1")
        assert await login_failures.blocked_until(conn, "idx", "198.51.100.1") is None
        assert await login_failures.clear_address(conn, "idx") == 1
        await login_failures.record_failure(conn, "old", "x", now - timedelta(days=2), policy)
        assert await login_failures.prune(conn, now) == 1


async def test_raising_a_token_version_counts_up_and_stamps_the_change(db: Database) -> None:
    user = await make_user(db)
    async with db.transaction() as conn:
        assert await users.raise_token_version(conn, user.id) == 1
        assert await users.raise_token_version(conn, user.id) == 2
        assert await users.raise_token_version(conn, "nobody") is None
        found = await users.get_user(conn, user.id)
    assert found is not None and found.token_version == 2


async def test_money_comes_back_exactly_as_it_went_in(db: Database) -> None:
    account = await make_account(db)
    async with db.transaction() as conn:
        fill = Fill(
            account_id=account.id,
            client_order_id="c1",
            venue_order_id="v1",
            trade_id="t1",
            instrument=BTC,
            side=Side.BUY,
            price=Decimal("27123.123456789012345678"),
            quantity=Decimal("0.000000000000000001"),
            fee=Decimal("0.1"),
            fee_asset="BTC",
            liquidity=Liquidity.TAKER,
            ts_ns=1_700_000_000_000_000_000,
        )
        assert await trades.insert_fill(conn, fill)
        assert not await trades.insert_fill(conn, fill), "a redelivered fill is ignored"
    async with db.read() as conn:
        (row,) = await trades.list_fills(conn, [account.id])
    assert row["price"] == Decimal("27123.123456789012345678")
    assert row["quantity"] == Decimal("0.000000000000000001")
    assert row["fee"] == Decimal("0.1")


async def test_the_same_trade_id_on_two_symbols_is_two_fills(db: Database) -> None:
    account = await make_account(db)
    async with db.transaction() as conn:
        fills = [
            Fill(
                account_id=account.id,
                client_order_id=f"c-{symbol}",
                venue_order_id="v1",
                trade_id="27",
                instrument=Instrument.parse("sim", symbol),
                side=Side.BUY,
                price=Decimal("1"),
                quantity=Decimal("1"),
                fee=Decimal(0),
                fee_asset="USDT",
                liquidity=Liquidity.TAKER,
                ts_ns=1_700_000_000_000_000_000,
            )
            for symbol in ("XRP/USDT", "SOL/USDT")
        ]
        await trades.insert_fills(conn, fills[:1])
        await trades.insert_fills(conn, fills)  # the first again (a redelivery), and the second
        assert not await trades.insert_fill(conn, fills[1])
    async with db.read() as conn:
        stored = await trades.list_fills(conn, [account.id])
    assert sorted(row["symbol"] for row in stored) == ["SOL/USDT", "XRP/USDT"]


async def test_orders_upsert_by_client_order_id(db: Database) -> None:
    now = datetime.now(UTC)
    order = trades.OrderRecord(
        client_order_id="tw-abc", account_id="a1", bot_id="b1", venue="sim", symbol="BTC/USDT",
        side="BUY", order_type="LIMIT", time_in_force="GTC", quantity=Decimal("0.5"),
        price=Decimal("100.25"), state="sent", filled_quantity=Decimal(0), average_price=None,
        venue_order_id=None, reason="", created_at=now, updated_at=now,
    )  # fmt: skip
    async with db.transaction() as conn:
        await trades.upsert_order(conn, order)
        await trades.upsert_order(
            conn,
            trades.OrderRecord(
                **{
                    **order.__dict__,
                    "state": "filled",
                    "filled_quantity": Decimal("0.5"),
                    "average_price": Decimal("100.25"),
                    "venue_order_id": "42",
                }
            ),
        )
    async with db.read() as conn:
        stored = await trades.get_order(conn, "tw-abc")
        listed = await trades.list_orders(conn, ["a1"])
    assert stored is not None and stored.state == "filled" and stored.venue_order_id == "42"
    assert stored.filled_quantity == Decimal("0.5") and len(listed) == 1


async def test_bots_change_state_and_keep_strategy_state(db: Database) -> None:
    user = await make_user(db)
    async with db.transaction() as conn:
        account = await accounts.add_account(
            conn, user_id=user.id, venue="sim", label="", api_key_masked="m",
            api_key_encrypted="k", api_secret_encrypted="s", valuation_asset="USDT",
        )  # fmt: skip
        bot = await bots.create_bot(
            conn, user_id=user.id, account_id=account.id, strategy="dca", params={"amount": "10"}
        )
        assert bot.state is BotState.STOPPED
        await bots.set_bot_state(conn, bot.id, BotState.RUNNING)
        await bots.save_strategy_state(conn, bot.id, b"\x01\x02")
    async with db.read() as conn:
        running = await bots.list_bots(conn, state=BotState.RUNNING)
        saved = await bots.load_strategy_state(conn, bot.id)
    assert [b.id for b in running] == [bot.id] and saved == b"\x01\x02"


async def test_removing_a_user_removes_their_accounts_and_bots(db: Database) -> None:
    user = await make_user(db)
    async with db.transaction() as conn:
        account = await accounts.add_account(
            conn, user_id=user.id, venue="sim", label="", api_key_masked="m",
            api_key_encrypted="k", api_secret_encrypted="s", valuation_asset="USDT",
        )  # fmt: skip
        await bots.create_bot(
            conn, user_id=user.id, account_id=account.id, strategy="dca", params={}
        )
        await users.delete_user(conn, user.id)
    async with db.read() as conn:
        assert await accounts.list_accounts(conn) == []
        assert await bots.list_bots(conn) == []


async def test_audit_entries_are_queryable_newest_first(db: Database) -> None:
    async with db.transaction() as conn:
        await audit.record(conn, "login", actor_id="u1", source_ip="127.0.0.1")
        await audit.record(conn, "key_added", actor_id="u1", target_type="account", target_id="a1")
        await audit.engage_kill_switch(conn, "global", "", reason="drill", actor_id="u1")
    async with db.read() as conn:
        entries = await audit.query(conn)
        logins = await audit.query(conn, action="login")
        switches = await audit.list_kill_switches(conn)
    assert [e.action for e in entries] == ["key_added", "login"]
    assert len(logins) == 1 and switches[0].reason == "drill"


async def test_snapshots_make_an_equity_history(db: Database) -> None:
    async with db.transaction() as conn:
        for i, equity in enumerate(("100", "101.5", "99.25")):
            await portfolio_snapshots.insert_snapshot(
                conn,
                PortfolioUpdate(
                    account_id="a1", valuation_asset="USDT", equity=Decimal(equity),
                    cash=Decimal(equity), realized_pnl=Decimal(0), unrealized_pnl=Decimal(0),
                    fees=Decimal(0), balances={"USDT": Decimal(equity)}, ts_ns=(i + 1) * 10**18,
                ),
            )  # fmt: skip
    async with db.read() as conn:
        history = await portfolio_snapshots.equity_history(conn, "a1")
    assert [e for _, e in history] == [Decimal("100"), Decimal("101.5"), Decimal("99.25")]
    # The last snapshot before a moment: the equity a day started at.
    second = datetime.fromtimestamp(2 * 10**9, UTC)  # the second snapshot's time
    async with db.read() as conn:
        assert await portfolio_snapshots.equity_before(conn, ["a1", "a2"], second) == {
            "a1": ("USDT", Decimal("100"))
        }
        later = await portfolio_snapshots.equity_before(conn, ["a1"], second + timedelta(seconds=1))
    assert later == {"a1": ("USDT", Decimal("101.5"))}


async def test_valuations_of_many_accounts_keep_each_ones_newest_in_the_window(
    db: Database,
) -> None:
    minute_ns = 60 * 10**9

    def snapshot(account: str, minute: int, equity: int) -> PortfolioUpdate:
        return PortfolioUpdate(
            account_id=account, valuation_asset="USDT", equity=Decimal(equity),
            cash=Decimal(equity), realized_pnl=Decimal(0), unrealized_pnl=Decimal(0),
            fees=Decimal("0.5"), balances={}, ts_ns=1_800_000_000 * 10**9 + minute * minute_ns,
        )  # fmt: skip

    async with db.transaction() as conn:
        for minute in range(6):  # a1: 100..105 at minutes 0..5
            await portfolio_snapshots.insert_snapshot(conn, snapshot("a1", minute, 100 + minute))
        await portfolio_snapshots.insert_snapshot(conn, snapshot("a2", 4, 7))
        await portfolio_snapshots.insert_snapshot(conn, snapshot("a3", 0, 9))  # before the window
    since = datetime.fromtimestamp(1_800_000_000 + 60, UTC)  # minute 1
    until = datetime.fromtimestamp(1_800_000_000 + 5 * 60, UTC)  # minute 5, inclusive
    async with db.read() as conn:
        found = await portfolio_snapshots.valuations_of(
            conn, ["a1", "a2", "a3", "a4"], since, until, limit=3
        )
        one = await portfolio_snapshots.valuations(conn, "a1", since, until, limit=3)
    assert sorted(found) == ["a1", "a2"]  # a3 only before the window, a4 never
    # At most `limit` each, the newest kept, oldest first.
    assert [equity for _, _, equity, *_ in found["a1"]] == [
        Decimal(103),
        Decimal(104),
        Decimal(105),
    ]
    assert found["a2"] == [
        (1_800_000_000 * 10**9 + 4 * minute_ns, "USDT", Decimal(7), Decimal(0), Decimal(0),
         Decimal("0.5"), Decimal(0))
    ]  # fmt: skip
    assert one == found["a1"]


async def test_venue_balances_keep_the_newest_of_each_asset(db: Database) -> None:
    def usdt(free: str, ts_ns: int, account_id: str = "a1") -> BalanceUpdate:
        return BalanceUpdate(
            account_id=account_id, venue="sim", asset="USDT", free=Decimal(free),
            locked=Decimal("0.000000000000000001"), ts_ns=ts_ns,
        )  # fmt: skip

    async with db.transaction() as conn:
        await venue_balances.save_latest(conn, [usdt("100", 10), usdt("90", 20)])
        await venue_balances.save_latest(conn, [usdt("5", 5)])  # older: ignored
        await venue_balances.save_latest(conn, [usdt("80.123456789", 30), usdt("7", 1, "a2")])
    async with db.read() as conn:
        stored = await venue_balances.load_latest(conn, ["a1", "a2", "a3"])
    assert stored == {
        "a1": [usdt("80.123456789", 30)],
        "a2": [usdt("7", 1, "a2")],
    }


async def test_outbox_events_leave_only_with_their_transaction(db: Database) -> None:
    bus = MemoryBus(partitions=2)
    await bus.start()
    seen: list[str] = []

    async def collect(batch: object) -> None:
        seen.extend(e.event_id for e in batch)  # type: ignore[attr-defined]

    await bus.subscribe(["bot.commands"], "test", collect)
    command = BotCommand(
        account_id="a1", bot_id="b1", action=BotAction.START, issued_by="u1", ts_ns=1
    )
    committed = envelope(command, "a1")
    rolled_back = envelope(command, "a1")
    async with db.transaction() as conn:
        await enqueue(conn, "bot.commands", [committed])
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await enqueue(conn, "bot.commands", [rolled_back])
            raise RuntimeError("the write failed")
    relay = OutboxRelay(db, bus)
    assert await relay.relay_once() == 1
    assert await relay.relay_once() == 0, "published rows are not sent again"
    for _ in range(50):
        if seen:
            break
        await asyncio.sleep(0.01)
    assert seen == [committed.event_id]
    await bus.close()


async def test_rows_their_writer_publishes_are_left_to_a_relay_only_when_old(
    db: Database,
) -> None:
    """Execution publishes its staged events itself and deletes them; a relay with a
    minimum age takes only what a killed writer left behind, never racing a live one."""
    bus = MemoryBus(partitions=2)
    await bus.start()
    seen: list[str] = []

    async def collect(batch: object) -> None:
        seen.extend(e.event_id for e in batch)  # type: ignore[attr-defined]

    await bus.subscribe(["bot.commands"], "test", collect)
    command = BotCommand(
        account_id="a1", bot_id="b1", action=BotAction.START, issued_by="u1", ts_ns=1
    )
    published, left = envelope(command, "a1"), envelope(command, "a1")
    async with db.transaction() as conn:
        published_ids = await enqueue_returning(conn, "bot.commands", [published])
        left_ids = await enqueue_returning(conn, "bot.commands", [left])
    await discard(db, published_ids)  # its writer published it
    relay = OutboxRelay(db, bus, min_age_s=60)
    assert await relay.relay_once() == 0, "a young row is its writer's to publish"
    async with db.transaction() as conn:
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        await conn.execute(
            update(outbox).where(outbox.c.id.in_(left_ids)).values(created_at=an_hour_ago)
        )
    assert await relay.relay_once() == 1
    for _ in range(50):
        if seen:
            break
        await asyncio.sleep(0.01)
    assert seen == [left.event_id]
    await bus.close()


async def stage_a_command(db: Database) -> Envelope:
    """A bot command staged in the outbox, as a service's transaction leaves it."""
    command = BotCommand(
        account_id="a1", bot_id="b1", action=BotAction.START, issued_by="u1", ts_ns=1
    )
    staged = envelope(command, "a1")
    async with db.transaction() as conn:
        await enqueue(conn, "bot.commands", [staged])
    return staged


async def test_stopping_the_relay_mid_batch_publishes_nothing_twice(db: Database) -> None:
    """A stop that lands after the bus took a batch but before its rows were marked
    published lets the batch commit: cut there, the rows stayed unpublished and the
    stop's last round published them again."""
    bus = MemoryBus(partitions=2)
    await bus.start()
    published: list[str] = []
    taken, answered = asyncio.Event(), asyncio.Event()

    class SlowAckBus:
        """Stores the batch at once, acknowledges it only when told to."""

        async def publish_batch(self, topic: str, events: list[Envelope]) -> None:
            published.extend(e.event_id for e in events)
            taken.set()
            await answered.wait()

    staged = await stage_a_command(db)
    relay = OutboxRelay(db, SlowAckBus(), poll_s=0.01)  # type: ignore[arg-type]
    await relay.start()
    await asyncio.wait_for(taken.wait(), 10)
    stopping = asyncio.create_task(relay.stop())
    await asyncio.sleep(0.05)  # the stop is under way while the batch waits for its ack
    answered.set()
    await stopping
    assert published == [staged.event_id], "the batch under way was published again"
    assert await relay.relay_once() == 0, "its row stayed unpublished"


async def test_the_relay_outlives_a_bus_outage(db: Database) -> None:
    bus = MemoryBus(partitions=2)
    await bus.start()
    seen: list[str] = []
    failures = [BusUnavailable("Redis at 127.0.0.1:6379 cannot be reached")]

    async def collect(batch: object) -> None:
        seen.extend(e.event_id for e in batch)  # type: ignore[attr-defined]

    await bus.subscribe(["bot.commands"], "test", collect)

    class FlakyBus:
        """The bus, but its first publish fails as an unreachable broker does."""

        async def publish_batch(self, topic: str, events: list[Envelope]) -> None:
            if failures:
                raise failures.pop()
            await bus.publish_batch(topic, events)

    staged = await stage_a_command(db)
    relay = OutboxRelay(db, FlakyBus(), poll_s=0.01)  # type: ignore[arg-type]
    await relay.start()
    for _ in range(200):
        if seen:
            break
        await asyncio.sleep(0.01)
    await relay.stop()
    assert seen == [staged.event_id], "the relay ended with the outage"
    await bus.close()


async def test_a_busy_account_does_not_crowd_out_the_other_bots_fills(db: Database) -> None:
    # Before: the limit held for each query of 500 accounts, so the newest fills of a
    # busy account filled it and a quieter account's bots lost theirs (their PnL books,
    # rebuilt from the record, then missed trades).
    busy = await make_account(db)
    async with db.transaction() as conn:
        quiet = await accounts.add_account(
            conn, user_id=busy.user_id, venue="sim", label="quiet", api_key_masked="abcd…wxyz",
            api_key_encrypted="k", api_secret_encrypted="s", valuation_asset="USDT",
        )  # fmt: skip
    now = datetime.now(UTC)
    rows, fills = [], []
    for n, (account, cid) in enumerate(
        [(quiet, "tw-q")] + [(busy, "tw-b")] * 3  # the quiet account's fill is the oldest
    ):
        fills.append(
            Fill(
                account_id=account.id, client_order_id=cid, venue_order_id=str(n),
                trade_id=str(n), instrument=BTC, side=Side.BUY, price=Decimal(100),
                quantity=Decimal(1), fee=Decimal(0), fee_asset="USDT",
                liquidity=Liquidity.TAKER, ts_ns=1_700_000_000_000_000_000 + n,
            )
        )  # fmt: skip
    for account, cid, bot_id in ((busy, "tw-b", "bot-b"), (quiet, "tw-q", "bot-q")):
        rows.append(filled_buy(cid, account.id, bot_id, Decimal(3), now))
    async with db.transaction() as conn:
        for order in rows:
            await trades.upsert_order(conn, order)
        await trades.insert_fills(conn, fills)

    async with db.read() as conn:
        found = await trades.bots_fills_of(conn, [busy.id, quiet.id], limit=3)
        newest = await trades.bots_fills_of(conn, [busy.id, quiet.id], limit=2)

    assert [f.trade_id for _, f in found[busy.id]] == ["1", "2", "3"]
    assert [(b, f.trade_id) for b, f in found[quiet.id]] == [("bot-q", "0")]
    assert [f.trade_id for _, f in newest[busy.id]] == ["2", "3"]  # the newest, oldest first


async def test_bots_fills_are_read_by_when_they_were_recorded_in_execution_order(
    db: Database,
) -> None:
    # The analytics service's cursor on new fills: the whole platform's bots' fills
    # recorded since a moment, whenever they executed, and the newest recorded_at.
    first = await make_account(db)
    async with db.transaction() as conn:
        second = await accounts.add_account(
            conn, user_id=first.user_id, venue="sim", label="second", api_key_masked="abcd…wxyz",
            api_key_encrypted="k", api_secret_encrypted="s", valuation_asset="USDT",
        )  # fmt: skip
        assert await trades.newest_fill_recorded(conn) is None
    t = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    s = timedelta(seconds=1)
    for account, cid, bot_id in (
        (first, "tw-a", "bot-a"), (second, "tw-b", "bot-b"), (first, "tw-m", "")
    ):  # fmt: skip
        async with db.transaction() as conn:
            await trades.upsert_order(conn, filled_buy(cid, account.id, bot_id, Decimal(1), t))
    rows = [  # (account, order, trade id, executed, recorded)
        (first, "tw-a", "1", t - 3600 * s, t + 30 * s),  # an hour late (a reconciliation)
        (first, "tw-a", "3", t, t + 10 * s),
        (first, "tw-a", "2", t, t + 20 * s),  # executed with 3: by trade id
        (second, "tw-b", "4", t + 5 * s, t + 5 * s),  # recorded before `since`
        (second, "tw-b", "5", t + 20 * s, t + 10 * s),
        (first, "tw-m", "6", t + 40 * s, t + 40 * s),  # no bot's: left out
    ]
    async with db.transaction() as conn:
        await conn.execute(
            fills_table.insert(),
            [
                {
                    "account_id": account.id, "symbol": "BTC/USDT", "trade_id": trade_id,
                    "client_order_id": cid, "side": "BUY", "price": Decimal("100.5"),
                    "quantity": Decimal(1), "fee": Decimal("0.01"), "fee_asset": "USDT",
                    "liquidity": "TAKER", "executed_at": executed, "recorded_at": recorded,
                }
                for account, cid, trade_id, executed, recorded in rows
            ],
        )  # fmt: skip

    async with db.read() as conn:
        found, newest = await trades.bot_fills_recorded_since(conn, t + 10 * s)
        everything, _ = await trades.bot_fills_recorded_since(conn, None)
        none_after = await trades.bot_fills_recorded_since(conn, t + 31 * s)
        table_newest = await trades.newest_fill_recorded(conn)
        asked: list[tuple[str, str, str, str]] = []

        def wanted(account_id: str, bot_id: str, symbol: str, trade_id: str) -> bool:
            asked.append((account_id, bot_id, symbol, trade_id))
            return trade_id != "1"  # a reader that holds trade 1 already

        chosen, chosen_newest = await trades.bot_fills_recorded_since(conn, t + 10 * s, wanted)

    def by_bot(read: dict[str, list[tuple[str, BotFill]]]) -> dict[str, list[tuple[str, str]]]:
        return {a: [(bot, fill.trade_id) for bot, fill in fills] for a, fills in read.items()}

    assert by_bot(found) == {
        first.id: [("bot-a", "1"), ("bot-a", "2"), ("bot-a", "3")],
        second.id: [("bot-b", "5")],
    }
    assert found[first.id][0][1].ts_ns == ns_of(t - 3600 * s)  # as it executed
    assert newest == t + 30 * s  # the newest among the bots' fills read
    assert by_bot(everything)[second.id] == [("bot-b", "4"), ("bot-b", "5")]
    assert none_after == ({}, None)
    assert table_newest == t + 40 * s  # any fill's, a bot's or not
    # What the reader leaves out is not turned into a fill, yet counts for the newest.
    assert {trade for _, _, _, trade in asked} == {"1", "2", "3", "5"}
    assert by_bot(chosen) == {
        first.id: [("bot-a", "2"), ("bot-a", "3")],
        second.id: [("bot-b", "5")],
    }
    assert chosen_newest == t + 30 * s  # trade 1's, left out
    # The money is read raw and converted for the fills taken only: exact as a Money
    # column reads it (PostgreSQL's NUMERIC(38, 18) padding stripped), as the meet's read.
    async with db.read() as conn:
        met = await trades.bots_fills_of(conn, [first.id], limit=10)
    taken = chosen[first.id][0][1]
    assert (str(taken.price), str(taken.quantity), str(taken.fee)) == ("100.5", "1", "0.01")
    assert taken == next(fill for _, fill in met[first.id] if fill.trade_id == "2")
