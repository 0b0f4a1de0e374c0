"""Tick -> order latency through a real strategy service:
`python bench/tick_to_order.py [--bots 100] [--buses memory redis kafka] [--seconds 10]
[--interval-ms 20] [--analytics-accounts 0] [--analytics-interval-s 5] [--analytics-apart]
[--answer-apart] [--json]`.

One `StrategyService` hosts `--bots` bots (one per account, all on BTC/USDT) of a bench
strategy that submits a market buy on every bar. Bars are published on md.bar, one
every `--interval-ms`, for `--seconds` (after a 1 s warm-up that is not counted). The
service publishes each bar's intents on orders.intent with trace_id = the bar's
event_id; a subscriber matches them and records, per intent:

- envelope: intent envelope ts_ns - bar envelope ts_ns (the service's part: delivery of
  the bar, every bot's hook, building the intents' envelopes);
- received: the subscriber's clock when the intent arrives - bar envelope ts_ns (also
  the intents' publish and delivery).

The subscriber then answers each intent with an `OrderRejected` on orders.events (as
risk would) so the bots' open orders do not pile up; with `--answer-apart` (Redis and
Kafka), that subscriber is a process of its own, as risk is in the distributed
deployment, instead of sharing the strategy service's loop. An intent counts if its bar
was published during the measured seconds. Buses: memory:// (embedded),
redis://127.0.0.1:6379/0 under a unique prefix (deleted afterwards), and Kafka on a
local Tansu broker. The strategy service writes bot states to a temporary SQLite
database, after publishing, as in production: the states the bars changed in the
background (the next bar does not wait for them), those the rejections changed before
the rejections are acknowledged.

`--analytics-accounts N`: meanwhile, in the same event loop (as under `tradewind up`),
a round of analytics every `--analytics-interval-s` (the service's default, 5 s) over N
accounts with a day of minutes each (filled before measuring), handing the loop back
as `AnalyticsService.compute_round` does: what the analytics service costs the order
path when it shares the process. With `--analytics-apart`, the rounds run in a process
of their own instead (`tradewind service analytics` beside the order path's services,
the distributed deployment), at full speed: what it costs the order path on the same
machine; the rounds' times are reported too.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, Generic, TypeVar

from tradewind.benchmarks.analytics_series import T0, benchmark_returns, filled
from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, bench_report, case_figures, write_report
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.factory import open_bus
from tradewind.bus.port import Bus
from tradewind.bus.tansu import local_kafka_broker
from tradewind.domain.commands import OrderIntent
from tradewind.domain.events import Bar, OrderRejected, PortfolioUpdate
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.domain.time_units import NS_PER_MINUTE
from tradewind.runtime.collector import tune_collector
from tradewind.runtime.logging import configure_logging, get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, ServiceContext
from tradewind.runtime.service_settings import AnalyticsSettings
from tradewind.runtime.settings import Settings
from tradewind.services.analytics.service import YIELD_AFTER_S, hand_back
from tradewind.services.analytics.tracker import AccountSeries
from tradewind.services.strategy import InstanceSlot, StrategyService
from tradewind.store import portfolio_snapshots
from tradewind.store.database import Database
from tradewind.store.schema import bots, exchange_accounts, users
from tradewind.strategies import registry
from tradewind.strategies.api import Strategy, StrategyContext, client_order_id_for
from tradewind.strategies.params import StrategyParams
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket

BTC = Instrument.parse("sim", "BTC/USDT")
T = TypeVar("T")
REDIS_URL = "redis://127.0.0.1:6379/0"
#: The analytics service's default round interval (TRADEWIND_ANALYTICS_INTERVAL_S).
ANALYTICS_INTERVAL_S = AnalyticsSettings.model_fields["analytics_interval_s"].default


class EveryBarParams(StrategyParams, frozen=True):
    """`symbol` to buy `quantity` (base) of, with a market order, on every bar."""

    symbol: str
    quantity: Decimal = Decimal("0.001")


class EveryBarStrategy(Strategy):
    """Trades on every bar: the cheapest decision, so the figure is the platform's."""

    name = "bench_every_bar"
    Params = EveryBarParams
    params: EveryBarParams

    def symbols(self) -> tuple[str, ...]:
        return (self.params.symbol,)

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> None:
        ctx.submit(Side.BUY, self.params.symbol, self.params.quantity, order_type=OrderType.MARKET)


