"""Client-side rate limits: a token bucket, and a limiter that follows a venue's published
fixed-window limits so that no request goes out that the venue would refuse.

Pure and synchronous: every call takes `now_ns` (ns, from whatever clock the caller uses;
`WeightLimiter` needs Unix-epoch time because venue windows are aligned to it) and
answers waits in seconds, ready for `asyncio.sleep`. Counting is in integers, so the
limits hold exactly, not to within rounding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from tradewind.domain.time_units import NS_PER_S


class TokenBucket:
    """Up to `burst` tokens, refilled continuously at `rate_per_s` tokens per second;
    it starts full. Taking `n` tokens succeeds only if `n` are there.

    Kept as the time the bucket will be full again (GCRA), in integer ns: the refill
    interval is `1 / rate_per_s` rounded up to a whole ns, so the bucket never refills
    faster than asked. A clock that steps back credits nothing.
    """

    __slots__ = ("_capacity_ns", "_full_at_ns", "_interval_ns", "burst", "rate_per_s")

    def __init__(self, rate_per_s: float, burst: int) -> None:
        if not rate_per_s > 0:
            raise ValueError(f"rate_per_s must be positive, got {rate_per_s}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1 token, got {burst}")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._interval_ns = math.ceil(Fraction(NS_PER_S) / Fraction(rate_per_s))
        self._capacity_ns = burst * self._interval_ns
        self._full_at_ns: int | None = None  # None: full since forever

    def try_take(self, n: int, now_ns: int) -> bool:
        """Take `n` tokens at `now_ns` if there are that many; False (taking none) if not."""
        after = self._after_taking(n, now_ns)
        if after - now_ns > self._capacity_ns:
            return False
        self._full_at_ns = after
        return True

    def wait_time(self, n: int, now_ns: int) -> float:
        """Seconds from `now_ns` until `n` tokens are there (0.0 if they are now)."""
        excess_ns = self._after_taking(n, now_ns) - now_ns - self._capacity_ns
        return max(0, excess_ns) / NS_PER_S

    def available(self, now_ns: int) -> float:
        """Tokens in the bucket at `now_ns` (fractional while refilling)."""
        if self._full_at_ns is None or self._full_at_ns <= now_ns:
            return float(self.burst)
        return self.burst - (self._full_at_ns - now_ns) / self._interval_ns

    def _after_taking(self, n: int, now_ns: int) -> int:
        if not 0 <= n <= self.burst:
            raise ValueError(f"cannot take {n} tokens from a bucket of {self.burst}")
        full_at = now_ns if self._full_at_ns is None else max(self._full_at_ns, now_ns)
        return full_at + n * self._interval_ns


@dataclass(frozen=True, slots=True)
class RateWindow:
    """At most `limit` per `interval_s`-second window, windows aligned to the Unix epoch
    (as venues publish them: a 1-minute weight restarts at every whole minute UTC).

    Each request costs its weight, or 1 if `counts_requests` (a window of requests or
    orders, not weight). `header` is the response header in which the venue reports
    this window's usage (matched case-insensitively); "" if none.
    """

    name: str
    limit: int
    interval_s: int
    header: str = ""
    counts_requests: bool = False

    def cost(self, weight: int) -> int:
        """What a request of `weight` counts against this window."""
        return 1 if self.counts_requests else weight


class WeightLimiter:
    """Keeps requests under every one of a venue's fixed-window limits.

    `reserve` is try-and-wait, never a booking of the future: either the request fits
    now and is counted (0.0), or nothing is counted and the answer is how long to wait
    before asking again. So a caller that oversleeps, or a 429 that arrives meanwhile,
    can never push a request over a limit or into a ban:

        while (delay_s := limiter.reserve(weight, clock_ns())) > 0:
            await asyncio.sleep(delay_s)

    A request sent within `boundary_margin_s` of a window boundary counts in both windows
    around it, because network latency and clock offset decide on which side of the
    venue's boundary it lands. One instance per thing the venue limits (an egress IP for
    request weight, an account for orders); `reserve_together` spans several.
    """

    def __init__(self, windows: Sequence[RateWindow], *, boundary_margin_s: float = 0.5) -> None:
        if not windows:
            raise ValueError("a WeightLimiter needs at least one RateWindow")
        self._margin_ns = round(boundary_margin_s * NS_PER_S)
        for window in windows:
            if window.limit < 1 or window.interval_s < 1:
                raise ValueError(f"{window.name}: limit and interval_s must be at least 1")
            if not 0 <= 2 * self._margin_ns < window.interval_s * NS_PER_S:
                raise ValueError(
                    f"boundary_margin_s {boundary_margin_s} must be under half of "
                    f"{window.name}'s {window.interval_s} s"
                )
        self.windows = tuple(windows)
        self._interval_ns = tuple(w.interval_s * NS_PER_S for w in self.windows)
        # Per window: window index (start // interval) -> what was counted in it.
        self._used: tuple[dict[int, int], ...] = tuple({} for _ in self.windows)
        self._blocked_until_ns = 0

    @property
    def blocked_until_ns(self) -> int:
        """Until when (ns) nothing may be sent because of `penalise`; 0 if never blocked."""
        return self._blocked_until_ns

    def wait_time(self, weight: int, now_ns: int, *, keep: float = 0.0) -> float:
        """Seconds until a request of `weight` would fit; counts nothing."""
        return (self._earliest_ns(weight, now_ns, keep) - now_ns) / NS_PER_S

    def reserve(self, weight: int, now_ns: int, *, keep: float = 0.0) -> float:
        """0.0 if a request of `weight` may go now (it is counted); otherwise the seconds
        to wait before asking again, with nothing counted. ValueError if `weight` exceeds
        a window's whole limit, since it could never go. `keep`: the share of each
        window's limit the request must leave free (for requests that matter more: a
        background request with `keep=0.25` fits only in the first three quarters)."""
        earliest = self._earliest_ns(weight, now_ns, keep)
        if earliest > now_ns:
            return (earliest - now_ns) / NS_PER_S
        self._count(weight, now_ns)
        return 0.0

    def observe_headers(self, headers: Mapping[str, str], now_ns: int) -> None:
        """Sync with the usage a venue response reports (e.g. a
        `…-USED-WEIGHT-1M: 1200` header); headers that are absent or not integers are ignored."""
        lowered = {key.lower(): value for key, value in headers.items()}
        for window in self.windows:
            raw = lowered.get(window.header.lower()) if window.header else None
            if raw is not None and raw.strip().isdigit():
                self.observe_used(window.name, int(raw), now_ns)

    def observe_used(self, window_name: str, used: int, now_ns: int) -> None:
        """The venue says `used` is counted in `window_name`'s current window. The count
        only ever rises: other clients on the same IP add to it, and our own requests
        still in flight are not in it yet. A report read within the boundary margin after
        a window began is ignored: it may be the previous window's count (answered before
        the boundary, or by a clock a little behind ours), which would hold the new window
        as spent. KeyError for an unknown window name."""
        index = next((i for i, w in enumerate(self.windows) if w.name == window_name), None)
        if index is None:
            raise KeyError(f"no rate window named {window_name!r}")
        if now_ns % self._interval_ns[index] < self._margin_ns:
            return
        used_by_window = self._used[index]
        current = now_ns // self._interval_ns[index]
        used_by_window[current] = max(used_by_window.get(current, 0), used)

    def penalise(self, retry_after_s: float, now_ns: int) -> None:
        """The venue answered 429 or 418 with `Retry-After`: send nothing at all until
        that has passed, since a request into the back-off gets the IP banned."""
        until = now_ns + math.ceil(retry_after_s * NS_PER_S)
        self._blocked_until_ns = max(self._blocked_until_ns, until)

    def _windows_touched(self, index: int, at_ns: int) -> tuple[int, ...]:
        interval = self._interval_ns[index]
        first = (at_ns - self._margin_ns) // interval
        last = (at_ns + self._margin_ns) // interval
        return (first,) if first == last else (first, last)

    def _earliest_ns(self, weight: int, now_ns: int, keep: float = 0.0) -> int:
        if weight < 0:
            raise ValueError(f"weight must not be negative, got {weight}")
        if not 0.0 <= keep < 1.0:
            raise ValueError(f"keep must be in [0, 1), got {keep}")
        for window in self.windows:
            if window.cost(weight) > window.limit:
                raise ValueError(
                    f"a request of weight {weight} can never fit {window.name} "
                    f"(limit {window.limit})"
                )
        at = max(now_ns, self._blocked_until_ns)
        moved = True
        while moved:
            moved = False
            for index, window in enumerate(self.windows):
                cost, used = window.cost(weight), self._used[index]
                # What this request may fill: all but `keep` of it, and never less than
                # itself (so it fits an empty window whatever it must leave).
                limit = max(cost, math.floor(window.limit * (1.0 - keep)))
                for window_index in self._windows_touched(index, at):
                    if used.get(window_index, 0) + cost > limit:
                        # First moment the request no longer touches that window.
                        at = (window_index + 1) * self._interval_ns[index] + self._margin_ns
                        moved = True
                        break
        return at

    def _count(self, weight: int, now_ns: int) -> None:
        for index, window in enumerate(self.windows):
            used = self._used[index]
            touched = self._windows_touched(index, now_ns)
            for window_index in touched:
                used[window_index] = used.get(window_index, 0) + window.cost(weight)
            for stale in [k for k in used if k < touched[0]]:
                del used[stale]


def reserve_together(requests: Sequence[tuple[WeightLimiter, int]], now_ns: int) -> float:
    """Reserve in every limiter at once (e.g. the IP's weight and the account's order
    count for one new order), or in none: 0.0 if all were counted, else the longest wait
    in seconds, with nothing counted anywhere."""
    delay_s = max(limiter.wait_time(weight, now_ns) for limiter, weight in requests)
    if delay_s > 0:
        return delay_s
    for limiter, weight in requests:
        limiter.reserve(weight, now_ns)
    return 0.0
