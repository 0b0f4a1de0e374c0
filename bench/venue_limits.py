"""Accounts behind a few addresses under a venue's published limits:
`python bench/venue_limits.py [--accounts 200] [--egress 1 4] [--orders 8]
[--dca-minutes 3] [--reconcile-s S] [--json]`.

The simulated exchange is served as its own process with Binance's limits published and
enforced (request weight per client address, 6,000 a minute; new orders per account),
and execution runs in this process (memory bus, SQLite), pacing by those limits
(`TRADEWIND_EXECUTION_RATE_LIMITS=auto`), with its accounts spread over `--egress K`
loopback addresses (127.0.0.2 …; `TRADEWIND_EGRESS`). `--accounts` accounts holding
USDT are stored; the run, in phases:

- sessions: from execution's start until every account's session is open (each opening
  reconciles the account: balances, open orders, its trade history);
- steady (DCA, `--dca-minutes M`, 0 = off): account i of N buys ~12 USDT of one pair
  (round the venue's USDT pairs) at market once a minute, at i/N of each minute, for M
  minutes, published on orders.approved as the wave is;
- wave: `--orders` market buys per account (round the pairs, ~12 USDT each; 0 = none)
  published at once, in the middle of the DCA (at M/2 minutes), until every one is
  filled or rejected. Steady is the DCA's time outside the wave's.

Each phase's venue calls per kind are execution's (the metric), read at its ends; a
phase's requests and weight (by the venue's costs) per order are those of its orders'
own calls (placements, lookups) over the orders sent in it, the DCA's orders that went
out during the wave counted in the wave's. Reconciliation's reads (balances, open
orders, trade history) are counted apart, per periodic round (the rounds after the
sessions opened, at `--reconcile-s`, by default the platform's interval). The venue's
own count of the requests it refused for rate (429, 418, -1015) should stay 0. The
market list (read once per venue) and the order streams' subscriptions (4 weight an
account, paced as weight) are not in execution's count.

How many accounts one address serves, from those measurements (W = 6,000 weight a
minute, Q = 61,000 requests per 5 minutes / 5, K = `BACKGROUND_KEEP`, the share of each
window reconciliation leaves to orders; R = the reconciliation interval in minutes):

    steady: min(W / (d + r), W * (1 - K) / r, Q / (dq + rq))
        d, dq = steady weight, requests per order (one order a minute)
        r, rq = weight, requests per periodic round / R
    waves:  W / (orders per account * wave weight per order)   (accounts' waves a minute)

A run whose rounds all come after it (M minutes shorter than R) has no steady figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
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
from tradewind.domain.client_order_ids import client_order_id_for
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
from tradewind.services.execution.gate import BACKGROUND_KEEP
from tradewind.store.accounts import add_account
from tradewind.store.database import Database
from tradewind.store.users import create_user
from tradewind.venues.directory import CcxtVenues
from tradewind.venues.profile import Call, RateRules
from tradewind.venues.simulated.profile import OVER_HTTP

ORDER_USDT = Decimal(12)
MINUTE_S = 60.0
BOT = "bench"
#: How long the bench waits for a group's orders to end: far past the order deadline
#: (30 s), after which every order not sent is rejected.
SETTLE_S = 300.0
#: The calls only reconciliation makes here (nobody asks for balances, and placements'
#: answers carry their fills): counted per round, apart from the orders' own calls.
RECONCILIATION = frozenset(
    c.label for c in (Call.FETCH_BALANCES, Call.FETCH_OPEN_ORDERS, Call.FETCH_FILLS)
)
Calls = Counter[tuple[str, str]]  # (call, outcome) -> how many


def venue_rules() -> RateRules:
    """The limits the served venue publishes (Binance's)."""
    rules = OVER_HTTP.limits
    assert rules is not None
    return rules


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


def buy(account: str, intent_id: str, symbol: str, quantity: Decimal) -> Envelope:
    intent = OrderIntent(
        account_id=account, bot_id=BOT, intent_id=intent_id,
        instrument=Instrument.parse("sim", symbol), side=Side.BUY,
        order_type=OrderType.MARKET, quantity=quantity, ts_ns=time.time_ns(),
    )  # fmt: skip
    return envelope(intent, account)


def dca_times(accounts: int, minutes: float) -> list[tuple[float, int, int]]:
    """(seconds from the DCA's start, account index, minute) of every DCA order, in
    time order: account i buys at (k + i/N) minutes, k = 0, 1, …, before `minutes`."""
    return sorted(
        ((k + i / accounts) * MINUTE_S, i, k)
        for k in range(math.ceil(minutes))
        for i in range(accounts)
        if k + i / accounts < minutes
    )


async def place_dca(
    bus: MemoryBus,
    times: list[tuple[float, int, int]],
    buys: Callable[[int, int], Envelope],
    began: float,
) -> None:
    """Publish each DCA order at its time (`began`, monotonic), those due together in
    one batch."""
    at = 0
    while at < len(times):
        await asyncio.sleep(max(0.0, began + times[at][0] - time.monotonic()))
        now = time.monotonic() - began
        due = []
        while at < len(times) and times[at][0] <= now:
            due.append(buys(times[at][1], times[at][2]))
            at += 1
        await bus.publish_batch(topics.ORDERS_APPROVED, due)


class Outcomes:
    """How each of the bench's orders ended (its first `OrderFilled` or `OrderRejected`),
    by group ("wave", "dca")."""

    def __init__(self) -> None:
        self.group: dict[str, str] = {}  # client order id -> group
        self.ended: dict[str, str] = {}  # client order id -> filled / execution / venue
        self.count: Counter[tuple[str, str]] = Counter()  # (group, how) -> orders

    def expect(self, group: str, account: str, intent_id: str) -> None:
        self.group[client_order_id_for(account, BOT, intent_id)] = group

    def done(self, group: str) -> int:
        return sum(n for (g, _), n in self.count.items() if g == group)

    async def settled(self, group: str, count: int) -> None:
        """Until `count` orders of `group` ended, or `SETTLE_S` passed (a run that left
        some unsettled says how many rather than hang)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until(lambda: self.done(group) >= count), SETTLE_S)

    async def record(self, batch: Sequence[Envelope]) -> None:
        for env in batch:
            event = env.payload
            if not isinstance(event, OrderFilled | OrderRejected):
                continue
            cid = event.client_order_id
            if cid in self.ended or cid not in self.group:
                continue
            how = "filled" if isinstance(event, OrderFilled) else event.source
            self.ended[cid] = how
            self.count[(self.group[cid], how)] += 1


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


def calls_by_kind(metrics: RuntimeMetrics) -> Calls:
    seen: Calls = Counter()
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "tradewind_execution_venue_calls_total":
                seen[(sample.labels["call"], sample.labels["outcome"])] += int(sample.value)
    return seen


def reconciliations(metrics: RuntimeMetrics) -> int:
    return int(sample_sum(metrics, "tradewind_execution_reconciliations_total"))


def reached(calls: Calls, kinds: Callable[[str], bool] = lambda call: True) -> Calls:
    """The calls of `kinds` that reached the venue (not those that never left:
    `unreached`)."""
    return Counter({(c, o): n for (c, o), n in calls.items() if o != "unreached" and kinds(c)})


def weight_of(calls: Calls) -> int:
    """The request weight of `calls` by the venue's costs (all-symbol open orders are
    counted at the one-symbol cost: the metric does not tell them apart)."""
    return sum(venue_rules().cost(Call(name)) * n for (name, _), n in calls.items())


def ratio(part: float, whole: float, digits: int = 2) -> float | None:
    return round(part / whole, digits) if whole else None


def shown(calls: Calls) -> dict[str, int]:
    return {f"{c} {o}": n for (c, o), n in sorted(calls.items()) if n}


def orders_figures(phase: str, calls: Calls) -> dict[str, Any]:
    """A phase's orders sent, and its orders' own requests and weight per order sent."""
    own = reached(calls, lambda call: call not in RECONCILIATION)
    sent = sum(n for (c, _), n in own.items() if c == Call.PLACE_ORDER.label)
    return {
        f"{phase}_calls": shown(calls),
        f"{phase}_orders_sent": sent,
        f"{phase}_requests_per_order": ratio(sum(own.values()), sent),
        f"{phase}_weight_per_order": ratio(weight_of(own), sent),
    }


def accounts_served(
    figures: dict[str, Any], interval_s: float, wave_orders_per_account: int
) -> dict[str, Any]:
    """How many accounts one address serves (the module's formulas): in steady state
    (one DCA order a minute and reconciliation's share), and waves a minute."""
    weight_window = next(w for w in venue_rules().per_address if not w.counts_requests)
    requests_window = next(w for w in venue_rules().per_address if w.counts_requests)
    weight_minute = weight_window.limit * MINUTE_S / weight_window.interval_s
    requests_minute = requests_window.limit * MINUTE_S / requests_window.interval_s
    out: dict[str, Any] = {"accounts_per_address_steady": None}
    d, dq = figures["steady_weight_per_order"], figures["steady_requests_per_order"]
    r_round = figures["reconcile_weight_per_round"]
    rq_round = figures["reconcile_requests_per_round"]
    if d is not None and r_round is not None:
        rounds_a_minute = MINUTE_S / interval_s
        r, rq = r_round * rounds_a_minute, rq_round * rounds_a_minute
        out["steady_weight_per_account_minute"] = round(d + r, 2)
        out["steady_requests_per_account_minute"] = round(dq + rq, 2)
        out["accounts_per_address_steady"] = math.floor(
            min(
                weight_minute / (d + r),
                weight_minute * (1 - BACKGROUND_KEEP) / r if r else math.inf,
                requests_minute / (dq + rq),
            )
        )
    wave = figures["wave_weight_per_order"]
    out["accounts_waves_per_address_minute"] = (
        math.floor(weight_minute / (wave_orders_per_account * wave)) if wave else None
    )
    return out


async def run(
    accounts: int, egress: int, orders: int, dca_minutes: float, work: Path
) -> dict[str, Any]:
    pool = [f"127.0.0.{2 + n}" for n in range(egress)]
    os.environ["TRADEWIND_EGRESS"] = ",".join(pool)
    os.environ["TRADEWIND_EXECUTION_RATE_LIMITS"] = "auto"
    settings = Settings()
    with serving_venue(work, "--seed", "3", limits=True) as venue_url:
        database = Database(f"sqlite:///{work / 'bench.db'}")
        await database.migrate()
        encryptor = Encryptor(load_master_keys(keys=generate_master_key()))
        async with httpx.AsyncClient(base_url=venue_url, timeout=60) as http:
            listed = await venue_symbols(http)
            ids = await store_accounts(database, encryptor, http, accounts)
        bus = MemoryBus(partitions=8)
        await bus.start()
        outcomes = Outcomes()
        times = dca_times(accounts, dca_minutes)
        for _, i, k in times:
            outcomes.expect("dca", ids[i], f"d{k}")
        for account in ids:
            for n in range(orders):
                outcomes.expect("wave", account, f"w{n}")

        def dca_buy(i: int, k: int) -> Envelope:
            return buy(ids[i], f"d{k}", *listed[i % len(listed)])  # one pair per account

        await bus.subscribe((topics.ORDERS_EVENTS,), "bench-ended", outcomes.record)
        metrics = RuntimeMetrics()
        service = ExecutionService()
        resources = Resources(
            venues=CcxtVenues({"sim": venue_url}), database=database, encryptor=encryptor
        )
        began = time.monotonic()
        await service.start(ServiceContext(settings, bus, get_logger("bench"), metrics, resources))
        await until(lambda: sample_sum(metrics, "tradewind_execution_sessions") >= accounts)
        sessions_s = time.monotonic() - began
        at_sessions, rounds_at_sessions = calls_by_kind(metrics), reconciliations(metrics)
        began = time.monotonic()
        dca = asyncio.create_task(place_dca(bus, times, dca_buy, began))
        await asyncio.sleep(dca_minutes * MINUTE_S / 2)
        wave = [
            buy(account, f"w{n}", *listed[n % len(listed)])  # round the pairs
            for account in ids
            for n in range(orders)
        ]
        before_wave = calls_by_kind(metrics)
        wave_began = time.monotonic()
        await bus.publish_batch(topics.ORDERS_APPROVED, wave)
        await outcomes.settled("wave", len(wave))
        wave_s = time.monotonic() - wave_began
        after_wave = calls_by_kind(metrics)
        await dca
        await outcomes.settled("dca", len(times))
        at_end, rounds_at_end = calls_by_kind(metrics), reconciliations(metrics)
        await service.stop()
        await bus.close()
        await database.close()
        async with httpx.AsyncClient(base_url=venue_url, timeout=60) as http:
            refused = (await http.get("/sim/v1/submissions")).json()["rate_limited"]
    wave_calls = after_wave - before_wave
    steady_calls = at_end - at_sessions - wave_calls
    rounds = rounds_at_end - rounds_at_sessions
    round_calls = reached(at_end - at_sessions, lambda call: call in RECONCILIATION)
    session_calls = reached(at_sessions)
    ended = outcomes.count
    figures: dict[str, Any] = {
        "accounts": accounts,
        "egress": egress,
        "sessions_s": round(sessions_s, 1),
        "session_calls": shown(at_sessions),
        "session_requests_per_account": ratio(sum(session_calls.values()), accounts, 1),
        "session_weight_per_account": ratio(weight_of(session_calls), accounts, 1),
        "dca_minutes": dca_minutes,
        "dca_orders": len(times),
        "dca_filled": ended[("dca", "filled")],
        "dca_rejected_by_execution": ended[("dca", "execution")],
        "dca_refused_by_venue": ended[("dca", "venue")],
        "dca_unsettled": len(times) - outcomes.done("dca"),
        **orders_figures("steady", steady_calls),
        "orders": len(wave),
        "filled": ended[("wave", "filled")],
        "rejected": ended[("wave", "execution")] + ended[("wave", "venue")],
        "wave_refused_by_venue": ended[("wave", "venue")],
        "wave_unsettled": len(wave) - outcomes.done("wave"),
        "wave_s": round(wave_s, 1) if wave else None,
        "orders_per_s": ratio(len(wave), wave_s, 1) if wave else None,
        **orders_figures("wave", wave_calls),
        "reconcile_interval_s": settings.execution.execution_reconcile_interval_s,
        "reconcile_rounds": rounds,
        "reconcile_requests_per_round": ratio(sum(round_calls.values()), rounds),
        "reconcile_weight_per_round": ratio(weight_of(round_calls), rounds),
        "venue_refused_for_rate": refused,
    }
    interval_s = settings.execution.execution_reconcile_interval_s
    return figures | accounts_served(figures, interval_s, orders)


def main() -> None:
    parser = OneLineErrorParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--egress", type=int, nargs="+", default=[1, 4])
    parser.add_argument(
        "--orders", type=int, default=8, help="orders per account in the wave (0: no wave)"
    )
    parser.add_argument(
        "--dca-minutes", type=float, default=3.0,
        help="minutes of DCA, one order per account a minute (0: none; a fraction: a short run)",
    )  # fmt: skip
    parser.add_argument(
        "--reconcile-s", type=float, default=None,
        help="seconds between an account's reconciliations (default: the platform's)",
    )  # fmt: skip
    add_json_option(parser)
    args = parser.parse_args()
    if args.accounts < 1 or min(args.egress) < 1 or max(args.egress) > 200:
        parser.error("--accounts must be at least 1, --egress 1 to 200")
    if args.orders < 0 or args.dca_minutes < 0 or args.orders == args.dca_minutes == 0:
        parser.error("--orders and --dca-minutes are not negative, and not both 0")
    if args.reconcile_s is not None:
        if args.reconcile_s <= 0:
            parser.error("--reconcile-s must be more than 0")
        os.environ["TRADEWIND_EXECUTION_RECONCILE_INTERVAL_S"] = str(args.reconcile_s)
    configure_logging("warning", "console", stream=sys.stderr)
    results = []
    for egress in args.egress:
        with tempfile.TemporaryDirectory(prefix="tw-limits-") as work:
            case = run(args.accounts, egress, args.orders, args.dca_minutes, Path(work))
            results.append(asyncio.run(case))
        if not args.json:
            print(json.dumps(results[-1], indent=1), flush=True)
    if args.json:
        figures = case_figures(results, ("accounts", "egress"))
        write_report(bench_report("venue_limits", figures, {"results": results}), args.json)


if __name__ == "__main__":
    main()
