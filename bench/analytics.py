"""Analytics refresh: how long one round of the analytics service takes for N accounts
that all changed, each with a full window of minutes kept (what a round costs on a
platform that has run for a day).

`python bench/analytics.py [--accounts N] [--minutes M]`

It fills N `AccountSeries` with M minutes of valuations (random PnL, a deposit now and
then), then times `analytics()` for all of them, as `AnalyticsService.compute_round`
does (without the bus). Issue #10's goal: 10,000 accounts in <= 10 s on the project's
2-core machine, while the order path's latency stays unchanged (the round yields to the
event loop every 25 accounts).
"""

from __future__ import annotations

import random
import time
from decimal import Decimal

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.services.analytics.tracker import AccountSeries

MINUTE_NS = 60 * 1_000_000_000
T0 = 1_800_000_000 * 1_000_000_000


def filled(accounts: int, minutes: int, rng: random.Random) -> list[AccountSeries]:
    out = []
    for n in range(accounts):
        series = AccountSeries(f"acct-{n}", minutes)
        equity, realized, deposits = Decimal(1000), Decimal(0), Decimal(1000)
        for minute in range(minutes):
            pnl = Decimal(rng.randint(-200, 200)) / 100
            realized += pnl
            if minute % 600 == 599:
                deposits += 100
            equity = deposits + realized
            series.add(T0 + minute * MINUTE_NS, "USDT", equity, realized, Decimal(0), Decimal(0))
        out.append(series)
    return out


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
    started = time.perf_counter()
    for account in series:
        account.analytics(now_ns)
    round_s = time.perf_counter() - started
    print(
        f"{args.accounts} accounts x {args.minutes} minutes: round {round_s:.2f} s "
        f"({round_s / args.accounts * 1e3:.2f} ms per account); "
        f"filling the series took {fill_s:.1f} s "
        f"({fill_s / (args.accounts * args.minutes) * 1e6:.1f} us per valuation)"
    )


if __name__ == "__main__":
    main()
