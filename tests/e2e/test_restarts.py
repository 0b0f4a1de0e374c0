"""Restarts of the distributed platform while it trades (Redis Streams, PostgreSQL, the
simulator over HTTP/WS, publishing and enforcing Binance's rate limits, execution pacing
by them): an execution killed while the venue hangs, and every service stopped cleanly
and started again in turn. Afterwards every venue trade is in the platform's fills,
every portfolio equals the venue's balances, no order is left UNKNOWN, no client order
id reached the venue twice, and the venue refused no request for rate (a restarted
execution learns the weight its predecessor spent this minute only from the venue's
usage headers)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tradewind.chaos.platform import (
    Process,
    delete_keys,
    open_demo_accounts,
    platform_env,
    refused_for_rate,
    start_services,
    trade_for,
    trades_missing_from_fills,
    wait_until_orders_settled,
    wait_until_portfolios_match,
)
from tradewind.demo.users import DemoAccount
from tradewind.security.master_keys import generate_master_key

pytestmark = [pytest.mark.servers, pytest.mark.chaos]

BOTS = 40


@dataclass
class Run:
    accounts: list[DemoAccount]
    env: dict[str, str]
    processes: dict[str, Process]
    venue_url: str
    database_url: str
    prefix: str

    async def portfolios_match_within(self, seconds: float) -> float:
        cache_url = self.env["TRADEWIND_CACHE_URL"]
        return await wait_until_portfolios_match(
            self.accounts, cache_url, self.venue_url, within_s=seconds
        )

    async def fault(self, **switches: float) -> None:
        async with httpx.AsyncClient(base_url=self.venue_url, timeout=10) as http:
            (await http.post("/sim/v1/faults", json=switches)).raise_for_status()

    async def orders_settled_within(self, seconds: float) -> None:
        await wait_until_orders_settled(self.database_url, within_s=seconds)

    async def stop_trading(self) -> None:
        """Stop the producers of orders (strategy, marketdata, risk), cleanly."""
        for name in ("strategy", "marketdata", "risk"):
            assert self.processes[name].stop() == 0, f"{name} did not exit 0"

    async def check_the_venue_agrees(self) -> None:
        await self.portfolios_match_within(60)
        missing = await trades_missing_from_fills(self.accounts, self.database_url, self.venue_url)
        assert missing == [], f"{len(missing)} venue trades not in fills, e.g. {missing[:3]}"
        await self.orders_settled_within(60)
        async with httpx.AsyncClient(base_url=self.venue_url) as http:
            repeated = (await http.get("/sim/v1/submissions?repeated=1")).json()
        assert repeated["submissions"] == [], f"sent twice: {repeated['submissions'][:5]}"
        assert await refused_for_rate(self.venue_url) == 0, "the venue refused requests for rate"


@pytest.fixture
async def run(
    venue_url: str, database_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[Run]:
    prefix = f"rst{uuid.uuid4().hex[:8]}"
    master_keys = generate_master_key()
    accounts = await open_demo_accounts(database_url, master_keys, venue_url, BOTS)
    env = platform_env(
        bus_url=f"{redis_url}?prefix={prefix}", redis_url=redis_url, prefix=prefix,
        database_url=database_url, venues=venue_url, master_keys=master_keys,
    )  # fmt: skip
    started: list[Process] = []
    try:
        await start_services(env, tmp_path, started)
        yield Run(accounts, env, {p.name: p for p in started}, venue_url, database_url, prefix)
    finally:
        for process in started:
            process.close()
        await delete_keys(redis_url, prefix)


async def test_execution_killed_while_the_venue_hangs_loses_no_fill(run: Run) -> None:
    await trade_for(run.venue_url, min_s=10, orders=30, max_s=90)
    await run.fault(timeout_s=12, hang_s=10)
    await asyncio.sleep(4)
    execution = run.processes["execution"]
    execution.kill()
    await asyncio.sleep(5)
    execution.start_again()
    await execution.wait_running()
    await asyncio.sleep(15)  # past the fault, trading again
    await run.stop_trading()
    await run.check_the_venue_agrees()


async def test_every_service_stopped_cleanly_and_started_again_loses_nothing(run: Run) -> None:
    await trade_for(run.venue_url, min_s=10, orders=30, max_s=90)
    # Portfolio last: no execution start (which publishes every account's balances)
    # comes after it to hide books a restart lost.
    for name in ("execution", "risk", "marketdata", "strategy", "portfolio"):
        process = run.processes[name]
        began = time.monotonic()
        assert process.stop(timeout_s=10) == 0, f"{name} did not exit 0 within 10 s of SIGTERM"
        print(f"{name}: stopped in {time.monotonic() - began:.1f} s")
        process.start_again()
        await process.wait_running()
        await asyncio.sleep(3)
    await asyncio.sleep(5)
    await run.stop_trading()
    took = await run.portfolios_match_within(5)  # execution reconciles only every 300 s
    print(f"portfolios matched the venue {took:.1f} s after trading stopped")
    await run.check_the_venue_agrees()
