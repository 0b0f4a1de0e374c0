"""A circuit breaker per venue: stop calling a venue that keeps failing, probe it after a
cool-down, and resume when a probe succeeds.

    closed ──(N consecutive failures, or failure rate over the window)──► open
    open ──(cool-down passed, on the next allow)──► half-open
    half-open ──(a trial call succeeds)──► closed
    half-open ──(a trial call fails)──► open, with a longer cool-down

Pure and synchronous: every call takes `now_ns` (ns, any monotonic clock); durations in
the settings are seconds.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from tradewind.domain.time_units import NS_PER_S


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    """When a breaker opens and how long it stays open.

    It opens after `consecutive_failures` failures in a row, or when at least
    `rate_min_calls` calls ended in the last `rate_window_s` seconds and a fraction
    `failure_rate` (0..1] of them failed. It stays open `cool_down_s`, multiplied by
    `cool_down_multiplier` each time a trial fails, up to `max_cool_down_s`; half-open,
    it admits `half_open_calls` trial calls in all. Keep `cool_down_s` above the call
    timeout, so that results arriving while half-open are the trials' own.
    """

    consecutive_failures: int = 5
    failure_rate: float = 0.5
    rate_window_s: float = 60.0
    rate_min_calls: int = 20
    cool_down_s: float = 5.0
    cool_down_multiplier: float = 2.0
    max_cool_down_s: float = 300.0
    half_open_calls: int = 1

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be {rule}"
            for name, ok, rule in (
                ("consecutive_failures", self.consecutive_failures >= 1, "at least 1"),
                ("failure_rate", 0 < self.failure_rate <= 1, "in (0, 1]"),
                ("rate_window_s", self.rate_window_s > 0, "positive"),
                ("rate_min_calls", self.rate_min_calls >= 1, "at least 1"),
                ("cool_down_s", self.cool_down_s > 0, "positive"),
                ("cool_down_multiplier", self.cool_down_multiplier >= 1, "at least 1"),
                ("max_cool_down_s", self.max_cool_down_s >= self.cool_down_s, ">= cool_down_s"),
                ("half_open_calls", self.half_open_calls >= 1, "at least 1"),
            )
            if not ok
        ]
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True, slots=True)
class StateChange:
    """What the state-change callback receives: breaker `name` went `old` -> `new` at
    `at_ns`; `open_until_ns` is when an open breaker will admit a trial (0 otherwise)."""

    name: str
    old: BreakerState
    new: BreakerState
    at_ns: int
    open_until_ns: int = 0


class CircuitBreaker:
    """One venue's breaker (`name` is the venue). Ask `allow(now_ns)` before each call and
    report its outcome with `record_success` / `record_failure`; count as failures only
    what says the venue is unwell (see `backoff.is_transient`), not refused orders.

    Outcomes reported while open are ignored (calls admitted before it opened). The
    open -> half-open step happens on the first `allow` after the cool-down, so `state`
    reads "open" until someone asks. `on_state_change` is called synchronously on every
    transition, e.g. to set a metric.
    """

    def __init__(
        self,
        name: str,
        settings: BreakerSettings | None = None,
        on_state_change: Callable[[StateChange], None] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings or BreakerSettings()
        self._on_state_change = on_state_change
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0
        self._outcomes: deque[tuple[int, bool]] = deque()  # (ended at ns, failed)
        self._failures_in_window = 0
        self._cool_down_ns = _to_ns(self.settings.cool_down_s)
        self._open_until_ns = 0
        self._trials_admitted = 0

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def open_until_ns(self) -> int:
        """When an open breaker will next admit a trial call (ns); 0 unless open."""
        return self._open_until_ns if self._state is BreakerState.OPEN else 0

    def allow(self, now_ns: int) -> bool:
        """Whether a call may go to the venue now. A True while half-open uses up one of
        the `half_open_calls` trials."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN:
            if now_ns < self._open_until_ns:
                return False
            self._trials_admitted = 0
            self._change(BreakerState.HALF_OPEN, now_ns)
        if self._trials_admitted >= self.settings.half_open_calls:
            return False
        self._trials_admitted += 1
        return True

    def record_success(self, now_ns: int) -> None:
        """A call ended well: resets the failure streak; half-open, it closes the breaker."""
        if self._state is BreakerState.HALF_OPEN:
            self._close(now_ns)
        elif self._state is BreakerState.CLOSED:
            self._consecutive_failures = 0
            self._remember(now_ns, failed=False)

    def record_failure(self, now_ns: int) -> None:
        """A call failed: may open the breaker; half-open, it reopens it for longer."""
        if self._state is BreakerState.HALF_OPEN:
            longer = self._cool_down_ns * self.settings.cool_down_multiplier
            self._cool_down_ns = min(_to_ns(self.settings.max_cool_down_s), math.ceil(longer))
            self._open(now_ns)
        elif self._state is BreakerState.CLOSED:
            self._consecutive_failures += 1
            self._remember(now_ns, failed=True)
            if self._consecutive_failures >= self.settings.consecutive_failures or (
                len(self._outcomes) >= self.settings.rate_min_calls
                and self._failures_in_window >= self.settings.failure_rate * len(self._outcomes)
            ):
                self._open(now_ns)

    def _remember(self, now_ns: int, *, failed: bool) -> None:
        self._outcomes.append((now_ns, failed))
        self._failures_in_window += failed
        horizon = now_ns - _to_ns(self.settings.rate_window_s)
        while self._outcomes and self._outcomes[0][0] <= horizon:
            _, old_failed = self._outcomes.popleft()
            self._failures_in_window -= old_failed

    def _open(self, now_ns: int) -> None:
        self._open_until_ns = now_ns + self._cool_down_ns
        self._change(BreakerState.OPEN, now_ns)

    def _close(self, now_ns: int) -> None:
        self._consecutive_failures = 0
        self._outcomes.clear()
        self._failures_in_window = 0
        self._cool_down_ns = _to_ns(self.settings.cool_down_s)
        self._change(BreakerState.CLOSED, now_ns)

    def _change(self, new: BreakerState, now_ns: int) -> None:
        old, self._state = self._state, new
        if self._on_state_change is not None:
            self._on_state_change(StateChange(self.name, old, new, now_ns, self.open_until_ns))


def _to_ns(seconds: float) -> int:
    return math.ceil(seconds * NS_PER_S)
