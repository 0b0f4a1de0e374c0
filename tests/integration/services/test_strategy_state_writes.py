"""Bots' states written off the hot path, and what a crash before the write does.

The strategy service publishes a bar's intents and writes the states they changed in the
background (`StateWriter`): the next bar does not wait for the database. Account events
still have their bots' states written before their batch is acknowledged. The database
is a real SQLite file whose write lock the test holds (another connection's `BEGIN
IMMEDIATE`) to keep a write from happening; a crash is the service dying as a process
does: its subscriptions die mid-batch (uncommitted, redelivered), its tasks are
cancelled, nothing more is published or written. A restart reads the database.

What must hold: no intent published before the crash is taken back, and a decision made
again after it (the same bot, the same state, the same market) is published with the
same intent id, so the same client order id: execution places it once, never twice.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from tests.integration.services.test_strategy_service import (
    BTC,
    GRID,
    Platform,
    bar,
    create_strategy,
    eventually,
    fill_of,
    publish,
    running_platform,
    trade,
)
from tests.waiting import wait_until_async
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope
from tradewind.bus.memory import MemoryBus, MemorySubscription
from tradewind.domain.bot_lifecycle import BotState
from tradewind.domain.client_order_ids import client_order_id_for
from tradewind.domain.commands import OrderIntent
from tradewind.domain.model import Side
from tradewind.domain.time_units import NS_PER_S
from tradewind.services.strategy import StrategyService
from tradewind.services.strategy.saved_state import decode_saved
from tradewind.services.strategy.state_writer import StateWriter
from tradewind.store import bots
from tradewind.store.database import Database
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket

D = Decimal
#: How long the service's connection waits for the test's write lock (sqlite3's
#: `timeout`): longer than any test runs, so a write held up by the lock stays held up.
LOCK_WAIT_S = 120


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    async with running_platform(
        f"sqlite:///{tmp_path / 'tradewind.db'}?timeout={LOCK_WAIT_S}"
    ) as found:
        yield found


@contextmanager
def writes_held_up(db: Database) -> Iterator[None]:
    """Hold the SQLite file's write lock (readers go on): every write waits until the
    block ends."""
    path = db.url.split(":///", 1)[1].split("?", 1)[0]
    lock = sqlite3.connect(path, isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        yield
        lock.execute("ROLLBACK")
    finally:
        lock.close()


def crash(platform: Platform, service: StrategyService) -> list[asyncio.Task[None]]:
    """Kill `service` as its process would die: its subscriptions die mid-batch (the
    batch in flight stays uncommitted, for the next instance), its timer, partition and
    state-writer tasks are cancelled; nothing is flushed. Returns what to await once the
    database is free again (a cancelled write waits for its lock to roll back)."""
    platform.services.remove(service)
    dying: list[asyncio.Task[None]] = []
    for subscription in service._subscriptions:
        assert isinstance(subscription, MemorySubscription)
        dying.append(asyncio.get_running_loop().create_task(subscription.kill()))
    service._subscriptions = []
    writer = service.outbound.writer._background
    for task in (service._ticker, service._following, writer):
        if task is not None:
            task.cancel()
            dying.append(task)
    return dying


async def saved_sequence(platform: Platform, bot_id: str) -> int:
    """The intent sequence of the bot's saved state in the database (0: none saved)."""
    async with platform.db.read() as conn:
        saved = await bots.load_strategy_state(conn, bot_id)
    if saved is None:
        return 0
    record = await _record(platform, bot_id)
    strategy = create_strategy(record.strategy, record.params)
    strategy.restore(decode_saved(saved).strategy)
    return strategy.intent_sequence


async def _record(platform: Platform, bot_id: str) -> bots.BotRecord:
    async with platform.db.read() as conn:
        record = await bots.get_bot(conn, bot_id)
    assert record is not None
    return record


async def sequence_becomes(platform: Platform, bot_id: str, sequence: int) -> None:
    async def saved() -> bool:
        return await saved_sequence(platform, bot_id) == sequence

    await wait_until_async(saved)


