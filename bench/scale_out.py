"""Orders/s and tick->order latency with the order path split over K processes on Redis
Streams: `python bench/scale_out.py [--processes 1 2 4] [--accounts 1000] [--seconds 10]
[--in-flight 2] [--interval-ms 0] [--partitions 8] [--database] [--database-url URL]
[--json [FILE]]`.

    md.bar -> strategy -> orders.intent -> (relay) -> orders.approved -> execution
           -> simulated exchange -> orders.events -> portfolio

Each of K worker processes (spawned: a fresh interpreter, as `tradewind service strategy
execution portfolio` started K times, on uvloop when it is installed, as there) runs one
instance of the strategy, execution and portfolio services and of the relay standing in
for risk (it republishes every intent as approved, as in bench/rebalance_wave.py). All
share one Redis Streams bus (redis://127.0.0.1:6379/0 under a unique prefix, deleted
afterwards) with `--partitions` partitions per topic, and each service joins its one
consumer group (strategy, execution, portfolio, bench-risk): the instances share the
partitions by lease as deployed ones do, so an account's bot, orders and books live in
the process that reads its partition. The strategy instances load their bots from a
fresh PostgreSQL database (created on `--database-url`'s server, dropped afterwards) and
write the bots' states there after every bar, as distributed deployments do. With
`--database`, execution and portfolio keep their records there too (orders, fills,
books); without, in memory, as bench/orders_pipeline.py does by default.

The exchange: every worker runs the simulated exchange in process (every account opened
in each, a deep house ladder re-quoted every 50 ms), so a worker's execution instance
trades with it without a network hop. A real exchange is on other machines and scales
with them; one served simulated exchange (`tradewind venue serve`) on this machine would
put its own HTTP serving on the same cores and be the bound at K > 1.

`--accounts` bots (bench_every_bar of bench/tick_to_order.py: one per account, a market
buy of 0.001 BTC on every bar) answer each bar with one order each. This process (the
driver) publishes bars on md.bar, keeping at most `--in-flight` bars whose orders are not
all finished: the pipeline is saturated, with a bounded backlog (with `--interval-ms`, at
most one bar per interval: a fixed offered load, the same for every process count, for
latency below saturation). After the workers have
settled (every group's partitions spread evenly, every bot loaded) and a warm-up (every
account's venue session opened), for `--seconds`:

- orders/s: orders finished (their `OrderFilled`, or an end unfilled, taken by portfolio
  after their fills) per second of the window: intents published -> fills booked;
- tick->order p50/p99: per intent of a bar published in the window, the relay's clock
  when it arrives minus the bar's envelope ts_ns (tick_to_order's "received"), at that
  saturation; envelope: the intent's envelope ts_ns minus the bar's (the strategy's part);
- CPU µs per order over the window: the workers' (summed), Redis's (INFO) and
  PostgreSQL's (its server processes, from /proc: other clients' too); cores busy: the
  same per second, and the driver's; workers waiting for a CPU: the time they were
  runnable but not running (/proc schedstat), per second: how far the machine's other
  load, or more processes than cores, held them back; Redis commands per order.

Then publishing stops and every order must finish, or the run fails. Ctrl-C, SIGTERM, an
error or a timeout (settling 120 s, no order finishing for 60 s) stops every worker and
drops the database and the streams; a killed driver's workers stop by themselves (its
database and streams stay: `tw_chaos_*` databases, `bench*` keys).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from multiprocessing.sharedctypes import Synchronized

from orders_pipeline import Keys
from tick_to_order import (
    BTC,
    REDIS_URL,
    EveryBarStrategy,
    _bar,
    create_strategy,
    delete_redis_keys,
    load_average,
    percentile_us,
)

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.machine_usage import (
    postgres_cpu_s,
    postgres_cpu_ticks,
    redis_usage,
    runqueue_wait_ns,
)
from tradewind.benchmarks.report import add_json_option, bench_report, case_figures, write_report
from tradewind.benchmarks.worker_processes import (
    Board,
    WorkerFailed,
    WorkerLink,
    WorkerProcesses,
)
from tradewind.bus.envelope import Envelope
from tradewind.bus.factory import open_bus
from tradewind.bus.port import Bus
from tradewind.bus.topics import MD_BAR, ORDERS_APPROVED, ORDERS_INTENT
from tradewind.chaos.command import fresh_database
from tradewind.domain.bot_lifecycle import BotState
from tradewind.domain.time_units import NS_PER_MINUTE
from tradewind.errors import ConfigError
from tradewind.runtime.logging import configure_logging, get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, Service, ServiceContext
from tradewind.runtime.service_settings import ExecutionSettings, PortfolioSettings
from tradewind.runtime.settings import Settings
from tradewind.services.execution import AccountCredentials, ExecutionService
from tradewind.services.portfolio import PortfolioService
from tradewind.services.strategy import InstanceSlot, StrategyService
from tradewind.store.accounts import add_account
from tradewind.store.bots import create_bot, set_bot_state
from tradewind.store.database import Database
from tradewind.store.users import create_user
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.liquidity import LiquidityConfig
from tradewind.venues.simulated.market import SyntheticMarket

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
RELAY_GROUP = "bench-risk"
#: The consumer groups sharing the account partitions, one member per worker each.
GROUPS = ("strategy", "execution", "portfolio", RELAY_GROUP)
FINISHED = ("order.filled", "order.rejected", "order.canceled", "order.expired")
FUNDS = {"USDT": Decimal(10**9)}  # per account: ~30 USDT a bar, never short
WARM_UP_S = 2.0  # at least, and until the first bar's orders are all finished
SETTLE_TIMEOUT_S = 120.0
STALL_S = 60.0  # no order finishing for this long while orders are out: the run fails
STOP_TIMEOUT_S = 30.0  # for a worker to stop its services and hand its samples over
POLL_S = 0.002  # how often the driver looks at the counters
WORKER_POLL_S = 0.005  # how often a worker writes its counters
PLACEMENT_POLL_S = 0.25  # ... and its bots and partitions (a loop over its bots)

#: Per worker: its counters, written by it and read by the driver (`Board`).
FIELDS = (
    *("started", "bots", "relayed", "done", "unfilled", "booked", "cpu_ns", "wait_ns"),
    *(f"owned {group}" for group in GROUPS),
)

#: What a worker hands back: per intent relayed in the window, (bar event id, intent
#: envelope ts_ns, received ns).
Samples = list[tuple[str, int, int]]
Workers = WorkerProcesses["WorkerSpec", Samples]


@dataclass(frozen=True)
class WorkerSpec:
    index: int
    bus_url: str
    partitions: int
    database_url: str
    accounts: tuple[str, ...]
    order_database: bool


def settled(board: Board, partitions: int, bots: int) -> bool:
    """Every worker started, every group's partitions spread evenly over them, every bot
    hosted by one."""
    workers = board.workers
    if any(board.get(w, "started") == 0 for w in range(workers)):
        return False
    fair = {partitions // workers, -(-partitions // workers)}
    for group in GROUPS:
        owned = [board.get(w, f"owned {group}") for w in range(workers)]
        if sum(owned) != partitions or not set(owned) <= fair:
            return False
    return board.total("bots") == bots


# -- the worker processes -------------------------------------------------------------


class IntentRelay:
    """Risk's stand-in: republishes every intent on orders.approved; while `measuring`,
    notes when each arrives."""

    def __init__(self, bus: Bus, measuring: Synchronized[int]) -> None:
        self._bus = bus
        self._measuring = measuring
        self.relayed = 0
        self.samples: Samples = []

    async def approve(self, batch: Sequence[Envelope]) -> None:
        if self._measuring.value:
            now_ns = time.time_ns()
            self.samples.extend((env.trace_id or "", env.ts_ns, now_ns) for env in batch)
        self.relayed += len(batch)
        await self._bus.publish_batch(ORDERS_APPROVED, list(batch))


def worker_main(spec: WorkerSpec, link: WorkerLink) -> None:
    """One worker process: its services while `link.running()`, then its samples."""
    configure_logging("warning", "console", stream=sys.stderr)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        link.hand_back(runner.run(_work(spec, link)))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed, as `tradewind service` runs."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _work(spec: WorkerSpec, link: WorkerLink) -> Samples:
    exchange = SimulatedExchange(
        SyntheticMarket(seed=3), liquidity=LiquidityConfig(level_size=100_000, flow_per_s=0.0)
    )
    exchange.step()
    keys = Keys()
    for account_id in spec.accounts:
        creds = exchange.create_account(dict(FUNDS))
        keys.by_account[account_id] = AccountCredentials("sim", creds.api_key, creds.secret)
    bus = open_bus(spec.bus_url, partitions=spec.partitions)
    await bus.start()
    database = Database(spec.database_url)
    metrics = RuntimeMetrics()
    venues = SimulatedVenues(exchange)
    records = database if spec.order_database else None
    strategy = StrategyService(InstanceSlot(), create_strategy=create_strategy)
    execution = ExecutionService(ExecutionSettings(execution_reconcile_interval_s=3600), keys)
    portfolio = PortfolioService(PortfolioSettings(portfolio_snapshot_interval_s=3600))
    relay = IntentRelay(bus, link.measuring)
    started: list[Service] = []
    relaying = None

    async def start(service: Service, db: Database | None) -> None:
        log = get_logger(f"tradewind.services.{service.name}", service=service.name)
        resources = Resources(venues=venues, database=db)
        await service.start(ServiceContext(Settings(), bus, log, metrics, resources))
        started.append(service)

    async def step_market() -> None:
        while True:
            exchange.step()
            await asyncio.sleep(0.05)

    stepper = asyncio.create_task(step_market())
    try:  # the runner's order: portfolio, execution, risk, strategy
        await start(portfolio, records)
        await start(execution, records)
        relaying = await bus.subscribe((ORDERS_INTENT,), RELAY_GROUP, relay.approve)
        await start(strategy, database)
        link.report("started", 1)
        placed_at = 0.0
        while link.running():
            _report_counts(link, metrics, relay)
            if time.monotonic() - placed_at >= PLACEMENT_POLL_S:
                _report_placement(link, bus, strategy)
                placed_at = time.monotonic()
            await asyncio.sleep(WORKER_POLL_S)
    finally:
        stepper.cancel()
        for service in reversed(started):
            if service is execution and relaying is not None:
                await relaying.stop()
            await service.stop()
        await bus.close()
        await database.close()
    return relay.samples


def _report_counts(link: WorkerLink, metrics: RuntimeMetrics, relay: IntentRelay) -> None:
    counts: dict[str, float] = {}
    for family in metrics.bus_events_consumed.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels["group"] == "portfolio":
                counts[sample.labels["type"]] = sample.value
    link.report("done", int(sum(counts.get(t, 0) for t in FINISHED)))
    link.report("unfilled", int(sum(counts.get(t, 0) for t in FINISHED[1:])))
    link.report("booked", int(counts.get("order.fill", 0)))
    link.report("relayed", relay.relayed)
    link.report("cpu_ns", time.process_time_ns())
    link.report("wait_ns", runqueue_wait_ns())


def _report_placement(link: WorkerLink, bus: Bus, strategy: StrategyService) -> None:
    link.report("bots", strategy.summary()["running"])
    for subscription in bus.subscriptions():
        if subscription.group in GROUPS:
            link.report(f"owned {subscription.group}", len(subscription.partitions()))


# -- the driver -----------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleResult:
    processes: int
    accounts: int
    partitions: int
    database: bool
    offered_orders_per_s: float | None  # accounts / interval; None: saturated
    bars: int
    orders: int
    seconds: float
    orders_per_s: float
    tick_to_order_p50_us: float
    tick_to_order_p99_us: float
    envelope_p50_us: float
    envelope_p99_us: float
    worker_cpu_us_per_order: float
    redis_cpu_us_per_order: float
    redis_commands_per_order: float
    postgres_cpu_us_per_order: float
    worker_cores_busy: float
    worker_cores_waiting: float
    redis_cores_busy: float
    postgres_cores_busy: float
    driver_cores_busy: float
    unfilled: int
    load_before: str


class BarPacer:
    """Publishes bars while fewer than `in_flight` bars have orders not yet finished, and
    with `interval_s`, no faster than one bar per `interval_s`."""

    def __init__(
        self, bus: Bus, workers: Workers, accounts: int, in_flight: int, interval_s: float
    ) -> None:
        self._bus = bus
        self._workers = workers
        self._accounts = accounts
        self._in_flight = in_flight
        self._interval_s = interval_s
        self._open_ns = time.time_ns() - 10 * NS_PER_MINUTE
        self.bars = 0
        self.published_ns: dict[str, int] = {}  # bar event id -> its envelope's ts_ns

    async def publish_for(self, seconds: float) -> None:
        now = time.monotonic()
        deadline, next_at = now + seconds, now
        while time.monotonic() < deadline:
            await self._wait(lambda: self.outstanding() < self._in_flight * self._accounts)
            self._open_ns += NS_PER_MINUTE
            bar = _bar(self._open_ns)
            self.published_ns[bar.event_id] = bar.ts_ns
            await self._bus.publish_batch(MD_BAR, [bar])
            self.bars += 1
            if self._interval_s:
                next_at += self._interval_s
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def drain(self) -> None:
        await self._wait(lambda: self.outstanding() <= 0)

    def outstanding(self) -> int:
        """Orders of the bars published that have not finished."""
        return self.bars * self._accounts - self._workers.board.total("done")

    async def _wait(self, condition: Callable[[], bool]) -> None:
        done, progress_at, checked_at = -1, time.monotonic(), 0.0
        while not condition():
            now = time.monotonic()
            if now - checked_at > 0.1:
                self._workers.check_alive()
                checked_at = now
            finished = self._workers.board.total("done")
            if finished != done:
                done, progress_at = finished, now
            elif now - progress_at > STALL_S:
                raise TimeoutError(
                    f"no order finished for {STALL_S:g} s with {self.outstanding()} out: "
                    f"{self._workers.board.describe()}"
                )
            await asyncio.sleep(POLL_S)


def account_ids(count: int) -> tuple[str, ...]:
    """The same ids every run (so the same spread over partitions)."""
    rng = random.Random(11)
    return tuple(uuid.UUID(int=rng.getrandbits(128)).hex for _ in range(count))


async def seed_bots(database_url: str, accounts: Sequence[str]) -> None:
    """A migrated database with one running bench_every_bar bot per account (venue sim)."""
    database = Database(database_url)
    try:
        await database.migrate()
        async with database.transaction() as conn:
            user = await create_user(
                conn, email_index="bench", email_encrypted="x", password_hash="x",
                roles=("trader",),
            )  # fmt: skip
            params = {"symbol": BTC.symbol}
            for account_id in accounts:
                await add_account(
                    conn, user_id=user.id, venue="sim", label="", api_key_masked="x",
                    api_key_encrypted="x", api_secret_encrypted="x", valuation_asset="USDT",
                    account_id=account_id,
                )  # fmt: skip
                bot = await create_bot(
                    conn, user_id=user.id, account_id=account_id,
                    strategy=EveryBarStrategy.name, params=params,
                )  # fmt: skip
                await set_bot_state(conn, bot.id, BotState.RUNNING)
    finally:
        await database.close()


@dataclass(frozen=True)
class Load:
    """What the driver offers: `accounts` bots, at most `in_flight` bars unfinished, one
    bar per `interval_s` at most (0: as fast as they finish)."""

    accounts: int
    seconds: float
    in_flight: int
    interval_s: float
    partitions: int
    database: bool


async def measure(processes: int, load: Load, admin_url: str) -> ScaleResult:
    load_before = load_average()
    ids = account_ids(load.accounts)
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    bus_url = f"{REDIS_URL}?prefix={prefix}"
    async with fresh_database(admin_url, keep=False) as database_url:
        await seed_bots(database_url, ids)
        specs = [
            WorkerSpec(i, bus_url, load.partitions, database_url, ids, load.database)
            for i in range(processes)
        ]
        workers: Workers = WorkerProcesses(worker_main, specs, FIELDS, STOP_TIMEOUT_S)
        bus = open_bus(bus_url, partitions=load.partitions)
        try:
            await bus.start()
            workers.start()
            await _settle(workers, load.partitions, load.accounts)
            pacer = BarPacer(bus, workers, load.accounts, load.in_flight, load.interval_s)
            await pacer.publish_for(WARM_UP_S)  # the venue sessions open
            await pacer.drain()
            board = workers.board
            done, unfilled, bars = board.total("done"), board.total("unfilled"), pacer.bars
            cpu = Cpu(board, await redis_usage(REDIS_URL), postgres_cpu_ticks())
            workers.measuring.value = 1
            started = time.perf_counter()
            await pacer.publish_for(load.seconds)
            window_s = time.perf_counter() - started
            orders = board.total("done") - done
            used = await cpu.since()
            window_bars = set(list(pacer.published_ns)[bars:])
            await pacer.drain()
            workers.measuring.value = 0
            unfilled = board.total("unfilled") - unfilled
            samples = [s for taken in await asyncio.to_thread(workers.finish) for s in taken]
        finally:
            await asyncio.to_thread(workers.close)
            await bus.close()
            await delete_redis_keys(prefix)
    received, envelope = [], []
    for bar_id, intent_ns, received_ns in samples:
        if bar_id in window_bars:
            bar_ns = pacer.published_ns[bar_id]
            received.append(received_ns - bar_ns)
            envelope.append(intent_ns - bar_ns)
    per_order = max(orders, 1) / 1e6
    return ScaleResult(
        processes=processes,
        accounts=load.accounts,
        partitions=load.partitions,
        database=load.database,
        offered_orders_per_s=round(load.accounts / load.interval_s) if load.interval_s else None,
        bars=len(window_bars),
        orders=orders,
        seconds=round(window_s, 3),
        orders_per_s=round(orders / window_s),
        tick_to_order_p50_us=round(percentile_us(received, 50), 1),
        tick_to_order_p99_us=round(percentile_us(received, 99), 1),
        envelope_p50_us=round(percentile_us(envelope, 50), 1),
        envelope_p99_us=round(percentile_us(envelope, 99), 1),
        worker_cpu_us_per_order=round(used.workers_s / per_order, 1),
        redis_cpu_us_per_order=round(used.redis_s / per_order, 1),
        redis_commands_per_order=round(used.redis_commands / max(orders, 1), 2),
        postgres_cpu_us_per_order=round(used.postgres_s / per_order, 1),
        worker_cores_busy=round(used.workers_s / window_s, 2),
        worker_cores_waiting=round(used.workers_waiting_s / window_s, 2),
        redis_cores_busy=round(used.redis_s / window_s, 2),
        postgres_cores_busy=round(used.postgres_s / window_s, 2),
        driver_cores_busy=round(used.driver_s / window_s, 2),
        unfilled=unfilled,
        load_before=load_before,
    )


@dataclass(frozen=True)
class CpuUsed:
    """CPU seconds over the window, by who spent them."""

    workers_s: float
    workers_waiting_s: float  # runnable, waiting for a CPU
    redis_s: float
    redis_commands: int
    postgres_s: float
    driver_s: float


class Cpu:
    """CPU times at the window's start: the workers' (ns), Redis's (s, and its commands
    processed), PostgreSQL's (ticks by pid) and this process's."""

    def __init__(self, board: Board, redis: tuple[float, int], postgres: dict[int, int]) -> None:
        self._board = board
        self._workers_ns = board.total("cpu_ns")
        self._waiting_ns = board.total("wait_ns")
        self._redis = redis
        self._postgres = postgres
        self._driver_s = time.process_time()

    async def since(self) -> CpuUsed:
        redis_s, commands = await redis_usage(REDIS_URL)
        return CpuUsed(
            workers_s=(self._board.total("cpu_ns") - self._workers_ns) / 1e9,
            workers_waiting_s=(self._board.total("wait_ns") - self._waiting_ns) / 1e9,
            redis_s=redis_s - self._redis[0],
            redis_commands=commands - self._redis[1] - 2,  # our own INFOs
            postgres_s=postgres_cpu_s(self._postgres, postgres_cpu_ticks()),
            driver_s=time.process_time() - self._driver_s,
        )


async def _settle(workers: Workers, partitions: int, accounts: int) -> None:
    """Until the board has been settled for 2 s (a partition's bots move 1 s after it)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    settled_at: float | None = None
    while True:
        workers.check_alive()
        now = time.monotonic()
        if settled(workers.board, partitions, accounts):
            settled_at = settled_at or now
            if now - settled_at >= 2.0:
                return
        else:
            settled_at = None
        if now > deadline:
            raise TimeoutError(
                f"the workers did not settle within {SETTLE_TIMEOUT_S:g} s: "
                f"{workers.board.describe()}"
            )
        await asyncio.sleep(0.1)


def table(results: Sequence[ScaleResult]) -> str:
    lines = [
        "| processes | accounts | database | offered orders/s | bars | orders | orders/s | "
        "tick→order p50 µs | tick→order p99 µs | envelope p50 µs | envelope p99 µs | "
        "CPU µs/order workers · Redis · PostgreSQL | cores busy workers · Redis · "
        "PostgreSQL · driver | workers waiting for a CPU, cores | Redis commands/order | "
        "unfilled | load avg before |",
        "|---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        offered = (
            "saturated" if r.offered_orders_per_s is None else f"{r.offered_orders_per_s:,.0f}"
        )
        lines.append(
            f"| {r.processes} | {r.accounts:,} | {'PostgreSQL' if r.database else '-'} | "
            f"{offered} | {r.bars:,} | {r.orders:,} | {r.orders_per_s:,.0f} | "
            f"{r.tick_to_order_p50_us:,} | {r.tick_to_order_p99_us:,} | "
            f"{r.envelope_p50_us:,} | {r.envelope_p99_us:,} | "
            f"{r.worker_cpu_us_per_order:,} · {r.redis_cpu_us_per_order:,} · "
            f"{r.postgres_cpu_us_per_order:,} | {r.worker_cores_busy} · {r.redis_cores_busy} · "
            f"{r.postgres_cores_busy} · {r.driver_cores_busy} | {r.worker_cores_waiting} | "
            f"{r.redis_commands_per_order} | "
            f"{r.unfilled:,} | "
            f"{r.load_before} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = OneLineErrorParser(description=__doc__)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--accounts", type=int, default=1000, help="bots, one per account")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window")
    parser.add_argument(
        "--in-flight", type=int, default=2, help="bars whose orders may be unfinished"
    )
    parser.add_argument(
        "--interval-ms",
        type=float,
        default=0.0,
        help="at most one bar per this many ms (default 0: as fast as orders finish)",
    )
    parser.add_argument("--partitions", type=int, default=8, help="per topic (the default's)")
    parser.add_argument(
        "--database", action="store_true", help="execution and portfolio on PostgreSQL too"
    )
    parser.add_argument(
        "--database-url", default=POSTGRES_URL, help="a PostgreSQL server's admin URL"
    )
    add_json_option(parser)
    args = parser.parse_args()
    for name in ("accounts", "in_flight", "partitions"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.seconds <= 0:
        parser.error(f"--seconds must be positive, got {args.seconds}")
    if args.interval_ms < 0:
        parser.error(f"--interval-ms must be 0 or more, got {args.interval_ms}")
    if min(args.processes) < 1:
        parser.error(f"--processes must be at least 1 each, got {args.processes}")
    if max(args.processes) > args.partitions:
        parser.error(
            f"--partitions {args.partitions} leaves some of {max(args.processes)} processes "
            "without work: give at least as many partitions as processes"
        )
    configure_logging("warning", "console", stream=sys.stderr)
    # SIGTERM as Ctrl-C: the run's `finally`s stop the workers and drop what it made.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    load = Load(
        args.accounts, args.seconds, args.in_flight, args.interval_ms / 1000,
        args.partitions, args.database,
    )  # fmt: skip
    try:
        results = [asyncio.run(measure(k, load, args.database_url)) for k in args.processes]
    except (ConfigError, WorkerFailed, TimeoutError) as exc:
        parser.exit(1, f"{parser.prog}: error: {exc}\n")
    load_after = load_average()
    loop = "uvloop" if _loop_factory() is not None else "asyncio"
    if args.json:
        rows = [asdict(r) for r in results]
        figures = case_figures(
            rows,
            ("processes",),
            ("orders_per_s", "tick_to_order_p50_us", "tick_to_order_p99_us",
             "worker_cpu_us_per_order", "redis_cpu_us_per_order"),
        )  # fmt: skip
        detail = {"loop": loop, "in_flight": args.in_flight, "load_after": load_after}
        write_report(bench_report("scale_out", figures, detail | {"results": rows}), args.json)
        return
    print(table(results))
    print(f"\nload average after: {load_after} ({os.cpu_count()} CPUs; workers on {loop})")


if __name__ == "__main__":
    main()
