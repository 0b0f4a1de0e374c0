"""A rebalance wave, embedded: `python bench/rebalance_wave.py [--accounts 10000] [--json]`.

`--accounts` accounts, each with one `rebalance` bot over an 8-symbol basket (equal
weights, every bot due at once), are funded on the in-process simulated exchange with
80% of their value in BTC and 20% in USDT, so every bot sells BTC first and then buys
the seven other symbols: about 8 market orders per account. Everything runs in one
process and one event loop, as under `tradewind up`:

    md.bar -> strategy -> orders.intent -> (relay) -> orders.approved -> execution
           -> simulated exchange -> orders.events -> portfolio

The relay stands in for the risk service (it republishes every intent as approved).
Bars of seven basket symbols are published before the clock starts (a bot decides only
once it has every price); the bar of the eighth is the trigger. The execution sessions
are opened by a warm-up sell of 0.001 BTC per account before the strategy service
starts. Figures, from the trigger:

- decisions: every bot's `on_bar` ran and all intents were published on orders.intent
  (one publish_batch);
- states saved: the md handler returned (the bots' states written to SQLite);
- orders done: every intent ended (filled, or rejected / expired / canceled: counted
  as "unfilled") as seen on orders.events;
- booked: the portfolio service took every fill: the total.

`cpu_s` is the process's CPU time over the same span (all threads, SQLite's included)
and `gc_s` the part of it spent in the cyclic garbage collector: on a shared machine
the wall-clock figures stretch with the load, the CPU time much less. At 10,000
accounts the collector takes about a third of the wave: `--gc-threshold` runs it with
other thresholds, to see what tuning the collector would give.

The house ladder is deep enough to take the whole wave without a requote (see
`wave_liquidity`), so every order should fill; any that does not is listed with why
(the venue's reason, or "expired": a market order the book could not fill).
"""

from __future__ import annotations

import asyncio
import gc
import math
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

from tick_to_order import bot_database, load_average

