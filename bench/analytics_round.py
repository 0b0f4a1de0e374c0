"""A whole analytics round: `AnalyticsService.compute_round` over N accounts that all
changed, on a real service, bus and database: the accounts' figures, the bots' fills
read and PnL recorded, the limit reads and guards, the `AnalyticsUpdate`s published.

`python bench/analytics_round.py [--accounts N] [--minutes M] [--fills F] [--rounds K]
[--database-url URL|sqlite] [--bus-url URL] [--keep-database NAME] [--profile FILE.html]
[--json [FILE]]`

It builds a fresh PostgreSQL database (or SQLite with `--database-url sqlite`) holding N
accounts, each with M minutes of recorded valuations up to now (a day by default: what
the service reads back when it meets an account) and one running bot with F fills over
the last hour (`bench/analytics_bots.py`'s seeding), then starts an `AnalyticsService`
as `tradewind service analytics` does (a `ServiceContext` with the bus, the database, the
default settings; the service alone in its process), with M minute bars of the benchmark
(BTC/USDT, and before each round its minutes since) and a bar of each bot's symbol on
md.bar. The bench drives the rounds itself
(the service's own timer is set to an hour). Before each round, every account's
valuations since its last one are published, one `PortfolioUpdate` a minute and the
newest now (the portfolio service revalues an account whenever its holdings' prices
move: its minutes have no gap, so each account's beta and correlation take the
shared-window path of `benchmark.beta_and_correlation`). It times:

- **meet**: the `PortfolioUpdate`s published; `intake` until the service has
  taken them all in (each account met for the first time: its M minutes read back from
  the record, 500 accounts to a query), then the first round: `compute_round` called
  until all N `AnalyticsUpdate`s have reached a listener on analytics.updates (its
  bots met too: their fills and recorded minutes read);
- **steady** (K rounds): before each, one new fill per bot recorded over the 5 s before
  it (the service's default round) and the accounts' `PortfolioUpdate`s published and
  taken in (`intake`, not part of the round: the service takes updates in between
  rounds); then the round, from `compute_round`'s call until all N `AnalyticsUpdate`s
  are received.

With `--keep-database NAME` the PostgreSQL database NAME is kept: created and seeded
by the first run, re-used by a later one with the same NAME when it holds the accounts
asked (seeding 10,000 accounts takes ~8 minutes). A re-used database's accounts, bots and
newest valuations are read back; the minutes since its newest valuation are published at
the meet (its intake grows with them), so each account's window still has every minute.
`--profile FILE.html` (any other name: text) writes a pyinstrument profile of the steady
rounds alone (from `compute_round`'s call until the updates are received; not the
seeding, the intake or the meet). With `--instances K`, K processes (the service's
instances, partitioned by account), each with its own bus and service following every
K-th account, run their rounds together; a round's times are the slowest instance's.

`compute` is `compute_round`'s own return (the last `AnalyticsUpdate` published, the
guards checked); `round` adds the delivery to the listener. The cyclic collector is
tuned as `tradewind service` tunes it (`runtime.collector.tune_collector`). Issue #10's goal: 10,000
accounts' analytics refreshed in <= 10 s on the project's 2-core machine.
"""

from __future__ import annotations

import asyncio
import functools
import json
import multiprocessing
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from urllib.parse import urlsplit

import asyncpg
from analytics_bots import _PRICES, _ROUND, BotsOf, fill_database, fresh_database, new_fills
from pyinstrument import Profiler
from redis.asyncio import Redis

from tradewind.benchmarks.analytics_series import valuations
from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, bench_report, write_report
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.factory import check_bus_url, open_bus
from tradewind.bus.port import Bus
from tradewind.domain.events import AnalyticsUpdate, Bar, PortfolioUpdate
from tradewind.domain.model import Instrument
from tradewind.domain.time_units import NS_PER_MINUTE
from tradewind.runtime.collector import tune_collector
from tradewind.runtime.logging import get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, ServiceContext
from tradewind.runtime.settings import Settings
from tradewind.services.analytics.metrics import AnalyticsMetrics
from tradewind.services.analytics.service import AnalyticsService
from tradewind.store.database import Database
from tradewind.store.schema import portfolio_snapshots

