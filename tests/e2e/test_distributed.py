"""The distributed run, proven: marketdata, strategy, risk, execution and portfolio as
separate OS processes (`tradewind service NAME`) on Redis Streams and on Kafka, two
simulated exchanges served over HTTP and WebSocket (`tradewind venue serve`) and reached
through ccxt: one speaking Binance's API, one Coinbase's Advanced Trade API, each with its
published rate limits on (Binance's request weight per client address and orders per
account; Coinbase's requests per user and per address), enforced by the simulator;
execution paces Binance's, ccxt Coinbase's. 100 bots in PostgreSQL, their accounts
alternating between the two venues (USDT pairs on one, USD pairs on the other). At the
end, on each venue: every account's portfolio equals the venue's balances, every venue
trade is in the platform's fills, the venue never saw a client order id twice, it refused
no request for rate, and it took enough orders."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tradewind.chaos.platform import (
    SERVICES,
    Process,
    admin_url,
    delete_keys,
    open_demo_accounts,
    platform_env,
    start_services,
    trade_for,
    trades_missing_from_fills,
    wait_until_portfolios_match,
)
from tradewind.security.master_keys import generate_master_key
from tradewind.venues.simulated.apis import declared_url

pytestmark = pytest.mark.servers

BOTS = 100
RUN_S = 25.0
MIN_ORDERS = 50  # on each venue


@pytest.mark.parametrize("bus", ["redis", "kafka"])
async def test_a_hundred_bots_across_five_processes_and_two_venues_agree_with_them(
    bus: str,
    request: pytest.FixtureRequest,
    venue_url: str,
    coinbase_venue_url: str,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    venues = {"sim": venue_url, "cb": declared_url("coinbase", coinbase_venue_url)}
    prefix = f"e2e{uuid.uuid4().hex[:8]}"
    if bus == "redis":
        bus_url = f"{redis_url}?prefix={prefix}"
    else:
        bus_url = f"kafka://{request.getfixturevalue('kafka_bootstrap')}"
    master_keys = generate_master_key()
    accounts = await open_demo_accounts(database_url, master_keys, venues, BOTS)
    assert {a.venue for a in accounts} == set(venues)
    env = platform_env(
        bus_url=bus_url, redis_url=redis_url, prefix=prefix, database_url=database_url,
        venues=venues, master_keys=master_keys, rate_limits="auto",
    )  # fmt: skip
    processes: list[Process] = []
    try:
        await start_services(env, tmp_path, processes)
        await trade_for(venues, min_s=RUN_S, orders=MIN_ORDERS, max_s=120)
        codes = {}
        # No new orders: stop strategy, marketdata and risk. Execution keeps watching the
        # orders still resting at the venues (which go on filling) and portfolio keeps
        # accounting for them, so the two views must meet.
        for process in reversed(processes[2:]):
            codes[process.name] = process.stop()
        cache_url = env["TRADEWIND_CACHE_URL"]
        await wait_until_portfolios_match(accounts, cache_url, venues, within_s=60)
        missing = await trades_missing_from_fills(accounts, database_url, venues)
        assert missing == [], f"{len(missing)} venue trades not in fills, e.g. {missing[:3]}"
        for process in reversed(processes[:2]):
            codes[process.name] = process.stop()
        assert codes == dict.fromkeys(SERVICES, 0), f"exit codes: {codes}"
    finally:
        for process in processes:
            process.close()
        if bus == "redis":
            await delete_keys(redis_url, prefix)
    for name, declared in venues.items():
        async with httpx.AsyncClient(base_url=admin_url(declared)) as http:
            submissions = (await http.get("/sim/v1/submissions")).json()
            repeated = (await http.get("/sim/v1/submissions?repeated=1")).json()["submissions"]
        assert submissions["total"] >= MIN_ORDERS, f"{name}: only {submissions['total']} orders"
        assert repeated == [], f"{name}: client order ids sent twice: {repeated[:5]}"
        assert submissions["rate_limited"] == 0, f"{name} refused requests for rate"
