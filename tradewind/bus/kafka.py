"""The Kafka bus: `Bus` on any Kafka-protocol broker (Apache Kafka, Redpanda, Tansu), with
aiokafka.

Mapping of the port (`tradewind/bus/port.py`) onto Kafka:

- A bus topic is a Kafka topic with `partitions` partitions, created on first use
  (publish or subscribe) through the admin API. An event's key picks its partition with
  Kafka's own partitioner (murmur2 of the UTF-8 key), so Java and other clients agree.
- Only the bus creates topics: its clients ask for metadata without letting the broker
  create a missing topic (Java's `allow.auto.create.topics=false`), else the broker would
  create it with its own default partition count (Tansu 4, Kafka `num.partitions`) and
  keys would land in partitions that publishers and consumers disagree on.
- A broker restarted without its data (Tansu's memory storage, a lost volume) has none
  of the bus's topics. Every `topic_check_interval_ms`, and at once whenever a producer
  connection closed, the bus checks that the broker has its topics, creates again any it
  lost, and has its producer and consumers refresh their metadata, so that groups
  rebalance onto them. Until that check passed after a closed connection the producer
  sends nothing: Tansu would store records of a missing topic and then lose track of
  them when the topic is created (Kafka refuses them; aiokafka retries).
- `publish_batch` appends every event to the producer's per-partition record batches and
  returns once the broker acknowledged all of them (`acks=all`); it raises
  `BusUnavailable`/`BusError` instead of returning otherwise.
- `subscribe` runs one consumer-group member (`KafkaSubscription`,
  `tradewind/bus/kafka_consumer.py`) that commits offsets only after the handler returned.
- `listen` runs a consumer in no group that reads every partition (`KafkaListener`,
  `tradewind/bus/kafka_listener.py`).

URL and options (timeouts, TLS, SASL, tuning) are documented in
`tradewind/bus/kafka_settings.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import (  # type: ignore[import-untyped]
    AIOKafkaConsumer,
    AIOKafkaProducer,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.conn import CloseReason  # type: ignore[import-untyped]
from aiokafka.errors import (  # type: ignore[import-untyped]
    KafkaConnectionError,
    KafkaError,
    for_code,
)
from aiokafka.partitioner import murmur2  # type: ignore[import-untyped]
from aiokafka.protocol.metadata import MetadataRequest  # type: ignore[import-untyped]

from tradewind.bus.envelope import Envelope, encode
from tradewind.bus.kafka_consumer import KafkaSubscription
from tradewind.bus.kafka_errors import UNREACHABLE, bus_error, failure_reason
from tradewind.bus.kafka_listener import KafkaListener, listener_kwargs
from tradewind.bus.kafka_reader import KafkaReader
from tradewind.bus.kafka_settings import KafkaSettings
from tradewind.bus.port import (
    DEFAULT_CONSUMER_OPTIONS,
    BatchHandler,
    ConsumerOptions,
    Start,
    topic_names,
)
from tradewind.domain.time_units import NS_PER_MS
from tradewind.errors import BusError, BusUnavailable

log = logging.getLogger(__name__)

_TOPIC_ALREADY_EXISTS = 36
_KEY_CACHE_SIZE = 100_000  # distinct keys (accounts, instruments) remembered with their hash
_HELD_WARNING_S = 2.0  # publishes held this long for a topic check are reported


class KafkaBus:
    """`Bus` on a Kafka-protocol broker. Build with `from_url`, then `await start()`."""

    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings
        self._ssl = settings.ssl_context()
        self._producer: Any = None
        self._admin: Any = None
        self._topics: dict[str, tuple[Any, ...]] = {}  # topic -> its TopicPartitions
        self._topics_lock = asyncio.Lock()
        self._keys: dict[str, tuple[bytes, int]] = {}  # key -> (UTF-8 bytes, murmur2 hash)
        self._subscriptions: set[KafkaReader] = set()
        self._topic_keeper: asyncio.Task[None] | None = None
        self._topics_checked = asyncio.Event()  # since the producer's connection last closed
        self._connection_closed = asyncio.Event()  # wakes the topic keeper
        self._held_since = 0.0  # monotonic: when the current hold of publishes began
        self._held_reason = ""
        self._held_warned = False

    @classmethod
    def from_url(cls, url: str, *, partitions: int = 8) -> KafkaBus:
        """The bus `kafka://host:port[,host:port][?options]` names, not yet started."""
        return cls(KafkaSettings.from_url(url, partitions=partitions))

    @property
    def partitions(self) -> int:
        return self._settings.partitions

    def partition_of(self, key: str) -> int:
        # From the cache as publish_batch does: murmur2 is pure Python (~5 us a key), and
        # services ask this per event (OwnedPartitions.holds).
        routed = self._keys.get(key)
        if routed is None:
            routed = self._route(key)
        return routed[1] % self._settings.partitions

    @property
    def settings(self) -> KafkaSettings:
        return self._settings

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Connect the producer and the admin client, retrying until `connect_timeout_s`
        has passed; raises `BusUnavailable` naming the bootstrap servers if the broker
        cannot be reached, or refuses (authentication, unsupported feature)."""
        if self._producer is not None:
            return
        settings = self._settings
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.connect_timeout_s
        backoff_s = max(settings.retry_backoff_ms / 1000, 0.05)
        last_reason = "no answer"
        while True:
            self._topics_checked.set()  # nothing to check before the first connection
            producer = AIOKafkaProducer(**settings.producer_kwargs(self._ssl))
            _forbid_topic_auto_creation(producer.client)
            self._hold_producer_until_topics_checked(producer.client)
            admin = AIOKafkaAdminClient(**settings.connection_kwargs(self._ssl))
            try:
                async with asyncio.timeout_at(deadline):
                    await producer.start()
                    await admin.start()
                break
            except (KafkaError, *UNREACHABLE) as exc:
                await _stop_quietly(producer, admin)
                if not isinstance(exc, UNREACHABLE):
                    raise BusUnavailable(self._refused(failure_reason(exc))) from exc
                if not isinstance(exc, TimeoutError):  # keep the broker's reason over ours
                    last_reason = failure_reason(exc)
                remaining_s = deadline - loop.time()
                if remaining_s <= 0:
                    raise BusUnavailable(
                        f"cannot reach Kafka at {settings.servers_text} for the bus: "
                        f"{last_reason} (kept trying for {settings.connect_timeout_s:g} s)"
                    ) from exc
                await asyncio.sleep(min(backoff_s, remaining_s))
                backoff_s = min(backoff_s * 2, 1.0)
        if not hasattr(producer._message_accumulator, "_append_batch"):
            await _stop_quietly(producer, admin)
            raise BusError("this aiokafka is not the 0.14 the Kafka bus was built on; pin it")
        self._producer, self._admin = producer, admin
        self._topic_keeper = loop.create_task(self._keep_topics(), name="bus-topic-keeper")

    def _refused(self, reason: str) -> str:
        hint = ""
        if self._settings.enable_idempotence:
            hint = " (if the broker lacks idempotent producers, drop enable_idempotence)"
        return f"Kafka at {self._settings.servers_text} refused the bus: {reason}{hint}"

    async def close(self) -> None:
        """Drain and stop every subscription, flush what is still being published (at
        most `publish_timeout_s`), then disconnect."""
        subscriptions, self._subscriptions = self._subscriptions, set()
        for sub in subscriptions:  # one by one: see kafka_consumer._leave_group_if_settled
            await sub.stop()
        keeper, self._topic_keeper = self._topic_keeper, None
        if keeper is not None:  # kept until now: a stopping member may still commit
            keeper.cancel()
            await asyncio.wait({keeper})
        producer, admin = self._producer, self._admin
        self._producer = self._admin = None
        self._topics.clear()
        if producer is None:
            return
        try:
            await asyncio.wait_for(producer.flush(), self._settings.publish_timeout_s)
        except TimeoutError:
            _abandon_unacknowledged(producer._message_accumulator)
        await _stop_quietly(producer, admin)

    # -- publishing --------------------------------------------------------------------

    async def publish(self, topic: str, event: Envelope) -> None:
        await self.publish_batch(topic, (event,))

    async def publish_batch(self, topic: str, events: Sequence[Envelope]) -> None:
        """Append `events` to their partitions' record batches and wait for the broker's
        acknowledgement of all of them (at most `publish_timeout_s`)."""
        if not events:
            return
        partitions = self._topics.get(topic)
        if partitions is None:
            partitions = await self._open_topic(topic)
        producer = self._producer
        if producer is None:
            raise BusError("the Kafka bus is not started (or closed); nothing was published")
        accumulator = producer._message_accumulator
        if accumulator._closed or accumulator._exception is not None:
            raise BusError("the Kafka bus is closing; nothing was published")
        # Appending straight into aiokafka's open record batch of each partition (what its
        # send() does, minus a future and a partitioner call per event) lets concurrent
        # publishers share batches while a request is in flight: 2-3x the events/s.
        queues = accumulator._batches
        count = len(partitions)
        keys = self._keys
        acks = set()
        for env in events:
            routed = keys.get(env.key)
            if routed is None:
                routed = self._route(env.key)
            tp = partitions[routed[1] % count]
            value = encode(env)
            ts_ms = env.ts_ns // NS_PER_MS
            queue = queues.get(tp)
            batch = queue[-1] if queue else None
            if (
                batch is None
                or batch._builder.append(timestamp=ts_ms, key=routed[0], value=value) is None
            ):
                batch = accumulator._append_batch(accumulator.create_builder(), tp)
                batch._builder.append(timestamp=ts_ms, key=routed[0], value=value)
            acks.add(batch.future)
        await self._await_acks(topic, acks, len(events))

    def _route(self, key: str) -> tuple[bytes, int]:
        """The key's bytes and its partitioning hash (as Kafka's default partitioner)."""
        if len(self._keys) >= _KEY_CACHE_SIZE:
            self._keys.clear()
        raw = key.encode()
        routed = self._keys[key] = (raw, murmur2(raw) & 0x7FFFFFFF)
        return routed

    async def _await_acks(self, topic: str, acks: set[Any], count: int) -> None:
        # asyncio.wait, not gather: a cancelled publisher must not cancel batches that
        # other publishers share.
        done, pending = await asyncio.wait(acks, timeout=self._settings.publish_timeout_s)
        servers = self._settings.servers_text
        if pending:
            for fut in pending:  # their outcome no longer matters to anyone
                fut.add_done_callback(_retrieve_outcome)
            log.warning(
                "publish to %r unacknowledged after %g s; producer: %s",
                topic,
                self._settings.publish_timeout_s,
                _sender_state(self._producer),
            )
            raise BusUnavailable(
                f"Kafka at {servers} did not acknowledge {count} events on {topic!r} within "
                f"{self._settings.publish_timeout_s:g} s; they may or may not be stored, so "
                "publish them again (consumers dedupe by event id)"
            )
        failures = [_retrieve_outcome(fut) for fut in done]
        failure = next((exc for exc in failures if exc is not None), None)
        if failure is not None:
            raise bus_error(
                f"Kafka at {servers} did not store {count} events on {topic!r} "
                "(publish them again; consumers dedupe by event id)",
                failure,
            ) from failure

    # -- topics ------------------------------------------------------------------------

    async def _open_topic(self, topic: str) -> tuple[Any, ...]:
        """Create `topic` if missing and learn its partitions; cached afterwards."""
        if self._producer is None:
            raise BusError("the Kafka bus is not started (or closed); call start() first")
        async with self._topics_lock:
            known = self._topics.get(topic)
            if known is not None:
                return known
            servers = self._settings.servers_text
            try:
                await self._create_topic(topic)
                # Track the topic in the producer's metadata. aiokafka tracks only topics
                # it did not already know: one seen in its bootstrap (all topics) is left
                # out, and once any other topic is tracked, each metadata refresh asks for
                # the tracked ones only and drops the rest, leaving their partitions
                # without a leader and every publish to them unacknowledged for good (a
                # restarted risk instance stalled that way in the chaos runs).
                await self._producer.client.add_topic(topic)
                ids = await self._producer.partitions_for(topic)
            except (KafkaError, *UNREACHABLE) as exc:
                raise bus_error(
                    f"cannot create or look up topic {topic!r} on Kafka at {servers}", exc
                ) from exc
            partitions = tuple(TopicPartition(topic, p) for p in sorted(ids))
            if len(partitions) != self._settings.partitions:
                log.warning(
                    "topic %r exists with %d partitions, not %d; keys are spread over %d",
                    topic,
                    len(partitions),
                    self._settings.partitions,
                    len(partitions),
                )
            self._topics[topic] = partitions
            return partitions

    def _hold_producer_until_topics_checked(self, client: Any) -> None:
        """Make the producer's aiokafka client report no broker ready (so that it sends
        nothing, retrying) from when one of its connections closed until the topic keeper
        checked the topics again; a closed connection also wakes the keeper."""
        on_closed, ready = client._on_connection_closed, client.ready

        def note_closed(conn: Any, reason: CloseReason) -> None:
            if reason is not CloseReason.SHUTDOWN:
                if self._topics_checked.is_set():
                    self._held_since = time.monotonic()
                    self._held_reason = getattr(reason, "name", str(reason))
                self._topics_checked.clear()
                self._connection_closed.set()
            on_closed(conn, reason)

        async def ready_once_checked(node_id: Any, **kwargs: Any) -> bool:
            return self._topics_checked.is_set() and bool(await ready(node_id, **kwargs))

        client._on_connection_closed = note_closed
        client.ready = ready_once_checked

    async def _keep_topics(self) -> None:
        """Until closed: `_check_topics` every `topic_check_interval_ms`, at once when a
        producer connection closed, and every `retry_backoff_ms` while the broker cannot
        be reached for it (quietly: publishes and consumers report that themselves)."""
        settings = self._settings
        interval_s = settings.topic_check_interval_ms / 1000
        backoff_s = max(settings.retry_backoff_ms / 1000, 0.05)
        while True:
            wait_s = interval_s if self._topics_checked.is_set() else backoff_s
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._connection_closed.wait()
            self._connection_closed.clear()
            self._warn_if_held_long()
            try:
                async with asyncio.timeout(settings.request_timeout_ms / 1000):
                    on_broker = await self._check_topics()
            except (KafkaError, *UNREACHABLE) as exc:
                log.debug("cannot check the bus's topics: %s", failure_reason(exc))
                continue
            except BusError as exc:  # refused to create a lost topic
                log.warning("%s", exc)
                self._release_publishes()  # publishes get the broker's own answer
                continue
            except Exception as exc:  # never die: publishes would stay held for good
                log.warning("checking the bus's topics failed: %s", failure_reason(exc))
                continue
            if not self._connection_closed.is_set():  # else check again: it may be stale
                self._release_publishes()
            try:
                self._refresh_stale_metadata(on_broker)
            except Exception as exc:
                log.warning("metadata refresh not requested: %s", failure_reason(exc))

    def _warn_if_held_long(self) -> None:
        """Say so when publishes have been held for a topic check for a while (once per
        hold): a process whose publishes all time out should tell why."""
        if self._topics_checked.is_set() or self._held_warned:
            return
        held_s = time.monotonic() - self._held_since
        if held_s >= _HELD_WARNING_S:
            self._held_warned = True
            log.warning(
                "publishes held %.1f s: a producer connection to Kafka at %s closed (%s) "
                "and the topics could not be checked since",
                held_s,
                self._settings.servers_text,
                self._held_reason,
            )

    def _release_publishes(self) -> None:
        if not self._topics_checked.is_set() and self._held_warned:
            held_s = time.monotonic() - self._held_since
            log.warning("publishes released after %.1f s: the topics were checked", held_s)
        self._held_warned = False
        self._topics_checked.set()

    async def _check_topics(self) -> dict[str, int]:
        """Create again the topics the broker lost and adopt a partition count the broker
        changed; returns each topic's partition count on the broker."""
        names = sorted(self._topics)
        if not names:
            return {}
        on_broker = await self._partition_counts(names)
        lost = [topic for topic in names if topic not in on_broker]
        if lost:
            log.warning(
                "Kafka at %s no longer has topics %s (restarted without its data?); "
                "creating them again with %d partitions",
                self._settings.servers_text,
                ", ".join(lost),
                self._settings.partitions,
            )
            for topic in lost:
                await self._create_topic(topic)
            on_broker = await self._partition_counts(names)
        for topic, count in on_broker.items():
            if count != len(self._topics[topic]):
                log.warning(
                    "topic %r now has %d partitions, not %d; keys are spread over %d",
                    topic,
                    count,
                    len(self._topics[topic]),
                    count,
                )
                self._topics[topic] = tuple(TopicPartition(topic, p) for p in range(count))
        return on_broker

    async def _partition_counts(self, topics: list[str]) -> dict[str, int]:
        """How many partitions the broker has for each of `topics` it has at all (asked
        through the admin client: the producer's may be held)."""
        client = self._admin._client
        node = client.get_random_node()
        if node is None:
            raise KafkaConnectionError("no broker known")
        request = MetadataRequest(topics, allow_auto_topic_creation=False)
        response = await client.send(node, request)
        # entry: (error_code, name, [is_internal,] partitions); the layout varies by version
        return {entry[1]: len(entry[-1]) for entry in response.topics if entry[0] == 0}

    def _refresh_stale_metadata(self, on_broker: dict[str, int]) -> None:
        """Have every client of this bus whose partitions of a topic differ from the
        broker's refresh its metadata in the background (a group's leader then
        rebalances onto the broker's partitions)."""
        clients: list[tuple[Any, Sequence[str]]] = [(self._producer.client, list(self._topics))]
        clients += [(sub.kafka_client, sub.topics) for sub in self._subscriptions]
        for client, topics in clients:
            known = client.cluster
            if any(len(known.partitions_for_topic(t) or ()) != on_broker.get(t) for t in topics):
                client.force_metadata_update()

    async def _create_topic(self, topic: str) -> None:
        new = NewTopic(topic, self._settings.partitions, self._settings.replication_factor)
        response = await self._admin.create_topics([new])
        for entry in response.topic_errors:
            name, code = entry[0], entry[1]
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                message = entry[2] if len(entry) > 2 and entry[2] else ""
                raise BusError(
                    f"Kafka at {self._settings.servers_text} refused to create topic "
                    f"{name!r}: {for_code(code).__name__} {message}".rstrip()
                )

    # -- consuming ---------------------------------------------------------------------

    async def subscribe(
        self,
        topics: Sequence[str],
        group: str,
        handler: BatchHandler,
        options: ConsumerOptions = DEFAULT_CONSUMER_OPTIONS,
    ) -> KafkaSubscription:
        """Join `group` on `topics` (created first if missing, so their creation cannot
        trigger a rebalance) and start handing batches to `handler`. Returns once the
        group assigned this member its partitions, or after `join_timeout_s`."""
        topics = topic_names(topics)
        if not topics:
            raise ValueError("subscribe needs at least one topic")
        for topic in topics:
            if topic not in self._topics:
                await self._open_topic(topic)
        consumer = AIOKafkaConsumer(**self._settings.consumer_kwargs(group, self._ssl))
        _forbid_topic_auto_creation(consumer._client)
        subscription = KafkaSubscription(
            self, self._settings, consumer, topics, group, handler, options
        )
        await subscription.begin()
        self._subscriptions.add(subscription)
        return subscription

    async def listen(
        self,
        topics: Sequence[str],
        name: str,
        handler: BatchHandler,
        *,
        start: Start = "latest",
        options: ConsumerOptions = DEFAULT_CONSUMER_OPTIONS,
    ) -> KafkaListener:
        """Read every partition of `topics` (created first if missing) from `start`, in
        no group; returns once the starting offsets are fixed."""
        topics = topic_names(topics)
        if not topics:
            raise ValueError("listen needs at least one topic")
        partitions: list[Any] = []
        for topic in dict.fromkeys(topics):
            partitions += self._topics.get(topic) or await self._open_topic(topic)
        consumer = AIOKafkaConsumer(**listener_kwargs(self._settings, self._ssl))
        _forbid_topic_auto_creation(consumer._client)
        listener = KafkaListener(
            self, self._settings, consumer, tuple(partitions), name, handler, options
        )
        await listener.begin(start)
        self._subscriptions.add(listener)
        return listener

    def subscriptions(self) -> Sequence[KafkaReader]:
        return tuple(self._subscriptions)

    def forget(self, subscription: KafkaReader) -> None:
        """Called by a subscription that stopped or was killed."""
        self._subscriptions.discard(subscription)


