"""What the hooks of one batch produce, leaving together: intents, cancel requests,
saved bot states and bot state changes.

Hooks only append (`BotHost.submit` / `cancel`, `save`); a flush then publishes every
intent with one `publish_batch` on `orders.intent` (cancel requests likewise on
`orders.cancel`), and only after that hands the touched bots' saved states to the
`StateWriter`, which writes them in one transaction per round:

- `publish()` (market data, timers: the hot path) returns once published; the writer
  writes in the background, so the next bar does not wait for the database. What
  market data and timers saved (`saving_later`) is not even encoded here: the writer
  encodes it when it writes, once it is published (`StateWriter.save_later`).
- `flush()` also waits until every state captured so far is written. The service calls
  it before a batch of account events is acknowledged, so a crash redelivers that batch
  to the state saved before it.

Publish first, save second: a crash between the two restarts a bot from the state
before its last decisions; the redelivered event (or the next bar, or timer) decides
again with the same intent ids, and execution drops the repeats by client order id.
Saving first would instead lose a decision whose intent never left. States are encoded
when the flush begins, so a saved state never counts an intent that is not in the same
or an earlier publish. A failed publish or write keeps its work for the next flush.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Set
from typing import TYPE_CHECKING, NamedTuple

from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.port import Bus
from tradewind.bus.topics import ORDERS_CANCEL, ORDERS_INTENT
from tradewind.domain.bot_lifecycle import BotState
from tradewind.domain.commands import OrderCancelRequest, OrderIntent
from tradewind.services.strategy.metrics import StrategyMetrics
from tradewind.services.strategy.state_writer import StateWriter
from tradewind.store.database import Database

if TYPE_CHECKING:
    from tradewind.services.strategy.host import BotHost
    from tradewind.services.strategy.roster import OrderRoutes


class PendingIntent(NamedTuple):
    host: BotHost
    client_order_id: str
    intent: OrderIntent
    trace_id: str | None
    """The id of the market event that caused it, else the trace of the order event;
    None (a timer, a command) starts a new trace."""


class Outbound:
    """The effects waiting for the next `flush`."""

    def __init__(
        self, bus: Bus, database: Database, routes: OrderRoutes, metrics: StrategyMetrics
    ) -> None:
        self._bus = bus
        self.writer = StateWriter(database, unpublished=self.unpublished_bots)
        #: Set while market-data and timer hooks run: their saves go to the writer, to be
        #: encoded when it writes.
        self.saving_later = False
        self._routes = routes
        self._metrics = metrics
        self.intents: list[PendingIntent] = []
        #: What the hooks running now react to (see `PendingIntent.trace_id`).
        self.cause: str | None = None
        self.cancels: list[OrderCancelRequest] = []
        self._to_save: dict[str, BotHost] = {}
        self._state_changes: dict[str, BotState] = {}
        self._unpublished_intents: list[Envelope] = []
        self._unpublished_cancels: list[Envelope] = []
        self._unsaved: dict[str, bytes] = {}
        #: What the publish in flight took: unpublished until it returns.
        self._in_flight: tuple[list[Envelope], list[Envelope], dict[str, bytes]] | None = None
        self._lock = asyncio.Lock()

    def save(self, host: BotHost) -> None:
        """Write `host`'s saved state at the next flush (skipped if unchanged); while
        `saving_later`, when the writer next writes and all it submitted is published."""
        if self.saving_later:
            self.writer.save_later(host)
        else:
            self._to_save[host.bot_id] = host

    def unpublished_bots(self) -> Set[str]:
        """The ids of the bots with intents, cancel requests or captured states that are
        not published yet (their states must wait)."""
        bots = {pending.host.bot_id for pending in self.intents}
        bots.update(request.bot_id for request in self.cancels)
        bots.update(self._unsaved)
        queued = [self._unpublished_intents, self._unpublished_cancels]
        if self._in_flight is not None:
            intents, cancels, saved = self._in_flight
            queued += [intents, cancels]
            bots.update(saved)
        for env in itertools.chain.from_iterable(queued):
            payload = env.payload
            assert isinstance(payload, OrderIntent | OrderCancelRequest)
            bots.add(payload.bot_id)
        return bots

    def set_bot_state(self, bot_id: str, state: BotState) -> None:
        """Record `state` in the bot's row at the next flush."""
        self._state_changes[bot_id] = state

    def rollback(self, host: BotHost, intents: int, cancels: int) -> None:
        """Drop what `host` submitted since there were `intents` intents and `cancels`
        cancel requests pending: its hook raised, so its decisions are not trusted."""
        for pending in self.intents[intents:]:
            host.orders.pop(pending.client_order_id, None)
        del self.intents[intents:]
        del self.cancels[cancels:]
        host.account.orders_changed()

    @property
    def idle(self) -> bool:
        """Nothing to publish or write."""
        return not (
            self.intents
            or self.cancels
            or self._to_save
            or self._state_changes
            or self._unpublished_intents
            or self._unpublished_cancels
            or self._unsaved
        )

    async def publish(self) -> None:
        """Publish the intents and cancel requests, then queue the states for the writer
        and have it write them in the background; raises what the bus raised, keeping
        the unpublished work (and its states) for the next flush."""
        if not self.idle:
            await self._publish()
        self.writer.write_soon()

    async def flush(self) -> None:
        """`publish()`, then wait until every state captured so far is written; raises
        what the bus or the database raised, keeping the unfinished work for the next
        flush."""
        await self._publish()  # even if idle: a publish in flight may hold our states
        await self.writer.write()

    async def _publish(self) -> None:
        """Concurrent publishes take turns; each takes all work captured before its turn."""
        self._capture()
        async with self._lock:
            intents, self._unpublished_intents = self._unpublished_intents, []
            cancels, self._unpublished_cancels = self._unpublished_cancels, []
            saved, self._unsaved = self._unsaved, {}
            changes, self._state_changes = self._state_changes, {}
            self._in_flight = (intents, cancels, saved)
            try:
                if intents:
                    await self._bus.publish_batch(ORDERS_INTENT, intents)
                    self._metrics.intents.inc(len(intents))
                    intents = []
                if cancels:
                    await self._bus.publish_batch(ORDERS_CANCEL, cancels)
                    self._metrics.cancel_requests.inc(len(cancels))
                    cancels = []
            except BaseException:
                self._unpublished_intents[:0] = intents
                self._unpublished_cancels[:0] = cancels
                self._unsaved = saved | self._unsaved
                self._state_changes = changes | self._state_changes
                raise
            finally:
                self._in_flight = None
            self.writer.queue(saved, changes)

    def _capture(self) -> None:
        """Turn what the hooks appended into envelopes and encoded states (no await, so
        no hook runs in between)."""
        routes = self._routes
        for pending in self.intents:
            routes.open(pending.client_order_id, pending.host)
            intent = pending.intent
            self._unpublished_intents.append(
                envelope(intent, intent.account_id, trace_id=pending.trace_id)
            )
        self.intents = []
        self._unpublished_cancels.extend(
            envelope(request, request.account_id) for request in self.cancels
        )
        self.cancels = []
        for host in self._to_save.values():
            data = host.saved_state()
            digest = hash(data)
            if digest != host.saved_digest:
                host.saved_digest = digest
                self._unsaved[host.bot_id] = data
            host.dirty = False
        self._to_save = {}