def create_strategy(name: str, params: Mapping[str, Any]) -> Strategy:
    """The registry's strategies plus the bench strategy."""
    if name == EveryBarStrategy.name:
        return EveryBarStrategy.from_params(params)
    return registry.create(name, params)


async def bot_database(
    path: Path,
    bots_by_account: Mapping[str, tuple[str, dict[str, Any]]],
    balances: Mapping[str, dict[str, Decimal]],
) -> Database:
    """A SQLite database holding one running bot (strategy, params) per account, each
    account on venue `sim` with a portfolio snapshot of its `balances` (USDT valued)."""
    db = Database(f"sqlite:///{path}")
    await db.migrate()
    now = datetime.now(UTC)
    user_id = uuid.uuid4().hex
    account_rows = [
        {
            "id": account_id,
            "user_id": user_id,
            "venue": "sim",
            "label": "",
            "api_key_masked": "x",
            "api_key_encrypted": "x",
            "api_secret_encrypted": "x",
            "valuation_asset": "USDT",
            "status": "connected",
            "created_at": now,
            "verified_at": None,
        }
        for account_id in bots_by_account
    ]
    bot_rows = [
        {
            "id": uuid.uuid4().hex,
            "user_id": user_id,
            "account_id": account_id,
            "strategy": strategy,
            "params": params,
            "state": "running",
            "strategy_state": None,
            "created_at": now,
            "updated_at": now,
        }
        for account_id, (strategy, params) in bots_by_account.items()
    ]
    async with db.transaction() as conn:
        await conn.execute(
            users.insert().values(
                id=user_id,
                email_index="bench",
                email_encrypted="x",
                password_hash="x",
                roles=["trader"],
                disabled=False,
                failed_logins=0,
                created_at=now,
            )
        )
        await conn.execute(exchange_accounts.insert(), account_rows)
        await conn.execute(bots.insert(), bot_rows)
        for account_id, amounts in balances.items():
            await portfolio_snapshots.insert_snapshot(
                conn,
                PortfolioUpdate(
                    account_id=account_id,
                    valuation_asset="USDT",
                    equity=Decimal(0),  # bots read the balances only
                    cash=amounts.get("USDT", Decimal(0)),
                    realized_pnl=Decimal(0),
                    unrealized_pnl=Decimal(0),
                    fees=Decimal(0),
                    balances=dict(amounts),
                    ts_ns=time.time_ns(),
                ),
            )
    return db


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def percentile_us(values_ns: Sequence[int], q: int) -> float:
    if len(values_ns) < 2:
        return float("nan")
    return statistics.quantiles(values_ns, n=100)[q - 1] / 1000


@dataclass(frozen=True)
class LatencyResult:
    bus: str
    bots: int
    bars: int
    intents: int
    envelope_p50_us: float
    envelope_p99_us: float
    received_p50_us: float
    received_p99_us: float
    first_intent_p50_us: float
    first_intent_p99_us: float
    load_before: str
    analytics_accounts: int = 0
    analytics_apart: bool = False
    analytics_rounds_s: list[float] = field(default_factory=list)
    answered_apart: bool = False