def orders(intents: list[OrderIntent]) -> list[tuple[str, Side, Decimal | None]]:
    """Each intent as the order execution places: client order id, side, price."""
    return [
        (client_order_id_for(i.account_id, i.bot_id, i.intent_id), i.side, i.price) for i in intents
    ]


async def test_the_next_bar_is_answered_while_the_last_bars_state_write_waits(
    platform: Platform,
) -> None:
    """The market-data path publishes and goes on; the write follows when it can. It used
    to await the write before the next bar, so a slow database held up every bar."""
    account_id = await platform.account()
    bot_id = await platform.bot(account_id, "every-bar", {})
    await platform.start_service()
    open_ns = time.time_ns() - 60 * NS_PER_S

    with writes_held_up(platform.db):
        for n in (1, 2, 3):
            await publish(platform.bus, topics.MD_BAR, bar(BTC, D(30000), open_ns + n), BTC.key)
            await eventually(lambda n=n: len(platform.intents_of(bot_id)) == n, timeout_s=10)
        assert await saved_sequence(platform, bot_id) == 0  # published, not yet written

    await sequence_becomes(platform, bot_id, 3)  # the latest state, once the lock is gone
    ids = [intent.intent_id for intent in platform.intents_of(bot_id)]
    assert ids == [f"{bot_id}:1", f"{bot_id}:2", f"{bot_id}:3"]


async def test_a_crash_before_the_market_datas_state_write_repeats_the_same_orders(
    platform: Platform,
) -> None:
    """The grid placed its buys on a trade; the service dies before their state is
    written. Restarted from the database, the grid decides again on the same price: the
    same buys with the same client order ids (execution places each once), none new."""
    account_id = await platform.account()
    grid = await platform.bot(account_id, "grid", GRID)
    service = await platform.start_service()

    with writes_held_up(platform.db):
        await publish(platform.bus, topics.MD_TRADE, trade(BTC, D(30100)), BTC.key)
        await eventually(lambda: len(platform.intents_of(grid)) == 2)
        dying = crash(platform, service)
    await asyncio.gather(*dying, return_exceptions=True)
    before = orders(platform.intents_of(grid))
    assert await saved_sequence(platform, grid) == 0  # the crash came before the write

    await platform.start_service()
    await publish(platform.bus, topics.MD_TRADE, trade(BTC, D(30100)), BTC.key)
    await eventually(lambda: len(platform.intents_of(grid)) == 4)
    await sequence_becomes(platform, grid, 2)

    after = orders(platform.intents_of(grid))[2:]
    assert after == before  # the same two orders: nothing lost, nothing new
    assert [price for _, side, price in before if side is Side.BUY] == [D(29500), D(29000)]


async def test_an_account_events_batch_is_acknowledged_only_after_its_states_are_written(
    platform: Platform,
) -> None:
    """A fill makes the grid sell; the service publishes the sell and dies before the
    state is written. The fill was not acknowledged, so the restarted service gets it
    again, against the state before it: the same sell, the same client order id."""
    account_id = await platform.account()
    grid = await platform.bot(account_id, "grid", GRID)
    service = await platform.start_service()
    await publish(platform.bus, topics.MD_TRADE, trade(BTC, D(30100)), BTC.key)
    await eventually(lambda: len(platform.intents_of(grid)) == 2)
    await sequence_becomes(platform, grid, 2)
    buy = next(i for i in platform.intents_of(grid) if i.price == D(29500))

    with writes_held_up(platform.db):
        await publish(platform.bus, topics.ORDERS_EVENTS, fill_of(buy, "t-1"), account_id)
        await eventually(lambda: len(platform.intents_of(grid)) == 3)
        dying = crash(platform, service)
    await asyncio.gather(*dying, return_exceptions=True)
    assert await saved_sequence(platform, grid) == 2  # the sell's state was not written

    await platform.start_service()  # the fill comes again
    await eventually(lambda: len(platform.intents_of(grid)) == 4)
    await sequence_becomes(platform, grid, 3)  # written, then acknowledged

    sells = orders(platform.intents_of(grid))[2:]
    assert sells[0] == sells[1]
    assert sells[0][1:] == (Side.SELL, D(30000))


