"""One WebSocket client as the stream hub sees it: a bounded outgoing queue, its market
subscriptions and its user data sinks; and the hub's timer task, which Binance's and
Coinbase's hubs start and pace alike. Pure asyncio, no I/O: the endpoint's writer task
sends what is queued."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from tradewind.venues.simulated.server.stream_names import MarketStream

if TYPE_CHECKING:
    from tradewind.venues.simulated.server.state import FaultSwitches

CLOSE_GOING_AWAY = 1001  # the server drops every connection (fault injection)
CLOSE_TOO_SLOW = 1008  # the client's queue overflowed


class Connection:
    """One client's outgoing side: a bounded queue of JSON texts the hub fills and the
    connection's writer empties, and what the client is subscribed to."""

    def __init__(self, epoch: int, *, combined: bool, queue_size: int) -> None:
        self.epoch = epoch  # FaultSwitches.websocket_epoch when it connected
        self.combined = combined  # wrap market events as {"stream": name, "data": event}
        self.streams: dict[str, MarketStream] = {}
        self.user_sinks: list[UserSink] = []
        self.closed = asyncio.Event()  # set when the server decided to close it
        self.close_code = 1000
        self.close_reason = ""
        self._queue: asyncio.Queue[str] = asyncio.Queue(queue_size)

    def send(self, text: str) -> bool:
        """Queue `text`; False if the queue is full (the client is too slow)."""
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    async def next_text(self) -> str:
        return await self._queue.get()

    def close(self, code: int, reason: str) -> None:
        """Tell the connection's handler to close with `code`; what is queued is dropped."""
        if not self.closed.is_set():
            self.close_code, self.close_reason = code, reason
            self.closed.set()


@dataclass(eq=False)
class UserSink:
    """One account's user data stream on one connection: through a listen key (raw, or
    wrapped like a combined stream) or a WebSocket API subscription id."""

    connection: Connection
    account_id: str
    listen_key: str | None = None
    subscription_id: int | None = None

    def wrap(self, event: str) -> str:
        if self.subscription_id is not None:
            return f'{{"subscriptionId":{self.subscription_id},"event":{event}}}'
        if self.connection.combined:
            return f'{{"stream":"{self.listen_key}","data":{event}}}'
        return event


def running_timer(
    timer: asyncio.Task[None] | None,
    run: Callable[[], Coroutine[Any, Any, None]],
    *,
    name: str,
    log: structlog.stdlib.BoundLogger,
    failure: str,
) -> asyncio.Task[None]:
    """A hub's timer task: `timer` while it runs, else a new task of `run()` named `name`.
    A timer that ends in an error logs `failure` on `log` with it; the next connection
    starts it again."""
    if timer is not None and not timer.done():
        return timer

    def log_failure(task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.error(failure, exc_info=error)

    task = asyncio.get_running_loop().create_task(run(), name=name)
    task.add_done_callback(log_failure)
    return task


async def tick_while_connected(
    faults: FaultSwitches,
    period_s: float,
    connected: Callable[[], bool],
    drop_previous_epochs: Callable[[], None],
    tick: Callable[[int], None],
) -> None:
    """A hub's timer loop: while `connected()`, `tick(n)` every `period_s` seconds (n = 1,
    2, ...; a late tick moves the next one on rather than bunching them), and
    `drop_previous_epochs()` as soon as a test injects a WebSocket drop."""
    loop = asyncio.get_running_loop()
    count = 0
    deadline = loop.time() + period_s
    while connected():
        dropped = faults.websocket_dropped  # replaced by every drop: read it each time
        if dropped.is_set():
            await asyncio.sleep(max(0.0, deadline - loop.time()))
        else:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline):
                    await dropped.wait()
        drop_previous_epochs()
        if loop.time() < deadline:
            continue
        deadline = max(deadline + period_s, loop.time())
        count += 1
        tick(count)
