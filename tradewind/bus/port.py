"""The message bus port: what every adapter (memory, Redis Streams, Kafka) promises.

Semantics, identical on every adapter and proven by `tests/contract/test_bus_contract.py`:

- A topic has `partitions` partitions; an event's key picks its partition, so events
  with one key are delivered in the order they were published.
- `subscribe(topics, group, handler)` joins a consumer group. Every group receives
  every event; the instances of one group share the partitions between them, one owner
  per partition at a time. A new group starts from the oldest retained event.
- At-least-once: an event counts as done only when the handler it was given to has
  returned. If an instance dies first (`Subscription.kill`, a crash, a lost
  connection) another instance of the group receives it again. Handlers must therefore
  be idempotent (dedupe by event id or a natural key).
- A batch whose handler raises is retried event by event; an event that still fails
  after `max_attempts` tries (or cannot be decoded) is published to `<topic>.dlq` as a
  `DeadLetter` with the reason, and the consumer goes on.
- In-flight work is bounded: an instance fetches at most `max_batch` events and fetches
  no more until the handler returned. `Subscription.stop` drains: it lets the batch in
  flight finish and be acknowledged, then leaves the group.
- A broker that cannot be reached raises `BusUnavailable` after a bounded retry; a
  publish never returns unless the broker has the event.
- Partitions go to instances by number: an instance that reads partition p of one topic
  of its subscription reads partition p of all of them, so a key's events reach one
  instance whatever their topic. `Subscription.partitions()` says which numbers an
  instance reads now, `Bus.partition_of(key)` where a key's events go: a service that
  keeps per-key state (execution's account sessions) follows the partitions it owns.
- Monitoring: `Subscription.lag()` says how many events of each topic were published
  but not yet handled by this member on the partitions it reads (asked for when metrics
  are scraped, never on the hot path); `Subscription.event_age_s()` how old, per topic,
  the newest event of its last handled batch was when it was handled.

Listeners, for what every instance of a service needs all of (prices, kill switches,
the gateway's fan-out), proven by `tests/contract/test_bus_listen_contract.py`:

- `listen(topics, name, handler, start=...)` reads every partition of `topics` by
  itself, in no group: each listener receives every event from where it started.
  `start="latest"`: every event published after `listen` returned, none published
  before it was called; `start="oldest"`: every retained event first. A topic that does
  not exist yet is read once it does. Events of one key arrive in publish order.
- A listener leaves nothing on the broker, whether it stops or dies: no group, no
  offsets, no acknowledgements. Its position lives in the process; a listener started
  again starts again from `start`. `name` only labels it in metrics and logs
  (`Subscription.group`), and any number of listeners may share one.
- `stop` drains (the batch in flight is handled), `kill` abandons it; nothing is ever
  delivered again to another instance. `partitions()` is every partition; `lag()` and
  `event_age_s()` mean what they mean for a group member.
- A batch whose handler raises is retried as a group's is; an event that still fails
  after `max_attempts` tries, or cannot be decoded, is skipped with a logged warning,
  not dead-lettered: a listener writes nothing to the broker (and every instance would
  dead-letter the same event). `timed_handler` counts the failed tries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from tradewind.bus.envelope import Envelope

BatchHandler = Callable[[Sequence[Envelope]], Awaitable[None]]

#: Where a listener starts: after the newest event, or at the oldest retained one.
Start = Literal["latest", "oldest"]


def topic_names(topics: Sequence[str]) -> tuple[str, ...]:
    """The topics a `subscribe` or `listen` was given, as a tuple: a bare `str` is a
    `Sequence[str]` too, and stands for the one topic it names, not for its letters."""
    return (topics,) if isinstance(topics, str) else tuple(topics)


def dead_letter_topic(topic: str) -> str:
    """Where a group's given-up events of `topic` go."""
    return f"{topic}.dlq"


@dataclass(frozen=True, slots=True)
class ConsumerOptions:
    """How one subscription consumes.

    `max_batch`: most events handed to the handler at once (and fetched, unacknowledged).
    `max_attempts`: tries per event before it is dead-lettered (the batch try counts).
    `retry_backoff_s`: first pause between tries, doubled each time with full jitter.
    `inline`: on the in-process bus, a publish finding this member idle runs its handler
    in the publisher's task at once (no event-loop turn between publish and handler) and
    returns after it; for hot topics whose handlers are short. Other adapters ignore it.
    """

    max_batch: int = 500
    max_attempts: int = 5
    retry_backoff_s: float = 0.02
    inline: bool = False