def _forbid_topic_auto_creation(client: Any) -> None:
    """Make an aiokafka client ask for the metadata of named topics without letting the
    broker create those missing (aiokafka has no `allow_auto_create_topics` argument)."""
    client._metadata_update = functools.partial(_update_metadata, client, client._metadata_update)


async def _update_metadata(client: Any, update_all: Any, cluster: Any, topics: Any) -> bool:
    """Stands in for `AIOKafkaClient._metadata_update` (which the client calls for every
    metadata refresh after it bootstrapped): the same request to any broker that
    answers, with `allow_auto_topic_creation=False`. A request for all topics (`topics`
    empty) never creates one and goes to aiokafka's own."""
    if not topics:
        return bool(await update_all(cluster, topics))
    request = MetadataRequest(list(topics), allow_auto_topic_creation=False)
    nodes = [broker.nodeId for broker in client.cluster.brokers()]
    random.shuffle(nodes)
    for node in nodes:
        try:
            response = await client.send(node, request)
        except (KafkaError, TimeoutError) as exc:
            log.debug("metadata request to node %s failed: %s", node, failure_reason(exc))
            continue
        if not response.brokers:
            return False
        cluster.update_metadata(response)
        return True
    cluster.failed_update(None)
    return False


def _abandon_unacknowledged(accumulator: Any) -> None:
    """Fail the record batches the broker never acknowledged (it is gone), so that the
    producer can stop instead of retrying them forever."""
    batches = [b for queue in accumulator._batches.values() for b in queue]
    batches += accumulator._pending_batches
    accumulator.fail_all(BusError("the Kafka bus was closed before Kafka acknowledged"))
    for batch in batches:  # aiokafka leaves these failures unread; asyncio would warn
        for fut in (batch.future, batch._drain_waiter):
            if fut.done():
                _retrieve_outcome(fut)


