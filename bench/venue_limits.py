"""Accounts behind a few addresses under a venue's published limits:
`python bench/venue_limits.py [--accounts 200] [--egress 1 4] [--orders 8] [--json]`.

The simulated exchange is served as its own process with Binance's limits published and
enforced (request weight per client address, 6,000 a minute; new orders per account),
and execution runs in this process (memory bus, SQLite), pacing by those limits
(`TRADEWIND_EXECUTION_RATE_LIMITS=auto`), with its accounts spread over `--egress K`
loopback addresses (127.0.0.2 …; `TRADEWIND_EGRESS`). `--accounts` accounts holding
USDT are stored; the figures:

- sessions: from execution's start until every account's session is open (each opening
  reconciles the account: balances, open orders, its trade history);
- wave: `--orders` market buys per account (round the venue's USDT pairs, ~12 USDT
  each) published at once on orders.approved, until every one is filled or rejected;
- the venue calls execution made per kind (and their weight by the venue's costs), the
  weight per order of the wave, how many accounts' waves one address carries a minute
  (6,000 over a wave's weight), and the requests the venue refused for rate (its own
  count: 429, 418, -1015). The market list (read once per venue) and the order streams'
  subscriptions are not in execution's count.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import httpx

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, bench_report, case_figures, write_report
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.memory import MemoryBus
from tradewind.chaos.platform import serving_venue
from tradewind.domain.commands import OrderIntent
from tradewind.domain.events import OrderFilled, OrderRejected
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.runtime.logging import configure_logging, get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, ServiceContext
from tradewind.runtime.settings import Settings
from tradewind.security.encryption import Encryptor
from tradewind.security.master_keys import generate_master_key, load_master_keys
from tradewind.services.execution import ExecutionService
from tradewind.services.execution.credentials import key_context, secret_context
from tradewind.store.accounts import add_account
from tradewind.store.database import Database
from tradewind.store.users import create_user
from tradewind.venues.directory import CcxtVenues
from tradewind.venues.profile import Call
from tradewind.venues.simulated.profile import OVER_HTTP

ORDER_USDT = Decimal(12)


async def venue_symbols(http: httpx.AsyncClient) -> list[tuple[str, Decimal]]:
    """The venue's USDT pairs, each with a quantity worth about `ORDER_USDT` (a multiple
    of its step)."""
    info = (await http.get("/api/v3/exchangeInfo")).json()
    tickers = (await http.get("/api/v3/ticker/price")).json()
    prices = {p["symbol"]: Decimal(p["price"]) for p in tickers}
    chosen = []
    for symbol in info["symbols"]:
        if symbol["quoteAsset"] != "USDT" or symbol["symbol"] not in prices:
            continue
        lot = next(f for f in symbol["filters"] if f["filterType"] == "LOT_SIZE")
        step = Decimal(lot["stepSize"])
        steps = (ORDER_USDT / prices[symbol["symbol"]] / step).to_integral_value(ROUND_CEILING)
        chosen.append((f"{symbol['baseAsset']}/USDT", steps * step))
    if not chosen:
        raise RuntimeError("the venue lists no USDT pair")
    return chosen


async def store_accounts(
    database: Database, encryptor: Encryptor, http: httpx.AsyncClient, count: int
) -> list[str]:
    ids = []
    for _ in range(count):
        created = (await http.post("/sim/v1/accounts", json={"balances": {"USDT": "10000"}})).json()
        account_id = uuid.uuid4().hex
        async with database.transaction() as conn:
            user = await create_user(
                conn, email_index=uuid.uuid4().hex, email_encrypted="-", password_hash="-",
                roles=("trader",),
            )  # fmt: skip
            await add_account(
                conn, user_id=user.id, venue="sim", label="bench",
                api_key_masked=created["api_key"][:4] + "…",
                api_key_encrypted=encryptor.encrypt(
                    created["api_key"], key_context(account_id)
                ).to_json(),
                api_secret_encrypted=encryptor.encrypt(
                    created["api_secret"], secret_context(account_id)
                ).to_json(),
                valuation_asset="USDT", account_id=account_id,
            )  # fmt: skip
        ids.append(account_id)
    return ids


def buy(account: str, n: int, symbol: str, quantity: Decimal) -> OrderIntent:
    return OrderIntent(
        account_id=account, bot_id="bench", intent_id=f"w{n}",
        instrument=Instrument.parse("sim", symbol), side=Side.BUY,
        order_type=OrderType.MARKET, quantity=quantity, ts_ns=time.time_ns(),
    )  # fmt: skip


async def until(condition: Callable[[], bool]) -> None:
    """Poll `condition` (a metric: there is no event to wait on) until it holds."""
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0.2)


def sample_sum(metrics: RuntimeMetrics, name: str, **labels: str) -> float:
    total = 0.0
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def calls_by_kind(metrics: RuntimeMetrics) -> Counter[tuple[str, str]]:
    seen: Counter[tuple[str, str]] = Counter()
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "tradewind_execution_venue_calls_total":
                seen[(sample.labels["call"], sample.labels["outcome"])] += int(sample.value)
    return seen


def weight_of(calls: Counter[tuple[str, str]]) -> int:
    """The request weight of `calls` by the venue's costs (all-symbol open orders are
    counted at the one-symbol cost: the metric does not tell them apart)."""
    rules = OVER_HTTP.limits
    assert rules is not None
    return sum(rules.cost(Call(name)) * n for (name, _), n in calls.items())


async def run(accounts: int, egress: int, orders: int, work: Path) -> dict[str, Any]:
    pool = [f"127.0.0.{2 + n}" for n in range(egress)]
    os.environ["TRADEWIND_EGRESS"] = ",".join(pool)
    os.environ["TRADEWIND_EXECUTION_RATE_LIMITS"] = "auto"
    with serving_venue(work, "--seed", "3", limits=True) as venue_url:
        database = Database(f"sqlite:///{work / 'bench.db'}")
        await database.migrate()
        encryptor = Encryptor(load_master_keys(keys=generate_master_key()))
        async with httpx.AsyncClient(base_url=venue_url, timeout=60) as http:
            listed = await venue_symbols(http)
            symbols = [listed[n % len(listed)] for n in range(orders)]  # round the pairs
            ids = await store_accounts(database, encryptor, http, accounts)
        bus = MemoryBus(partitions=8)
        await bus.start()
        ended: dict[str, str] = {}
        wave_size = accounts * len(symbols)
        wave_done = asyncio.Event()

        async def record(batch: list[Envelope]) -> None:
            for env in batch:
                if isinstance(env.payload, OrderFilled | OrderRejected):
                    ended[env.payload.client_order_id] = type(env.payload).__name__
            if len(ended) >= wave_size:
                wave_done.set()

        await bus.subscribe((topics.ORDERS_EVENTS,), "bench-ended", record)
        metrics = RuntimeMetrics()
        service = ExecutionService()
        resources = Resources(
            venues=CcxtVenues({"sim": venue_url}), database=database, encryptor=encryptor
        )
        began = time.monotonic()
        await service.start(
            ServiceContext(Settings(), bus, get_logger("bench"), metrics, resources)
        )
        await until(lambda: sample_sum(metrics, "tradewind_execution_sessions") >= accounts)
        sessions_s = time.monotonic() - began
        at_sessions = calls_by_kind(metrics)
        wave = [
            envelope(buy(account, n, symbol, quantity), account)
            for account in ids
            for n, (symbol, quantity) in enumerate(symbols)
        ]
        began = time.monotonic()
        await bus.publish_batch(topics.ORDERS_APPROVED, wave)
        await wave_done.wait()
        wave_s = time.monotonic() - began
        after = calls_by_kind(metrics)
        await service.stop()
        await bus.close()
        await database.close()
        async with httpx.AsyncClient(base_url=venue_url, timeout=60) as http:
            refused = (await http.get("/sim/v1/submissions")).json()["rate_limited"]
    wave_calls = after - at_sessions
    outcomes = Counter(ended.values())
    return {
        "accounts": accounts,
        "egress": egress,
        "orders": len(wave),
        "filled": outcomes["OrderFilled"],
        "rejected": outcomes["OrderRejected"],
        "sessions_s": round(sessions_s, 1),
        "wave_s": round(wave_s, 1),
        "orders_per_s": round(len(wave) / wave_s, 1),
        "session_calls": {f"{c} {o}": n for (c, o), n in sorted(at_sessions.items())},
        "session_weight_per_account": round(weight_of(at_sessions) / accounts, 1),
        "wave_calls": {f"{c} {o}": n for (c, o), n in sorted(wave_calls.items()) if n},
        "wave_weight_per_order": round(weight_of(wave_calls) / len(wave), 2),
        "venue_refused_for_rate": refused,
        "accounts_waves_per_address_minute": math.floor(
            6000 / max(weight_of(wave_calls) / accounts, 1e-9)
        ),
    }


def main() -> None:
    parser = OneLineErrorParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--egress", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--orders", type=int, default=8, help="orders per account in the wave")
    add_json_option(parser)
    args = parser.parse_args()
    if args.accounts < 1 or args.orders < 1 or min(args.egress) < 1 or max(args.egress) > 200:
        parser.error("--accounts and --orders must be at least 1, --egress 1 to 200")
    configure_logging("warning", "console", stream=sys.stderr)
    results = []
    for egress in args.egress:
        with tempfile.TemporaryDirectory(prefix="tw-limits-") as work:
            results.append(asyncio.run(run(args.accounts, egress, args.orders, Path(work))))
        if not args.json:
            print(json.dumps(results[-1], indent=1), flush=True)
    if args.json:
        figures = case_figures(results, ("accounts", "egress"))
        write_report(bench_report("venue_limits", figures, {"results": results}), args.json)


if __name__ == "__main__":
    main()
