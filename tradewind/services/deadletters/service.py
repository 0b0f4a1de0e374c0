"""Watch every dead-letter topic, log each dead letter and keep the latest for operators.

The service joins the consumer group `deadletters` on every `<topic>.dlq` of
`tradewind.bus.topics.ALL`. For each `DeadLetter` it logs one warning line (topic, group,
reason, attempts, event id — never the raw message, which may hold account data), counts
`tradewind_bus_dead_letters_total{topic,group}` and keeps the newest `keep` records in
memory, served by the health server at `GET /deadletters`, newest first.

Redelivery (at-least-once) is absorbed by the dead letter's own event id while it is in
the kept window; older ones would be counted again, which the bus makes rare.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import structlog

from tradewind.bus.envelope import Envelope
from tradewind.bus.port import Subscription
from tradewind.bus.topics import DEAD_LETTERS
from tradewind.domain.bounded import BoundedLru
from tradewind.domain.events import DeadLetter
from tradewind.runtime.metrics import timed_handler
from tradewind.runtime.service import AdminEndpoints, Service, ServiceContext

GROUP = "deadletters"
KEEP_DEFAULT = 1000


class DeadLetterRecord(msgspec.Struct, frozen=True):
    """One dead letter as operators see it. `topic` and `group` are where the original
    event failed; `event_id` is the original event's; `dead_letter_id` is the id of the
    dead letter on the `.dlq` topic; `ts_ns` is when it was dead-lettered (ns since the
    epoch)."""

    topic: str
    group: str
    reason: str
    attempts: int
    event_id: str
    dead_letter_id: str
    ts_ns: int


class DeadLettersService(Service):
    """Logs and counts every dead letter on the `<topic>.dlq` topics and keeps the newest
    `keep` for operators (`GET /deadletters`)."""

    name = "deadletters"

    def __init__(self, keep: int = KEEP_DEFAULT) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self._recent: BoundedLru[str, DeadLetterRecord] = BoundedLru(keep)
        self._subscription: Subscription | None = None
        self._log: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(__name__)

    async def start(self, ctx: ServiceContext) -> None:
        self._log = ctx.log
        dead_letters_total = ctx.metrics.bus_dead_letters

        async def record_batch(batch: Sequence[Envelope]) -> None:
            for envelope in batch:
                letter = self.record(envelope)
                if letter is not None:
                    dead_letters_total.labels(letter.topic, letter.group).inc()

        handler = timed_handler(ctx.metrics, GROUP, record_batch)
        self._subscription = await ctx.bus.subscribe(DEAD_LETTERS, GROUP, handler)

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await subscription.stop()

    @property
    def ready(self) -> bool:
        return self._subscription is not None

    def recent(self) -> list[DeadLetterRecord]:
        """The kept dead letters, newest first (at most `keep`)."""
        return list(reversed(self._recent.values()))

    def admin_endpoints(self) -> AdminEndpoints:
        return {"/deadletters": self.recent}

    def record(self, envelope: Envelope) -> DeadLetter | None:
        """Log and keep one event from a dead-letter topic; returns the dead letter if it
        is new (neither a redelivery nor some other event published there by mistake)."""
        letter = envelope.payload
        if envelope.event_id in self._recent:
            return None
        if not isinstance(letter, DeadLetter):
            self._log.error(
                "not a dead letter on a dead-letter topic",
                type=envelope.type,
                dead_letter_id=envelope.event_id,
            )
            return None
        self._recent[envelope.event_id] = DeadLetterRecord(
            topic=letter.topic,
            group=letter.group,
            reason=letter.reason,
            attempts=letter.attempts,
            event_id=letter.event_id,
            dead_letter_id=envelope.event_id,
            ts_ns=letter.ts_ns,
        )
        self._log.warning(
            "dead letter",
            topic=letter.topic,
            group=letter.group,
            reason=letter.reason,
            attempts=letter.attempts,
            event_id=letter.event_id,
            dead_letter_id=envelope.event_id,
        )
        return letter
