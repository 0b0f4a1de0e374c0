"""The bus on Redis Streams: one stream per topic partition, one consumer group per group.

The stream `{prefix}:{topic}:{p}` (prefix `tw` by default) holds partition `p` of
`topic`; each entry has one field `e`, the msgpack envelope, and a stream keeps about
`maxlen` entries (`MAXLEN ~`). An event's partition is a stable hash of its key
(CRC-32: the same in every process). A group starts at a stream's oldest entry.
`redis_leases` decides which instance of a group reads which partition, so that one key
is read by one instance at a time, in order.

In each group a partition's stream has a single consumer name, whoever owns it, so a
new owner first re-reads that consumer's pending entries (fetched by a dead owner and
never acknowledged), then new ones. Entries are acknowledged after the handler
returned: a crash means redelivery, never loss. A listener (`listen`) reads with plain
XREAD, in no group: see `redis_listener`.

URL: `redis://[[user]:password@]host:port/db`, or `rediss://` for TLS (redis-py's own
query parameters such as `ssl_ca_certs` pass through), plus `prefix`, `lease_ms` (lease
length, ms [3000]: a dead instance's partitions are read again ~2.5 s after its death,
and an instance whose event loop stalls that long loses them, see docs/failover.md),
`block_ms` (longest wait of one read, ms), `maxlen` (entries kept per
partition) and `connect_timeout_s` (s).

Redis Sentinel: `redis://s1:26379,s2:26379,s3:26379/db?sentinel_master=NAME` (see
`tradewind.security.redis_tls`); every connection of the bus follows a failover to the
promoted replica. Replication is asynchronous, so events a publish was acknowledged for
just before the primary died can die with it; `min_replicas=N` makes a publish return
only once N replicas hold its events too (Redis's WAIT, up to 2 s), else raise
BusUnavailable (publish again: consumers may then see the events twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.connection import (
    BlockingConnectionPool,
    Connection,
    SSLConnection,
)
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tradewind.bus.delivery import deliver
from tradewind.bus.envelope import Envelope, UnreadableEvent, encode
from tradewind.bus.port import (
    DEFAULT_CONSUMER_OPTIONS,
    BatchHandler,
    ConsumerOptions,
    Start,
    task_failure,
    topic_names,
)
from tradewind.bus.redis_leases import PartitionLeases, Unit
from tradewind.bus.redis_listener import RedisStreamsListener
from tradewind.bus.redis_reading import (
    cancel_until_done,
    entry_envelope,
    read_window,
    unreadable_entry,
)
from tradewind.errors import BusError, BusUnavailable
from tradewind.security.redis_tls import (
    ServerNamedSSLConnection,
    follow_sentinels,
    parse_redis_url,
    redis_address,
)

log = logging.getLogger(__name__)

_CONSUMER = "owner"  # every partition stream's one consumer: whoever owns it now
_RETRIES = 3  # retries of a command whose connection failed (publish, bookkeeping)
_COMMAND_TIMEOUT_S = 10.0  # no reply after this long counts as a lost connection
_POOL_SIZE = 64  # connections for concurrent publishers; more wait for one
_APPEND_CHUNK = 1000  # events per script call: bounds how long Redis is busy with one
_MAX_RETRY_PAUSE_S = 2.0  # longest pause between reads while Redis is failing
_UNEXPECTED_ERRORS_KEPT = 5  # unexpected read errors in a row before the consumer gives up
_REPLICA_WAIT_MS = 2_000  # longest wait for min_replicas replicas to hold a publish


# KEYS[i]: the stream of event i; ARGV[1]: approximate max length; ARGV[i + 1]: event i.
# One script call rather than N pipelined XADDs: the client parses one reply instead of
# N, which was most of its cost (measured publishing alone: ~80k events/s vs ~260k).
_APPEND = """
for i, key in ipairs(KEYS) do
  redis.call('XADD', key, 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i + 1])
