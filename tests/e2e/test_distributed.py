"""The distributed run, proven: marketdata, strategy, risk, execution and portfolio as
separate OS processes (`tradewind service NAME`) on Redis Streams and on Kafka, the
simulated exchange served over HTTP and WebSocket (`tradewind venue serve`) and reached
through ccxt, 100 bots in PostgreSQL. At the end every account's portfolio equals the
venue's balances, and the venue never saw a client order id twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import msgspec
import pytest

from tradewind.bus.tansu import free_port, port_open
from tradewind.cache.redis_cache import RedisCache
from tradewind.domain.events import PortfolioUpdate
from tradewind.runtime.demo import DemoAccount, MarketView, create_demo_accounts
from tradewind.security.envelope import Encryptor
from tradewind.security.master_keys import generate_master_key, load_master_keys
from tradewind.store.database import Database
from tradewind.venues.ccxt_venue import CcxtVenue

pytestmark = pytest.mark.servers

BOTS = 100
RUN_S = 25.0
MIN_ORDERS = 50
#: Start order; stopped in reverse, so producers of orders stop first.
SERVICES = ("portfolio", "execution", "risk", "marketdata", "strategy")


@pytest.fixture
def venue_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "venue.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradewind.cli", "venue", "serve", "--port", str(port),
         "--market", "synthetic", "--seed", "3", "--unlimited"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port, 0.2):
            assert proc.poll() is None and time.monotonic() < deadline, "venue did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


@pytest.fixture
async def database_url(postgres_url: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for the run (the services share it)."""
    name = f"tw_e2e_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_url, timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def market_view(venue_url: str) -> MarketView:
    ws = venue_url.replace("http", "ws", 1)
    venue = CcxtVenue.simulated_binance(venue_url, ws, "", "")
    try:
        markets = await venue.load_markets()
        symbols: dict[str, tuple[str, Decimal, Decimal]] = {}
        for symbol, market in markets.items():
            book = await venue.fetch_order_book(symbol, 5)
            mid = (book.bids[0][0] + book.asks[0][0]) / 2
            symbols[symbol] = (market.quote, market.tick_size, mid)
        return MarketView(symbols)
    finally:
        await venue.close()


async def open_demo_accounts(
    database_url: str, master_keys: str, venue_url: str
) -> list[DemoAccount]:
    db = Database(database_url)
    await db.migrate()
    encryptor = Encryptor(load_master_keys(keys=master_keys))
    async with httpx.AsyncClient(base_url=venue_url, timeout=10) as http:

        async def fund(balances: dict[str, Decimal]) -> tuple[str, str, str]:
            body = {"balances": {a: format(v, "f") for a, v in balances.items()}}
            created = (await http.post("/sim/v1/accounts", json=body)).json()
            return created["api_key"], created["api_secret"], created["account_id"]

        accounts = await create_demo_accounts(
            db, encryptor, await market_view(venue_url), fund, BOTS, "$argon2id$unused"
        )
    await db.close()
    return accounts


