"""The analytics service's metrics, `tradewind_analytics_*`."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, AnalyticsMetrics] = (
    weakref.WeakKeyDictionary()
)


class AnalyticsMetrics:
    """Registered once per registry, so several instances in one runtime share them."""

    @classmethod
    def of(cls, registry: CollectorRegistry) -> AnalyticsMetrics:
        metrics = _by_registry.get(registry)
        if metrics is None:
            metrics = _by_registry[registry] = cls(registry)
        return metrics

    def __init__(self, registry: CollectorRegistry) -> None:
        self.computed = Counter(
            "tradewind_analytics_computed_total",
            "Accounts' analytics computed and published.",
            registry=registry,
        )
        self.restored = Counter(
            "tradewind_analytics_accounts_restored_total",
            "Accounts whose recent equity was read back from the record on meeting them.",
            registry=registry,
        )
        self.halted = Counter(
            "tradewind_analytics_risk_limit_halts_total",
            "Accounts whose kill switch was engaged because their figures broke a risk limit.",
            registry=registry,
        )
        self.accounts = Gauge(
            "tradewind_analytics_accounts",
            "Accounts this instance follows.",
            registry=registry,
        )
        self.round_seconds = Histogram(
            "tradewind_analytics_round_seconds",
            "Time to compute and publish one round of changed accounts.",
            buckets=(0.001, 0.005, 0.02, 0.1, 0.5, 2.0, 10.0),
            registry=registry,
        )