class IntentClock:
    """Answers each intent with a rejection (as risk would) and notes when it arrived."""

    def __init__(self, bus: Bus, first: Event | None = None) -> None:
        self._bus = bus
        self._first = first
        #: (the bar's event id, the intent envelope's ts_ns, when it arrived) per intent
        self.arrivals: list[tuple[str, int, int]] = []

    @property
    def seen(self) -> int:
        return len(self.arrivals)

    async def take(self, batch: Sequence[Envelope]) -> None:
        now_ns = time.time_ns()
        rejections = []
        for env in batch:
            intent = env.payload
            if not isinstance(intent, OrderIntent):
                continue
            self.arrivals.append((env.trace_id, env.ts_ns, now_ns))
            rejections.append(_rejection(intent))
        if rejections:
            if self._first is not None and not self._first.is_set():
                self._first.set()
            await self._bus.publish_batch(topics.ORDERS_EVENTS, rejections)


@dataclass
class Latencies:
    """Per intent of the bars that were counted: envelope and received, ns; per bar: its
    first intent's received, ns."""

    envelope_ns: list[int] = field(default_factory=list)
    received_ns: list[int] = field(default_factory=list)
    first_ns: dict[str, int] = field(default_factory=dict)


def latencies(arrivals: Iterable[tuple[str, int, int]], counted: Mapping[str, int]) -> Latencies:
    """The latencies of the intents of `counted` bars (event id -> envelope ts_ns)."""
    out = Latencies()
    for bar_id, intent_ts_ns, arrived_ns in arrivals:
        sent_ns = counted.get(bar_id)
        if sent_ns is None:
            continue
        out.envelope_ns.append(intent_ts_ns - sent_ns)
        out.received_ns.append(arrived_ns - sent_ns)
        out.first_ns.setdefault(bar_id, arrived_ns - sent_ns)
    return out


Arrivals = list[tuple[str, int, int]]


def answer_apart(url: str, first: Event, stop: Event, out: Queue[Arrivals]) -> None:
    """A process of its own (risk's, in the distributed deployment): answer every intent
    on `url` until `stop`, then put when each arrived."""
    asyncio.run(_answer_apart(url, first, stop, out))


async def _answer_apart(url: str, first: Event, stop: Event, out: Queue[Arrivals]) -> None:
    bus = open_bus(url)
    await bus.start()
    clock = IntentClock(bus, first)
    subscription = await bus.subscribe((topics.ORDERS_INTENT,), "bench-intents", clock.take)
    await asyncio.to_thread(stop.wait)
    await subscription.stop()
    await bus.close()
    out.put(clock.arrivals)


class HelperProcess(Generic[T]):
    """A forked process of the bench's own: `target(*args, stop, out)` works until `stop`
    is set, then puts its result on `out`; `finish` stops it and returns that result
    (within `timeout_s`), `close` makes sure it has ended."""

    def __init__(self, target: Callable[..., None], args: tuple[Any, ...], timeout_s: float):
        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        self._out: Queue[T] = context.Queue()
        self._timeout_s = timeout_s
        self._process = context.Process(
            target=target, args=(*args, self._stop, self._out), daemon=True
        )

    def finish(self) -> T:
        self._stop.set()
        return self._out.get(timeout=self._timeout_s)

    def close(self) -> None:
        self._stop.set()
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()


class Answerer(HelperProcess[Arrivals]):
    """`answer_apart`'s process: `start` it before the order path's bus opens; `first`
    is set once it has answered an intent; `finish` stops it and returns its arrivals."""

    def __init__(self, url: str) -> None:
        self.first = multiprocessing.get_context("fork").Event()
        super().__init__(answer_apart, (url, self.first), timeout_s=60)

    def start(self) -> None:
        self._process.start()


def _rejection(intent: OrderIntent) -> Envelope:
    rejected = OrderRejected(
        account_id=intent.account_id,
        client_order_id=client_order_id_for(intent.account_id, intent.bot_id, intent.intent_id),
        instrument=intent.instrument,
        ts_ns=time.time_ns(),
        reason="bench: not placed",
        source="risk",
    )
    return envelope(rejected, intent.account_id)