BENCHMARK = "BTC/USDT"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
_POLL_S = 0.005
_ACCOUNTS_A_BATCH = 500  # valuations recorded per transaction / COPY: 500 accounts'
_COLUMNS = (
    "account_id", "taken_at", "valuation_asset", "equity", "cash", "realized_pnl",
    "unrealized_pnl", "fees", "balances", "traded",
)  # fmt: skip

#: Per account, its newest valuation: (equity, realised PnL, cumulative traded).
Last = dict[str, tuple[Decimal, Decimal, Decimal]]


def _instrument(symbol: str) -> Instrument:
    base, quote = symbol.split("/")
    return Instrument("sim", symbol, base, quote)


async def record_valuations(
    db: Database, database_url: str, accounts: Sequence[str], minutes: int, now: datetime
) -> Last:
    """Each account's valuation a minute over the `minutes` up to `now`
    (`analytics_series.valuations`), as the portfolio service records them; COPY on
    PostgreSQL, inserts on SQLite. Returns each account's newest."""
    rng = random.Random(7)
    first = now - timedelta(minutes=minutes - 1, seconds=1)
    last: Last = {}
    copy = None if database_url.startswith("sqlite") else await asyncpg.connect(database_url)
    try:
        for start in range(0, len(accounts), _ACCOUNTS_A_BATCH):
            rows: list[tuple[object, ...]] = []
            for account_id in accounts[start : start + _ACCOUNTS_A_BATCH]:
                for minute, equity, realized, traded in valuations(minutes, rng):
                    balances = json.dumps({"USDT": format(equity, "f")})
                    at = first + timedelta(minutes=minute)
                    rows.append(
                        (account_id, at, "USDT", equity, equity, realized, Decimal(0),
                         Decimal(0), balances, traded)
                    )  # fmt: skip
                    last[account_id] = equity, realized, traded
            if copy is not None:
                await copy.copy_records_to_table(
                    "portfolio_snapshots", records=rows, columns=list(_COLUMNS)
                )
            else:
                async with db.transaction() as conn:
                    await conn.execute(
                        portfolio_snapshots.insert(),
                        [dict(zip(_COLUMNS, row, strict=True)) for row in rows],
                    )
    finally:
        if copy is not None:
            await copy.close()
    return last


class Received:
    """The `AnalyticsUpdate`s a listener on analytics.updates has received."""

    def __init__(self) -> None:
        self.count = 0

    async def handle(self, batch: Sequence[Envelope]) -> None:
        self.count += sum(isinstance(e.payload, AnalyticsUpdate) for e in batch)


async def until(condition: Callable[[], bool], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s:.0f} s for {what}")
        await asyncio.sleep(_POLL_S)


