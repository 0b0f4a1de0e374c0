"""The portfolio service's metrics, `tradewind_portfolio_*` (never labelled by account)."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge

_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, PortfolioMetrics] = (
    weakref.WeakKeyDictionary()
)


class PortfolioMetrics:
    """Registered once per registry, so several instances in one runtime share them."""

    @classmethod
    def of(cls, registry: CollectorRegistry) -> PortfolioMetrics:
        metrics = _by_registry.get(registry)
        if metrics is None:
            metrics = _by_registry[registry] = cls(registry)
        return metrics

    def __init__(self, registry: CollectorRegistry) -> None:
        self.revaluations = Counter(
            "tradewind_portfolio_revaluations_total",
            "Accounts revalued at the latest marks (at most one per account per flush).",
            registry=registry,
        )
        self.updates = Counter(
            "tradewind_portfolio_updates_total",
            "PortfolioUpdate events published on portfolio.updates.",
            registry=registry,
        )
        self.skipped = Counter(
            "tradewind_portfolio_skipped_total",
            "Fills and balances not booked, by reason: unsupported_instrument (a pair not "
            "quoted in the account's valuation asset), out_of_step (the books hold less "
            "than the venue used: realigned by the next balances), unpriced (units of an "
            "asset with no price yet: booked once one arrives), invalid.",
            ("reason",),
            registry=registry,
        )
        self.accounts = Gauge(
            "tradewind_portfolio_accounts",
            "Accounts whose books this instance keeps.",
            registry=registry,
        )
        self.snapshots = Counter(
            "tradewind_portfolio_snapshots_total",
            "Portfolio snapshots written to the database.",
            registry=registry,
        )
        self.takeovers = Counter(
            "tradewind_portfolio_books_taken_over_total",
            "Accounts whose saved books another instance had changed, reloaded before "
            "this instance applied its batch on top (a partition that moved).",
            registry=registry,
        )
        self.flush_failures = Counter(
            "tradewind_portfolio_flush_failures_total",
            "Flushes that failed, by target (bus, cache, database); retried next time.",
            ("target",),
            registry=registry,
        )
