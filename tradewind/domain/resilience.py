"""What execution uses to contain venue failures, in one import: rate limits
(`rate_limits`), the per-venue circuit breaker (`circuit_breaker`) and retries with
jittered backoff (`backoff`). Each lives in its own module; this one only gathers them.
"""

from __future__ import annotations

from tradewind.domain.backoff import Backoff, is_transient
from tradewind.domain.circuit_breaker import (
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
    StateChange,
)
from tradewind.domain.rate_limits import (
    RateWindow,
    TokenBucket,
    WeightLimiter,
    binance_ip_windows,
    binance_order_windows,
    reserve_together,
)

__all__ = [
    "Backoff",
    "BreakerSettings",
    "BreakerState",
    "CircuitBreaker",
    "RateWindow",
    "StateChange",
    "TokenBucket",
    "WeightLimiter",
    "binance_ip_windows",
    "binance_order_windows",
    "is_transient",
    "reserve_together",
]
