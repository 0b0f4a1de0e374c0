"""`TimerWheel`: every bot's timer in one schedule, ticked by the strategy service.

A timer fires once its due time has come and never before, at most once per tick, earliest
first within the tick's budget (the rest stay due for the next tick); a firing moves the
due time one period on from the due time (no drift), or from the tick when periods were
missed (they coalesce into one call). `schedule` replaces a timer, 0 cancels it, an
interval that is not a finite number of seconds >= 0 is refused, and `len` counts the
timers set."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from prometheus_client import CollectorRegistry

from tradewind.bus.memory import MemoryBus
from tradewind.services.strategy.account_view import AccountView
from tradewind.services.strategy.host import BotHost
from tradewind.services.strategy.metrics import StrategyMetrics
from tradewind.services.strategy.outbound import Outbound
from tradewind.services.strategy.roster import OrderRoutes
from tradewind.services.strategy.timers import TimerWheel
from tradewind.store.database import Database
from tradewind.strategies.dca import DcaStrategy

S = 1_000_000_000  # ns per second
T0 = 1_700_000_000 * S


@dataclass(eq=False)
class Owner:
    """The least a timer owner is (`TimerOwner`); `BotHost` in the service."""

    name: str
    timer_interval_ns: int = 0
    timer_generation: int = 0


@dataclass
class Clock:
    """A wall clock the test moves (ns since the epoch)."""

    now_ns: int = T0

    def __call__(self) -> int:
        return self.now_ns


def wheel_at(now_ns: int = T0) -> tuple[TimerWheel[Owner], Clock]:
    clock = Clock(now_ns)
    return TimerWheel(clock), clock


def test_a_timer_fires_once_its_period_has_passed_and_not_before() -> None:
    wheel, _ = wheel_at()
    bot = Owner("b1")
    wheel.schedule(bot, 2)
    assert wheel.pop_due(T0 + 2 * S - 1, limit=10) == []
    assert wheel.pop_due(T0 + 2 * S, limit=10) == [bot]
    assert wheel.pop_due(T0 + 2 * S, limit=10) == []  # once per due time


def test_a_late_tick_does_not_make_the_timer_drift() -> None:
    wheel, _ = wheel_at()
    bot = Owner("b1")
    wheel.schedule(bot, 2)
    assert wheel.pop_due(T0 + 2 * S + S // 10, limit=10) == [bot]  # a tick 100 ms late
    # Next due one period after the due time (T0 + 4 s), not after the late tick.
    assert wheel.pop_due(T0 + 4 * S - 1, limit=10) == []
    assert wheel.pop_due(T0 + 4 * S, limit=10) == [bot]


def test_missed_periods_coalesce_into_one_call_and_restart_from_the_tick() -> None:
    wheel, _ = wheel_at()
    bot = Owner("b1")
    wheel.schedule(bot, 2)
    resumed = T0 + 10 * S + S // 2  # the event loop stalled through four due times
    assert wheel.pop_due(resumed, limit=10) == [bot]
    assert wheel.pop_due(resumed, limit=10) == []
    assert wheel.pop_due(T0 + 12 * S, limit=10) == []  # not on the old grid any more
    assert wheel.pop_due(resumed + 2 * S, limit=10) == [bot]


def test_scheduling_again_replaces_the_timer() -> None:
    wheel, clock = wheel_at()
    bot = Owner("b1")
    wheel.schedule(bot, 1)
    clock.now_ns = T0 + S // 2
    wheel.schedule(bot, 5)
    assert len(wheel) == 1
    assert wheel.pop_due(T0 + S, limit=10) == []  # the first timer is gone
    assert wheel.pop_due(clock.now_ns + 5 * S, limit=10) == [bot]


@pytest.mark.parametrize("interval_s", [0, 0.0])
def test_an_interval_of_zero_cancels_the_timer(interval_s: float) -> None:
    wheel, _ = wheel_at()
    bot = Owner("b1")
    wheel.schedule(bot, 1)
    wheel.schedule(bot, interval_s)
    assert len(wheel) == 0
    assert wheel.pop_due(T0 + 100 * S, limit=10) == []


def test_cancel_removes_the_timer_and_is_harmless_without_one() -> None:
    wheel, _ = wheel_at()
    bot, idle = Owner("b1"), Owner("b2")
    wheel.schedule(bot, 1)
    wheel.cancel(bot)
    wheel.cancel(bot)
    wheel.cancel(idle)
    assert len(wheel) == 0
    assert wheel.pop_due(T0 + 100 * S, limit=10) == []


def test_len_counts_timers_set_not_replacements() -> None:
    wheel, _ = wheel_at()
    bots = [Owner(f"b{i}") for i in range(3)]
    for bot in bots:
        wheel.schedule(bot, 1)
        wheel.schedule(bot, 2)
    assert len(wheel) == 3
    wheel.pop_due(T0 + 2 * S, limit=10)  # firing keeps the timers set
    assert len(wheel) == 3


def test_a_tick_fires_at_most_its_budget_earliest_first_and_the_rest_stay_due() -> None:
    wheel, _ = wheel_at()
    bots = [Owner(f"b{i}") for i in range(5)]
    for seconds, bot in zip((5, 1, 4, 2, 3), bots, strict=True):
        wheel.schedule(bot, seconds)  # due out of the order they were scheduled in
    by_due = [bots[1], bots[3], bots[4], bots[2], bots[0]]
    now = T0 + 10 * S
    assert wheel.pop_due(now, limit=2) == by_due[:2]
    assert wheel.pop_due(now, limit=2) == by_due[2:4]
    assert wheel.pop_due(now, limit=2) == by_due[4:]
    assert wheel.pop_due(now, limit=2) == []
    assert wheel.pop_due(now, limit=0) == []


def test_replaced_timers_do_not_use_up_the_budget() -> None:
    wheel, _ = wheel_at()
    busy, other = Owner("busy"), Owner("other")
    for _ in range(20):
        wheel.schedule(busy, 1)  # 20 replaced entries, all due before `other`
    wheel.schedule(busy, 60)
    wheel.schedule(other, 2)
    assert wheel.pop_due(T0 + 3 * S, limit=1) == [other]


def test_many_replacements_keep_every_live_timer() -> None:
    # Enough replacements that the wheel drops its replaced entries at least once.
    wheel, clock = wheel_at()
    steady = [Owner(f"steady{i}") for i in range(3)]
    for seconds, bot in enumerate(steady, start=1):
        wheel.schedule(bot, seconds)
    restless = Owner("restless")
    for i in range(3000):
        clock.now_ns = T0 + i
        wheel.schedule(restless, 10)
    assert len(wheel) == 4
    assert wheel.pop_due(T0 + 3 * S, limit=10) == steady  # no replaced entry fires
    restless_due = T0 + 2999 + 10 * S
    assert restless not in wheel.pop_due(restless_due - 1, limit=10)
    assert restless in wheel.pop_due(restless_due, limit=10)


def test_a_bots_timer_set_by_its_strategy_fires_for_that_bot() -> None:
    wheel, _ = wheel_at()
    outbound = Outbound(
        MemoryBus(), Database("sqlite+aiosqlite://"), OrderRoutes(),
        StrategyMetrics(CollectorRegistry()),
    )  # fmt: skip
    account = AccountView("a1", "sim", {}, {})
    dca = DcaStrategy.from_params({"symbol": "ETH/BTC", "quote_amount": "0.01", "interval_s": 30})
    host = BotHost("b1", dca, account, outbound, wheel)
    dca.on_start(host)  # asks for a timer every min(60 s, interval) = 30 s
    assert len(wheel) == 1
    assert wheel.pop_due(T0 + 30 * S - 1, limit=10) == []
    assert wheel.pop_due(T0 + 30 * S, limit=10) == [host]


@pytest.mark.parametrize("bad_interval_s", [float("nan"), float("inf"), float("-inf"), -1, -0.125])
def test_an_interval_not_finite_or_below_0_is_refused_and_changes_nothing(
    bad_interval_s: float,
) -> None:
    wheel, _ = wheel_at()
    bot = Owner("b1")
    wheel.schedule(bot, 1)
    with pytest.raises(ValueError, match="finite number of seconds from 0"):
        wheel.schedule(bot, bad_interval_s)
    assert len(wheel) == 1
    assert wheel.pop_due(T0 + S, limit=10) == [bot]  # the timer set before still runs
    wheel.cancel(bot)
    assert len(wheel) == 0


# -- the invariants, over any sequence of schedules, cancels and ticks -----------------

#: Intervals in eighths of a second: exact in binary, so `interval_s * 1e9` is too.
EIGHTHS = st.integers(min_value=0, max_value=80)


class TimerWheelMachine(RuleBasedStateMachine):
    """Checks the wheel against a model that knows each timer's due time and period."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.wheel: TimerWheel[Owner] = TimerWheel(self.clock)
        self.owners = [Owner(f"b{i}") for i in range(6)]
        self.due: dict[int, tuple[int, int]] = {}  # owner index -> (due ns, period ns)

    @rule(index=st.integers(0, 5), eighths=EIGHTHS)
    def schedule(self, index: int, eighths: int) -> None:
        self.wheel.schedule(self.owners[index], eighths / 8)
        if eighths > 0:
            period = eighths * S // 8
            self.due[index] = (self.clock.now_ns + period, period)
        else:
            self.due.pop(index, None)

    @rule(index=st.integers(0, 5))
    def cancel(self, index: int) -> None:
        self.wheel.cancel(self.owners[index])
        self.due.pop(index, None)

    @rule(eighths=st.integers(0, 96), late_ns=st.sampled_from([0, 1, S // 32, S // 16]))
    def time_passes(self, eighths: int, late_ns: int) -> None:
        # Mostly on the eighths the periods are made of, some ticks late by a little.
        self.clock.now_ns += eighths * S // 8 + late_ns

    @rule(limit=st.integers(0, 7))
    def tick(self, limit: int) -> None:
        now = self.clock.now_ns
        fired = self.wheel.pop_due(now, limit)
        indexes = [self.owners.index(owner) for owner in fired]
        assert len(set(indexes)) == len(indexes), "a timer fired twice in one tick"
        assert all(i in self.due for i in indexes), "a canceled or unset timer fired"
        due_times = [self.due[i][0] for i in indexes]
        assert all(t <= now for t in due_times), "a timer fired early"
        assert due_times == sorted(due_times), "not earliest first"
        due_now = {i for i, (t, _) in self.due.items() if t <= now}
        assert len(fired) == min(limit, len(due_now)), "budget not used or exceeded"
        left = [self.due[i][0] for i in due_now - set(indexes)]
        assert not left or not due_times or max(due_times) <= min(left), "a later one first"
        for i in indexes:
            due_ns, period = self.due[i]
            next_ns = due_ns + period
            self.due[i] = (next_ns if next_ns > now else now + period, period)

    @invariant()
    def counts_the_timers_set(self) -> None:
        assert len(self.wheel) == len(self.due)


TimerWheelMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestTimerWheelInvariants = TimerWheelMachine.TestCase