DEFAULT_CONSUMER_OPTIONS = ConsumerOptions()


class Subscription(Protocol):
    """A running member of a consumer group, or a listener."""

    @property
    def group(self) -> str:
        """The group's name; a listener's name."""
        ...

    def partitions(self) -> frozenset[int]:
        """The partition numbers this member reads now (empty while it holds none, e.g.
        before the group settled or after it lost its leases)."""
        ...

    def sole_partitions(self) -> frozenset[int]:
        """Those of `partitions()` that no other member can have been given yet: what a
        member may act on where two owners would do harm (execution sends orders only for
        these). Differs from `partitions()` only where the bus learns late that a member
        was dropped (Kafka: a member paused past its session still holds its assignment
        until its next heartbeat is refused)."""
        ...

    async def lag(self) -> dict[str, int]:
        """Events per topic published but not yet handled by this member, on the
        partitions it reads now (the batch in flight counts until its handler returned).
        May ask the broker: call it when sampling, not per event."""
        ...

    def event_age_s(self) -> Mapping[str, float]:
        """Per topic, seconds between the creation of the newest event of the last batch
        handled and the moment its handler returned; empty before the first batch."""
        ...

    @property
    def failure(self) -> str | None:
        """Why this member stopped reading on its own (its consumer task failed or gave
        up), None while it reads and after `stop` or `kill`. The process runner exits 1 on
        one, so that its supervisor restarts it: a process that runs on without reading
        holds its partitions (or its place in the group) and reads nothing."""
        ...

    async def stop(self) -> None:
        """Drain: finish and acknowledge the batch in flight, then leave the group (a
        listener: finish the batch in flight, then disconnect)."""

    async def kill(self) -> None:
        """Die like a crashed instance: abandon the batch in flight unacknowledged."""


class Bus(Protocol):
    """Publish keyed events to topics; consume them as consumer groups or listeners."""

    @property
    def partitions(self) -> int:
        """Partitions per topic."""

    def partition_of(self, key: str) -> int:
        """The partition events with `key` are published to (in every topic)."""

    def subscriptions(self) -> Sequence[Subscription]:
        """The running subscriptions made on this bus (for monitoring)."""

    async def start(self) -> None:
        """Connect; raises `BusUnavailable` naming the broker if it cannot be reached."""

    async def close(self) -> None:
        """Stop every subscription (draining) and release connections."""

    async def publish(self, topic: str, event: Envelope) -> None:
        """Publish one event under its key; returns once the broker holds it."""

    async def publish_batch(self, topic: str, events: Sequence[Envelope]) -> None:
        """Publish several events; per-key order is the order in `events`."""

    async def subscribe(
        self,
        topics: Sequence[str],
        group: str,
        handler: BatchHandler,
        options: ConsumerOptions = DEFAULT_CONSUMER_OPTIONS,
    ) -> Subscription:
        """Join `group` on `topics` and start handing batches to `handler`."""

    async def listen(
        self,
        topics: Sequence[str],
        name: str,
        handler: BatchHandler,
        *,
        start: Start = "latest",
        options: ConsumerOptions = DEFAULT_CONSUMER_OPTIONS,
    ) -> Subscription:
        """Read every partition of `topics` from `start`, in no group, handing batches
        to `handler`; returns once the starting position is fixed. See the module doc."""


def task_failure(tasks: Sequence[asyncio.Task[Any] | None]) -> str | None:
    """Why one of a member's running tasks ended (`Subscription.failure`): its exception,
    a cancellation, or that it returned; None while every one runs (or is None: not
    started). The member clears its tasks as it is stopped or killed, so an ending it
    asked for never shows."""
    for task in tasks:
        if task is None or not task.done():
            continue
        if task.cancelled():
            return f"{task.get_name()} was cancelled"
        exc = task.exception()
        return f"{task.get_name()} failed: {exc!r}" if exc else f"{task.get_name()} ended"
    return None


def cancel_requested() -> bool:
    """Whether the running task was asked to cancel: a `CancelledError` it catches is
    then a stop to pass on; otherwise one raised into it by a library (aiokafka#647,
    ccxt's shared markets loading) is a failure to handle."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0