async def test_the_state_writer_never_writes_an_older_state_over_a_newer_one(
    platform: Platform,
) -> None:
    """A state queued while a round is in flight, and one queued again after a failed
    round, are written last: the newest wins."""
    account_id = await platform.account()
    bot_id = await platform.bot(account_id, "every-bar", {})
    writer = StateWriter(platform.db)

    async def row() -> bytes | None:
        async with platform.db.read() as conn:
            return await bots.load_strategy_state(conn, bot_id)

    with writes_held_up(platform.db):
        writer.queue({bot_id: b"first"}, {})
        writer.write_soon()  # its round waits for the lock
        await eventually(lambda: not writer.idle and not writer._states)
        writer.queue({bot_id: b"second"}, {})
    await writer.write()  # after the round in flight, which wrote "first"
    assert await row() == b"second"

    quick = Database(f"{platform.db.url.split('?', 1)[0]}?timeout=0.05")
    try:
        failing = StateWriter(quick)
        with writes_held_up(platform.db):
            failing.queue({bot_id: b"third"}, {})
            with pytest.raises(OperationalError):
                await failing.write()
            failing.queue({bot_id: b"fourth"}, {bot_id: BotState.PAUSED})
        await failing.write()
    finally:
        await quick.close()
    assert await row() == b"fourth"
    assert await platform.bot_state(bot_id) is BotState.PAUSED


async def test_a_bots_state_is_not_written_while_its_intents_are_still_being_published(
    tmp_path: Path,
) -> None:
    """Market data's states are encoded when the writer writes, not on the hot path; a bot
    whose intent is still on its way to the bus is left for a later round, so no saved
    state counts an intent that has not left (a crash would lose it)."""
    bus = MemoryBus(max_lag=0)  # a publisher waits until every group has handled it
    await bus.start()
    db = Database(f"sqlite:///{tmp_path / 'tradewind.db'}?timeout={LOCK_WAIT_S}")
    await db.migrate()
    platform = Platform(bus, db, SimulatedVenues(SimulatedExchange(SyntheticMarket(seed=1))))
    execution_free = asyncio.Event()
    execution_free.set()

    async def slow_execution(batch: Sequence[Envelope]) -> None:
        await execution_free.wait()
        await platform.take_intents(batch)

    await bus.subscribe((topics.ORDERS_INTENT,), "test-execution", slow_execution)
    account_id = await platform.account()
    bot_id = await platform.bot(account_id, "every-bar", {})
    service = await platform.start_service()
    writer = service.outbound.writer
    open_ns = time.time_ns() - 60 * NS_PER_S
    second_bar: asyncio.Task[None] | None = None
    try:
        with writes_held_up(db):
            await publish(bus, topics.MD_BAR, bar(BTC, D(30000), open_ns + 1), BTC.key)
            await eventually(lambda: len(platform.intents_of(bot_id)) == 1)
            await eventually(lambda: writer._round.locked())  # writing :1's state, held up
            execution_free.clear()
            second_bar = asyncio.create_task(
                publish(bus, topics.MD_BAR, bar(BTC, D(30000), open_ns + 2), BTC.key)
            )
            await eventually(lambda: bot_id in service.outbound.unpublished_bots())
        await sequence_becomes(platform, bot_id, 1)  # the round held up, then its end
        background = writer._background
        assert background is not None
        await asyncio.wait_for(background, timeout=10)
        assert await saved_sequence(platform, bot_id) == 1  # :2 is not published yet

        execution_free.set()
        await second_bar
        await sequence_becomes(platform, bot_id, 2)  # published, then written
        assert [i.intent_id for i in platform.intents_of(bot_id)] == [
            f"{bot_id}:1",
            f"{bot_id}:2",
        ]
    finally:
        execution_free.set()
        if second_bar is not None:
            await asyncio.gather(second_bar, return_exceptions=True)
        for running in list(platform.services):
            await platform.stop_service(running)
        await bus.close()
        await db.close()
