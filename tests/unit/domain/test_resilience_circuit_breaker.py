"""CircuitBreaker: when it opens, how it probes, and that half-open admits only K trials."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.domain.circuit_breaker import (
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
    StateChange,
)

S = 1_000_000_000
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


def breaker(**overrides: Any) -> tuple[CircuitBreaker, list[StateChange]]:
    """A breaker on venue "sim" (3 failures in a row open it, 10 s cool-down) and the
    list its state changes are appended to."""
    options: dict[str, Any] = {"consecutive_failures": 3, "cool_down_s": 10.0}
    options.update(overrides)
    changes: list[StateChange] = []
    return CircuitBreaker("sim", BreakerSettings(**options), changes.append), changes


def test_consecutive_failures_open_it_and_a_success_resets_the_streak() -> None:
    cb, changes = breaker()
    for at in (1, 2):
        cb.record_failure(at)
    cb.record_success(3)
    cb.record_failure(4)
    cb.record_failure(5)
    assert cb.state is CLOSED and cb.allow(6)
    cb.record_failure(7)
    assert cb.state is OPEN and not cb.allow(8)
    assert changes == [StateChange("sim", CLOSED, OPEN, 7, open_until_ns=7 + 10 * S)]


def test_a_failure_rate_over_the_window_opens_it() -> None:
    cb, _ = breaker(consecutive_failures=100, failure_rate=0.5, rate_min_calls=4)
    for at, failed in enumerate([True, False, True]):
        (cb.record_failure if failed else cb.record_success)(at)
    assert cb.state is CLOSED  # 2 of 3, but under the 4 calls it takes to judge
    cb.record_success(3)
    assert cb.state is CLOSED  # 2 of 4 is 50% -- it was the success that made it 4
    cb.record_failure(4)
    assert cb.state is OPEN


def test_outcomes_older_than_the_window_do_not_count() -> None:
    cb, _ = breaker(consecutive_failures=100, rate_window_s=10.0, rate_min_calls=2)
    cb.record_failure(0)
    cb.record_success(2)
    cb.record_success(3)
    cb.record_failure(10 * S + 1)  # the first failure has left the window: 1 of 3 failed
    assert cb.state is CLOSED


def test_open_refuses_until_the_cool_down_then_admits_k_trials() -> None:
    cb, changes = breaker(half_open_calls=2)
    for _ in range(3):
        cb.record_failure(0)
    assert cb.open_until_ns == 10 * S
    assert not cb.allow(10 * S - 1)
    assert [cb.allow(10 * S) for _ in range(3)] == [True, True, False]
    assert cb.state is HALF_OPEN and cb.open_until_ns == 0
    assert changes[-1] == StateChange("sim", OPEN, HALF_OPEN, 10 * S)


def test_a_trial_success_closes_it() -> None:
    cb, changes = breaker()
    for _ in range(3):
        cb.record_failure(0)
    assert cb.allow(10 * S)
    cb.record_success(10 * S + 5)
    assert cb.state is CLOSED and cb.allow(10 * S + 6)
    assert [c.new for c in changes] == [OPEN, HALF_OPEN, CLOSED]


def test_a_trial_failure_reopens_it_for_longer_up_to_the_cap() -> None:
    cb, _ = breaker(cool_down_multiplier=3.0, max_cool_down_s=50.0)
    for _ in range(3):
        cb.record_failure(0)
    now, cool_downs = 10 * S, []
    for _ in range(3):
        assert cb.allow(now)
        cb.record_failure(now)
        cool_downs.append((cb.open_until_ns - now) / S)
        now = cb.open_until_ns
    assert cool_downs == [30.0, 50.0, 50.0]


def test_the_cool_down_starts_short_again_after_it_closed() -> None:
    cb, _ = breaker()
    for _ in range(3):
        cb.record_failure(0)
    assert cb.allow(10 * S)
    cb.record_failure(10 * S)  # reopened for 20 s
    assert cb.allow(30 * S)
    cb.record_success(30 * S)
    for _ in range(3):
        cb.record_failure(40 * S)
    assert cb.open_until_ns == 50 * S


def test_outcomes_reported_while_open_are_ignored() -> None:
    cb, changes = breaker()
    for _ in range(3):
        cb.record_failure(0)
    cb.record_success(1)  # a call admitted before it opened
    cb.record_failure(2)
    assert cb.state is OPEN and cb.open_until_ns == 10 * S and len(changes) == 1


def test_settings_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="failure_rate must be in \\(0, 1\\]"):
        BreakerSettings(failure_rate=0)


@settings(max_examples=200, deadline=None)
@given(
    trials=st.integers(1, 4),
    ops=st.lists(
        st.tuples(st.sampled_from(["allow", "success", "failure"]), st.integers(0, 4 * S)),
        max_size=120,
    ),
)
def test_half_open_never_admits_more_than_k_calls(trials: int, ops: list[tuple[str, int]]) -> None:
    changes: list[StateChange] = []
    cb = CircuitBreaker(
        "sim",
        BreakerSettings(consecutive_failures=2, cool_down_s=1.0, half_open_calls=trials),
        changes.append,
    )
    now, admitted = 0, Counter[int]()
    for op, gap in ops:
        now += gap
        if op == "allow":
            open_until = cb.open_until_ns
            allowed = cb.allow(now)
            assert not (allowed and now < open_until), "admitted a call while open"
            if allowed and cb.state is HALF_OPEN:
                episode = sum(change.new is HALF_OPEN for change in changes)
                admitted[episode] += 1
        elif op == "success":
            cb.record_success(now)
        else:
            cb.record_failure(now)
    assert all(count <= trials for count in admitted.values()), admitted
