"""The marketdata service's metrics, `tradewind_md_*`, labelled by venue (never by
symbol: a venue lists hundreds)."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge

_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, MarketDataMetrics] = (
    weakref.WeakKeyDictionary()
)


class MarketDataMetrics:
    """Registered once per registry, so several instances in one runtime share them."""

    @classmethod
    def of(cls, registry: CollectorRegistry) -> MarketDataMetrics:
        metrics = _by_registry.get(registry)
        if metrics is None:
            metrics = _by_registry[registry] = cls(registry)
        return metrics

    def __init__(self, registry: CollectorRegistry) -> None:
        self.trades = Counter(
            "tradewind_md_trades_total",
            "Trades published on md.trade.",
            ("venue",),
            registry=registry,
        )
        self.duplicate_trades = Counter(
            "tradewind_md_duplicate_trades_total",
            "Trades a venue stream delivered again (after a reconnect) and that were dropped.",
            ("venue",),
            registry=registry,
        )
        self.book_updates = Counter(
            "tradewind_md_book_updates_total",
            "Order book diffs published on md.book.",
            ("venue",),
            registry=registry,
        )
        self.book_snapshots = Counter(
            "tradewind_md_book_snapshots_total",
            "Full order book snapshots published on md.book (periodic and after resyncs).",
            ("venue",),
            registry=registry,
        )
        self.book_resyncs = Counter(
            "tradewind_md_book_resyncs_total",
            "Order books rebuilt from a fetched snapshot, by why: stream_error, "
            "sequence_reset, inconsistent, crossed.",
            ("venue", "reason"),
            registry=registry,
        )
        self.bars = Counter(
            "tradewind_md_bars_total",
            "Bars published on md.bar.",
            ("venue",),
            registry=registry,
        )
        self.stream_failures = Counter(
            "tradewind_md_stream_failures_total",
            "Venue calls or streams that failed and are retried with backoff, by stream "
            "(markets, trades, book).",
            ("venue", "stream"),
            registry=registry,
        )
        self.streams_live = Gauge(
            "tradewind_md_streams_live",
            "Venue streams currently delivering, by stream (trades, book).",
            ("venue", "stream"),
            registry=registry,
        )
        self.active_markets = Gauge(
            "tradewind_md_active_markets",
            "Markets this instance publishes now (holds the lease of); the others it "
            "watches on standby.",
            ("venue",),
            registry=registry,
        )
        self.takeovers = Counter(
            "tradewind_md_takeovers_total",
            "Markets this instance took over from standby (another instance died, left or "
            "lost the lease), each with a book snapshot and a replay of recent trades.",
            ("venue",),
            registry=registry,
        )
        self.flush_failures = Counter(
            "tradewind_md_flush_failures_total",
            "Flushes of latest prices to the cache, or of closed bars to the bus, that failed.",
            ("target",),
            registry=registry,
        )
