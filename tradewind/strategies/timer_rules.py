"""The rules of `ctx.set_timer` that every host follows (the live service's
`TimerWheel`, `services/strategy/timers.py`, and the backtest's context,
`backtest_context.py`), so a strategy's timer is accepted, refused and fired alike in both.

- `set_timer(interval_s)` takes a real number of seconds (int, float or Decimal): 0
  cancels the timer; a positive interval fires `on_timer` every `interval_s` from now,
  replacing any earlier timer. Anything else (NaN, infinite, negative, under 1 ns, over
  `MAX_TIMER_S`, not a number) raises, naming it, and changes nothing.
- A timer fires at the first moment the host looks at or after its due time, then is due
  one period after that due time; when periods were missed (a stalled event loop live,
  bars wider than the period in a backtest) they coalesce into the one call, and the
  next is due one period after the call.
"""

from __future__ import annotations

import math
from decimal import Decimal

from tradewind.domain.time_units import NS_PER_S

#: The longest timer, in seconds (about 100 years): past that a timer is a mistake.
MAX_TIMER_S = 100 * 365 * 86_400


def timer_interval_ns(interval_s: float | Decimal) -> int:
    """The period (ns) a `ctx.set_timer(interval_s)` call sets, 0 to cancel the timer.
    Raises TypeError (not an int, float or Decimal) or ValueError (not finite, negative,
    positive but under 1 ns, or over `MAX_TIMER_S`), naming the value."""
    if isinstance(interval_s, bool) or not isinstance(interval_s, int | float | Decimal):
        raise TypeError(f"a timer's interval is a number of seconds, not {interval_s!r}")
    finite = (
        interval_s.is_finite() if isinstance(interval_s, Decimal) else math.isfinite(interval_s)
    )
    if not finite or not 0 <= interval_s <= MAX_TIMER_S:
        raise ValueError(
            "a timer's interval must be a finite number of seconds from 0 (which cancels "
            f"the timer) to {MAX_TIMER_S}, not {interval_s}"
        )
    interval_ns = int(interval_s * NS_PER_S)
    if interval_s and not interval_ns:
        raise ValueError(f"a timer's interval must be 0 or at least 1 ns, not {interval_s} s")
    return interval_ns


def next_due_ns(due_ns: int, interval_ns: int, fired_ns: int) -> int:
    """When a timer of period `interval_ns`, due at `due_ns`, that fired at `fired_ns`
    (>= `due_ns`) is due next: one period after `due_ns` (no drift from a late call), or
    one period after `fired_ns` if that is already past (missed periods coalesced)."""
    next_ns = due_ns + interval_ns
    return next_ns if next_ns > fired_ns else fired_ns + interval_ns