def _bar(open_ns: int) -> Envelope:
    price = Decimal(30_000)
    bar = Bar(
        instrument=BTC,
        interval_s=60,
        open_ns=open_ns,
        open=price,
        high=price,
        low=price,
        close=price,
        volume=Decimal(1),
    )
    return envelope(bar, BTC.key)


def analytics_series(accounts: int) -> list[AccountSeries]:
    """`accounts` accounts with a day of minutes each (filled before measuring)."""
    return filled(accounts, 1_440, random.Random(7)) if accounts else []


async def analytics_rounds(series: list[AccountSeries], interval_s: float) -> None:
    """A round over every account of `series` each `interval_s`, handing the loop back
    as `AnalyticsService.compute_round` does."""
    benchmark = benchmark_returns(1_440, random.Random(8))
    now_ns = T0 + 1_440 * NS_PER_MINUTE
    while True:
        await asyncio.sleep(interval_s)
        handed_back = time.perf_counter()
        for account in series:
            account.analytics(now_ns, benchmark, "BTC/USDT")
            if time.perf_counter() - handed_back >= YIELD_AFTER_S:
                await hand_back(shared=True)
                handed_back = time.perf_counter()


def analytics_apart(
    accounts: int, interval_s: float, ready: Event, stop: Event, rounds: Queue[list[float]]
) -> None:
    """A process of its own: fill `accounts` series, say so, then a round every
    `interval_s` (at full speed: nothing else in its loop) until `stop`; put the rounds'
    times."""
    series = analytics_series(accounts)
    benchmark = benchmark_returns(1_440, random.Random(8))
    now_ns = T0 + 1_440 * NS_PER_MINUTE
    ready.set()
    taken: list[float] = []
    while not stop.wait(interval_s):
        started = time.perf_counter()
        for account in series:
            account.analytics(now_ns, benchmark, "BTC/USDT")
        taken.append(time.perf_counter() - started)
    rounds.put(taken)


async def measure(
    label: str,
    url: str,
    count: int,
    seconds: float,
    interval_s: float,
    analytics_accounts: int = 0,
    analytics_interval_s: float = ANALYTICS_INTERVAL_S,
    apart: bool = False,
    answer_apart: bool = False,
) -> LatencyResult:
    rounds = ApartRounds(analytics_accounts, analytics_interval_s) if apart else None
    try:
        if rounds is not None:
            await asyncio.to_thread(rounds.start)
        series = [] if apart else analytics_series(analytics_accounts)
        result = await _measure(
            label, url, count, seconds, interval_s, series, analytics_interval_s, answer_apart
        )
        taken = [] if rounds is None else rounds.finish()
    finally:
        if rounds is not None:
            rounds.close()
    return replace(
        result, analytics_accounts=analytics_accounts, analytics_apart=apart,
        analytics_rounds_s=[round(t, 2) for t in taken], answered_apart=answer_apart,
    )  # fmt: skip


class ApartRounds(HelperProcess[list[float]]):
    """The analytics rounds' process (`analytics_apart`): `start` returns once its
    series are filled; `finish` stops it and returns its rounds' times."""

    def __init__(self, accounts: int, interval_s: float) -> None:
        self._ready = multiprocessing.get_context("fork").Event()
        super().__init__(analytics_apart, (accounts, interval_s, self._ready), timeout_s=120)

    def start(self) -> None:
        self._process.start()
        while not self._ready.wait(1.0):
            if not self._process.is_alive():
                raise RuntimeError("the analytics process died while filling its series")


