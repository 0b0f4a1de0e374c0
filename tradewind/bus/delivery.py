"""Handing a fetched batch to a handler: retries, then dead-lettering (a listener:
skipping). Shared by every adapter so that "tries N times, then `<topic>.dlq` with the
reason" means the same everywhere."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence

from tradewind.bus.envelope import Envelope, encode, envelope
from tradewind.bus.port import (
    BatchHandler,
    ConsumerOptions,
    cancel_requested,
    dead_letter_topic,
)
from tradewind.domain.backoff import Backoff
from tradewind.domain.events import DeadLetter
from tradewind.domain.time_units import NS_PER_S

#: Publishes one dead letter: (dead-letter topic, its envelope).
PublishDeadLetter = Callable[[str, Envelope], Awaitable[None]]

log = logging.getLogger(__name__)

_MAX_BACKOFF_S = 2.0


def dead_letter(
    topic: str, group: str, reason: str, attempts: int, raw: bytes, event_id: str, key: str
) -> tuple[str, Envelope]:
    """The dead-letter topic and envelope for an event `group` gave up on."""
    letter = DeadLetter(
        topic=topic,
        group=group,
        reason=reason,
        attempts=attempts,
        event_id=event_id,
        raw=raw,
        ts_ns=time.time_ns(),
    )
    return dead_letter_topic(topic), envelope(letter, key, trace_id=event_id or None)


async def skip_dead_letter(_dead_letter_topic: str, letter: Envelope) -> None:
    """A listener's `PublishDeadLetter`: log the given-up event (topic, listener, event
    id, reason; never the raw message) and publish nothing."""
    given_up = letter.payload
    if isinstance(given_up, DeadLetter):
        log.warning(
            "listener %r skipped an event of %r (event id %r): %s",
            given_up.group,
            given_up.topic,
            given_up.event_id or letter.key,
            given_up.reason,
        )


def describe(exc: BaseException) -> str:
    """A one-line reason: the exception's type and message."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def deliver(
    batch: Sequence[Envelope],
    topics: Sequence[str],
    group: str,
    handler: BatchHandler,
    options: ConsumerOptions,
    publish_dead_letter: PublishDeadLetter,
    ages_s: MutableMapping[str, float] | None = None,
    first_error: Exception | None = None,
) -> int:
    """Give `batch` to `handler`; `topics[i]` is the topic of `batch[i]`.

    If the whole batch fails, each event is retried on its own (at-least-once allows
    the ones that had succeeded to be seen again) up to `options.max_attempts` tries in
    all, with jittered exponential backoff; an event that still fails is dead-lettered.
    Returns the number of events dead-lettered. Cancellation of the consumer propagates
    untouched, so an instance that dies mid-batch leaves the batch unacknowledged; a
    `CancelledError` the consumer was not asked for is a failure like any other. `ages_s`, if
    given, receives per topic the age of the batch's newest event once it was handled
    (`Subscription.event_age_s`). `first_error`, if given, is how the batch's first try
    (made elsewhere: the in-process bus's delivery in the publisher's task) failed: the
    batch is not tried again as a whole, its events are retried as above.
    """
    if first_error is None:
        try:
            await handler(batch)
            if ages_s is not None:
                note_event_ages(batch, topics, ages_s)
            return 0
        except Exception as exc:
            batch_error = exc
        except asyncio.CancelledError as exc:
            batch_error = unasked_cancellation(exc)
    else:
        batch_error = first_error
    # One line per failed batch (not per retry): a handler that keeps failing is
    # otherwise silent in its service's log until the dead letter.
    log.warning(
        "group %r: handler failed on a batch of %d events of %s (%s); retrying each event",
        group,
        len(batch),
        ", ".join(sorted(set(topics))),
        describe(batch_error),
    )
    backoff = _retry_backoff(options)
    dead = 0
    for env, topic in zip(batch, topics, strict=True):
        attempts = 1
        error: BaseException = batch_error
        while attempts < options.max_attempts:
            await asyncio.sleep(backoff.delay_s(attempts))
            attempts += 1
            try:
                await handler((env,))
                break
            except Exception as exc:
                error = exc
            except asyncio.CancelledError as exc:
                error = unasked_cancellation(exc)
        else:
            dead += 1
            reason = f"handler failed {attempts} times: {describe(error)}"
            log.error("group %r gives up on event %r of %r: %s", group, env.event_id, topic, reason)
            await publish_dead_letter(
                *dead_letter(topic, group, reason, attempts, encode(env), env.event_id, env.key)
            )
    if ages_s is not None:
        note_event_ages(batch, topics, ages_s)
    return dead


def note_event_ages(
    batch: Sequence[Envelope], topics: Sequence[str], ages_s: MutableMapping[str, float]
) -> None:
    """Set `ages_s[topic]` to now minus the creation time of the batch's newest event of
    that topic, in seconds. Once per batch: one clock read, no per-event allocation."""
    now_ns = time.time_ns()
    newest: dict[str, int] = {}
    for env, topic in zip(batch, topics, strict=True):
        if env.ts_ns > newest.get(topic, 0):
            newest[topic] = env.ts_ns
    for topic, ts_ns in newest.items():
        ages_s[topic] = (now_ns - ts_ns) / NS_PER_S


def unasked_cancellation(cancelled: asyncio.CancelledError) -> Exception:
    """A handler's `CancelledError` that this task was not asked for, as a failure of the
    handler (re-raised if it was asked: the consumer stops). A library can raise one
    into a task it never cancelled (ccxt did, cancelling a task several callers
    awaited); taken for a stop, it ended the consumer silently while its process ran
    on, reading nothing."""
    if cancel_requested():
        raise cancelled
    return RuntimeError(f"the handler raised a cancellation nobody asked for: {cancelled!r}")


def _retry_backoff(options: ConsumerOptions) -> Backoff:
    """The pauses between an event's tries: `options.retry_backoff_s` doubled each try,
    full jitter, never above `_MAX_BACKOFF_S` (a base above the cap waits up to the cap)."""
    cap_s = _MAX_BACKOFF_S
    return Backoff(base_s=min(options.retry_backoff_s, cap_s), cap_s=cap_s)
