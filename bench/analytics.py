"""Analytics refresh: how long one round of the analytics service takes for N accounts
that all changed, each with a full window of minutes kept (what a round costs on a
platform that has run for a day).

`python bench/analytics.py [--accounts N] [--minutes M] [--instances K] [--json [FILE]]`

It fills N `AccountSeries` with M minutes of valuations (random PnL, a deposit now and
then), then times `analytics()` for all of them with a benchmark's minute returns (beta
and correlation included), as `AnalyticsService.compute_round` does (without the bus).
With `--instances K`, K processes (the service's instances, partitioned by account) each
fill and compute N / K accounts, their rounds started together; the round is the
slowest instance's (one instance runs in this process, so `tradewind profile analytics`
sees it).
Issue #10's goal: 10,000 accounts in <= 10 s on the project's 2-core machine, while the
order path's latency stays unchanged (`bench/tick_to_order.py --analytics-accounts N`
measures that, with the rounds in the order path's process or, `--analytics-apart`, in
one of their own).
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from tradewind.benchmarks.analytics_series import T0, benchmark_returns, filled
from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, bench_report, write_report
from tradewind.domain.time_units import NS_PER_MINUTE


def _instance(
    accounts: int, minutes: int, seed: int, start: Barrier, done: Queue[tuple[float, float]]
) -> None:
    """One instance of several: `_round`, started with the others."""
    done.put(_round(accounts, minutes, seed, start.wait))


def _round(
    accounts: int, minutes: int, seed: int, wait: Callable[[], object]
) -> tuple[float, float]:
    """Fill `accounts` series, `wait`, time one round: (round s, filling s)."""
    rng = random.Random(seed)
    started = time.perf_counter()
    series = filled(accounts, minutes, rng)
    fill_s = time.perf_counter() - started
    now_ns = T0 + minutes * NS_PER_MINUTE
    benchmark = benchmark_returns(minutes, random.Random(7))
    wait()
    started = time.perf_counter()
    for account in series:
        account.analytics(now_ns, benchmark, "BTC/USDT")
    return time.perf_counter() - started, fill_s


def main() -> None:
    parser = OneLineErrorParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--minutes", type=int, default=1_440)
    parser.add_argument("--instances", type=int, default=1)
    add_json_option(parser)
    args = parser.parse_args()
    if args.accounts < 1 or args.minutes < 2 or args.instances < 1:
        parser.error("--accounts and --instances must be at least 1, --minutes at least 2")
    instances = min(args.instances, args.accounts)
    share = [args.accounts // instances + (i < args.accounts % instances) for i in range(instances)]
    if instances == 1:
        results = [_round(args.accounts, args.minutes, 7, lambda: None)]
    else:
        results = _in_processes(share, args.minutes)
    round_s = max(r for r, _ in results)
    fill_s = max(f for _, f in results)
    rounds = ", ".join(f"{r:.2f}" for r, _ in sorted(results))
    ms_per_account = round_s / max(share) * 1e3
    us_per_valuation = fill_s / (max(share) * args.minutes) * 1e6
    if args.json:
        figures = {
            "round_s": round_s,
            "ms_per_account": ms_per_account,
            "fill_s": fill_s,
            "us_per_valuation": us_per_valuation,
        }
        detail = {
            "accounts": args.accounts,
            "minutes": args.minutes,
            "instances": instances,
            "rounds_s": sorted(r for r, _ in results),
        }
        write_report(bench_report("analytics", figures, detail), args.json)
        return
    print(
        f"{args.accounts} accounts x {args.minutes} minutes, {instances} instance(s): round "
        f"{round_s:.2f} s (each: {rounds}; {ms_per_account:.2f} ms per account); "
        f"filling the series took {fill_s:.1f} s ({us_per_valuation:.1f} us per valuation)"
    )


def _in_processes(share: list[int], minutes: int) -> list[tuple[float, float]]:
    """One process per instance (`share[i]` accounts each), their rounds started together."""
    context = multiprocessing.get_context("fork")
    start, done = context.Barrier(len(share)), context.Queue()
    workers = [
        context.Process(target=_instance, args=(n, minutes, 7 + i, start, done))
        for i, n in enumerate(share)
    ]
    for worker in workers:
        worker.start()
    results = [done.get() for _ in workers]
    for worker in workers:
        worker.join()
    return results


if __name__ == "__main__":
    main()
