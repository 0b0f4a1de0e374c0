"""The chaos run's evidence of a failed portfolio check: every event of the accounts in
question still on the bus, written as JSON lines (`write_account_events`), read from a
real Redis Streams bus."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from tradewind.bus.envelope import envelope
from tradewind.bus.factory import open_bus
from tradewind.bus.topics import ORDERS_EVENTS
from tradewind.chaos.run import Plan, Platform, write_account_events
from tradewind.domain.events import BalanceUpdate

pytestmark = pytest.mark.servers


def _balance(account_id: str, free: str) -> BalanceUpdate:
    return BalanceUpdate(
        account_id=account_id, venue="sim", asset="USDT", free=Decimal(free),
        locked=Decimal(0), ts_ns=1, as_of_ns=7,
    )  # fmt: skip


async def test_the_accounts_events_are_written_in_order_and_no_other(
    redis_url: str, tmp_path: Path
) -> None:
    url = f"{redis_url}?prefix=test{uuid.uuid4().hex[:12]}"
    bus = open_bus(url, partitions=4)
    await bus.start()
    try:
        events = [envelope(_balance("mine", str(n)), "mine") for n in range(3)]
        await bus.publish_batch(ORDERS_EVENTS, events)
        await bus.publish(ORDERS_EVENTS, envelope(_balance("theirs", "9"), "theirs"))
    finally:
        await bus.close()
    platform = Platform(Plan(), tmp_path)
    platform.env = {"TRADEWIND_BUS_URL": url, "TRADEWIND_BUS_PARTITIONS": "4"}
    path = tmp_path / "events.jsonl"

    await write_account_events(platform, {"mine"}, path)

    written = [json.loads(line) for line in path.read_text().splitlines() if line]
    assert [w["event_id"] for w in written] == [e.event_id for e in events]
    assert [w["payload"]["free"] for w in written] == ["0", "1", "2"]
    assert {w["type"] for w in written} == {"BalanceUpdate"}
    assert written[0]["payload"]["as_of_ns"] == 7


async def test_a_bus_that_cannot_be_read_is_written_down_not_raised(tmp_path: Path) -> None:
    platform = Platform(Plan(), tmp_path)
    platform.env = {"TRADEWIND_BUS_URL": "redis://127.0.0.1:1/0?connect_timeout_s=0.2"}
    path = tmp_path / "events.jsonl"

    await write_account_events(platform, {"mine"}, path)

    assert "error" in json.loads(path.read_text().splitlines()[0])
