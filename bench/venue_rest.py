"""REST order round trips through unmodified ccxt against `tradewind venue serve`:
`python bench/venue_rest.py [--orders N] [--concurrency C ...] [--json]`.

Starts the simulated exchange as its own process (so client and server do not share
one interpreter), funds an account with one faucet call, then times limit orders placed
far from the market and canceled again: one round trip = one POST /api/v3/order or one
DELETE /api/v3/order, signed, through ccxt's `binance` with its client-side rate
limiter off (the server's own weight limits are raised for the run).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from decimal import Decimal

import httpx

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, bench_report, case_figures, write_report
from tradewind.bus.tansu import free_port, port_open
from tradewind.domain.model import OrderType, Side
from tradewind.venues.port import OrderRequest
from tradewind.venues.simulated.client import ccxt_session


async def _round_trips(base: str, orders: int, concurrency: int) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post("/sim/v1/accounts", json={"balances": {"USDT": "100000000"}})
        response.raise_for_status()
        creds = response.json()
    venue = ccxt_session(
        base, base.replace("http://", "ws://"), creds["api_key"], creds["api_secret"]
    )
    venue.exchange.enableRateLimit = False
    book = await venue.fetch_order_book("BTC/USDT", 5)
    far = (book.bids[0][0] * Decimal("0.5")).quantize(Decimal("0.01"))
    latencies: list[float] = []
    counter = iter(range(orders))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await venue.place_order(
                OrderRequest(
                    client_order_id=f"bench-{concurrency}-{i}",
                    symbol="BTC/USDT",
                    side=Side.BUY,
                    order_type=OrderType.LIMIT,
                    quantity=Decimal("0.001"),
                    price=far,
                )
            )
            placed = time.perf_counter()
            await venue.cancel_order("BTC/USDT", f"bench-{concurrency}-{i}")
            latencies.extend((placed - started, time.perf_counter() - placed))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await venue.close()
    latencies.sort()
    return {
        "concurrency": concurrency,
        "round_trips": 2 * orders,
        "round_trips_per_s": 2 * orders / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(0.99 * len(latencies)) - 1] * 1000,
    }


def main() -> None:
    parser = OneLineErrorParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1000, help="orders per run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    add_json_option(parser)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tradewind.cli",
            "venue",
            "serve",
            "--port",
            str(port),
            "--unlimited",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port, 0.2):
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the venue server did not start (exit {server.poll()})")
            time.sleep(0.1)
        time.sleep(1.0)  # let the liquidity provider quote
        base = f"http://127.0.0.1:{port}"
        results = [asyncio.run(_round_trips(base, args.orders, c)) for c in args.concurrency]
    finally:
        server.terminate()
        server.wait(10)
    if args.json:
        figures = case_figures(results, ("concurrency",), ("round_trips_per_s", "p50_ms", "p99_ms"))
        write_report(bench_report("venue_rest", figures, {"results": results}), args.json)
        return
    print("| concurrency | round trips | round trips/s | p50 (ms) | p99 (ms) |")
    print("|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['concurrency']} | {r['round_trips']:,} | {r['round_trips_per_s']:,.0f} "
            f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |"
        )


if __name__ == "__main__":
    main()