end
return #KEYS
"""


def partition_of(key: str, partitions: int) -> int:
    """The partition of events with `key`; the same in every process and every run."""
    return zlib.crc32(key.encode()) % partitions


@dataclass(frozen=True, slots=True)
class RedisStreamsSettings:
    """Where the bus lives (the Redis URL, parsed by `from_url`) and how it behaves: the
    streams' key prefix and length, lease and read timings, the replicas a publish waits
    for."""

    url: str = field(repr=False)  # for redis-py, without our query parameters
    address: str  # host:port, safe to show
    password: str | None = field(default=None, repr=False)  # to keep it out of errors
    prefix: str = "tw"
    lease_ms: int = 3_000
    block_ms: int = 200
    maxlen: int = 1_000_000
    connect_timeout_s: float = 5.0
    min_replicas: int = 0

    @classmethod
    def from_url(cls, url: str) -> RedisStreamsSettings:
        """Parse `url`; ValueError says which part is wrong."""
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"a Redis bus URL starts with redis:// or rediss://, not {url!r}")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        ours: dict[str, Any] = {}
        numbers = {
            "lease_ms": int,
            "block_ms": int,
            "maxlen": int,
            "connect_timeout_s": float,
            "min_replicas": int,
        }
        for name, kind in numbers.items():
            if name in query:
                text = query.pop(name)
                try:
                    ours[name] = kind(text)
                except ValueError:
                    raise ValueError(f"{name}={text!r} in the bus URL is not a number") from None
                if ours[name] <= 0:
                    raise ValueError(f"{name}={text!r} in the bus URL must be positive")
        if "prefix" in query:
            ours["prefix"] = query.pop("prefix")
            if not ours["prefix"]:
                raise ValueError("prefix= in the bus URL must not be empty")
        return cls(
            url=urlunsplit(parts._replace(query=urlencode(query))),
            address=redis_address(url),
            password=unquote(parts.password) if parts.password else None,
            **ours,
        )


class RedisStreamsBus:
    """`Bus` on Redis Streams. Publishing and group bookkeeping share one connection
    pool; each subscription reads on a connection of its own."""

    def __init__(self, settings: RedisStreamsSettings, partitions: int = 8) -> None:
        if partitions < 1:
            raise ValueError("partitions must be at least 1")
        self.settings = settings
        self._partitions = partitions
        self._client: aioredis.Redis | None = None
        self._append: AsyncScript | None = None
        self._streams: dict[str, list[bytes]] = {}
        self._subscriptions: list[RedisStreamsSubscription | RedisStreamsListener] = []

    @classmethod
    def from_url(cls, url: str, *, partitions: int = 8) -> RedisStreamsBus:
        """The bus at `url`, not yet started; ValueError says what is wrong."""
        return cls(RedisStreamsSettings.from_url(url), partitions)

    @property
    def partitions(self) -> int:
        return self._partitions

    def partition_of(self, key: str) -> int:
        return partition_of(key, self._partitions)

    def subscriptions(self) -> Sequence[RedisStreamsSubscription | RedisStreamsListener]:
        return tuple(self._subscriptions)

    async def start(self) -> None:
        if self._client is not None:
            return
        kind, options = self._connection_options(_COMMAND_TIMEOUT_S, _RETRIES)
        pool = BlockingConnectionPool(
            connection_class=kind, max_connections=_POOL_SIZE, timeout=_COMMAND_TIMEOUT_S, **options
        )
        client = aioredis.Redis.from_pool(pool)
        try:
            async with asyncio.timeout(self.settings.connect_timeout_s * (_RETRIES + 1) + 1):
                await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            raise self._unavailable(exc) from exc
        self._client = client
        self._append = client.register_script(_APPEND)

    async def close(self) -> None:
        errors: list[Exception] = []
        for sub in list(self._subscriptions):
            try:
                await sub.stop()
            except Exception as exc:  # stop the others all the same; raised below
                errors.append(exc)
        client, self._client, self._append = self._client, None, None
        if client is not None:
            await client.aclose()
        if errors:
            raise errors[0]

    async def publish(self, topic: str, event: Envelope) -> None:
        await self.publish_batch(topic, (event,))

    async def publish_batch(self, topic: str, events: Sequence[Envelope]) -> None:
        append = self._append
        if append is None:
            raise BusError("the Redis bus is not started (or closed); nothing was published")
        streams = self._stream_keys(topic)
        count = self._partitions
        crc32 = zlib.crc32
        maxlen = self.settings.maxlen
        for start in range(0, len(events), _APPEND_CHUNK):
            chunk = events[start : start + _APPEND_CHUNK]
            keys = [streams[crc32(e.key.encode()) % count] for e in chunk]  # partition_of
            try:
                if self.settings.min_replicas:
                    await self._append_replicated(
                        append, topic, keys, [maxlen, *map(encode, chunk)]
                    )
                else:
                    await append(keys=keys, args=[maxlen, *map(encode, chunk)])
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                raise self._unavailable(exc, f"publishing to {topic!r}") from exc
            except RedisError as exc:
                raise BusError(
                    f"Redis refused events for {topic!r}: {exc} (the batch's events from "
                    f"index {start} on may be missing; publish them again)"
                ) from exc

    async def _append_replicated(
        self, append: AsyncScript, topic: str, keys: list[bytes], args: list[Any]
    ) -> None:
        """`append`, then WAIT until min_replicas replicas hold the events, on one
        connection: WAIT counts the writes made on the connection it is sent on."""
        wanted, client = self.settings.min_replicas, self._client
        if client is None:
            raise BusError("the Redis bus was closed while publishing; publish again")
        async with client.pipeline(transaction=False) as pipe:
            await append(keys=keys, args=args, client=pipe)
            pipe.wait(wanted, _REPLICA_WAIT_MS)
            replicas = int((await pipe.execute())[-1])
        if replicas < wanted:
            raise BusUnavailable(
                f"events for {topic!r} reached {replicas} of min_replicas={wanted} Redis "
                f"replicas within {_REPLICA_WAIT_MS} ms; the primary holds them but may lose "
                "them: publish them again"
            )

    async def subscribe(
        self,
        topics: Sequence[str],
        group: str,
        handler: BatchHandler,
        options: ConsumerOptions = DEFAULT_CONSUMER_OPTIONS,
    ) -> RedisStreamsSubscription:
        if self._client is None:
            raise BusError("the Redis bus is not started (or closed); call start() first")
        topics = topic_names(topics)
        sub = RedisStreamsSubscription(self, self._client, topics, group, handler, options)
        try:
            await sub.begin()
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            await sub.kill()
            raise self._unavailable(exc, f"joining group {group!r}") from exc
        except RedisError as exc:
            await sub.kill()
            raise BusError(f"Redis refused group {group!r} on {list(topics)}: {exc}") from exc
        self._subscriptions.append(sub)
        return sub

    async def listen(
        self,
        topics: Sequence[str],
        name: str,
        handler: BatchHandler,
        *,
        start: Start = "latest",
        options: ConsumerOptions = DEFAULT_CONSUMER_OPTIONS,
    ) -> RedisStreamsListener:
        if self._client is None:
            raise BusError("the Redis bus is not started (or closed); call start() first")
        topics = topic_names(topics)
        kind, conn_options = self._connection_options(
            self.settings.block_ms / 1000 + _COMMAND_TIMEOUT_S, retries=0
        )
        listener = RedisStreamsListener(
            self, self._client, kind(**conn_options), topics, name, handler, options
        )
        try:
            await listener.begin(start)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise self._unavailable(exc, f"starting listener {name!r}") from exc
        except RedisError as exc:
            raise BusError(f"Redis refused listener {name!r} on {list(topics)}: {exc}") from exc
        self._subscriptions.append(listener)
        return listener

    def _forget(self, sub: RedisStreamsSubscription | RedisStreamsListener) -> None:
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)

    def _stream_keys(self, topic: str) -> list[bytes]:
        """The stream key of each partition of `topic`, by partition index."""
        keys = self._streams.get(topic)
        if keys is None:
            prefix = self.settings.prefix
            keys = [f"{prefix}:{topic}:{p}".encode() for p in range(self._partitions)]
            self._streams[topic] = keys
        return keys

    def _connection_options(
        self, read_timeout_s: float, retries: int
    ) -> tuple[type[Connection], dict[str, Any]]:
        """The connection class and keyword arguments for our connections: replies
        awaited up to `read_timeout_s` s, a failed connection retried `retries` times."""
        s = self.settings
        options: dict[str, Any] = {
            "socket_connect_timeout": s.connect_timeout_s,
            "socket_timeout": read_timeout_s,
            "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries),
            **parse_redis_url(s.url),  # as in redis-py: what the URL says wins
            "decode_responses": False,  # entries are msgpack bytes
        }
        tls = options.pop("connection_class", None) is SSLConnection
        kind = _HiredisSSLConnection if tls else _HiredisConnection
        return follow_sentinels(kind, options), options  # Sentinels: their master

    def _unavailable(self, exc: BaseException, doing: str = "") -> BusUnavailable:
        """The error for an unreachable Redis: host:port and the operating system's
        reason, never the password."""
        reason = _root_reason(exc)
        if self.settings.password:
            reason = reason.replace(self.settings.password, "***")
        where = f" ({doing})" if doing else ""
        return BusUnavailable(
            f"cannot reach Redis at {self.settings.address} for the bus{where}: {reason}"
        )


class RedisStreamsSubscription:
    """One member of a consumer group: a heartbeat task that keeps its partition leases
    and a consumer task that reads, delivers and acknowledges on a connection of its own
    (where reads block for up to block_ms)."""

    def __init__(
        self,
        bus: RedisStreamsBus,
        client: aioredis.Redis,
        topics: tuple[str, ...],
        group: str,
        handler: BatchHandler,
        options: ConsumerOptions,
    ) -> None:
        settings = bus.settings
        self._bus = bus
        self._client = client
        self._group = group
        self._handler = handler
        self._options = options
        self._block_ms = settings.block_ms
        self._leases = PartitionLeases(
            client,
            prefix=settings.prefix,
            topics=topics,
            group=group,
            partitions=bus.partitions,
            member_id=f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}",
            lease_ms=settings.lease_ms,
        )
        self._stream = {u: bus._stream_keys(u[0])[u[1]] for u in self._leases.units}
        self._unit_of = {key: unit for unit, key in self._stream.items()}
        kind, conn_options = bus._connection_options(
            settings.block_ms / 1000 + _COMMAND_TIMEOUT_S, retries=0
        )
        self._conn = kind(**conn_options)
        self._generation_key = self._leases.generation_key.encode()
        self._stopping = False  # stop(): drain, then leave
        self._dead = False  # kill(): abandon everything
        self._failed = False  # the consumer gave up (repeated unexpected errors)
        self._tasks: list[asyncio.Task[None]] = []
        self._rotation = 0
        self._ages_s: dict[str, float] = {}

    @property
    def failure(self) -> str | None:
        if self._failed and self._tasks:
            return f"{self._group}: the consumer gave up after repeated unexpected errors"
        return task_failure(self._tasks)

    @property
    def group(self) -> str:
        return self._group

    async def lag(self) -> dict[str, int]:
        """From XINFO GROUPS of each stream read (one round trip on the shared pool):
        the group's `lag` (entries never delivered; Redis 7) plus its `pending` (delivered,
        not yet acknowledged). A lag Redis cannot tell (entries deleted behind the group)
        counts as 0."""
        units = self._leases.readable()
        lag = {topic: 0 for topic, _ in self._leases.units}
        if not units:
            return lag
        pipe = self._client.pipeline(transaction=False)
        for unit in units:
            pipe.xinfo_groups(self._stream[unit])
        group = self._group.encode()
        for (topic, _), groups in zip(units, await pipe.execute(), strict=True):
            for info in groups:
                if info["name"] == group:
                    lag[topic] += int(info.get("lag") or 0) + int(info["pending"])
        return lag

    def event_age_s(self) -> Mapping[str, float]:
        return self._ages_s

    def partitions(self) -> frozenset[int]:
        return frozenset(partition for _, partition in self._leases.readable())

    def sole_partitions(self) -> frozenset[int]:
        # The leases are local: `readable()` ends with their validity, counted from when
        # the renewal was sent, before any other member can take them.
        return self.partitions()

    @property
    def member_id(self) -> str:
        """This instance's id in the group: the value of every lease it holds."""
        return self._leases.member_id

    async def begin(self) -> None:
        """Create the group on every partition stream, join, then start the tasks."""
        await self._create_groups()
        await self._exchange([("PING",)])  # opens the reading connection
        await self._leases.tick()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._consume(), name=f"bus-consumer:{self._group}"),
            loop.create_task(self._leases.run(), name=f"bus-heartbeat:{self._group}"),
        ]

    async def stop(self) -> None:
        """Finish and acknowledge the batch in flight, give back the leases, leave."""
        tasks, self._tasks = self._tasks, []
        self._stopping = True
        self._leases.changed.set()
        try:
            if tasks:
                await tasks[0]
        finally:
            self._leases.halt()
            for task in tasks[1:]:
                await task
            try:
                if tasks:
                    await self._leases.leave()
            except (RedisError, OSError) as exc:  # the leases run out by themselves
                log.warning("group %r: could not leave cleanly: %s", self._group, exc)
            await self._conn.disconnect()
            self._bus._forget(self)

    async def kill(self) -> None:
        """Die like a crashed process: nothing acknowledged, no lease given back."""
        tasks, self._tasks = self._tasks, []
        self._dead = True
        self._leases.halt()
        for task in tasks:
            await cancel_until_done(task)
        await self._conn.disconnect()
        self._bus._forget(self)

    async def _create_groups(self) -> None:
        """Create the group at the oldest entry of every stream (and missing streams)."""
        pipe = self._client.pipeline(transaction=False)
        for key in self._stream.values():
            pipe.xgroup_create(key, self._group, id="0", mkstream=True)
        for result in await pipe.execute(raise_on_error=False):
            if isinstance(result, Exception) and "BUSYGROUP" not in str(result):
                raise result

    async def _consume(self) -> None:
        """Read, deliver, acknowledge until stopped; ride out Redis outages.

        A batch's acknowledgements go out with the next read, in one round trip (Redis
        runs them first); they go out alone before a lease is given back, before
        waiting with nothing to read, and on stop.
        """
        leases = self._leases
        history: set[Unit] = set()  # partitions whose pending entries are read first
        acks: list[tuple[bytes, list[bytes]]] = []  # (stream, entry ids) handled
        recheck_at = 0.0
        failures = unexpected = 0
        while not self._dead:
            try:
                unwanted = leases.held - leases.wanted
                leases.changed.clear()
                units = leases.readable()
                if self._stopping or unwanted or not units:
                    if acks:
                        await self._exchange(self._ack_commands(acks))
                        acks = []
                    if self._stopping:
                        return
                    if unwanted:  # nothing of theirs is in flight between batches
                        await leases.release(unwanted)
                    else:
                        await self._pause(self._block_ms / 1000)
                    continue
                history |= leases.take_acquired()
                if time.monotonic() >= recheck_at:
                    # A read whose reply was lost leaves entries pending unseen: look for
                    # them once per lease period.
                    history.update(units)
                    recheck_at = time.monotonic() + leases.lease_ms / 1000
                acks = await self._read_batch(units, history, self._ack_commands(acks))
                failures = unexpected = 0
            except (RedisError, OSError, BusError) as exc:
                failures += 1
                acks = []  # landed or not: the pending entries will tell
                history |= leases.held
                if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
                    log.warning("group %r: a stream was deleted; recreating it", self._group)
                    with contextlib.suppress(RedisError, OSError):
                        await self._create_groups()
                elif failures == 1:  # one line per outage, not one per retry
                    log.warning("group %r: reading from Redis failed: %s", self._group, exc)
                if self._stopping:
                    return
                leases.changed.clear()
                await self._pause(min(_MAX_RETRY_PAUSE_S, 0.05 * 2**failures))
            except Exception:
                # A bug, not an outage. Leases kept by the heartbeat while nothing reads
                # would stall the partitions for good: retry like an outage a few times,
                # then give the partitions up so the other members take them over.
                unexpected += 1
                acks = []
                history |= leases.held
                log.exception("group %r: unexpected error reading (%d in a row)", self._group,
                              unexpected)  # fmt: skip
                if self._stopping:
                    return
                if unexpected >= _UNEXPECTED_ERRORS_KEPT:
                    log.error(
                        "group %r: the consumer gives up after %d unexpected errors in a "
                        "row; its partitions go to the other members",
                        self._group,
                        unexpected,
                    )
                    self._failed = True
                    self._leases.halt()
                    return
                leases.changed.clear()
                await self._pause(min(_MAX_RETRY_PAUSE_S, 0.05 * 2**unexpected))

    async def _pause(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking early when leases change or stop() is called."""
        with contextlib.suppress(TimeoutError):  # not wait_for: it can swallow a cancel
            async with asyncio.timeout(seconds):
                await self._leases.changed.wait()

    def _ack_commands(self, acks: list[tuple[bytes, list[bytes]]]) -> list[tuple[Any, ...]]:
        return [("XACK", stream, self._group, *ids) for stream, ids in acks]

    async def _exchange(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Send `commands` in one write and return their replies; raises the first
        error reply only after reading them all, so the connection stays in step."""
        conn = self._conn
        await conn.send_packed_command(b"".join([_hiredis_pack(c) for c in commands]), False)
        replies: list[Any] = []
        first_error: ResponseError | None = None
        for _ in commands:
            try:
                replies.append(await conn.read_response())
            except ResponseError as exc:
                first_error = first_error or exc
                replies.append(exc)
        if first_error is not None:
            raise first_error
        return replies

    async def _read_batch(
        self, units: list[Unit], history: set[Unit], before: list[tuple[Any, ...]]
    ) -> list[tuple[bytes, list[bytes]]]:
        """Run `before` (acknowledgements), fetch at most max_batch events from `units`
        in one XREADGROUP (with the members' generation) and hand them over; returns what
        to acknowledge."""
        units, count, self._rotation = read_window(units, self._options.max_batch, self._rotation)
        # A read of pending entries answers at once, so block only when there is none.
        pending = history.intersection(units)
        block = () if pending else ("BLOCK", self._block_ms)
        ids = ["0" if u in pending else ">" for u in units]
        read = ("XREADGROUP", "GROUP", self._group, _CONSUMER, "COUNT", count, *block,
                "STREAMS", *[self._stream[u] for u in units], *ids)  # fmt: skip
        leases = self._leases
        terms = [leases.term(u) for u in units]
        *_, generation, reply = await self._exchange([*before, ("GET", self._generation_key), read])
        if block and reply and len(units) > 1:
            reply = await self._read_rest(reply, units, count)
        leases.notice(generation)
        readable = set(leases.readable()) if reply else set(units)
        lapsed = [
            u for u, term in zip(units, terms, strict=True)
            if u not in readable or leases.term(u) != term
        ]  # fmt: skip
        if lapsed and reply:  # an empty read (None) has nothing to drop
            reply = self._still_ours(reply, lapsed)
        full: set[Unit] = set(lapsed)  # what was dropped stays pending: read it again
        try:
            return await self._hand_over(reply, count, full) if reply else []
        finally:
            # Fewer than `count` pending entries: none left once these are acknowledged.
            history.difference_update([u for u in pending if u not in full])
            history.update(lapsed)

    async def _read_rest(self, reply: Any, units: list[Unit], count: int) -> Any:
        """`reply`, a blocked read's, with what the other streams of `units` hold now.

        Redis wakes a blocked XREADGROUP with the one stream written to first, though a
        publish writes a batch to several partitions at once (one script call): without
        this, the batch's other events would wait for this part's handler and another
        round trip (measured: a bar's 100 intents over 8 partitions came as 9, then 91
        after the handler had answered the 9)."""
        items = list(reply.items()) if isinstance(reply, dict) else list(reply)
        got = {stream for stream, _ in items}
        rest = [self._stream[u] for u in units if self._stream[u] not in got]
        if not rest:
            return reply
        read = ("XREADGROUP", "GROUP", self._group, _CONSUMER, "COUNT", count,
                "STREAMS", *rest, *[">"] * len(rest))  # fmt: skip
        (more,) = await self._exchange([read])
        if not more:
            return reply
        return items + (list(more.items()) if isinstance(more, dict) else list(more))

    def _still_ours(self, reply: Any, lapsed: list[Unit]) -> Any:
        """A read's reply without the entries of `lapsed` partitions. A reply can come
        long after its request (a network partition: TCP delivers it once the link
        heals), when the lease it was read under has lapsed — or lapsed and was claimed
        again meanwhile — and another member has read those entries from the pending
        list; they stay pending for whoever owns them."""
        log.warning("group %r: dropped a read that came back after its leases lapsed", self._group)
        gone = {self._stream[u] for u in lapsed}
        if isinstance(reply, dict):
            return {stream: entries for stream, entries in reply.items() if stream not in gone}
        return [item for item in reply if item[0] not in gone]

    async def _hand_over(
        self, reply: Any, count: int, full: set[Unit]
    ) -> list[tuple[bytes, list[bytes]]]:
        """Decode a read's entries, dead-letter the unreadable, hand the rest to the
        handler; returns the entries to acknowledge and adds to `full` the partitions
        that gave `count` entries."""
        batch: list[Envelope] = []
        topics: list[str] = []
        acks: list[tuple[bytes, list[bytes]]] = []
        letters: list[tuple[str, Envelope]] = []
        for stream, entries in reply.items() if isinstance(reply, dict) else reply:
            unit = self._unit_of[stream]
            if len(entries) == count:
                full.add(unit)
            if not entries:
                continue
            topic = unit[0]
            acks.append((stream, [entry[0] for entry in entries]))
            for entry_id, fields in entries:
                if fields is None:
                    continue  # trimmed away while pending: nothing left to deliver
                try:
                    env = entry_envelope(fields)
                except UnreadableEvent as exc:
                    letters.append(
                        unreadable_entry(unit, entry_id, fields, self._group, exc.reason)
                    )
                    continue
                batch.append(env)
                topics.append(topic)
        for letter_topic, letter in letters:
            await self._bus.publish(letter_topic, letter)
        if batch:
            await deliver(
                batch,
                topics,
                self._group,
                self._handler,
                self._options,
                self._bus.publish,
                self._ages_s,
            )
        return acks


def _hiredis_pack(args: tuple[Any, ...]) -> bytes:
    """One command in the Redis protocol, encoded by hiredis (C). As in redis-py, a
    command name with a space ("XGROUP CREATE") goes out as separate words."""
    name = args[0]
    if (isinstance(name, str) and " " in name) or (isinstance(name, bytes) and b" " in name):
        args = (*name.split(), *args[1:])
    return cast(bytes, hiredis.pack_command(args))


class _HiredisConnection(Connection):
    """A redis-py connection that encodes commands with hiredis rather than in Python,
    as redis-py's synchronous client does when hiredis is installed; per argument this
    was most of the client's cost of a publish or an acknowledgement."""

    def pack_command(self, *args: Any) -> list[bytes]:
        return [_hiredis_pack(args)]

    def pack_commands(self, commands: Iterable[Iterable[Any]]) -> list[bytes]:
        return [b"".join([_hiredis_pack(tuple(command)) for command in commands])]


class _HiredisSSLConnection(ServerNamedSSLConnection):
    """`_HiredisConnection` over TLS (rediss://)."""

    pack_command = _HiredisConnection.pack_command
    pack_commands = _HiredisConnection.pack_commands


def _root_reason(exc: BaseException) -> str:
    """The operating system's reason behind a connection error, else the error's text."""
    seen: BaseException | None = exc
    for _ in range(10):  # follow __cause__/__context__, but never round a cycle
        if seen is None:
            break
        if isinstance(seen, OSError):
            return str(seen) or type(seen).__name__
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return str(exc) or type(exc).__name__
