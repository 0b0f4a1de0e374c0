"""Orders through the embedded pipeline: `python bench/orders_pipeline.py [--orders N]
[--accounts A ...] [--database] [--json] [--profile]`.

    orders.approved -> execution -> in-process simulated exchange -> orders.events
                    -> portfolio

Everything runs in one process and one event loop, as under `tradewind up`: the memory
bus, the execution and portfolio services, and the simulated exchange (in process, with
a deep house ladder re-quoted every 50 ms). The accounts' sessions are opened by a
warm-up intent each before the clock starts. Then N market orders of 0.001 BTC (buys
and sells alternating per account, round-robin over the accounts) are published on
orders.approved in one batch, and the clock stops when the portfolio service has booked
the fills of every order and every `OrderFilled` has been published.

orders/s = N / that time (what was built before it is frozen out of the garbage
collector's full collections, see `_run`). Each order makes one venue call, one fill
fetch per account and batch, a `Fill` and an `OrderFilled` (about 2 events on
orders.events per order), and one portfolio booking. `--database` adds the SQLite system
of record (a write-ahead row per order, then the order and its fill). Intents are built
before the clock starts.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import pstats
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, bench_report, case_figures, write_report
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.memory import MemoryBus
from tradewind.bus.topics import ORDERS_APPROVED, ORDERS_EVENTS
from tradewind.domain.commands import OrderIntent
from tradewind.domain.events import OrderFilled
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.runtime.collector import tune_collector
from tradewind.runtime.logging import configure_logging, get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, Service, ServiceContext
from tradewind.runtime.service_settings import ExecutionSettings, PortfolioSettings
from tradewind.runtime.settings import Settings
from tradewind.services.execution import (
    AccountCredentials,
    AccountUnavailable,
    ExecutionService,
)
from tradewind.services.portfolio import PortfolioService
from tradewind.store.database import Database
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.liquidity import LiquidityConfig
from tradewind.venues.simulated.market import SyntheticMarket

BTC = Instrument.parse("sim", "BTC/USDT")
QUANTITY = Decimal("0.001")


@dataclass(frozen=True)
class PipelineResult:
    accounts: int
    orders: int
    database: bool
    seconds: float
    orders_per_s: float
    us_per_order: float
    events_out: int


class Keys:
    """The bench accounts' keys, in memory (`CredentialsSource`)."""

    def __init__(self) -> None:
        self.by_account: dict[str, AccountCredentials] = {}

    async def credentials(self, account_id: str) -> AccountCredentials:
        keys = self.by_account.get(account_id)
        if keys is None:
            raise AccountUnavailable(account_id, "not a bench account")
        return keys


def _intent(account_id: str, n: int, side: Side) -> Envelope:
    order = OrderIntent(
        account_id=account_id,
        bot_id="bench",
        intent_id=f"i-{n}",
        instrument=BTC,
        side=side,
        order_type=OrderType.MARKET,
        quantity=QUANTITY,
        ts_ns=0,
    )
    return envelope(order, account_id)


