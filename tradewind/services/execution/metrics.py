"""The execution service's metrics, `tradewind_execution_*`, labelled by venue (and by
call or outcome, both from short fixed lists; never by account or symbol)."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge

from tradewind.domain.circuit_breaker import BreakerState

#: `tradewind_execution_breaker_state` values.
BREAKER_STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.OPEN: 1, BreakerState.HALF_OPEN: 2}

_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, ExecutionMetrics] = (
    weakref.WeakKeyDictionary()
)


class ExecutionMetrics:
    """Registered once per registry, so several instances in one runtime share them."""

    @classmethod
    def of(cls, registry: CollectorRegistry) -> ExecutionMetrics:
        metrics = _by_registry.get(registry)
        if metrics is None:
            metrics = _by_registry[registry] = cls(registry)
        return metrics

    def __init__(self, registry: CollectorRegistry) -> None:
        self.trades_recovered = Counter(
            "tradewind_execution_trades_recovered_total",
            "Venue trades of the platform's orders found in the trade history that the "
            "platform had not recorded, booked by reconciliation (should stay 0).",
            ("venue",),
            registry=registry,
        )
        self.foreign_trades = Counter(
            "tradewind_execution_foreign_trades_total",
            "Venue trades of orders the platform never placed (trading by hand), left to "
            "the balances.",
            ("venue",),
            registry=registry,
        )
        self.breaker_state = Gauge(
            "tradewind_execution_breaker_state",
            "A venue's circuit breaker: 0 closed, 1 open, 2 half-open.",
            ("venue",),
            registry=registry,
        )
        self.breaker_transitions = Counter(
            "tradewind_execution_breaker_transitions_total",
            "Circuit breaker changes, by the state entered (closed, open, half_open).",
            ("venue", "state"),
            registry=registry,
        )
        self.venue_calls = Counter(
            "tradewind_execution_venue_calls_total",
            "REST calls made to a venue, by call and outcome (ok, unavailable, unreached, "
            "rate_limited, refused).",
            ("venue", "call", "outcome"),
            registry=registry,
        )
        self.throttled_seconds = Counter(
            "tradewind_execution_throttled_seconds_total",
            "Seconds calls waited for the venue's rate limits (or a Retry-After).",
            ("venue",),
            registry=registry,
        )
        self.orders = Counter(
            "tradewind_execution_orders_total",
            "Approved intents by outcome: placed (acknowledged by the venue), rejected "
            "(by the venue or execution), blocked (kill switch), canceled (by a kill switch "
            "before it left), unknown (left to reconciliation), duplicate (redelivered, "
            "not sent again), handed_over (its account became another instance's before "
            "it was sent; that instance places it).",
            ("venue", "outcome"),
            registry=registry,
        )
        self.retries = Counter(
            "tradewind_execution_retries_total",
            "Retries after transient failures (lookups and resends included).",
            ("venue",),
            registry=registry,
        )
        self.fills = Counter(
            "tradewind_execution_fills_total",
            "Fills published on orders.events.",
            ("venue",),
            registry=registry,
        )
        self.cancels = Counter(
            "tradewind_execution_cancels_total",
            "Orders canceled for a kill switch, by outcome (canceled, failed).",
            ("venue", "outcome"),
            registry=registry,
        )
        self.reconciliations = Counter(
            "tradewind_execution_reconciliations_total",
            "Reconciliations of an account with its venue, by outcome (ok, failed).",
            ("venue", "outcome"),
            registry=registry,
        )
        self.inconsistent_reports = Counter(
            "tradewind_execution_inconsistent_reports_total",
            "Venue reports or fills that no reordering explains (overfills, another "
            "order's report): logged and dropped.",
            ("venue",),
            registry=registry,
        )
        self.sessions = Gauge(
            "tradewind_execution_sessions",
            "Open account sessions.",
            ("venue",),
            registry=registry,
        )
