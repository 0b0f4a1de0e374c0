"""Analytics refresh: how long one round of the analytics service takes for N accounts
that all changed, each with a full window of minutes kept (what a round costs on a
platform that has run for a day).

`python bench/analytics.py [--accounts N] [--minutes M]`

It fills N `AccountSeries` with M minutes of valuations (random PnL, a deposit now and
then), then times `analytics()` for all of them with a benchmark's minute returns (beta
and correlation included), as `AnalyticsService.compute_round` does (without the bus).
Issue #10's goal: 10,000 accounts in <= 10 s on the project's 2-core machine, while the
order path's latency stays unchanged (the round yields to the event loop every 25
accounts; `bench/tick_to_order.py --analytics-accounts N` measures that).
"""

from __future__ import annotations

import random
import time

from tradewind.benchmarks.analytics_series import MINUTE_NS, T0, benchmark_returns, filled
from tradewind.benchmarks.command_line import OneLineErrorParser


def main() -> None:
    parser = OneLineErrorParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--minutes", type=int, default=1_440)
    args = parser.parse_args()
    rng = random.Random(7)
    started = time.perf_counter()
    series = filled(args.accounts, args.minutes, rng)
    fill_s = time.perf_counter() - started
    now_ns = T0 + args.minutes * MINUTE_NS
    benchmark = benchmark_returns(args.minutes, rng)
    started = time.perf_counter()
    for account in series:
        account.analytics(now_ns, benchmark, "BTC/USDT")
    round_s = time.perf_counter() - started
    print(
        f"{args.accounts} accounts x {args.minutes} minutes: round {round_s:.2f} s "
        f"({round_s / args.accounts * 1e3:.2f} ms per account); "
        f"filling the series took {fill_s:.1f} s "
        f"({fill_s / (args.accounts * args.minutes) * 1e6:.1f} us per valuation)"
    )


if __name__ == "__main__":
    main()
