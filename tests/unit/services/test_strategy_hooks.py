"""`HookRunner`: strategy hooks called one bot at a time, timed, with every failure
contained.

Market data and timers reach running bots only, at the event's time (a bar the warm-up
held is not given again). A hook that raises loses what it submitted or canceled in that
call (its intent ids stay spent), the error is counted under the strategy's name, and
after `max_errors_in_row` failures with no success between them the bot is given up on,
once. Every call is timed under its hook, failed ones too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry

from tradewind.bus.memory import MemoryBus
from tradewind.domain.events import Bar, Fill, OrderRejected, TradeTick
from tradewind.domain.model import Instrument, Liquidity, OrderType, Side
from tradewind.services.strategy.hooks import HookRunner
from tradewind.services.strategy.host import BotHost
from tradewind.services.strategy.metrics import StrategyMetrics
from tradewind.services.strategy.outbound import Outbound
from tradewind.services.strategy.roster import BotRoster
from tradewind.services.strategy.timers import TimerWheel
from tradewind.store.database import Database
from tradewind.strategies.api import Strategy, StrategyContext
from tradewind.strategies.dca import DcaStrategy
from tradewind.strategies.params import StrategyParams
from tradewind.venues.port import Market

D = Decimal
S = 1_000_000_000  # ns per second
T0 = 1_700_000_000 * S
ETH = "ETH/BTC"
ETH_BTC = Instrument.parse("sim", ETH)
MARKETS = {ETH: Market(ETH, "ETH", "BTC", D("0.00001"), D("0.001"), D("0.001"), D("0.0001"))}


class _Params(StrategyParams, frozen=True):
    pass


class Scripted(Strategy):
    """A plug-in strategy whose every hook does what the test set: note the call and its
    time, buy 1 ETH at 0.04 BTC (`buys`), cancel its open orders (`cancels`), then raise
    (`fails`)."""

    name = "scripted"
    Params = _Params

    def __init__(self) -> None:
        super().__init__(_Params())
        self.buys = self.cancels = self.fails = False
        self.heard: list[tuple[str, int]] = []

    def symbols(self) -> tuple[str, ...]:
        return (ETH,)

    def act(self, ctx: StrategyContext, hook: str) -> None:
        self.heard.append((hook, ctx.now_ns))
        if self.buys:
            ctx.submit(Side.BUY, ETH, D(1), order_type=OrderType.LIMIT, price=D("0.04"))
        if self.cancels:
            for order in ctx.open_orders():
                ctx.cancel(order.intent_id)
        if self.fails:
            raise RuntimeError(f"{hook} went wrong")

    def on_start(self, ctx: StrategyContext) -> None:
        self.act(ctx, "start")

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> None:
        self.act(ctx, "bar")

    def on_tick(self, ctx: StrategyContext, tick: TradeTick) -> None:
        self.act(ctx, "tick")

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        self.act(ctx, "fill")

    def on_order_rejected(self, ctx: StrategyContext, rejected: OrderRejected) -> None:
        self.act(ctx, "rejected")

    def on_timer(self, ctx: StrategyContext, now_ns: int) -> None:
        # Not an assert: the runner would contain it like any failure.
        self.act(ctx, "timer" if now_ns == ctx.now_ns else f"timer told {now_ns}")

    def on_stop(self, ctx: StrategyContext) -> None:
        self.act(ctx, "stop")


@dataclass
class Service:
    """The parts of the strategy service a `HookRunner` works with, all real: one
    account (1 BTC, ETH at 0.05 BTC) on the in-process bus; the database is never used."""

    hooks: HookRunner
    outbound: Outbound
    registry: CollectorRegistry
    roster: BotRoster
    timers: TimerWheel[BotHost]
    given_up: list[tuple[BotHost, Exception]]

    def host(self, bot_id: str, strategy: Strategy | None = None, running: bool = True) -> BotHost:
        account = self.roster.account("a1", "sim")
        host = BotHost(bot_id, strategy or Scripted(), account, self.outbound, self.timers)
        host.running = running
        self.roster.add(host)
        return host

    def errors(self) -> float | None:
        return self.registry.get_sample_value(
            "tradewind_strategy_errors_total", {"strategy": "scripted"}
        )

    def timed(self, hook: str) -> float | None:
        return self.registry.get_sample_value(
            "tradewind_strategy_hook_seconds_count", {"hook": hook}
        )


def service(max_errors_in_row: int = 3, *, give_up_pauses: bool = False) -> Service:
    registry, roster = CollectorRegistry(), BotRoster()
    timers: TimerWheel[BotHost] = TimerWheel(lambda: T0)  # the service's clock, stopped
    metrics = StrategyMetrics(registry)
    outbound = Outbound(MemoryBus(), Database("sqlite+aiosqlite://"), roster.routes, metrics)
    roster.add_venue("sim", MARKETS)
    roster.set_price("sim", ETH, D("0.05"), T0)
    roster.account("a1", "sim").apply_portfolio({"BTC": D(1)}, ts_ns=1)
    given_up: list[tuple[BotHost, Exception]] = []

    def give_up(host: BotHost, error: Exception) -> None:
        given_up.append((host, error))
        if give_up_pauses:
            host.running = False  # as the service's lifecycle does

    hooks = HookRunner(outbound, metrics, max_errors_in_row=max_errors_in_row, give_up=give_up)
    return Service(hooks, outbound, registry, roster, timers, given_up)


def scripted(host: BotHost) -> Scripted:
    assert isinstance(host.strategy, Scripted)
    return host.strategy


def bar(open_ns: int, instrument: Instrument = ETH_BTC) -> Bar:
    price = D("0.05")
    return Bar(
        instrument=instrument, interval_s=60, open_ns=open_ns,
        open=price, high=price, low=price, close=price, volume=D(1),
    )  # fmt: skip


def tick(ts_ns: int) -> TradeTick:
    return TradeTick(
        instrument=ETH_BTC, price=D("0.05"), quantity=D(1), aggressor=Side.SELL,
        trade_id="t-1", ts_ns=ts_ns,
    )  # fmt: skip


def fill(client_order_id: str, ts_ns: int) -> Fill:
    return Fill(
        account_id="a1", client_order_id=client_order_id, venue_order_id="v-1", trade_id="t-1",
        instrument=ETH_BTC, side=Side.BUY, price=D("0.04"), quantity=D(1), fee=D(0),
        fee_asset="ETH", liquidity=Liquidity.MAKER, ts_ns=ts_ns,
    )  # fmt: skip


def rejection(client_order_id: str, ts_ns: int) -> OrderRejected:
    return OrderRejected(
        account_id="a1", client_order_id=client_order_id, instrument=ETH_BTC, ts_ns=ts_ns,
        reason="insufficient balance", source="venue",
    )  # fmt: skip


def intent_ids(svc: Service) -> list[str]:
    return [pending.intent.intent_id for pending in svc.outbound.intents]


def test_a_runner_that_would_never_give_up_is_refused() -> None:
    with pytest.raises(ValueError, match="max_errors_in_row must be at least 1, got 0"):
        service(max_errors_in_row=0)


# -- who hears what, and when ------------------------------------------------------------


def test_a_bar_reaches_the_running_bots_only_at_its_close() -> None:
    svc = service()
    running, paused = svc.host("b1"), svc.host("b2", running=False)
    close_ns = T0 + 60 * S
    svc.hooks.bars([running, paused], bar(T0), close_ns)
    assert scripted(running).heard == [("bar", close_ns)]
    assert scripted(paused).heard == []
    assert running.dirty and not paused.dirty
    assert svc.timed("bar") == 1


def test_a_bar_the_warm_up_already_held_is_not_given_again() -> None:
    svc = service()
    warmed, other_symbol, cold = svc.host("b1"), svc.host("b2"), svc.host("b3")
    warmed.history_until = {ETH: T0}  # its history ended with the bar opened at T0
    other_symbol.history_until = {"BTC/USDT": T0}
    for open_ns in (T0 - 60 * S, T0, T0 + 60 * S):
        svc.hooks.bars([warmed, other_symbol, cold], bar(open_ns), open_ns + 60 * S)
    assert scripted(warmed).heard == [("bar", T0 + 120 * S)]
    assert len(scripted(other_symbol).heard) == len(scripted(cold).heard) == 3


def test_a_trade_reaches_the_running_bots_at_its_time() -> None:
    svc = service()
    running, paused = svc.host("b1"), svc.host("b2", running=False)
    svc.hooks.ticks([running, paused], tick(T0 + 7))
    assert scripted(running).heard == [("tick", T0 + 7)]
    assert scripted(paused).heard == []
    assert svc.timed("tick") == 1


def test_a_timer_reaches_the_running_bots_at_the_ticks_time() -> None:
    svc = service()
    running, paused = svc.host("b1"), svc.host("b2", running=False)
    svc.hooks.timers([running, paused], T0 + 5 * S)
    assert scripted(running).heard == [("timer", T0 + 5 * S)]
    assert scripted(paused).heard == []
    assert svc.timed("timer") == 1


def test_order_events_reach_the_bot_at_their_time_and_have_its_state_saved() -> None:
    svc = service()
    host = svc.host("b1")
    assert svc.outbound.idle
    svc.hooks.fill(host, fill("tw-1", T0 + 1))
    svc.hooks.rejected(host, rejection("tw-2", T0 + 2))
    assert scripted(host).heard == [("fill", T0 + 1), ("rejected", T0 + 2)]
    assert not svc.outbound.idle  # the bot's state is written at the next flush


def test_a_started_dca_bot_buys_when_its_timer_comes_due() -> None:
    svc = service()
    dca = DcaStrategy.from_params({"symbol": ETH, "quote_amount": "0.01", "interval_s": 3600})
    host = svc.host("b1", dca)
    svc.hooks.start(host, T0)  # on_start sets a timer every min(60 s, interval)
    assert svc.timers.pop_due(T0 + 60 * S - 1, limit=10) == []
    due = svc.timers.pop_due(T0 + 60 * S, limit=10)
    assert due == [host]
    svc.hooks.timers(due, T0 + 60 * S)
    [pending] = svc.outbound.intents
    assert pending.host is host and pending.client_order_id in host.orders
    assert pending.intent.side is Side.BUY and pending.intent.order_type is OrderType.MARKET
    assert pending.intent.ts_ns == T0 + 60 * S
    assert svc.timed("start") == svc.timed("timer") == 1


# -- failures ------------------------------------------------------------------------------


def test_a_failing_hook_loses_that_bots_orders_of_that_call_only() -> None:
    svc = service()
    steady, flaky = svc.host("steady"), svc.host("flaky")
    scripted(steady).buys = scripted(flaky).buys = True
    svc.hooks.bars([steady, flaky], bar(T0), T0 + 60 * S)
    scripted(flaky).fails = True
    svc.hooks.bars([steady, flaky], bar(T0 + 60 * S), T0 + 120 * S)
    assert intent_ids(svc) == ["steady:1", "flaky:1", "steady:2"]
    assert [o.intent_id for o in flaky.open_orders()] == ["flaky:1"]
    assert [o.intent_id for o in steady.open_orders()] == ["steady:1", "steady:2"]
    scripted(flaky).fails = False
    svc.hooks.timers([flaky], T0 + 130 * S)
    assert intent_ids(svc)[-1] == "flaky:3"  # flaky:2 stays spent, never reissued


def test_an_order_lost_with_its_failing_hook_no_longer_locks_funds() -> None:
    svc = service()
    host = svc.host("b1")
    assert host.balances()["BTC"] == 1  # read before, as a strategy would
    scripted(host).buys = scripted(host).fails = True
    svc.hooks.ticks([host], tick(T0))
    assert host.open_orders() == []
    assert host.balances()["BTC"] == 1


def test_a_failing_hooks_cancel_requests_are_lost_and_its_orders_stay_open() -> None:
    svc = service()
    host = svc.host("b1")
    scripted(host).buys = True
    svc.hooks.timers([host], T0)
    scripted(host).buys, scripted(host).cancels, scripted(host).fails = False, True, True
    svc.hooks.timers([host], T0 + S)
    assert svc.outbound.cancels == []
    assert [o.intent_id for o in host.open_orders()] == ["b1:1"]
    scripted(host).fails = False
    svc.hooks.timers([host], T0 + 2 * S)
    assert [c.intent_id for c in svc.outbound.cancels] == ["b1:1"]


def test_asking_twice_to_cancel_an_open_order_sends_one_request() -> None:
    svc = service()
    host = svc.host("b1")
    scripted(host).buys = True
    svc.hooks.timers([host], T0)
    scripted(host).buys, scripted(host).cancels = False, True
    svc.hooks.timers([host], T0 + S)
    svc.hooks.timers([host], T0 + 2 * S)  # the order is still open: no second request
    assert [c.intent_id for c in svc.outbound.cancels] == ["b1:1"]
    assert [o.intent_id for o in host.open_orders()] == ["b1:1"]


def run_bar(svc: Service, host: BotHost) -> None:
    svc.hooks.bars([host], bar(T0), T0 + 60 * S)


def run_tick(svc: Service, host: BotHost) -> None:
    svc.hooks.ticks([host], tick(T0))


def run_timer(svc: Service, host: BotHost) -> None:
    svc.hooks.timers([host], T0)


def run_start(svc: Service, host: BotHost) -> None:
    svc.hooks.start(host, T0)


def run_stop(svc: Service, host: BotHost) -> None:
    svc.hooks.stop(host, T0)


def run_fill(svc: Service, host: BotHost) -> None:
    svc.hooks.fill(host, fill("tw-1", T0))


def run_rejected(svc: Service, host: BotHost) -> None:
    svc.hooks.rejected(host, rejection("tw-1", T0))


HOOK_CALLS: dict[str, Callable[[Service, BotHost], None]] = {
    "bar": run_bar, "tick": run_tick, "timer": run_timer, "start": run_start,
    "stop": run_stop, "fill": run_fill, "rejected": run_rejected,
}  # fmt: skip


@pytest.mark.parametrize("hook", sorted(HOOK_CALLS))
def test_every_hook_contains_a_failure_and_counts_it(hook: str) -> None:
    svc = service()
    host = svc.host("b1")
    scripted(host).buys = scripted(host).fails = True
    HOOK_CALLS[hook](svc, host)  # does not raise
    HOOK_CALLS[hook](svc, host)
    assert [h for h, _ in scripted(host).heard] == [hook, hook]
    assert svc.outbound.intents == [] and host.open_orders() == []
    assert host.errors_in_row == 2
    assert svc.errors() == 2
    assert svc.timed(hook) == 2  # failed calls are timed too
    assert host.dirty


def test_a_bot_is_given_up_once_after_max_errors_in_a_row() -> None:
    svc = service(max_errors_in_row=3)
    host = svc.host("b1")
    strategy = scripted(host)
    for fails in (True, True, False, True, True):  # a success in between resets the count
        strategy.fails = fails
        if fails:
            run_bar(svc, host)
        else:
            run_timer(svc, host)
    assert svc.given_up == [] and host.errors_in_row == 2
    strategy.fails = True
    run_timer(svc, host)
    [(given_up, error)] = svc.given_up
    assert given_up is host and str(error) == "timer went wrong"
    run_bar(svc, host)  # still failing: not given up again
    assert len(svc.given_up) == 1 and host.errors_in_row == 4


def test_a_bot_given_up_during_a_bar_leaves_the_other_bots_their_bar() -> None:
    svc = service(max_errors_in_row=1, give_up_pauses=True)
    broken, fine = svc.host("broken"), svc.host("fine")
    scripted(broken).fails = True
    for open_ns in (T0, T0 + 60 * S):
        svc.hooks.bars([broken, fine], bar(open_ns), open_ns + 60 * S)
    assert [host for host, _ in svc.given_up] == [broken]
    assert len(scripted(broken).heard) == 1  # paused by the give-up: no second bar
    assert len(scripted(fine).heard) == 2
