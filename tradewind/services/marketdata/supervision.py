"""Keeping venue streams alive: run each forever, and after a failure count it, log it
once and wait a jittered backoff (`domain.backoff`; a venue's `RateLimited` wait when it
gives one) before the next try. A stream that ran `HEALTHY_S` starts its backoff over.

Failures the platform expects (lost connections, timeouts, rate limits, a book out of
sync) are logged as warnings; anything else, which a retry will likely repeat, as an
error, so that a bug does not hide behind endless quiet retries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec
import structlog

from tradewind.bus.delivery import describe
from tradewind.domain.backoff import Backoff, is_transient
from tradewind.errors import RateLimited, VenueUnavailable
from tradewind.services.marketdata.book_feed import BookOutOfSync
from tradewind.services.marketdata.metrics import MarketDataMetrics

T = TypeVar("T")
HEALTHY_S = 30.0


class StreamStatus(msgspec.Struct):
    """One venue stream (`markets`, `trades` or `book`) as operators see it at
    `GET /marketdata`. `events`: batches or books delivered; `failures`: failures and
    resyncs since start; `last_event_ns`: when it last delivered (ns since the epoch, 0
    never)."""

    venue: str
    symbol: str
    stream: str
    live: bool = False
    events: int = 0
    failures: int = 0
    last_error: str = ""
    last_event_ns: int = 0


class Supervisor:
    """Runs streams forever and venue calls until they succeed; see the module."""

    def __init__(
        self, backoff: Backoff, metrics: MarketDataMetrics, log: structlog.stdlib.BoundLogger
    ) -> None:
        self._backoff = backoff
        self._metrics = metrics
        self._log = log

    async def until_done(self, status: StreamStatus, call: Callable[[], Awaitable[T]]) -> T:
        """`call()`'s result, retried after every failure."""
        retry = 0
        while True:
            try:
                return await call()
            except Exception as exc:
                retry += 1
                await self._after_failure(status, exc, retry)

    async def forever(self, status: StreamStatus, run: Callable[[], Awaitable[None]]) -> None:
        """Run a stream; after it fails or ends, wait and run it again, until cancelled."""
        live = self._metrics.streams_live.labels(status.venue, status.stream)
        retry = 0
        while True:
            started = time.monotonic()
            try:
                await run()
                error: Exception = VenueUnavailable(
                    status.venue, f"the {status.stream} stream of {status.symbol} ended"
                )
            except Exception as exc:
                error = exc
            finally:
                if status.live:
                    status.live = False
                    live.dec()
            if time.monotonic() - started >= HEALTHY_S:
                retry = 0
            retry += 1
            await self._after_failure(status, error, retry)

    def delivered(self, status: StreamStatus, events: int = 1) -> None:
        """Note that the stream delivered `events`; marks it live."""
        status.events += events
        status.last_event_ns = time.time_ns()
        if not status.live:
            status.live = True
            self._metrics.streams_live.labels(status.venue, status.stream).inc()

    async def _after_failure(self, status: StreamStatus, error: Exception, retry: int) -> None:
        """Count and log a failure, then wait before the retry numbered `retry`."""
        venue, stream = status.venue, status.stream
        if isinstance(error, BookOutOfSync):
            reason = error.reason
        else:
            reason = "stream_error"
            self._metrics.stream_failures.labels(venue, stream).inc()
        if stream == "book":
            self._metrics.book_resyncs.labels(venue, reason).inc()
        status.failures += 1
        status.last_error = describe(error)
        if isinstance(error, RateLimited):
            delay = max(0.0, error.retry_after_s)
        else:
            delay = self._backoff.delay_s(retry)
        expected = isinstance(error, BookOutOfSync) or is_transient(error)
        (self._log.warning if expected else self._log.error)(
            "market data stream failed; retrying",
            venue=venue,
            symbol=status.symbol,
            stream=stream,
            error=status.last_error,
            retry=retry,
            retry_in_s=round(delay, 3),
        )
        await asyncio.sleep(delay)
