"""Calling strategy hooks: one bot at a time, timed, and with every failure contained.

A hook that raises is the bot's problem only: what it submitted or canceled in that call
is dropped (its intent ids stay used, never reissued; a cancel may be asked again),
`tradewind_strategy_errors_total{strategy}` counts it, and after `max_errors_in_row`
failures with no success between them the bot is given up on (the service pauses it and
logs once). The strategy's memory may be left
half-changed by the failed call; the next success or the pause saves it as it is.

The market data loops are the hot path: no logging, no allocation beyond what the
strategy does, one clock read before and after each call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Concatenate, ParamSpec

from tradewind.domain.events import Bar, Fill, OrderRejected, TradeTick
from tradewind.services.strategy.host import BotHost
from tradewind.services.strategy.metrics import HookTimer, StrategyMetrics
from tradewind.services.strategy.outbound import Outbound
from tradewind.strategies.api import StrategyContext

P = ParamSpec("P")
#: Called once when a bot has failed `max_errors_in_row` times in a row.
GiveUp = Callable[[BotHost, Exception], None]


class HookRunner:
    """Calls strategy hooks one bot at a time, timed, containing every failure: after
    `max_errors_in_row` failures in a row the bot is given up on."""

    def __init__(
        self,
        outbound: Outbound,
        metrics: StrategyMetrics,
        *,
        max_errors_in_row: int,
        give_up: GiveUp,
    ) -> None:
        if max_errors_in_row < 1:
            raise ValueError(f"max_errors_in_row must be at least 1, got {max_errors_in_row}")
        self._outbound = outbound
        self._metrics = metrics
        self._latency = metrics.hooks
        self._max_errors = max_errors_in_row
        self._give_up = give_up

    # -- market data: the hot path ------------------------------------------------------

    def bars(self, hosts: Iterable[BotHost], bar: Bar, now_ns: int) -> None:
        """`on_bar` for each running bot in `hosts`; `now_ns` is the bar's close. A bot
        whose warm-up already held this bar is not given it again."""
        symbol, open_ns = bar.instrument.symbol, bar.open_ns

        def on_bar(host: BotHost) -> None:
            seen = host.history_until
            if seen is None or open_ns > seen.get(symbol, -1):
                host.strategy.on_bar(host, bar)

        self._market(hosts, "bar", now_ns, on_bar)

    def ticks(self, hosts: Iterable[BotHost], tick: TradeTick) -> None:
        """`on_tick` for each running bot in `hosts`."""
        self._market(hosts, "tick", tick.ts_ns, lambda host: host.strategy.on_tick(host, tick))

    def _market(
        self, hosts: Iterable[BotHost], kind: str, now_ns: int, hook: Callable[[BotHost], None]
    ) -> None:
        """Call `hook` for each running bot, timed into the `kind` latency histogram; a
        bot whose hook raises has its intents of this call dropped (see `_failed`)."""
        intents, cancels = self._outbound.intents, self._outbound.cancels
        record, clock = self._latency[kind].record, time.perf_counter
        for host in hosts:
            if not host.running:
                continue
            host.now_ns = now_ns
            marked_intents, marked_cancels = len(intents), len(cancels)
            started = clock()
            try:
                hook(host)
            except Exception as error:
                self._failed(host, error, marked_intents, marked_cancels)
            else:
                if host.errors_in_row:
                    host.errors_in_row = 0
            record(clock() - started)
            host.dirty = True

    # -- one bot at a time ----------------------------------------------------------------

    def timers(self, hosts: Iterable[BotHost], now_ns: int) -> None:
        for host in hosts:
            if host.running:
                self._run(host, now_ns, self._latency["timer"], host.strategy.on_timer, now_ns)

    def start(self, host: BotHost, now_ns: int) -> None:
        self._run(host, now_ns, self._latency["start"], host.strategy.on_start)

    def stop(self, host: BotHost, now_ns: int) -> None:
        self._run(host, now_ns, self._latency["stop"], host.strategy.on_stop)

    def fill(self, host: BotHost, fill: Fill) -> None:
        self._run(host, fill.ts_ns, self._latency["fill"], host.strategy.on_fill, fill)
        self._outbound.save(host)

    def rejected(self, host: BotHost, rejected: OrderRejected) -> None:
        timer = self._latency["rejected"]
        self._run(host, rejected.ts_ns, timer, host.strategy.on_order_rejected, rejected)
        self._outbound.save(host)

    def _run(
        self,
        host: BotHost,
        now_ns: int,
        timer: HookTimer,
        hook: Callable[Concatenate[StrategyContext, P], None],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> None:
        host.now_ns = now_ns
        marked_intents, marked_cancels = len(self._outbound.intents), len(self._outbound.cancels)
        started = time.perf_counter()
        try:
            hook(host, *args, **kwargs)
        except Exception as error:
            self._failed(host, error, marked_intents, marked_cancels)
        else:
            host.errors_in_row = 0
        timer.record(time.perf_counter() - started)
        host.dirty = True

    def _failed(self, host: BotHost, error: Exception, intents: int, cancels: int) -> None:
        for request in self._outbound.cancels[cancels:]:
            host.orders.cancel_withdrawn(request.client_order_id)  # may be asked again
        self._outbound.rollback(host, intents, cancels)
        self._metrics.errors.labels(host.strategy.name).inc()
        host.errors_in_row += 1
        if host.errors_in_row == self._max_errors:
            self._give_up(host, error)