from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, bench_report, write_report
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.memory import MemoryBus
from tradewind.domain.commands import OrderIntent
from tradewind.domain.events import (
    Bar,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.domain.time_units import NS_PER_MINUTE, NS_PER_MS
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
from tradewind.services.strategy import InstanceSlot, StrategyService
from tradewind.services.strategy.service import MARKET_DATA_LISTENER
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.instruments import MIN_NOTIONAL
from tradewind.venues.simulated.liquidity import LiquidityConfig
from tradewind.venues.simulated.market import DEFAULT_SYNTHETIC, SyntheticMarket, SyntheticSpec

SPECS = {
    **DEFAULT_SYNTHETIC,
    "ADA/USDT": SyntheticSpec(Decimal("0.4")),
    "DOGE/USDT": SyntheticSpec(Decimal("0.08")),
    "LTC/USDT": SyntheticSpec(Decimal("80")),
}
BASKET = tuple(sorted(SPECS))
TRIGGER = "XRP/USDT"  # its bar comes last: the one that makes every bot decide
ACCOUNT_VALUE = Decimal(10_000)  # USDT
BTC_SHARE = Decimal("0.8")
WARM_UP = Decimal("0.001")  # BTC sold per account to open its execution session
LADDER_LEVELS = 10
LADDER_SPARE = Decimal("1.25")  # the ladder holds a quarter more than the wave asks


def wave_liquidity(accounts: int) -> LiquidityConfig:
    """A house ladder deep enough for the whole wave without a requote: each side of
    every pair holds more than all the accounts' BTC is worth (the most any one side is
    asked to take: the BTC sells), with `LADDER_SPARE` to spare. A level worth more than
    one order may be is quoted as several orders at its price (`house_ladder`)."""
    wave = accounts * ACCOUNT_VALUE * BTC_SHARE * LADDER_SPARE
    per_level = math.ceil(wave / LADDER_LEVELS / MIN_NOTIONAL["USDT"])
    return LiquidityConfig(
        levels=LADDER_LEVELS,
        level_size=max(LiquidityConfig().level_size, per_level),
        flow_per_s=0.0,
    )


@dataclass(frozen=True)
class WaveResult:
    accounts: int
    intents: int
    sells_after_buys: int
    filled: int
    rejected: int
    unfilled_why: dict[str, int]
    decisions_s: float
    states_saved_s: float
    orders_done_s: float
    booked_s: float
    orders_per_s: float
    cpu_s: float
    gc_s: float
    gc_threshold: tuple[int, int, int]
    load_before: str


class CollectorClock:
    """CPU time spent in the cyclic garbage collector while `running` (s)."""

    def __init__(self) -> None:
        self.running = False
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        elif self.running:
            self.seconds += time.process_time() - self._started


class Keys:
    """The bench accounts' keys, in memory (`CredentialsSource`)."""

    def __init__(self) -> None:
        self.by_account: dict[str, AccountCredentials] = {}

    async def credentials(self, account_id: str) -> AccountCredentials:
        keys = self.by_account.get(account_id)
        if keys is None:
            raise AccountUnavailable(account_id, "not a bench account")
        return keys


class OrderFlow:
    """Relays intents to orders.approved and counts what comes back on orders.events."""

    def __init__(self, bus: MemoryBus) -> None:
        self._bus = bus
        self.intents = 0
        self.filled = 0
        self.rejected = 0
        self.fill_events = 0
        self.sides: dict[str, list[Side]] = {}
        self.side_of: dict[tuple[str, str], Side] = {}  # (account, symbol): one order each
        self.unfilled_why: Counter[str] = Counter()
        self.done = asyncio.Event()

    async def approve(self, batch: Sequence[Envelope]) -> None:
        for env in batch:
            intent = env.payload
            if isinstance(intent, OrderIntent):
                self.sides.setdefault(intent.account_id, []).append(intent.side)
                self.side_of[intent.account_id, intent.instrument.symbol] = intent.side
        self.intents += len(batch)
        await self._bus.publish_batch(topics.ORDERS_APPROVED, list(batch))

    async def count(self, batch: Sequence[Envelope]) -> None:
        for env in batch:
            payload = env.payload
            if isinstance(payload, OrderFilled):
                self.filled += 1
            elif isinstance(payload, OrderRejected | OrderExpired | OrderCanceled):
                self.rejected += 1
                self.unfilled_why[self._why(payload)] += 1
            elif env.type == "order.fill":
                self.fill_events += 1
        if self.intents and self.filled + self.rejected >= self.intents:
            self.done.set()

    def _why(self, event: OrderRejected | OrderExpired | OrderCanceled) -> str:
        symbol = event.instrument.symbol
        side = self.side_of.get((event.account_id, symbol))
        what = f"{side.value if side else '?'} {symbol}"
        if isinstance(event, OrderRejected):
            return f"{what} rejected by {event.source}: {event.reason}"
        part = "partly filled" if event.filled_quantity else "nothing filled"
        if isinstance(event, OrderExpired):
            return f"{what} expired, {part} (the book's other side ran dry)"
        return f"{what} canceled, {part}: {event.reason or 'no reason given'}"

    def reset(self) -> None:
        self.intents = self.filled = self.rejected = 0
        self.sides.clear()
        self.side_of.clear()
        self.unfilled_why.clear()
        self.done.clear()

    def sells_after_buys(self) -> int:
        """Accounts whose intents were not all sells before all buys."""
        return sum(
            any(a is Side.BUY and b is Side.SELL for a, b in pairwise(s))
            for s in self.sides.values()
        )


def _bar(symbol: str, price: Decimal, open_ns: int) -> Envelope:
    instrument = Instrument.parse("sim", symbol)
    bar = Bar(
        instrument=instrument,
        interval_s=60,
        open_ns=open_ns,
        open=price,
        high=price,
        low=price,
        close=price,
        volume=Decimal(1),
    )
    return envelope(bar, instrument.key)


def _warm_up_intent(account_id: str) -> Envelope:
    intent = OrderIntent(
        account_id=account_id,
        bot_id="bench-warm-up",
        intent_id=f"w-{account_id}",
        instrument=Instrument.parse("sim", "BTC/USDT"),
        side=Side.SELL,
        order_type=OrderType.MARKET,
        quantity=WARM_UP,
        ts_ns=0,
    )
    return envelope(intent, account_id)


def _sample(metrics: RuntimeMetrics, name: str, labels: dict[str, str]) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def _wait_for(condition: Callable[[], object], what: str, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_s} s")
        await asyncio.sleep(0.001)


async def run_wave(accounts: int) -> WaveResult:
    load_before = load_average()
    exchange = SimulatedExchange(
        SyntheticMarket(SPECS, seed=3),
        liquidity=wave_liquidity(accounts),
    )
    exchange.step()
    now_ms = exchange.clock() // NS_PER_MS
    prices = {s: exchange.prices.price(s, now_ms) for s in BASKET}
    btc = (ACCOUNT_VALUE * BTC_SHARE / prices["BTC/USDT"]).quantize(Decimal("0.00001"))
    balances = {"USDT": ACCOUNT_VALUE * (1 - BTC_SHARE), "BTC": btc}
    keys = Keys()
    ids = [uuid.uuid4().hex for _ in range(accounts)]
    for account_id in ids:
        creds = exchange.create_account(dict(balances))
        keys.by_account[account_id] = AccountCredentials("sim", creds.api_key, creds.secret)

    bus = MemoryBus(partitions=8, max_lag=10_000_000)
    await bus.start()
    metrics = RuntimeMetrics()
    venues = SimulatedVenues(exchange)
    order_services: list[Service] = [
        PortfolioService(PortfolioSettings(portfolio_snapshot_interval_s=3600)),
        ExecutionService(ExecutionSettings(execution_reconcile_interval_s=3600), keys),
    ]
    for service in order_services:
        log = get_logger(f"tradewind.services.{service.name}", service=service.name)
        ctx = ServiceContext(Settings(), bus, log, metrics, Resources(venues=venues))
        await service.start(ctx)
    flow = OrderFlow(bus)
    await bus.subscribe((topics.ORDERS_INTENT,), "bench-risk", flow.approve)
    await bus.subscribe((topics.ORDERS_EVENTS,), "bench-events", flow.count)

    async def step_market() -> None:
        while True:
            exchange.step()
            await asyncio.sleep(0.05)

    stepper = asyncio.create_task(step_market())

    def fills_booked() -> bool:
        booked = _sample(
            metrics,
            "tradewind_bus_events_consumed_total",
            {"group": "portfolio", "type": "order.fill"},
        )
        return booked >= flow.fill_events

    await bus.publish_batch(topics.ORDERS_APPROVED, [_warm_up_intent(a) for a in ids])
    flow.intents = accounts
    await flow.done.wait()
    await _wait_for(fills_booked, "booking the warm-up fills")
    flow.reset()

    weight = str((Decimal(1) / len(BASKET)).quantize(Decimal("0.0001")))
    params = {
        "basket": list(BASKET),
        "weighting": "fixed",
        "weights": dict.fromkeys(BASKET, weight),
        "rebalance_interval_s": 86_400,
        "drift_threshold": "0.05",
        "min_trade_value": "10",
    }
    workdir = tempfile.TemporaryDirectory()
    db = await bot_database(
        Path(workdir.name) / "bench.db",
        {a: ("rebalance", params) for a in ids},
        {a: dict(balances, BTC=btc - WARM_UP) for a in ids},
    )
    strategy = StrategyService(InstanceSlot())
    log = get_logger("tradewind.services.strategy", service="strategy")
    ctx = ServiceContext(Settings(), bus, log, metrics, Resources(venues=venues, database=db))
    await strategy.start(ctx)

    def handled_md() -> float:
        labels = {"group": MARKET_DATA_LISTENER}
        return _sample(metrics, "tradewind_bus_handler_seconds_count", labels)

    def intents_published() -> float:
        return _sample(metrics, "tradewind_strategy_intents_total", {})

    open_ns = time.time_ns() - 2 * NS_PER_MINUTE
    before = [_bar(s, prices[s], open_ns) for s in BASKET if s != TRIGGER]
    await bus.publish_batch(topics.MD_BAR, before)
    await _wait_for(lambda: handled_md() >= 1, "the first bars reaching the bots")
    await asyncio.sleep(0.1)
    if intents_published():
        raise RuntimeError("bots decided before the trigger: the bench's set-up is wrong")
    handled = handled_md()

    collector = CollectorClock()
    gc.callbacks.append(collector)
    collector.running = True
    started = time.perf_counter()
    cpu_started = time.process_time()
    await bus.publish_batch(topics.MD_BAR, [_bar(TRIGGER, prices[TRIGGER], open_ns)])
    await _wait_for(lambda: intents_published() > 0, "the wave's intents")
    decisions_s = time.perf_counter() - started
    await _wait_for(lambda: handled_md() > handled, "saving the bots' states")
    states_saved_s = time.perf_counter() - started
    await _wait_for(lambda: flow.intents >= intents_published(), "relaying the intents")
    await flow.done.wait()
    orders_done_s = time.perf_counter() - started
    await _wait_for(fills_booked, "booking the fills")
    booked_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    collector.running = False
    gc.callbacks.remove(collector)

    stepper.cancel()
    await strategy.stop()
    for service in reversed(order_services):
        await service.stop()
    await bus.close()
    await db.close()
    workdir.cleanup()
    return WaveResult(
        accounts=accounts,
        intents=flow.intents,
        sells_after_buys=flow.sells_after_buys(),
        filled=flow.filled,
        rejected=flow.rejected,
        unfilled_why=dict(flow.unfilled_why.most_common()),
        decisions_s=round(decisions_s, 3),
        states_saved_s=round(states_saved_s, 3),
        orders_done_s=round(orders_done_s, 3),
        booked_s=round(booked_s, 3),
        orders_per_s=round(flow.intents / booked_s),
        cpu_s=round(cpu_s, 3),
        gc_s=round(collector.seconds, 3),
        gc_threshold=gc.get_threshold(),
        load_before=load_before,
    )


def _gc_threshold(parser: OneLineErrorParser, text: str) -> tuple[int, int, int]:
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        parser.error(f"--gc-threshold: expected three whole numbers G0,G1,G2, got {text!r}")
    g0, g1, g2 = (int(p) for p in parts)
    return g0, g1, g2


def main() -> None:
    parser = OneLineErrorParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10_000)
    add_json_option(parser)
    parser.add_argument(
        "--gc-threshold",
        metavar="G0,G1,G2",
        help="run with gc.set_threshold(G0, G1, G2) (an experiment; the platform's "
        "processes run with runtime.collector.THRESHOLDS)",
    )
    args = parser.parse_args()
    tune_collector()  # as `tradewind up` and `tradewind service` run
    if args.gc_threshold is not None:
        gc.set_threshold(*_gc_threshold(parser, args.gc_threshold))
    configure_logging("warning", "console", stream=sys.stderr)
    result = asyncio.run(run_wave(args.accounts))
    load_after = load_average()
    if args.json:
        row = asdict(result)
        figures = {k: v for k, v in row.items() if k.endswith("_s") or k in ("filled", "rejected")}
        detail = {"load_after": load_after, **row}
        write_report(bench_report("rebalance_wave", figures, detail), args.json)
        return
    r = result
    print(
        "| accounts | intents | filled | unfilled | sell after buy | decisions s | "
        "states saved s | orders done s | booked (total) s | orders/s | CPU s (GC s) | "
        "load avg before |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| {r.accounts:,} | {r.intents:,} | {r.filled:,} | {r.rejected:,} | "
        f"{r.sells_after_buys} | {r.decisions_s:.2f} | {r.states_saved_s:.2f} | "
        f"{r.orders_done_s:.2f} | {r.booked_s:.2f} | {r.orders_per_s:,.0f} | "
        f"{r.cpu_s:.2f} ({r.gc_s:.2f}) | {r.load_before} |"
    )
    if r.filled == r.intents:
        print(f"\nevery order filled ({r.filled:,} of {r.intents:,}) and booked")
    else:
        print(f"\n{r.intents - r.filled:,} of {r.intents:,} orders not filled:")
        for why, count in r.unfilled_why.items():
            print(f"  {count:,} x {why}")
    threshold = ",".join(map(str, r.gc_threshold))
    print(f"load average after: {load_after} ({os.cpu_count()} CPUs); GC threshold {threshold}")


if __name__ == "__main__":
    main()