async def _measure(
    label: str,
    url: str,
    count: int,
    seconds: float,
    interval_s: float,
    series: list[AccountSeries],
    analytics_interval_s: float,
    answer_apart: bool = False,
) -> LatencyResult:
    load_before = load_average()
    answerer = Answerer(url) if answer_apart else None
    if answerer is not None:
        answerer.start()
    background = (
        asyncio.get_running_loop().create_task(analytics_rounds(series, analytics_interval_s))
        if series
        else None
    )
    account_ids = [uuid.uuid4().hex for _ in range(count)]
    params = {"symbol": BTC.symbol}
    with tempfile.TemporaryDirectory() as tmp:
        db = await bot_database(
            Path(tmp) / "bench.db",
            {a: (EveryBarStrategy.name, params) for a in account_ids},
            {a: {"USDT": Decimal(10**6)} for a in account_ids},
        )
        bus = open_bus(url)
        await bus.start()
        clock = IntentClock(bus)
        subscription = (
            None
            if answerer is not None
            else await bus.subscribe((topics.ORDERS_INTENT,), "bench-intents", clock.take)
        )
        counted: dict[str, int] = {}
        counting = False

        def answered() -> bool:
            return answerer.first.is_set() if answerer is not None else clock.seen > 0

        venues = SimulatedVenues(SimulatedExchange(SyntheticMarket(seed=1)))
        service = StrategyService(
            InstanceSlot(), create_strategy=create_strategy, clock=time.time_ns
        )
        ctx = ServiceContext(
            Settings(),
            bus,
            get_logger("bench"),
            RuntimeMetrics(),
            Resources(venues=venues, database=db),
        )
        await service.start(ctx)
        open_ns = time.time_ns() - 10 * NS_PER_MINUTE

        async def publish_bars(duration_s: float) -> int:
            nonlocal open_ns
            published = 0
            deadline = time.perf_counter() + duration_s
            next_at = time.perf_counter()
            while time.perf_counter() < deadline:
                open_ns += NS_PER_MINUTE
                bar = _bar(open_ns)
                if counting:
                    counted[bar.event_id] = bar.ts_ns
                await bus.publish_batch(topics.MD_BAR, [bar])
                published += 1
                next_at += interval_s
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            return published

        # Warm-up: until intents flow (a Kafka group takes a while to join), then 1 s.
        deadline = time.monotonic() + 60
        while not answered():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{label}: no intent within 60 s of publishing bars")
            await publish_bars(0.2)
        await publish_bars(1.0)
        await asyncio.sleep(0.5)
        counting = True
        bars_sent = await publish_bars(seconds)
        counting = False
        await asyncio.sleep(0.5)
        await service.stop()
        if subscription is not None:
            await subscription.stop()
        await bus.close()
        await db.close()
    if background is not None:
        background.cancel()
    if answerer is not None:
        try:
            arrivals = await asyncio.to_thread(answerer.finish)
        finally:
            answerer.close()
    else:
        arrivals = clock.arrivals
    measured = latencies(arrivals, counted)
    first = list(measured.first_ns.values())
    return LatencyResult(
        bus=label,
        bots=count,
        bars=bars_sent,
        intents=len(measured.received_ns),
        envelope_p50_us=round(percentile_us(measured.envelope_ns, 50), 1),
        envelope_p99_us=round(percentile_us(measured.envelope_ns, 99), 1),
        received_p50_us=round(percentile_us(measured.received_ns, 50), 1),
        received_p99_us=round(percentile_us(measured.received_ns, 99), 1),
        first_intent_p50_us=round(percentile_us(first, 50), 1),
        first_intent_p99_us=round(percentile_us(first, 99), 1),
        load_before=load_before,
        analytics_accounts=len(series),
    )


async def delete_redis_keys(prefix: str) -> int:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


