"""The risk service's metrics, `tradewind_risk_*`."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge

_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, RiskMetrics] = (
    weakref.WeakKeyDictionary()
)


class RiskMetrics:
    """Registered once per registry, so several instances in one runtime share them."""

    @classmethod
    def of(cls, registry: CollectorRegistry) -> RiskMetrics:
        metrics = _by_registry.get(registry)
        if metrics is None:
            metrics = _by_registry[registry] = cls(registry)
        return metrics

    def __init__(self, registry: CollectorRegistry) -> None:
        self.decisions = Counter(
            "tradewind_risk_decisions_total",
            "Intents decided, by decision (approved, rejected) and the rule that refused "
            "(none for approvals).",
            ("decision", "rule"),
            registry=registry,
        )
        self.duplicates = Counter(
            "tradewind_risk_duplicate_intents_total",
            "Redelivered intents already decided and published, dropped.",
            registry=registry,
        )
        self.accounts_restored = Counter(
            "tradewind_risk_accounts_restored_total",
            "Accounts whose balances, positions or equity were read from the system of "
            "record on meeting them (after a start or a take-over).",
            registry=registry,
        )
        self.kill_switches = Gauge(
            "tradewind_risk_kill_switches_engaged",
            "Kill switches engaged, as this instance knows them.",
            registry=registry,
        )
