"""Matching-engine throughput, in process on one core: `python bench/matching.py
[--orders N] [--resting-stops N] [--json] [--profile]`.

Replays a seeded, realistic mix against one BTC/USDT book through the public `Decimal`
API (`submit_limit`, `cancel_order`, `submit_market`) with 20 funded accounts:

* 70 % limit orders (GTC, a few IOC) around a mid price that random-walks; about one in
  eight crosses the spread and takes, the rest rest within 25 ticks of the mid,
* 20 % cancels of an order this script saw rest, mostly a recent one (some have filled
  meanwhile and are refused with -2011, as on a real venue),
* 10 % market orders by base quantity.

With `--resting-stops N`, N stop-loss and take-profit orders (half of them stop-limits)
wait far from the market on both sides during the timed run, so every trade looks at the
nearest stop each way (they are placed after the warm-up and never trigger).

The operations and their `Decimal` arguments are generated before the clock starts;
everything else (filters, conversions, matching, ledger, result values) is timed.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import random
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, bench_report, write_report
from tradewind.domain.model import Instrument, Side, TimeInForce
from tradewind.venues.simulated.matching import (
    InstrumentSpec,
    MatchingEngine,
    MatchingError,
    MatchingOrderStatus,
    StopType,
    SymbolFilters,
)

SYMBOL = "BTC/USDT"
TICK = Decimal("0.01")
STEP = Decimal("0.00001")
ACCOUNTS = [f"acct-{i}" for i in range(20)]
LIMIT, CANCEL, MARKET = 0, 1, 2

Op = tuple[int, str, Side, Decimal, Decimal, TimeInForce]


def build_engine() -> MatchingEngine:
    """An engine with one BTC/USDT book and 20 accounts holding plenty of both assets."""
    engine = MatchingEngine()
    filters = SymbolFilters(
        tick_size=TICK,
        step_size=STEP,
        min_price=TICK,
        max_price=Decimal("1000000"),
        min_qty=STEP,
        max_qty=Decimal("9000"),
        min_notional=Decimal("5"),
    )
    engine.add_instrument(InstrumentSpec(Instrument.parse("sim", SYMBOL), filters))
    for account in ACCOUNTS:
        engine.deposit(account, "USDT", Decimal("1000000000000"))
        engine.deposit(account, "BTC", Decimal("100000000"))
    return engine


def generate(n: int, seed: int) -> list[Op]:
    """`n` operations: (kind, account, side, quantity, price, time in force)."""
    rng = random.Random(seed)
    mid = 3_000_000  # ticks: 30 000.00 USDT
    prices: dict[int, Decimal] = {}
    quantities = [STEP * q for q in range(1, 2001)]  # 0.00001 .. 0.02 BTC
    ops: list[Op] = []
    for _ in range(n):
        if rng.random() < 0.05:
            mid += rng.choice((-1, 1))
        account = rng.choice(ACCOUNTS)
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        roll = rng.random()
        quantity = quantities[rng.randrange(20, 2000)]
        if roll < 0.70:
            distance = rng.randint(-3, 25)  # <= 0 may cross the spread
            ticks = mid - distance if side is Side.BUY else mid + distance
            price = prices.get(ticks) or prices.setdefault(ticks, TICK * ticks)
            tif = TimeInForce.IOC if rng.random() < 0.05 else TimeInForce.GTC
            ops.append((LIMIT, account, side, quantity, price, tif))
        elif roll < 0.90:
            ops.append((CANCEL, account, side, quantity, TICK, TimeInForce.GTC))
        else:
            ops.append((MARKET, account, side, quantities[rng.randrange(1, 300)], TICK, tif))
    return ops


def replay(engine: MatchingEngine, ops: list[Op], seed: int) -> dict[str, int]:
    """Run `ops` against `engine`; returns counts of what happened."""
    rng = random.Random(seed + 1)
    resting: list[tuple[str, int]] = []  # (account, order id) seen resting
    submit_limit = engine.submit_limit
    submit_market = engine.submit_market
    cancel_order = engine.cancel_order
    open_statuses = (MatchingOrderStatus.NEW, MatchingOrderStatus.PARTIALLY_FILLED)
    trades = refused = 0
    ts = 1_700_000_000_000_000_000
    for kind, account, side, quantity, price, tif in ops:
        ts += 1000
        try:
            if kind == LIMIT:
                result = submit_limit(
                    account, SYMBOL, side, quantity, price, time_in_force=tif, ts_ns=ts
                )
                trades += len(result.trades)
                if result.order.status in open_statuses:
                    resting.append((account, result.order.order_id))
            elif kind == CANCEL:
                if resting:
                    # Mostly recent orders, as a market maker requoting would cancel.
                    i = len(resting) - 1 - min(int(rng.expovariate(1 / 30)), len(resting) - 1)
                    resting[i], resting[-1] = resting[-1], resting[i]
                    owner, order_id = resting.pop()
                    cancel_order(owner, SYMBOL, order_id=order_id, ts_ns=ts)
            else:
                result = submit_market(account, SYMBOL, side, quantity=quantity, ts_ns=ts)
                trades += len(result.trades)
        except MatchingError:
            refused += 1
    return {"trades": trades, "refused": refused}


def rest_stops(engine: MatchingEngine, count: int, seed: int) -> None:
    """`count` stops waiting 40-60 % away from the market, that the run never reaches:
    sell stop-losses and buy take-profits below, buy stop-losses and sell take-profits
    above."""
    rng = random.Random(seed + 2)
    last = engine.last_price(SYMBOL) or Decimal(30_000)
    ts = 1_600_000_000_000_000_000
    for i in range(count):
        side = Side.BUY if i % 2 else Side.SELL
        stop_type = StopType.STOP_LOSS if (i // 2) % 2 else StopType.TAKE_PROFIT
        above = (stop_type is StopType.STOP_LOSS) == (side is Side.BUY)
        distance = Decimal(rng.randint(40_00, 60_00)) / 100_00
        stop = (last * (1 + distance if above else 1 - distance)).quantize(TICK)
        price = stop if i % 4 < 2 else None
        engine.submit_stop(
            rng.choice(ACCOUNTS), SYMBOL, side, stop_type, STEP * rng.randint(500, 2000), stop,
            price=price, ts_ns=ts + i,
        )  # fmt: skip


def timed_run(
    n: int, seed: int, profile: bool, stops: int = 0
) -> tuple[float, dict[str, int], MatchingEngine]:
    """One replay of `n` operations on a fresh, warmed-up engine; returns seconds taken."""
    engine = build_engine()
    ops = generate(n, seed)
    # Warm the book up so the timed run starts from a populated, steady state.
    replay(engine, generate(min(n, 20_000), seed + 100), seed + 100)
    rest_stops(engine, stops, seed)
    # Move the pre-generated operations (and the warm-up state) out of the collector's
    # sight: a server does not hold 10**5 pending requests, so rescanning them on
    # every full collection would charge the engine for the harness.
    gc.collect()
    gc.freeze()
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    counts = replay(engine, ops, seed)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - start
    gc.unfreeze()
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(20)
    return elapsed, counts, engine


def run(n: int, seed: int, repeat: int, profile: bool, stops: int = 0) -> dict[str, Any]:
    """Replay the mix `repeat` times; report the best and the median run."""
    times = []
    for _ in range(repeat):
        elapsed, counts, engine = timed_run(n, seed, profile, stops)
        times.append(elapsed)
    best = min(times)
    median = statistics.median(times)
    ops = generate(n, seed)
    depth = engine.depth(SYMBOL, limit=1_000_000)
    return {
        "benchmark": "matching",
        "python": sys.version.split()[0],
        "orders": n,
        "limit": sum(1 for op in ops if op[0] == LIMIT),
        "cancel": sum(1 for op in ops if op[0] == CANCEL),
        "market": sum(1 for op in ops if op[0] == MARKET),
        "trades": counts["trades"],
        "refused": counts["refused"],
        "resting_levels": len(depth.bids) + len(depth.asks),
        "resting_stops": stops,
        "repeats": repeat,
        "best_seconds": round(best, 4),
        "orders_per_second": round(n / best),
        "median_orders_per_second": round(n / median),
        "microseconds_per_order": round(best / n * 1e6, 3),
        "profiled": profile,
    }


def main() -> None:
    parser = OneLineErrorParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=300_000, help="operations to replay")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="runs; the best is reported")
    add_json_option(parser)
    parser.add_argument("--profile", action="store_true", help="cProfile the run (slower)")
    parser.add_argument(
        "--resting-stops", type=int, default=0, help="stop orders waiting during the run"
    )
    args = parser.parse_args()
    report = run(args.orders, args.seed, args.repeat, args.profile, args.resting_stops)
    if args.json:
        names = ("best_seconds", "orders_per_second", "median_orders_per_second")
        figures = {name: report[name] for name in (*names, "microseconds_per_order")}
        write_report(bench_report("matching", figures, report), args.json)
        return
    width = max(len(k) for k in report)
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