def _sender_state(producer: Any) -> str:
    """What aiokafka's sender is waiting on (for the log of a publish that timed out):
    brokers with a request in flight, partitions muted until their request returns
    (idempotence allows one in flight each), record batches queued, and partitions whose
    leader is unknown. Private state of aiokafka 0.14, read defensively."""
    if producer is None:
        return "closed"
    try:
        sender = producer._sender
        queued = {tp: len(q) for tp, q in producer._message_accumulator._batches.items() if q}
        cluster = producer.client.cluster
        leaderless = sorted(str(tp) for tp in queued if cluster.leader_for_partition(tp) is None)
        # For a leaderless partition: which partitions of its topic the producer's metadata
        # knows at all (a partition missing there has no leader either) - the evidence a
        # Kafka chaos run needed (docs/failover.md, "publishes unacknowledged").
        known = {
            tp.topic: sorted(cluster.partitions_for_topic(tp.topic) or ())
            for tp in queued
            if cluster.leader_for_partition(tp) is None
        }
        return (
            f"in flight to brokers {sorted(sender._in_flight)}, "
            f"muted {sorted(str(tp) for tp in sender._muted_partitions)}, "
            f"{sum(queued.values())} batches queued on {len(queued)} partitions, "
            f"leader unknown for {leaderless}, partitions in its metadata {known}, "
            f"metadata topics {sorted(producer.client._topics)}"
        )
    except Exception as exc:  # diagnostics must never turn a timeout into a crash
        return f"unreadable ({type(exc).__name__})"


def _retrieve_outcome(fut: asyncio.Future[Any]) -> BaseException | None:
    """A record batch's failure, if any, marked as seen (so asyncio does not warn)."""
    if fut.cancelled():
        return BusError("the publish was cancelled")
    return fut.exception()


async def _stop_quietly(producer: Any, admin: Any) -> None:
    """Release a producer and an admin client, whatever state they are in."""
    for close in (producer.stop, admin.close):
        try:
            await close()
        except Exception as exc:  # already broken; closing is best effort
            log.debug("closing a Kafka client failed: %s", failure_reason(exc))