def run(
    buses: Iterable[str],
    count: int,
    seconds: float,
    interval_s: float,
    analytics_accounts: int = 0,
    analytics_interval_s: float = ANALYTICS_INTERVAL_S,
    apart: bool = False,
    answer_apart: bool = False,
) -> list[LatencyResult]:
    results = []
    for name in buses:
        if name == "memory":
            results.append(
                asyncio.run(
                    measure(
                        name,
                        "memory://",
                        count,
                        seconds,
                        interval_s,
                        analytics_accounts,
                        analytics_interval_s,
                        apart,
                    )
                )
            )
        elif name == "redis":
            prefix = f"bench{uuid.uuid4().hex[:8]}"
            try:
                url = f"{REDIS_URL}?prefix={prefix}"
                results.append(
                    asyncio.run(
                        measure(name, url, count, seconds, interval_s, answer_apart=answer_apart)
                    )
                )
            finally:
                asyncio.run(delete_redis_keys(prefix))
        elif name == "kafka":
            with ExitStack() as stack:
                address = stack.enter_context(local_kafka_broker())
                url = f"kafka://{address}"
                results.append(
                    asyncio.run(
                        measure(name, url, count, seconds, interval_s, answer_apart=answer_apart)
                    )
                )
    return results


def table(results: Sequence[LatencyResult]) -> str:
    lines = [
        "| bus | bots | bars | intents | envelope p50 µs | envelope p99 µs | "
        "received p50 µs | received p99 µs | first intent p50 µs | first intent p99 µs | "
        "load avg before | analytics accounts | analytics rounds s | intents answered |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.bus} | {r.bots:,} | {r.bars:,} | {r.intents:,} | {r.envelope_p50_us:,} | "
            f"{r.envelope_p99_us:,} | {r.received_p50_us:,} | {r.received_p99_us:,} | "
            f"{r.first_intent_p50_us:,} | {r.first_intent_p99_us:,} | {r.load_before} | "
            f"{r.analytics_accounts:,}{' apart' if r.analytics_apart else ''} | "
            f"{', '.join(map(str, r.analytics_rounds_s))} | "
            f"{'apart' if r.answered_apart else 'in process'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = OneLineErrorParser(description=__doc__)
    parser.add_argument("--bots", type=int, default=100)
    parser.add_argument(
        "--buses",
        nargs="+",
        choices=("memory", "redis", "kafka"),
        default=["memory", "redis", "kafka"],
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured publishing time")
    parser.add_argument("--interval-ms", type=float, default=20.0, help="time between bars")
    parser.add_argument(
        "--analytics-accounts",
        type=int,
        default=0,
        help="analytics rounds over this many accounts in the same loop (memory bus only)",
    )
    parser.add_argument(
        "--analytics-interval-s",
        type=float,
        default=ANALYTICS_INTERVAL_S,
        help="seconds between analytics rounds (the service's default)",
    )
    parser.add_argument(
        "--analytics-apart",
        action="store_true",
        help="the analytics rounds in a process of their own (the distributed deployment)",
    )
    parser.add_argument(
        "--answer-apart",
        action="store_true",
        help="on redis and kafka, the intents answered (risk's stand-in) by a process of its "
        "own, as risk runs in the distributed deployment; memory:// is in-process only",
    )
    add_json_option(parser)
    args = parser.parse_args()
    tune_collector()  # as `tradewind up` and `tradewind service` run
    if args.analytics_accounts < 0:
        parser.error(f"--analytics-accounts must be 0 or more, got {args.analytics_accounts}")
    if args.analytics_interval_s <= 0:
        parser.error(f"--analytics-interval-s must be positive, got {args.analytics_interval_s}")
    configure_logging("warning", "console", stream=sys.stderr)
    results = run(
        args.buses, args.bots, args.seconds, args.interval_ms / 1000,
        args.analytics_accounts, args.analytics_interval_s, args.analytics_apart,
        args.answer_apart,
    )  # fmt: skip
    load_after = load_average()
    if args.json:
        rows = [asdict(r) for r in results]
        figures = case_figures(rows, ("bus",), [k for k in rows[0] if k.endswith("_us")])
        detail = {"load_after": load_after, "results": rows}
        write_report(bench_report("tick_to_order", figures, detail), args.json)
        return
    print(table(results))
    print(f"\nload average after: {load_after} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
