"""The strategy service's Prometheus metrics.

Hook latency is observed once per hook call, which on a bar shared by 10,000 bots is
10,000 observations: `prometheus_client.Histogram.observe` (about 0.5 us, with a lock)
would cost more than most hooks. `HookTimer` counts into a plain list instead (one
`bisect` and two additions) and a collector turns the counts into the histogram
`tradewind_strategy_hook_seconds{hook}` when Prometheus scrapes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

#: Hook latency buckets, seconds: 10 us to 1 s.
HOOK_BUCKETS = (0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0)
HOOKS = ("start", "bar", "tick", "fill", "rejected", "timer", "stop")


class HookTimer:
    """Bucket counts and the sum (seconds) of one hook's call durations."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(HOOK_BUCKETS) + 1)  # the last one is +Inf
        self.total = 0.0

    def record(self, seconds: float) -> None:
        self.counts[bisect_left(HOOK_BUCKETS, seconds)] += 1
        self.total += seconds


class _HookLatency(Collector):
    def __init__(self, timers: dict[str, HookTimer]) -> None:
        self._timers = timers

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            "tradewind_strategy_hook_seconds",
            "Time one strategy hook call took, in seconds, by hook.",
            labels=("hook",),
        )
        for hook, timer in self._timers.items():
            cumulative, buckets = 0, []
            for bound, count in zip((*HOOK_BUCKETS, float("inf")), timer.counts, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            family.add_metric([hook], buckets, timer.total)
        yield family


class StrategyMetrics:
    """`tradewind_strategy_*`, registered in the runtime's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.bots = Gauge(
            "tradewind_strategy_bots",
            "Bots this instance hosts, by state (running, paused).",
            ("state",),
            registry=registry,
        )
        self.trades_repeated = Counter(
            "tradewind_strategy_trades_repeated",
            "Trade ticks dropped as repeats (a trade id seen lately on its market).",
            registry=registry,
        )
        self.bars_repeated = Counter(
            "tradewind_strategy_bars_repeated",
            "Bars dropped as repeats of one the bots had (two marketdata instances "
            "publishing one market, or a redelivery).",
            registry=registry,
        )
        self.intents = Counter(
            "tradewind_strategy_intents",
            "Order intents the hosted bots submitted and the service published.",
            registry=registry,
        )
        self.cancel_requests = Counter(
            "tradewind_strategy_cancel_requests",
            "Cancel requests the service published for hosted bots' orders.",
            registry=registry,
        )
        self.errors = Counter(
            "tradewind_strategy_errors",
            "Strategy hook calls that raised, by strategy.",
            ("strategy",),
            registry=registry,
        )
        self.hooks = {hook: HookTimer() for hook in HOOKS}
        registry.register(_HookLatency(self.hooks))

    def set_bot_counts(self, running: int, paused: int) -> None:
        self.bots.labels("running").set(running)
        self.bots.labels("paused").set(paused)
