"""Execution's outbox (`services/execution/outbox.py`) on SQLite and PostgreSQL: the
flushes asked for at one moment by many accounts' sessions (`flush_soon`) are stored in
one transaction, with the events they make, and published in one batch."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tests.servers import migrated_database
from tests.waiting import wait_until
from tradewind.bus.envelope import Envelope
from tradewind.bus.memory import MemoryBus
from tradewind.bus.topics import ORDERS_EVENTS
from tradewind.domain.events import Fill
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.services.execution.outbox import EventOutbox
from tradewind.store.database import Database
from tradewind.store.trades import list_fills

BTC = Instrument.parse("sim", "BTC/USDT")


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    async with migrated_database(request.param, tmp_path, url) as (database, _schema):
        yield database


def fill(account_id: str) -> Fill:
    return Fill(
        account_id=account_id,
        client_order_id=f"tw-{account_id}",
        venue_order_id="1",
        trade_id=f"t-{account_id}",
        instrument=BTC,
        side=Side.BUY,
        price=Decimal("30000"),
        quantity=Decimal("0.001"),
        fee=Decimal("0.03"),
        fee_asset="USDT",
        liquidity=Liquidity.TAKER,
        ts_ns=time.time_ns(),
    )


async def test_flushes_asked_together_share_one_transaction_and_one_publish(
    db: Database,
) -> None:
    bus = MemoryBus(partitions=1)
    await bus.start()
    batches: list[int] = []

    async def received(batch: Sequence[Envelope]) -> None:
        batches.append(len(batch))

    await bus.subscribe([ORDERS_EVENTS], "test", received)
    outbox = EventOutbox(bus, db)
    writes: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO FILLS"):
            writes.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    accounts = [f"a{i}" for i in range(40)]
    try:
        for account_id in accounts:  # each account's session, done with its batch
            outbox.fill(fill(account_id), None)
            outbox.flush_soon()
        await wait_until(lambda: sum(batches) == len(accounts))
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        await outbox.close()
        await bus.close()

    assert len(writes) == 1  # one transaction's insert of all 40 fills
    assert batches == [len(accounts)]
    async with db.read() as conn:
        stored = {row["account_id"] for row in await list_fills(conn, accounts, limit=100)}
    assert stored == set(accounts)
