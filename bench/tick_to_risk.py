"""Market data and pre-trade risk hot paths: `python bench/tick_to_risk.py [--json]`.

Three figures, each the best of `--repeat` runs, one process, one event loop:

- book diffs/s: `BookFeed.on_snapshot` on 20-level snapshots where a few levels change
  each time (the marketdata book path: diff, apply, snapshot when due);
- risk decisions/s: `RiskDesk.take` on batches of 500 intents (9 in 10 approved, the
  rest over the max order value), dedupe bookkeeping included, publishing excluded;
- tick -> risk: trades published on md.trade of the memory bus as the marketdata
  service does (one `publish_batch` per venue batch of `--trades-per-batch`) until the
  risk service's last price is the newest one; events/s and p50/p99 latency from
  publish to the risk handler having taken the batch.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from decimal import Decimal

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, bench_report, write_report
from tradewind.bus import topics
from tradewind.bus.envelope import envelope
from tradewind.bus.memory import MemoryBus
from tradewind.domain.commands import OrderIntent
from tradewind.domain.events import BalanceUpdate, TradeTick
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.domain.risk import AccountLimits, RiskLimits
from tradewind.runtime.logging import get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import ServiceContext
from tradewind.runtime.settings import Settings
from tradewind.services.marketdata.book_feed import BookFeed
from tradewind.services.risk import RiskDesk, RiskService
from tradewind.venues.port import BookSnapshot

BTC = Instrument.parse("bench", "BTC/USDT")
LIMITS = RiskLimits(defaults=AccountLimits(max_order_value={"USDT": Decimal(1000)}))


def book_diffs_per_s(snapshots: int) -> float:
    rng = random.Random(1)
    bids = {Decimal(30_000 - i): Decimal(rng.randint(1, 900)) / 100 for i in range(20)}
    asks = {Decimal(30_001 + i): Decimal(rng.randint(1, 900)) / 100 for i in range(20)}
    stream = []
    for update_id in range(2, snapshots + 2):
        for side in (bids, asks):
            for price in rng.sample(sorted(side), 3):
                side[price] = Decimal(rng.randint(1, 900)) / 100
        stream.append(
            BookSnapshot(
                symbol=BTC.symbol,
                bids=tuple(sorted(bids.items(), reverse=True)),
                asks=tuple(sorted(asks.items())),
                update_id=update_id,
                ts_ms=update_id,
            )
        )
    feed = BookFeed(BTC, depth=20, snapshot_interval_ns=10**9)
    feed.resync(stream[0], now_ns=0)
    started = time.perf_counter()
    for i, snapshot in enumerate(stream[1:]):
        feed.on_snapshot(snapshot, now_ns=i * 1_000_000)
    return (len(stream) - 1) / (time.perf_counter() - started)


def risk_decisions_per_s(intents: int) -> float:
    desk = RiskDesk(LIMITS)
    funds = BalanceUpdate(
        account_id="a1",
        venue="bench",
        asset="USDT",
        free=Decimal(10**12),
        locked=Decimal(0),
        ts_ns=0,
    )
    desk.take([envelope(funds, "a1")], now_ns=0)
    batches = []
    for start in range(0, intents, 500):
        batch = []
        for n in range(start, min(start + 500, intents)):
            quantity = Decimal("0.1") if n % 10 == 9 else Decimal("0.01")
            intent = OrderIntent(
                account_id="a1",
                bot_id="b1",
                intent_id=f"i-{n}",
                instrument=BTC,
                side=Side.BUY,
                order_type=OrderType.LIMIT,
                quantity=quantity,
                price=Decimal(30_000),
                ts_ns=0,
            )
            batch.append(envelope(intent, "a1"))
        batches.append(batch)
    started = time.perf_counter()
    for batch in batches:
        desk.published(desk.take(batch, now_ns=1))
    return intents / (time.perf_counter() - started)


async def tick_to_risk(trades: int, per_batch: int) -> tuple[float, float, float]:
    bus = MemoryBus(partitions=8)
    await bus.start()
    risk = RiskService(LIMITS)
    ctx = ServiceContext(Settings(), bus, get_logger("bench"), RuntimeMetrics())
    await risk.start(ctx)
    desk = risk.desk
    assert desk is not None
    latencies: list[float] = []
    price = Decimal(30_000)
    started = time.perf_counter()
    for batch_no in range(trades // per_batch):
        ticks = [
            TradeTick(
                instrument=BTC,
                price=price + batch_no,
                quantity=Decimal("0.01"),
                aggressor=Side.BUY,
                trade_id=f"{batch_no}-{i}",
                ts_ns=0,
            )
            for i in range(per_batch)
        ]
        sent = time.perf_counter()
        await bus.publish_batch(topics.MD_TRADE, [envelope(t, BTC.key) for t in ticks])
        # Poll, yielding to the consumer: the service has no hook to wait on, and a
        # sleep longer than a loop turn would be what this measures.
        while desk.state.last_price(BTC) != price + batch_no:  # noqa: ASYNC110
            await asyncio.sleep(0)
        latencies.append(time.perf_counter() - sent)
    elapsed = time.perf_counter() - started
    await risk.stop()
    await bus.close()
    quantiles = statistics.quantiles(latencies, n=100)
    return trades / elapsed, quantiles[49] * 1e6, quantiles[98] * 1e6


def main() -> None:
    parser = OneLineErrorParser(description=__doc__)
    add_json_option(parser)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; best kept")
    parser.add_argument("--snapshots", type=int, default=20_000)
    parser.add_argument("--intents", type=int, default=50_000)
    parser.add_argument("--trades", type=int, default=50_000)
    parser.add_argument("--trades-per-batch", type=int, default=10)
    args = parser.parse_args()
    book = max(book_diffs_per_s(args.snapshots) for _ in range(args.repeat))
    risk = max(risk_decisions_per_s(args.intents) for _ in range(args.repeat))
    runs = [
        asyncio.run(tick_to_risk(args.trades, args.trades_per_batch)) for _ in range(args.repeat)
    ]
    ticks, p50, p99 = max(runs)
    result = {
        "book_diffs_per_s": round(book),
        "risk_decisions_per_s": round(risk),
        "ticks_to_risk_per_s": round(ticks),
        "tick_to_risk_p50_us": round(p50, 1),
        "tick_to_risk_p99_us": round(p99, 1),
    }
    if args.json:
        write_report(bench_report("tick_to_risk", result), args.json)
    else:
        for name, value in result.items():
            print(f"{name:24} {value:>12,}")


if __name__ == "__main__":
    main()
