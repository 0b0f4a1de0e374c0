"""The chaos suite's widest run: two instances of every service (marketdata, strategy,
risk, execution, portfolio) as OS processes on Redis Streams and on the Kafka protocol,
the simulated exchange over HTTP/WS, 40 bots. While they trade, one instance of each
service in turn is killed with SIGKILL and not started again, so every service ends on
its survivor. Afterwards every venue trade is in the platform's fills, every portfolio
equals the venue's balances within 5 s of trading's end, no order is left of unknown
outcome, no client order id reached the venue twice, and no breaker opened (the venue
had no fault), and the surviving risk instance rejected no taken-over account's intent
for want of its balances (it starts from the stored ones: issue #20).

`pytest -m chaos` runs this suite with the restart tests (tests/e2e/test_restarts.py)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tradewind.bus.tansu import free_port
from tradewind.chaos.platform import (
    SERVICES,
    Process,
    delete_keys,
    open_demo_accounts,
    platform_env,
    trade_for,
    trades_missing_from_fills,
    wait_until_orders_settled,
    wait_until_portfolios_match,
)
from tradewind.security.master_keys import generate_master_key

pytestmark = [pytest.mark.servers, pytest.mark.chaos]

BOTS = 40
#: Killed in this order, one instance each, `BETWEEN_KILLS_S` apart.
KILL_ORDER = ("marketdata", "strategy", "risk", "execution", "portfolio")
BETWEEN_KILLS_S = 8.0
TAKE_OVER_BOUND_S = 5.0
RISK_WATCH_S = 12.0  # how long risk's rejections are watched after its twin's death


@dataclass
class Instance:
    process: Process
    health_port: int

    async def metric(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples matching `labels` on this instance's /metrics."""
        url = f"http://127.0.0.1:{self.health_port}/metrics"
        async with httpx.AsyncClient(timeout=5) as http:
            text = (await http.get(url)).text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    total += sample.value
        return total


@dataclass
class Twins:
    instances: dict[str, list[Instance]] = field(default_factory=dict)

    def all(self) -> list[Instance]:
        return [i for pair in self.instances.values() for i in pair]

    def close(self) -> None:
        # Producers of orders first, as a clean stop of the platform would.
        for name in reversed(SERVICES):
            for instance in self.instances.get(name, []):
                instance.process.close()


async def start_twins(env: dict[str, str], logs: Path, twins: Twins) -> None:
    for name in SERVICES:
        pair = twins.instances.setdefault(name, [])
        for member in ("a", "b"):
            port = free_port()
            directory = logs / member
            directory.mkdir(exist_ok=True)
            own_env = {**env, "TRADEWIND_HEALTH_PORT": str(port)}
            pair.append(Instance(Process(name, own_env, directory), port))
        for instance in pair:
            await instance.process.wait_running()


async def risk_after_twin_died(risk: Instance) -> tuple[float, float, float]:
    """How many intents the survivor approved, and rejected for want of an account's
    balances, in the `RISK_WATCH_S` after its twin's death; and how many accounts it
    restored from the system of record meanwhile."""

    async def counts() -> tuple[float, float, float]:
        return (
            await risk.metric("tradewind_risk_decisions_total", decision="approved"),
            await risk.metric(
                "tradewind_risk_decisions_total", decision="rejected", rule="balances_unknown"
            ),
            await risk.metric("tradewind_risk_accounts_restored_total"),
        )

    before = await counts()
    await asyncio.sleep(RISK_WATCH_S)
    after = await counts()
    approved, unknown, restored = (a - b for a, b in zip(after, before, strict=True))
    return approved, unknown, restored


@pytest.mark.parametrize("bus", ["redis", "kafka"])
async def test_two_of_every_service_survive_losing_any_one(
    bus: str,
    request: pytest.FixtureRequest,
    venue_url: str,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    prefix = f"chaos{uuid.uuid4().hex[:8]}"
    if bus == "redis":
        bus_url = f"{redis_url}?prefix={prefix}"
    else:
        bus_url = f"kafka://{request.getfixturevalue('kafka_bootstrap')}"
    master_keys = generate_master_key()
    accounts = await open_demo_accounts(database_url, master_keys, venue_url, BOTS)
    env = platform_env(
        bus_url=bus_url, redis_url=redis_url, prefix=prefix, database_url=database_url,
        venue_url=venue_url, master_keys=master_keys,
    )  # fmt: skip
    twins = Twins()
    try:
        await start_twins(env, tmp_path, twins)
        await trade_for(venue_url, min_s=10, orders=30, max_s=90)
        breakers_opened = 0.0
        risk_after = (0.0, 0.0, 0.0)
        for name in KILL_ORDER:
            victim, survivor = twins.instances[name]
            if name == "execution":  # its counters die with it
                breakers_opened += await victim.metric(
                    "tradewind_execution_breaker_transitions_total", state="open"
                )
            victim.process.kill()
            if name == "risk":
                risk_after = await risk_after_twin_died(survivor)
            else:
                await asyncio.sleep(BETWEEN_KILLS_S)
        await asyncio.sleep(5)  # trading on the survivors alone
        for name in ("strategy", "marketdata", "risk"):
            code = twins.instances[name][1].process.stop()
            assert code == 0, f"{name} did not exit 0"
        took = await wait_until_portfolios_match(
            accounts, env["TRADEWIND_CACHE_URL"], venue_url, within_s=TAKE_OVER_BOUND_S
        )
        print(f"portfolios matched the venue {took:.1f} s after trading stopped")
        missing = await trades_missing_from_fills(accounts, database_url, venue_url)
        assert missing == [], f"{len(missing)} venue trades not in fills, e.g. {missing[:3]}"
        execution = twins.instances["execution"][1]
        breakers_opened += await execution.metric(
            "tradewind_execution_breaker_transitions_total", state="open"
        )
        assert breakers_opened == 0, "a breaker opened with no venue fault"
        # The survivor took its twin's accounts over from their stored state: it went on
        # approving, and rejected none of their intents for want of balances.
        approved, unknown, restored = risk_after
        print(f"after risk's twin died: {approved:.0f} approved, {restored:.0f} restored")
        assert restored > 0, "the survivor restored no account: did it take any over?"
        assert approved > 0, "the survivor approved nothing after its twin's death"
        assert unknown == 0, f"{unknown:.0f} intents rejected for unknown balances"
        await wait_until_orders_settled(database_url, within_s=60)
    finally:
        twins.close()
        if bus == "redis":
            await delete_keys(redis_url, prefix)
    async with httpx.AsyncClient(base_url=venue_url) as http:
        repeated = (await http.get("/sim/v1/submissions?repeated=1")).json()["submissions"]
    assert repeated == [], f"sent twice: {repeated[:5]}"