async def _run(accounts: int, orders: int, with_database: bool) -> PipelineResult:
    exchange = SimulatedExchange(
        SyntheticMarket(seed=3), liquidity=LiquidityConfig(level_size=100_000, flow_per_s=0.0)
    )
    exchange.step()
    keys = Keys()
    ids = [f"bench-{i}" for i in range(accounts)]
    for account_id in ids:
        creds = exchange.create_account({"USDT": Decimal(10_000_000), "BTC": Decimal(1000)})
        keys.by_account[account_id] = AccountCredentials("sim", creds.api_key, creds.secret)
    bus = MemoryBus(partitions=8, max_lag=10_000_000)
    await bus.start()
    database = None
    workdir = tempfile.TemporaryDirectory()
    if with_database:
        database = Database(f"sqlite:///{Path(workdir.name) / 'bench.db'}")
        await database.migrate()
    metrics = RuntimeMetrics()
    resources = Resources(venues=SimulatedVenues(exchange), database=database)
    settings = ExecutionSettings(execution_reconcile_interval_s=3600)
    services: list[Service] = [
        PortfolioService(PortfolioSettings(portfolio_snapshot_interval_s=3600)),
        ExecutionService(settings, keys),
    ]
    for service in services:
        log = get_logger(f"tradewind.services.{service.name}", service=service.name)
        await service.start(ServiceContext(Settings(), bus, log, metrics, resources))

    filled = 0
    events_out = 0
    done = asyncio.Event()
    target = 0

    async def count(batch: Sequence[Envelope]) -> None:
        nonlocal filled, events_out
        events_out += len(batch)
        filled += sum(isinstance(e.payload, OrderFilled) for e in batch)
        if filled >= target:
            done.set()

    await bus.subscribe([ORDERS_EVENTS], "bench", count)

    async def step_market() -> None:
        while True:
            exchange.step()
            await asyncio.sleep(0.05)

    stepper = asyncio.create_task(step_market())

    def fills_booked() -> float:
        value = metrics.registry.get_sample_value(
            "tradewind_bus_events_consumed_total", {"group": "portfolio", "type": "order.fill"}
        )
        return value or 0.0

    async def wait_until_booked(count_filled: int) -> None:
        nonlocal target
        target = count_filled
        await done.wait()
        # The portfolio service tells its progress only through its metrics.
        while fills_booked() < fills_seen():  # noqa: ASYNC110
            await asyncio.sleep(0.002)

    fill_events = 0

    def fills_seen() -> int:
        return fill_events

    async def count_fills(batch: Sequence[Envelope]) -> None:
        nonlocal fill_events
        fill_events += sum(e.type == "order.fill" for e in batch)

    await bus.subscribe([ORDERS_EVENTS], "bench-fills", count_fills)

    warm_up = [_intent(a, -1, Side.BUY) for a in ids]
    await bus.publish_batch(ORDERS_APPROVED, warm_up)
    await wait_until_booked(accounts)
    done.clear()
    filled, events_out = 0, 0

    sides = (Side.BUY, Side.SELL)
    intents = [_intent(ids[n % accounts], n, sides[(n // accounts) % 2]) for n in range(orders)]
    # What exists before the clock (the pre-built intents, the warm-up's sessions, books
    # and exchange accounts) is moved out of the collector's sight: in a run this short
    # one full collection of that heap (1.2 million objects at 10,000 accounts, ~1 s on
    # this VM) lands in the timed window or not, by chance; a long-running process pays
    # for full collections in proportion to what survives, not to the heap's size.
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    await bus.publish_batch(ORDERS_APPROVED, intents)
    await wait_until_booked(orders)
    seconds = time.perf_counter() - started
    gc.unfreeze()

    stepper.cancel()
    for service in reversed(services):
        await service.stop()
    await bus.close()
    if database is not None:
        await database.close()
    workdir.cleanup()
    return PipelineResult(
        accounts=accounts,
        orders=orders,
        database=with_database,
        seconds=round(seconds, 3),
        orders_per_s=round(orders / seconds),
        us_per_order=round(seconds / orders * 1e6, 1),
        events_out=events_out,
    )


def main() -> None:
    parser = OneLineErrorParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=20_000, help="orders per run")
    parser.add_argument("--accounts", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--database", action="store_true", help="also run with SQLite")
    add_json_option(parser)
    parser.add_argument("--profile", action="store_true", help="profile the first run")
    args = parser.parse_args()
    tune_collector()  # as `tradewind up` and `tradewind service` run
    configure_logging("warning", "console", stream=sys.stderr)
    runs = [(a, False) for a in args.accounts]
    if args.database:
        runs += [(a, True) for a in args.accounts]
    results = []
    for index, (accounts, with_database) in enumerate(runs):
        orders = args.orders if not with_database else max(accounts, args.orders // 4)
        if args.profile and index == 0:
            profiler = cProfile.Profile()
            profiler.enable()
            results.append(asyncio.run(_run(accounts, orders, with_database)))
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(50)
        else:
            results.append(asyncio.run(_run(accounts, orders, with_database)))
    if args.json:
        rows = [asdict(r) for r in results]
        figures = case_figures(rows, ("accounts", "database"), ("orders_per_s", "us_per_order"))
        write_report(bench_report("orders_pipeline", figures, {"results": rows}), args.json)
        return
    print("| accounts | database | orders | seconds | orders/s | µs/order | events out |")
    print("|---:|:---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.accounts:,} | {'SQLite' if r.database else '-'} | {r.orders:,} | "
            f"{r.seconds:.2f} | {r.orders_per_s:,} | {r.us_per_order} | {r.events_out:,} |"
        )


if __name__ == "__main__":
    main()
