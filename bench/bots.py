"""How many bots one strategy service holds, and what a bar costs them:
`python bench/bots.py [--bots 1000 10000] [--strategy dca|momentum|mix] [--json]`.

For each size it builds a SQLite database with that many running bots (10 per account,
symbols rotating over the simulated exchange's five), starts one `StrategyService` on
the in-process bus, and measures:

- load: `start()` (reading the bots, building and restoring the strategies, on_start);
- RSS: the process's resident memory after loading, and its growth per bot (the goal is
  10,000 bots in well under 2 GB);
- bar fan-out: one bar per symbol reaching every bot when no bot decides to trade (the
  hot path: the hooks alone), as the md handler's time per bot;
- bar -> intents: one bar per symbol on which every DCA bot buys: the hooks, publishing
  every intent with one publish_batch and writing every bot's state in one transaction.

Handler times come from `tradewind_bus_handler_seconds{group="strategy-md"}`.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, bench_report, case_figures, write_report
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.memory import MemoryBus
from tradewind.domain.events import Bar, PortfolioUpdate
from tradewind.domain.model import Instrument
from tradewind.domain.time_units import NS_PER_MINUTE
from tradewind.runtime.logging import configure_logging, get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, ServiceContext
from tradewind.runtime.settings import Settings
from tradewind.services.strategy import InstanceSlot, StrategyService
from tradewind.services.strategy.service import MARKET_DATA_LISTENER
from tradewind.store import portfolio_snapshots
from tradewind.store.database import Database
from tradewind.store.schema import bots, exchange_accounts, users
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket

PRICES = {
    "BTC/USDT": "30000",
    "ETH/USDT": "2000",
    "SOL/USDT": "100",
    "BNB/USDT": "300",
    "XRP/USDT": "0.5",
}
SYMBOLS = tuple(PRICES)
BOTS_PER_ACCOUNT = 10


@dataclass(frozen=True)
class BotsResult:
    bots: int
    strategy: str
    load_s: float
    rss_mb: float
    rss_per_bot_kb: float
    fanout_ms: float
    fanout_us_per_bot: float
    intents: int
    bar_to_intents_ms: float


def bot_params(strategy: str, n: int) -> tuple[str, dict[str, Any]]:
    symbol = SYMBOLS[n % len(SYMBOLS)]
    if strategy == "mix":
        strategy = ("dca", "momentum", "grid", "rebalance")[n % 4]
    if strategy == "dca":
        return "dca", {"symbol": symbol, "quote_amount": "10", "interval_s": 3600}
    if strategy == "momentum":
        return "momentum", {"symbol": symbol, "fast": 12, "slow": 26}
    if strategy == "grid":
        price = Decimal(PRICES[symbol])
        return "grid", {
            "symbol": symbol,
            "lower": str(price * Decimal("0.5")),
            "upper": str(price * Decimal("0.6")),
            "order_value": "50",
        }
    return "rebalance", {"basket": list(SYMBOLS[:3]), "rebalance_interval_s": 86_400}


async def make_database(path: Path, count: int, strategy: str) -> Database:
    db = Database(f"sqlite:///{path}")
    await db.migrate()
    now = datetime.now(UTC)
    user_id = uuid.uuid4().hex
    account_ids = [
        uuid.uuid4().hex for _ in range((count + BOTS_PER_ACCOUNT - 1) // BOTS_PER_ACCOUNT)
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
        await conn.execute(
            exchange_accounts.insert(),
            [
                {
                    "id": a,
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
                for a in account_ids
            ],
        )
        rows = []
        for n in range(count):
            name, params = bot_params(strategy, n)
            rows.append(
                {
                    "id": uuid.uuid4().hex,
                    "user_id": user_id,
                    "account_id": account_ids[n // BOTS_PER_ACCOUNT],
                    "strategy": name,
                    "params": params,
                    "state": "running",
                    "strategy_state": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        await conn.execute(bots.insert(), rows)
        for account_id in account_ids:
            await portfolio_snapshots.insert_snapshot(
                conn,
                PortfolioUpdate(
                    account_id=account_id,
                    valuation_asset="USDT",
                    equity=Decimal(10**6),
                    cash=Decimal(10**6),
                    realized_pnl=Decimal(0),
                    unrealized_pnl=Decimal(0),
                    fees=Decimal(0),
                    balances={"USDT": Decimal(10**6)},
                    ts_ns=time.time_ns(),
                ),
            )
    return db


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bars(open_ns: int) -> list[Envelope]:
    out = []
    for symbol, price in PRICES.items():
        instrument = Instrument.parse("sim", symbol)
        p = Decimal(price)
        bar = Bar(
            instrument=instrument,
            interval_s=60,
            open_ns=open_ns,
            open=p,
            high=p,
            low=p,
            close=p,
            volume=Decimal(1),
        )
        out.append(envelope(bar, instrument.key))
    return out


class HandlerClock:
    """Times the md handler over one bar per symbol, published in one batch."""

    def __init__(self, metrics: RuntimeMetrics, service: StrategyService) -> None:
        self._metrics = metrics
        self._bar_hooks = service.metrics.hooks["bar"]

    def _handler(self, suffix: str) -> float:
        value = self._metrics.registry.get_sample_value(
            f"tradewind_bus_handler_seconds_{suffix}", {"group": MARKET_DATA_LISTENER}
        )
        return value or 0.0

    async def run(self, bus: MemoryBus, open_ns: int, bots: int) -> float:
        """Seconds the handler spent on the bars (every bot hears one bar)."""
        batches, seconds = self._handler("count"), self._handler("sum")
        hooks = sum(self._bar_hooks.counts)
        await bus.publish_batch(topics.MD_BAR, bars(open_ns))
        deadline = time.monotonic() + 120
        while sum(self._bar_hooks.counts) < hooks + bots or self._handler("count") == batches:
            if time.monotonic() > deadline:
                raise TimeoutError("the bars did not reach every bot within 120 s")
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)  # a batch split in two: let the second finish too
        return self._handler("sum") - seconds


async def measure(count: int, strategy: str) -> BotsResult:
    with tempfile.TemporaryDirectory() as tmp:
        db = await make_database(Path(tmp) / "bench.db", count, strategy)
        bus = MemoryBus()
        await bus.start()
        intents: list[int] = [0]

        async def take(batch: Any) -> None:
            intents[0] += len(batch)

        await bus.subscribe((topics.ORDERS_INTENT,), "bench-execution", take)
        venues = SimulatedVenues(SimulatedExchange(SyntheticMarket(seed=1)))
        metrics = RuntimeMetrics()
        gc.collect()
        rss_before = rss_mb()
        service = StrategyService(InstanceSlot())
        ctx = ServiceContext(
            Settings(), bus, get_logger("bench"), metrics, Resources(venues=venues, database=db)
        )
        started = time.perf_counter()
        await service.start(ctx)
        load_s = time.perf_counter() - started
        gc.collect()
        rss_after = rss_mb()
        clock = HandlerClock(metrics, service)
        first_bar_ns = time.time_ns() - 10 * NS_PER_MINUTE
        to_intents = await clock.run(bus, first_bar_ns, count)  # DCA bots buy on the first
        made = intents[0]
        fanout = await clock.run(bus, first_bar_ns + NS_PER_MINUTE, count)  # nothing due
        await service.stop()
        await bus.close()
        await db.close()
    return BotsResult(
        bots=count,
        strategy=strategy,
        load_s=load_s,
        rss_mb=rss_after,
        rss_per_bot_kb=(rss_after - rss_before) * 1024 / count,
        fanout_ms=fanout * 1000,
        fanout_us_per_bot=fanout * 1e6 / count,
        intents=made,
        bar_to_intents_ms=to_intents * 1000,
    )


def table(results: list[BotsResult]) -> str:
    header = (
        "bots",
        "strategy",
        "load s",
        "RSS MB",
        "KB/bot",
        "bar fan-out ms",
        "us/bot",
        "intents",
        "bar->intents ms",
    )
    rows = [header] + [
        (
            f"{r.bots:,}",
            r.strategy,
            f"{r.load_s:.2f}",
            f"{r.rss_mb:,.0f}",
            f"{r.rss_per_bot_kb:.1f}",
            f"{r.fanout_ms:.1f}",
            f"{r.fanout_us_per_bot:.2f}",
            f"{r.intents:,}",
            f"{r.bar_to_intents_ms:.0f}",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = OneLineErrorParser(description=__doc__)
    parser.add_argument("--bots", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--strategy", choices=("dca", "momentum", "mix"), default="dca")
    add_json_option(parser)
    args = parser.parse_args()
    configure_logging("warning", "console", stream=sys.stderr)  # stdout: the table or JSON
    results = [asyncio.run(measure(count, args.strategy)) for count in args.bots]
    if args.json:
        rows = [asdict(r) for r in results]
        figures = case_figures(rows, ("bots", "strategy"))
        write_report(bench_report("bots", figures, {"results": rows}), args.json)
    else:
        print(table(results))


if __name__ == "__main__":
    main()
