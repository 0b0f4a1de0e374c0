"""What stands between execution and a venue: the venue's request-weight limiter (one per
venue, shared by every account, because the venue counts per egress IP), each
account's order-count limiter, the venue's circuit breaker, and a timeout on every call.

A call goes in two steps so that an order is marked SENT only once it really leaves:
`admit` waits for the rate limits (never sending into a `Retry-After`) and asks the
breaker, raising `NotSent` if the call may not go; `run` makes the call under the
timeout and reports its outcome to the breaker. Only what says the venue is unwell
(timeouts, 5xx, lost connections) counts as a failure; a refused order or a 429 is the
venue answering, and a request that never left (`VenueUnreached`: its pooled connection
was already closing) says nothing either way. A 429 blocks the whole venue (or, for a
refusal of the account's own order count, the account) until its `Retry-After` has
passed. The limits and each call's cost are the venue's (its adapter's `RateRules`);
reconciliation's reads leave a quarter of each window to orders (`BACKGROUND_KEEP`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import msgspec
import structlog

from tradewind.domain.circuit_breaker import BreakerState, CircuitBreaker, StateChange
from tradewind.domain.rate_limits import WeightLimiter, reserve_together
from tradewind.domain.time_units import NS_PER_S
from tradewind.errors import (
    RateLimited,
    TradewindError,
    VenueError,
    VenueUnavailable,
    VenueUnreached,
)
from tradewind.runtime.service_settings import ExecutionSettings
from tradewind.services.execution.metrics import BREAKER_STATE_VALUE, ExecutionMetrics
from tradewind.venues.profile import Call, RateRules

T = TypeVar("T")

PLACE_ORDER = Call.PLACE_ORDER
CANCEL_ORDER = Call.CANCEL_ORDER
FETCH_ORDER = Call.FETCH_ORDER
FETCH_OPEN_ORDERS = Call.FETCH_OPEN_ORDERS
FETCH_ALL_OPEN_ORDERS = Call.FETCH_ALL_OPEN_ORDERS
FETCH_BALANCES = Call.FETCH_BALANCES
FETCH_FILLS = Call.FETCH_FILLS

BACKGROUND_KEEP = 0.25
"""The share of each of an address's weight windows that reconciliation and history
reads (`_BACKGROUND`) leave free for orders: at a busy address, they wait for the next
window rather than take the weight an order, a cancel or a lookup of an order of unknown
outcome needs now."""
_BACKGROUND = frozenset({FETCH_BALANCES, FETCH_OPEN_ORDERS, FETCH_ALL_OPEN_ORDERS, FETCH_FILLS})


class NotSent(TradewindError):
    """A call that did not leave: the circuit breaker is open, or the rate limits would
    hold it longer than allowed. Nothing reached the venue; `retry_after_s` is when it
    might go."""

    def __init__(self, venue: str, reason: str, retry_after_s: float) -> None:
        self.venue = venue
        self.retry_after_s = retry_after_s
        super().__init__(f"{venue}: not sent: {reason}")


class BreakerStatus(msgspec.Struct, frozen=True):
    """One venue's breaker at `GET /breakers`: `state` closed/open/half_open,
    `open_for_s` until an open breaker admits a trial, `blocked_for_s` until a
    Retry-After has passed."""

    venue: str
    state: str
    open_for_s: float
    blocked_for_s: float


class VenueGate:
    """What stands between execution and one venue: its request-weight limiter, its circuit
    breaker and a timeout on every call (`admit`, then send)."""

    def __init__(
        self,
        venue: str,
        settings: ExecutionSettings,
        metrics: ExecutionMetrics,
        log: structlog.stdlib.BoundLogger,
        *,
        rules: RateRules | None,
        local: bool = False,
        egress: str | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        """`rules`: the limits the venue publishes (None: none to pace by). `egress`: the
        source address the calls through this gate leave from; a venue's gates of several
        addresses keep a weight budget each and share one `breaker` (the venue's health)."""
        self.venue = venue
        self.egress = egress
        self.local = local
        # A venue in this process has no network to wait for: no timeout to arm.
        self._timeout_s = None if local else settings.execution_call_timeout_s
        self._rules = rules
        self._limiter = WeightLimiter(rules.per_address) if rules and rules.per_address else None
        self._blocked_until_ns = 0  # Retry-After, for a venue without a limiter
        self._metrics = metrics
        self._log = log
        self._outcomes: dict[tuple[str, str], Any] = {}
        self._throttled = metrics.throttled_seconds.labels(venue)
        if breaker is None:
            breaker = CircuitBreaker(venue, settings.breaker(), self._breaker_changed)
            metrics.breaker_state.labels(venue).set(0)
        self.breaker = breaker

    def account_limiter(self) -> WeightLimiter | None:
        """A new account's order-count limiter (None when the venue limits no account's
        orders, or is not paced)."""
        rules = self._rules
        return WeightLimiter(rules.per_account) if rules and rules.per_account else None

    async def admit(
        self, call: Call, orders: WeightLimiter | None = None, *, max_wait_s: float
    ) -> None:
        """Wait until `call` may go (counting it against the limits), at most
        `max_wait_s`; `NotSent` if it would wait longer or the breaker is open."""
        waited = 0.0
        while (delay := self._reserve(call, orders)) > 0:
            if waited + delay > max_wait_s:
                raise NotSent(self.venue, f"rate limits hold {call.label} {delay:.2f} s", delay)
            await asyncio.sleep(delay)
            waited += delay
        if waited:
            self._throttled.inc(waited)
        now = time.monotonic_ns()
        if not self.breaker.allow(now):
            open_for = max(0, self.breaker.open_until_ns - now) / NS_PER_S
            raise NotSent(self.venue, "circuit breaker open: the venue keeps failing", open_for)

    async def run(
        self,
        call: Call,
        request: Callable[[], Awaitable[T]],
        orders: WeightLimiter | None = None,
    ) -> T:
        """Make an admitted call under the timeout and report its outcome. A timeout or
        lost connection is raised as `VenueUnavailable` (for an order: outcome unknown)."""
        try:
            if self._timeout_s is None:
                result = await request()
            else:
                async with asyncio.timeout(self._timeout_s):
                    result = await request()
        except TimeoutError:
            self._ended(call, "unavailable", failed=True)
            raise VenueUnavailable(
                self.venue, f"{call.label}: no answer within {self._timeout_s} s"
            ) from None
        except ConnectionError as exc:
            self._ended(call, "unavailable", failed=True)
            raise VenueUnavailable(self.venue, f"{call.label}: connection lost: {exc}") from None
        except VenueUnreached:
            self._ended(call, "unreached", failed=None)
            raise
        except RateLimited as exc:
            self._penalise(exc, orders)
            self._ended(call, "rate_limited", failed=False)
            raise
        except VenueUnavailable:
            self._ended(call, "unavailable", failed=True)
            raise
        except VenueError:
            self._ended(call, "refused", failed=False)
            raise
        except BaseException:
            self._ended(call, "unavailable", failed=True)
            raise
        self._ended(call, "ok", failed=False)
        return result

    async def call(
        self,
        call: Call,
        request: Callable[[], Awaitable[T]],
        *,
        max_wait_s: float = math.inf,
    ) -> T:
        """`admit` then `run`, for calls that change nothing on our side."""
        await self.admit(call, max_wait_s=max_wait_s)
        return await self.run(call, request)

    async def pace(self, call: Call) -> None:
        """Wait until `call` fits the limits, and count it: for what is not a request of
        `run`'s (opening a stream), so that it too stays inside the address's weight."""
        waited = 0.0
        while (delay := self._reserve(call, None)) > 0:
            await asyncio.sleep(delay)
            waited += delay
        if waited:
            self._throttled.inc(waited)

    def status(self) -> BreakerStatus:
        now = time.monotonic_ns()
        until = self._limiter.blocked_until_ns if self._limiter else self._blocked_until_ns
        return BreakerStatus(
            venue=self.venue,
            state=self.breaker.state.value,
            open_for_s=max(0, self.breaker.open_until_ns - now) / NS_PER_S,
            blocked_for_s=max(0, until - time.time_ns()) / NS_PER_S,
        )

    def _reserve(self, call: Call, orders: WeightLimiter | None) -> float:
        now = time.time_ns()
        if self._limiter is None:
            blocked = max(0, self._blocked_until_ns - now) / NS_PER_S
            if orders is None or blocked:
                return blocked
            return orders.reserve(1, now)
        weight = self._rules.cost(call) if self._rules else 1
        if orders is None:
            keep = BACKGROUND_KEEP if call in _BACKGROUND else 0.0
            return self._limiter.reserve(weight, now, keep=keep)
        return reserve_together(((self._limiter, weight), (orders, 1)), now)

    def observe_usage(self, headers: Mapping[str, str], orders: WeightLimiter | None) -> None:
        """Count what the venue says was spent (its response's usage headers) in the
        address's windows and, `orders`, the account's: what another instance or a
        restarted one spent is then paced by too."""
        now = time.time_ns()
        if self._limiter is not None:
            self._limiter.observe_headers(headers, now)
        if orders is not None:
            orders.observe_headers(headers, now)

    def _penalise(self, exc: RateLimited, orders: WeightLimiter | None) -> None:
        now = time.time_ns()
        if orders is not None and exc.per_account:
            orders.penalise(exc.retry_after_s, now)
        elif self._limiter is not None:
            self._limiter.penalise(exc.retry_after_s, now)
        else:
            until = now + math.ceil(exc.retry_after_s * NS_PER_S)
            self._blocked_until_ns = max(self._blocked_until_ns, until)

    def _ended(self, call: Call, outcome: str, *, failed: bool | None) -> None:
        """Count the call's `outcome` and tell the breaker: a failure, a success, or
        (None) nothing, for a call the venue never received."""
        now = time.monotonic_ns()
        if failed:
            self.breaker.record_failure(now)
        elif failed is not None:
            self.breaker.record_success(now)
        counter = self._outcomes.get((call.label, outcome))
        if counter is None:
            counter = self._metrics.venue_calls.labels(self.venue, call.label, outcome)
            self._outcomes[(call.label, outcome)] = counter
        counter.inc()

    def _breaker_changed(self, change: StateChange) -> None:
        self._metrics.breaker_state.labels(self.venue).set(BREAKER_STATE_VALUE[change.new])
        self._metrics.breaker_transitions.labels(self.venue, change.new.value).inc()
        log = self._log.warning if change.new is BreakerState.OPEN else self._log.info
        log("circuit breaker", venue=self.venue, old=change.old.value, new=change.new.value)


class VenueGates:
    """The gate of every venue and source address, made on first use."""

    def __init__(
        self,
        settings: ExecutionSettings,
        metrics: ExecutionMetrics,
        log: structlog.stdlib.BoundLogger,
        *,
        rules: Callable[[str], RateRules | None],
        local: frozenset[str],
    ) -> None:
        """`rules`: the limits each venue is paced by (None: none); `local`: venues in
        this process."""
        self._settings = settings
        self._metrics = metrics
        self._log = log
        self._rules = rules
        self._local = local
        self._gates: dict[tuple[str, str | None], VenueGate] = {}
        self._breakers: dict[str, CircuitBreaker] = {}

    def gate(self, venue: str, egress: str | None = None) -> VenueGate:
        """The gate of `venue` for calls leaving from `egress` (None: the default route)."""
        gate = self._gates.get((venue, egress))
        if gate is None:
            gate = VenueGate(
                venue,
                self._settings,
                self._metrics,
                self._log,
                rules=self._rules(venue),
                local=venue in self._local,
                egress=egress,
                breaker=self._breakers.get(venue),
            )
            self._breakers.setdefault(venue, gate.breaker)
            self._gates[(venue, egress)] = gate
        return gate

    def statuses(self) -> list[BreakerStatus]:
        """One per venue: its breaker, and the longest Retry-After of its addresses."""
        by_venue: dict[str, BreakerStatus] = {}
        for (venue, _), gate in self._gates.items():
            status = gate.status()
            known = by_venue.get(venue)
            if known is None or status.blocked_for_s > known.blocked_for_s:
                by_venue[venue] = status
        return [by_venue[venue] for venue in sorted(by_venue)]