async def publish_bars(bus: Bus, service: AnalyticsService, minutes: int, now_ns: int) -> Bar:
    """The benchmark's last `minutes` minute bars (a random walk ending at its price),
    then one bar of each other symbol at its price, taken in by the service; returns the
    benchmark's last bar."""
    rng = random.Random(11)
    opened = (now_ns // NS_PER_MINUTE - minutes + 1) * NS_PER_MINUTE
    closes = [_PRICES[BENCHMARK]]
    for _ in range(minutes - 1):
        closes.append(closes[-1] * (1 + Decimal(rng.randint(-100, 100)) / 100_000))
    closes.reverse()
    series = [(BENCHMARK, closes), *((s, [p]) for s, p in _PRICES.items() if s != BENCHMARK)]
    bars = []
    for symbol, prices in series:
        instrument = _instrument(symbol)
        start = opened + (minutes - len(prices)) * NS_PER_MINUTE
        for n, close in enumerate(prices):
            at = start + n * NS_PER_MINUTE
            bar = Bar(instrument=instrument, interval_s=60, open_ns=at, open=close,
                      high=close, low=close, close=close, volume=Decimal(1))  # fmt: skip
            bars.append(envelope(bar, instrument.key))
    await bus.publish_batch(topics.MD_BAR, bars)
    # The service's last prices: no public view of them, and a round needs them all.
    last_prices = service._prices
    await until(lambda: all(last_prices.close(s) == p for s, p in _PRICES.items()), "the bars", 60)
    return bars[minutes - 1].payload  # type: ignore[return-value]


async def benchmark_since(bus: Bus, service: AnalyticsService, last: Bar, now_ns: int) -> Bar:
    """The benchmark's minute bars since `last` up to now's minute, as marketdata
    publishes one a minute (each close a thousandth up: every minute is new), taken in by
    the service; returns the newest."""
    bars = []
    at, close = last.open_ns + NS_PER_MINUTE, last.close
    while at <= now_ns // NS_PER_MINUTE * NS_PER_MINUTE:
        close = close * Decimal("1.001")
        last = Bar(instrument=last.instrument, interval_s=60, open_ns=at, open=close,
                   high=close, low=close, close=close, volume=Decimal(1))  # fmt: skip
        bars.append(envelope(last, last.instrument.key))
        at += NS_PER_MINUTE
    if bars:
        await bus.publish_batch(topics.MD_BAR, bars)
        last_prices = service._prices
        await until(lambda: last_prices.close(BENCHMARK) == close, "the benchmark's bars", 60)
    return last


async def publish_updates(
    bus: Bus, service: AnalyticsService, last: Last, step: int, since_ns: int, timeout_s: float
) -> int:
    """Each account's valuations since `since_ns` (its last) as the portfolio service
    publishes them, one a minute while its holdings' prices move, each minute's equity
    moved by a cent, the newest now; returns once the service has taken every one in.
    Returns now (ns)."""
    ts_ns = time.time_ns()
    minutes = range(since_ns // NS_PER_MINUTE + 1, ts_ns // NS_PER_MINUTE)
    stamps = [m * NS_PER_MINUTE + 1 for m in minutes] + [ts_ns]
    events = []
    for account_id, (equity, realized, traded) in last.items():
        for at_ns in stamps:
            equity += Decimal("0.01") * (1 if (step + at_ns // NS_PER_MINUTE) % 2 else -1)
            update = PortfolioUpdate(
                account_id=account_id, valuation_asset="USDT", equity=equity, cash=equity,
                realized_pnl=realized, unrealized_pnl=Decimal(0), fees=Decimal(0),
                balances={"USDT": equity}, ts_ns=at_ns, traded=traded,
            )  # fmt: skip
            events.append(envelope(update, account_id))
        last[account_id] = equity, realized, traded
    for start in range(0, len(events), 1000):
        await bus.publish_batch(topics.PORTFOLIO_UPDATES, events[start : start + 1000])
    series = service.series
    await until(
        lambda: all((s := series.get(a)) is not None and s.last_ts_ns == ts_ns for a in last),
        "the portfolio updates to be taken in",
        timeout_s,
    )
    return ts_ns


async def measure(
    db: Database,
    bus: Bus,
    bots_of: BotsOf,
    last: Last,
    since_ns: int,
    minutes: int,
    rounds: int,
    profiler: Profiler | None = None,
    together: Callable[[], Awaitable[object]] | None = None,
) -> dict[str, list[float]]:
    """The service started, the bars in; then the meet and `rounds` steady rounds (each
    under `profiler` if given: the round and its delivery, nothing before it). Each
    round starts once `together` returns (the other instances' rounds start with it)."""
    accounts = len(last)
    timeout_s = 120 + accounts / 5  # a hang fails, a slow machine does not
    resources = Resources(database=db)
    service = AnalyticsService(interval_s=3_600.0)  # the bench calls the rounds
    resources.services = (service,)
    ctx = ServiceContext(
        Settings(), bus, get_logger("tradewind.services.analytics", service=service.name),
        RuntimeMetrics(), resources,
    )  # fmt: skip
    received = Received()
    listener = await bus.listen([topics.ANALYTICS_UPDATES], "bench", received.handle)
    await service.start(ctx)
    metrics = AnalyticsMetrics.of(ctx.metrics.registry)
    figures: dict[str, list[float]] = {"intake_s": [], "compute_s": [], "round_s": []}
    try:
        await until(lambda: service.ready, "the service to start", 60)
        benchmark = await publish_bars(bus, service, minutes, time.time_ns())
        for step in range(rounds + 1):
            benchmark = await benchmark_since(bus, service, benchmark, time.time_ns())
            if step:  # a fill per bot over the round before, as execution records them
                await new_fills(db, bots_of, datetime.now(UTC) - _ROUND, 1000 + step)
            started = time.perf_counter()
            since_ns = await publish_updates(bus, service, last, step, since_ns, timeout_s)
            figures["intake_s"].append(time.perf_counter() - started)
            if together is not None:
                await together()
            profiling = profiler is not None and step > 0
            if profiling:
                profiler.start()  # type: ignore[union-attr]
            started = time.perf_counter()
            measured = steady_round if step else meet_round
            published = await measured(service, ctx, metrics)
            figures["compute_s"].append(time.perf_counter() - started)
            if published != accounts:
                raise RuntimeError(f"round {step}: {published} of {accounts} accounts published")
            expected = (step + 1) * accounts
            await until(lambda: received.count >= expected, "the analytics updates", timeout_s)  # noqa: B023
            figures["round_s"].append(time.perf_counter() - started)
            if profiling:
                profiler.stop()  # type: ignore[union-attr]
        figures["bots"] = [float(len(service.bots))]
        figures["bot_minutes_written"] = [float(service.bot_minutes_written)]
    finally:
        await service.stop()
        await listener.stop()
    return figures


async def meet_round(
    service: AnalyticsService, ctx: ServiceContext, metrics: AnalyticsMetrics
) -> int:
    """The first round, every account and bot new to the service."""
    return await service.compute_round(ctx, metrics)


async def steady_round(
    service: AnalyticsService, ctx: ServiceContext, metrics: AnalyticsMetrics
) -> int:
    """A later round (`tradewind profile analytics-round`'s focus)."""
    return await service.compute_round(ctx, metrics)


@asynccontextmanager
async def started_bus(url: str) -> AsyncIterator[Bus]:
    """The bus at `url`, started; on Redis under a fresh key prefix, deleted afterwards."""
    prefix = f"twbench{uuid.uuid4().hex[:8]}"
    redis = urlsplit(url).scheme in ("redis", "rediss")
    if redis:
        url += f"{'&' if '?' in url else '?'}prefix={prefix}"
    bus = open_bus(url)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()
        if redis:
            client = Redis.from_url(url.split("?", 1)[0])
            async for key in client.scan_iter(f"{prefix}:*"):
                await client.delete(key)
            await client.aclose()


Figures = dict[str, list[float]]


def _instances(
    database_url: str, bus_url: str, bots_of: BotsOf, last: Last, since_ns: int, minutes: int,
    rounds: int, instances: int,
) -> Figures:  # fmt: skip
    """`instances` processes (the service's instances, partitioned by account), each with
    its own bus and `AnalyticsService` following every `instances`-th account (its
    share's updates published, its bots' fills recorded), each round started together;
    per round, the slowest instance's times (counts: summed)."""
    accounts = list(bots_of)
    context = multiprocessing.get_context("spawn")
    start, done = context.Barrier(instances), context.Queue()
    workers = []
    for i in range(instances):
        share = accounts[i::instances]
        args = (
            database_url, bus_url, {a: bots_of[a] for a in share}, {a: last[a] for a in share},
            since_ns, minutes, rounds, start, done,
        )  # fmt: skip
        workers.append(context.Process(target=_instance, args=args))
    for worker in workers:
        worker.start()
    results: list[Figures | str] = [done.get() for _ in workers]
    for worker in workers:
        worker.join()
    failed = [r for r in results if isinstance(r, str)]
    if failed:
        raise RuntimeError(f"an instance failed: {failed[0]}")
    figures = [r for r in results if not isinstance(r, str)]
    counts = ("bots", "bot_minutes_written")
    return {
        key: [
            sum(v) if key in counts else max(v)
            for v in zip(*(f[key] for f in figures), strict=True)
        ]
        for key in figures[0]
    }


def _instance(
    database_url: str, bus_url: str, bots_of: BotsOf, last: Last, since_ns: int, minutes: int,
    rounds: int, start: Barrier, done: Queue[Figures | str],
) -> None:  # fmt: skip
    """One instance of `_instances`: `measure` of its share, each round started once
    every instance has reached it."""

    async def measured() -> Figures:
        db = Database(database_url)
        try:
            async with started_bus(bus_url) as bus:
                together = functools.partial(asyncio.to_thread, start.wait, 600)
                return await measure(
                    db, bus, bots_of, last, since_ns, minutes, rounds, together=together
                )
        finally:
            await db.close()

    tune_collector()
    try:
        done.put(asyncio.run(measured()))
    except Exception as error:  # the parent fails, not waits
        start.abort()
        done.put(repr(error))


def write_profile(profiler: Profiler, path: str) -> None:
    """The profile as HTML (`path` ends with .html), else as text (the slow frames)."""
    if path.endswith(".html"):
        profiler.write_html(path)
        return
    with open(path, "w") as out:
        out.write(profiler.output_text(show_all=False, short_mode=False))


@asynccontextmanager
async def kept_database(url: str, name: str) -> AsyncIterator[tuple[Database, str]]:
    """The database `name` on the PostgreSQL server at `url`, created if it is not
    there, migrated; kept afterwards (a later run re-uses its seeding)."""
    admin = await asyncpg.connect(url)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    database_url = url.rsplit("/", 1)[0] + f"/{name}"
    db = Database(database_url)
    try:
        await db.migrate()
        yield db, database_url
    finally:
        await db.close()


async def seeded(database_url: str, accounts: int) -> tuple[BotsOf, Last, int] | None:
    """A kept database's seeding read back: each account's bots (and their symbol, from
    their orders), its newest valuation, and the newest valuation's moment (ns); None if
    it holds no accounts yet. One holding another number of accounts is an error."""
    conn = await asyncpg.connect(database_url)
    try:
        held = await conn.fetchval("SELECT count(*) FROM exchange_accounts")
        if not held:
            return None
        if held != accounts:
            raise SystemExit(
                f"the kept database holds {held} accounts, not {accounts}: use another NAME"
            )
        bots_of: BotsOf = {}
        for row in await conn.fetch(
            "SELECT DISTINCT ON (bot_id) bot_id, account_id, symbol FROM orders"
            " WHERE bot_id IS NOT NULL ORDER BY bot_id"
        ):
            bots_of.setdefault(row["account_id"], []).append((row["bot_id"], row["symbol"]))
        bots_of = dict(sorted(bots_of.items()))
        rows = await conn.fetch(
            "SELECT a.id, s.equity, s.realized_pnl, s.traded, s.taken_at"
            " FROM exchange_accounts a CROSS JOIN LATERAL (SELECT * FROM portfolio_snapshots p"
            " WHERE p.account_id = a.id ORDER BY p.taken_at DESC LIMIT 1) s"
        )
    finally:
        await conn.close()
    last: Last = {r["id"]: (r["equity"], r["realized_pnl"], r["traded"]) for r in rows}
    if len(last) != accounts or len(bots_of) != accounts:
        raise SystemExit("the kept database's seeding is incomplete: use another NAME")
    newest = max(r["taken_at"] for r in rows)
    return bots_of, {a: last[a] for a in bots_of}, round(newest.timestamp() * 1e6) * 1000


async def run(
    database: str, bus_url: str, accounts: int, minutes: int, fills: int, rounds: int,
    json_to: str | None, keep: str | None = None, profile_to: str | None = None,
    instances: int = 1,
) -> None:  # fmt: skip
    opened = fresh_database(database) if keep is None else kept_database(database, keep)
    async with opened as (db, database_url), started_bus(bus_url) as bus:
        started = time.perf_counter()
        kept = None if keep is None else await seeded(database_url, accounts)
        if kept is None:
            bots_of = await fill_database(db, accounts, 1, fills)
            now = datetime.now(UTC)
            last = await record_valuations(db, database_url, list(bots_of), minutes, now)
            since_ns = round(now.timestamp() * 1e6) * 1000 - 10**9  # the newest recorded
        else:
            bots_of, last, since_ns = kept
        fill_s = time.perf_counter() - started
        profiler = None if profile_to is None else Profiler(interval=0.001, async_mode="disabled")
        if instances == 1:
            figures = await measure(db, bus, bots_of, last, since_ns, minutes, rounds, profiler)
        else:
            figures = await asyncio.to_thread(
                _instances, database_url, bus_url, bots_of, last, since_ns, minutes, rounds,
                instances,
            )  # fmt: skip
    if profiler is not None and profile_to is not None:
        write_profile(profiler, profile_to)
    kind = "SQLite" if database == "sqlite" else "PostgreSQL"
    bus_kind = urlsplit(bus_url).scheme
    meet = figures["intake_s"][0] + figures["round_s"][0]
    steady = figures["round_s"][1:]
    if json_to is not None:
        timings = {
            "fill_s": fill_s,
            "meet_intake_s": figures["intake_s"][0],
            "meet_round_s": figures["round_s"][0],
            "meet_s": meet,
            "steady_round_s": max(steady),
            "steady_compute_s": max(figures["compute_s"][1:]),
            "steady_intake_s": max(figures["intake_s"][1:]),
        }
        detail = {
            "accounts": accounts, "minutes": minutes, "fills_per_bot": fills, "rounds": rounds,
            "database": kind, "bus": bus_kind, "instances": instances,
            "database_kept": keep, "seeded": kept is None,
            "round_s": figures["round_s"], "compute_s": figures["compute_s"],
            "intake_s": figures["intake_s"], "bots": figures["bots"][0],
            "bot_minutes_written": figures["bot_minutes_written"][0],
        }  # fmt: skip
        write_report(bench_report("analytics_round", timings, detail), json_to)
        return
    how = "read back" if kept is not None else "seeded"
    each = ", ".join(f"{s:.2f}" for s in steady)
    intakes = ", ".join(f"{s:.2f}" for s in figures["intake_s"][1:])
    computes = ", ".join(f"{s:.2f}" for s in figures["compute_s"][1:])
    print(
        f"{accounts} accounts x {minutes} minutes, 1 bot x {fills} fills each ({kind}, "
        f"{bus_kind} bus, {instances} instance(s); {how} in {fill_s:.1f} s): meet "
        f"{meet:.2f} s (intake, the accounts read back: {figures['intake_s'][0]:.2f} s; round "
        f"{figures['round_s'][0]:.2f} s); {rounds} steady rounds, every account changed and "
        f"a new fill per bot: round {each} s (compute_round {computes} s; intake before "
        f"each {intakes} s)"
    )


def main() -> None:
    parser = OneLineErrorParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--minutes", type=int, default=1_440, help="valuations recorded each")
    parser.add_argument("--fills", type=int, default=20, help="recorded fills of each bot")
    parser.add_argument("--rounds", type=int, default=3, help="steady rounds after the meet")
    parser.add_argument(
        "--database-url", default=POSTGRES,
        help="a PostgreSQL server to create the bench's database on, or 'sqlite'",
    )  # fmt: skip
    parser.add_argument("--bus-url", default="memory://", help="memory:// or redis://...")
    parser.add_argument(
        "--keep-database", metavar="NAME",
        help="keep the PostgreSQL database NAME (seeded once; re-used while it holds the accounts)",
    )  # fmt: skip
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="a pyinstrument profile of the steady rounds (FILE.html: HTML; else text)",
    )
    parser.add_argument(
        "--instances", type=int, default=1,
        help="analytics instances (processes), each following its share of the accounts",
    )  # fmt: skip
    add_json_option(parser)
    args = parser.parse_args()
    if not 1 <= args.instances <= args.accounts:
        parser.error("--instances must be between 1 and --accounts")
    if args.profile is not None and args.instances > 1:
        parser.error("--profile profiles one instance: leave --instances out")
    if args.keep_database is not None and args.database_url == "sqlite":
        parser.error("--keep-database needs a PostgreSQL --database-url")
    if args.accounts < 1 or args.fills < 1 or args.rounds < 1:
        parser.error("--accounts, --fills and --rounds must be at least 1")
    window = Settings().analytics.analytics_window_minutes
    if not 2 <= args.minutes <= window:
        parser.error(f"--minutes must be between 2 and the service's window ({window})")
    if urlsplit(args.bus_url).scheme not in ("memory", "redis", "rediss"):
        parser.error(f"--bus-url must be memory:// or redis://..., not {args.bus_url!r}")
    try:
        check_bus_url(args.bus_url)
    except ValueError as error:
        parser.error(f"--bus-url: {error}")
    if args.database_url != "sqlite" and not args.database_url.startswith("postgresql://"):
        parser.error(
            f"--database-url must be postgresql://... or 'sqlite', not {args.database_url!r}"
        )
    tune_collector()  # as `tradewind service` runs (the default's full collections: 0.3-0.8 s)
    asyncio.run(
        run(args.database_url, args.bus_url, args.accounts, args.minutes, args.fills,
            args.rounds, args.json, args.keep_database, args.profile, args.instances)
    )  # fmt: skip


if __name__ == "__main__":
    main()