class Process:
    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log_path = logs / f"{name}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tradewind.cli", "service", name],
            env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def running(self) -> bool:
        return '"event": "running"' in self.log_path.read_text()

    def stop(self, timeout_s: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = -9
        self._log.close()
        return code


def non_zero(balances: dict[str, Decimal]) -> dict[str, Decimal]:
    return {asset: value for asset, value in balances.items() if value}


@pytest.mark.parametrize("bus", ["redis", "kafka"])
async def test_a_hundred_bots_across_five_processes_agree_with_the_venue(
    bus: str,
    request: pytest.FixtureRequest,
    venue_url: str,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    prefix = f"e2e{uuid.uuid4().hex[:8]}"
    if bus == "redis":
        bus_url = f"{redis_url}?prefix={prefix}"
    else:
        bus_url = f"kafka://{request.getfixturevalue('kafka_bootstrap')}"
    master_keys = generate_master_key()
    accounts = await open_demo_accounts(database_url, master_keys, venue_url)
    env = {
        **os.environ,
        "TRADEWIND_BUS_URL": bus_url,
        "TRADEWIND_CACHE_URL": f"{redis_url}?prefix={prefix}:cache:",
        "TRADEWIND_DATABASE_URL": database_url,
        "TRADEWIND_VENUE_URLS": f"sim={venue_url}",
        "TRADEWIND_MASTER_KEYS": master_keys,
        "TRADEWIND_HEALTH_PORT": "0",
        "TRADEWIND_BAR_INTERVAL_S": "2",
        "TRADEWIND_PORTFOLIO_VALUATION_ASSET": "USDT",
        "TRADEWIND_LOG_LEVEL": "info",
        # The venue runs --unlimited (it publishes no rate limits), so execution paces by
        # none either; under Binance's published limits a hundred accounts behind one
        # address are throttled to minutes, which tests/integration/services covers.
        "TRADEWIND_EXECUTION_RATE_LIMITS": "off",
    }
    processes: list[Process] = []
    try:
        for name in SERVICES:
            process = Process(name, env, tmp_path)
            processes.append(process)
            deadline = time.monotonic() + 60
            while not process.running():
                assert process.proc.poll() is None, (
                    f"{name} exited: {process.log_path.read_text()[-2000:]}"
                )
                assert time.monotonic() < deadline, f"{name} did not start"
                await asyncio.sleep(0.2)
        await trade_for(venue_url, min_s=RUN_S, orders=MIN_ORDERS, max_s=120)
        codes = {}
        # No new orders: stop strategy, marketdata and risk. Execution keeps watching the
        # orders still resting at the venue (which go on filling) and portfolio keeps
        # accounting for them, so the two views must meet.
        for process in reversed(processes[2:]):
            codes[process.name] = process.stop()
        venue_orders = await check_portfolios_match_the_venue(accounts, env, venue_url, prefix)
        for process in reversed(processes[:2]):
            codes[process.name] = process.stop()
        assert codes == dict.fromkeys(SERVICES, 0), f"exit codes: {codes}"
    finally:
        for process in processes:
            process.stop(timeout_s=10)
        if bus == "redis":
            await delete_keys(redis_url, prefix)
    async with httpx.AsyncClient(base_url=venue_url) as http:
        submissions = (await http.get("/sim/v1/submissions")).json()
        repeated = (await http.get("/sim/v1/submissions?repeated=1")).json()["submissions"]
    assert submissions["total"] >= MIN_ORDERS, f"only {submissions['total']} orders"
    assert venue_orders > 0
    assert repeated == [], f"client order ids sent twice: {repeated[:5]}"


async def trade_for(venue_url: str, *, min_s: float, orders: int, max_s: float) -> None:
    """Let the bots trade at least `min_s`, and until the venue saw `orders` orders."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=venue_url, timeout=10) as http:
        while time.monotonic() - started < max_s:
            total = (await http.get("/sim/v1/submissions")).json()["total"]
            if total >= orders and time.monotonic() - started >= min_s:
                return
            await asyncio.sleep(1)


async def check_portfolios_match_the_venue(
    accounts: list[DemoAccount], env: dict[str, str], venue_url: str, prefix: str
) -> int:
    """Wait (bounded) until every account's latest portfolio equals the venue's balances;
    returns how many accounts hold anything but their starting USDT."""
    cache = RedisCache(env["TRADEWIND_CACHE_URL"].split("?")[0], prefix=f"{prefix}:cache:")
    decoder = msgspec.msgpack.Decoder(PortfolioUpdate)
    differing: list[str] = []
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=venue_url, timeout=10) as http:
        while True:
            cached = await cache.get_many([f"portfolio:{a.account_id}" for a in accounts])
            differing, traded = [], 0
            for account, raw in zip(accounts, cached, strict=True):
                venue = (
                    await http.get(f"/sim/v1/accounts/{account.venue_account_id}/balances")
                ).json()
                held = non_zero(
                    {a: Decimal(b["free"]) + Decimal(b["locked"]) for a, b in venue.items()}
                )
                traded += set(held) != {"USDT"}
                platform = non_zero(decoder.decode(raw).balances) if raw else {}
                if platform != held:
                    differing.append(
                        f"{account.strategy} {account.account_id}: {platform} != {held}"
                    )
            if not differing or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
    await cache.close()
    assert not differing, f"{len(differing)} accounts differ, e.g. {differing[:3]}"
    return traded


async def delete_keys(redis_url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    keys = [k async for k in client.scan_iter(f"{prefix}*", count=1000)]
    for i in range(0, len(keys), 500):
        await client.delete(*keys[i : i + 500])
    await client.aclose()
