"""Spacing a process's stream openings at a venue that limits how fast they come.

Coinbase counts WebSocket connections, and subscriptions sent without a JWT, per IP
address (8 a second each, `venues.coinbase.limits`); a platform opens one user stream
per account and a market-data subscription per symbol and channel, all at once when it
starts. Every session of a venue in one process shares one `StreamPacer`
(`ccxt_venue.SharedMarkets`), which lets a stream open only at its turn.

Coinbase counts public REST requests per IP address too (10 a second): the sessions of a
venue that leave from one address share another pacer, whose turns their public
requests wait for (`SharedMarkets.public_requests`).
"""

from __future__ import annotations

import asyncio


class StreamPacer:
    """Turns at least `1 / per_s` seconds apart, in the order they are asked for;
    `per_s` None: every turn at once.

    A turn is granted only when its time has come on the clock as it is then, never
    booked ahead: a busy event loop that stalled for a second must not wake a second's
    worth of booked turns together (their connections would reach the venue in one
    burst, past its limit). After a stall at most one turn is granted at once."""

    def __init__(self, per_s: float | None) -> None:
        self.interval_s = 0.0 if per_s is None else 1.0 / per_s
        self._last_s: float | None = None  # the event loop's clock at the last turn
        self._lock = asyncio.Lock()

    async def turn(self) -> None:
        """Wait for this stream's turn to open."""
        if not self.interval_s:
            return
        async with self._lock:  # fair: turns keep the order they were asked in
            loop = asyncio.get_running_loop()
            if self._last_s is not None:
                wait = self._last_s + self.interval_s - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            self._last_s = loop.time()
