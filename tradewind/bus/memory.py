"""The in-process bus: Kafka's model (partitioned logs, committed offsets per group)
in plain Python lists, with no serialisation. Events are frozen structs, so sharing
one object between groups is safe.

Each topic-partition is one list shared by every group; a group keeps a committed
offset per partition and one owner per partition. A batch is committed after its
handler returned; a killed instance's partitions go to the remaining instances, which
resume from the committed offset, so the abandoned batch is delivered again.
Backpressure: a publisher waits while the slowest group lags more than `max_lag`
events behind on a partition it writes to.

Inline delivery (`ConsumerOptions.inline`): a member's task hands it a batch only in the
loop turn after the publish woke it, behind whatever else is ready. A publish that finds
an inline member idle (parked, nothing in flight) does the task's work itself, in the
publisher's task: it fetches the member's batch (the events it just appended, after any
older ones: per-partition order holds) and awaits the handler once, then returns. The
member still has one batch in flight at most. If that try raises, the batch goes to the
member's task, which retries it event by event as any failed batch (the inline try counts
as the first): the publisher does not wait through the retries. If the publisher is
cancelled, the batch is released uncommitted and the task delivers it again.

A listener (`listen`) is a private group of its own, with one member, that starts at the
end (or the start) of each partition and is dropped when it stops or dies. In one
process it holds back publishers and the trimming of consumed events like any group.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterable, Mapping, Sequence

from tradewind.bus.delivery import (
    PublishDeadLetter,
    deliver,
    note_event_ages,
    skip_dead_letter,
    unasked_cancellation,
)
from tradewind.bus.envelope import Envelope
from tradewind.bus.port import (
    DEFAULT_CONSUMER_OPTIONS,
    BatchHandler,
    ConsumerOptions,
    Start,
    cancel_requested,
    task_failure,
    topic_names,
)
from tradewind.errors import BusError

_TRIM_EVERY = 4096  # drop consumed events in chunks, not one by one


class _Partition:
    __slots__ = ("base", "limit", "log", "space")

    def __init__(self) -> None:
        self.log: list[Envelope] = []
        self.base = 0  # offset of log[0]
        # A publisher may append without looking at the groups while the end stays at or
        # below `limit` (the slowest group's committed offset + max_lag, or 0: look). It
        # is lowered when a group joins, and recomputed when a publisher passes it.
        self.limit = 0
        self.space = asyncio.Event()
        self.space.set()

    @property
    def end(self) -> int:
        return self.base + len(self.log)


class _Group:
    """One consumer group on one topic: committed offsets and partition owners."""

    def __init__(self, name: str, partitions: int) -> None:
        self.name = name
        self.committed = [0] * partitions
        self.owners: list[MemorySubscription | None] = [None] * partitions
        self.busy: list[MemorySubscription | None] = [None] * partitions
        self.members: list[MemorySubscription] = []

    def rebalance(self) -> None:
        """Round-robin the partitions over the members, in join order."""
        count = len(self.members)
        for p in range(len(self.owners)):
            owner = self.members[p % count] if count else None
            self.owners[p] = owner
            if owner is not None:
                owner.wakeup.set()


class _Topic:
    def __init__(self, name: str, partitions: int, start: int) -> None:
        self.name = name
        self.partitions = [_Partition() for _ in range(partitions)]
        self.groups: dict[str, _Group] = {}
        for part in self.partitions:
            part.base = start


class MemoryBus:
    """`Bus` in one process. `max_lag` bounds each partition's unconsumed events."""

    def __init__(self, partitions: int = 8, max_lag: int = 100_000) -> None:
        if partitions < 1:
            raise ValueError("partitions must be at least 1")
        self._partitions = partitions
        self._max_lag = max_lag
        self._topics: dict[str, _Topic] = {}
        self._subscriptions: list[MemorySubscription] = []
        self._listeners = itertools.count(1)
        self._closed = False

    @property
    def partitions(self) -> int:
        return self._partitions

    def partition_of(self, key: str) -> int:
        return hash(key) % self._partitions  # in-process: one process, one hash seed

    def subscriptions(self) -> Sequence[MemorySubscription]:
        return tuple(self._subscriptions)

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        subs, self._subscriptions = self._subscriptions, []
        for sub in subs:
            await sub.stop()
        self._closed = True

    def idle(self) -> bool:
        """True when every group with members has handled every event published to it."""
        for topic in self._topics.values():
            for group in topic.groups.values():
                if not group.members:
                    continue  # nobody left to handle them in this process
                for p, part in enumerate(topic.partitions):
                    if group.committed[p] < part.end:
                        return False
        return True

    async def wait_until_idle(self, timeout_s: float) -> bool:
        """Wait until `idle()` (True) or `timeout_s` passed (False). The embedded runtime
        uses it between stopping services, so what one service published on its way
        out reaches the services still running."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not self.idle():
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def _topic(self, name: str) -> _Topic:
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = _Topic(name, self._partitions, 0)
        return topic

    async def publish(self, topic: str, event: Envelope) -> None:
        # The hot path of a batch of one, written out: one coroutine, no set, and the
        # groups looked at only when the partition passed its limit.
        if self._closed:
            raise BusError("the bus is closed; nothing was published")
        t = self._topics.get(topic) or self._topic(topic)
        p = hash(event.key) % self._partitions  # partition_of, inlined
        part = t.partitions[p]
        part.log.append(event)
        inline: list[MemorySubscription] | None = None
        for group in t.groups.values():
            owner = group.owners[p]
            if owner is None:
                continue
            if owner.takes_inline:
                inline = [owner] if inline is None else [*inline, owner]
            else:
                owner.wakeup.set()
        if inline is not None:
            await self._deliver_inline(inline, t, (p,))
        if part.base + len(part.log) > part.limit:
            await self._wait_for_space(t, p)

    async def publish_batch(self, topic: str, events: Sequence[Envelope]) -> None:
        if self._closed:
            raise BusError("the bus is closed; nothing was published")
        t = self._topic(topic)
        parts = t.partitions
        n = self._partitions
        touched = set()
        for env in events:
            p = hash(env.key) % n  # partition_of, inlined
            parts[p].log.append(env)
            touched.add(p)
        groups = t.groups.values()
        inline: list[MemorySubscription] = []
        for p in touched:
            for group in groups:
                owner = group.owners[p]
                if owner is None or owner in inline:
                    continue
                if owner.takes_inline:
                    inline.append(owner)
                else:
                    owner.wakeup.set()
        if inline:
            await self._deliver_inline(inline, t, sorted(touched))
        for p in touched:
            part = parts[p]
            if part.base + len(part.log) > part.limit:
                await self._wait_for_space(t, p)

    @staticmethod
    async def _deliver_inline(
        members: list[MemorySubscription], topic: _Topic, partitions: Sequence[int]
    ) -> None:
        """Hand each of `members` its batch of what was just published to `partitions` of
        `topic`, in this task, one after the other; one that stopped being idle meanwhile
        (an earlier handler published to it) is woken instead."""
        for member in members:
            if member.takes_inline:
                await member.deliver_inline(topic, partitions)
            else:
                member.wakeup.set()

    async def _wait_for_space(self, topic: _Topic, p: int) -> None:
        """Wait while the slowest group lags more than `max_lag` on partition `p` (or,
        with no group, drop what is past `max_lag`), then move the partition's limit."""
        part = topic.partitions[p]
        while True:
            if not topic.groups:
                # Nobody consumes yet: keep the newest `max_lag` events for a future group.
                excess = len(part.log) - self._max_lag
                if excess > 0:
                    del part.log[:excess]
                    part.base += excess
                part.limit = part.base + self._max_lag
                return
            slowest = min(g.committed[p] for g in topic.groups.values())
            part.limit = slowest + self._max_lag
            if part.end <= part.limit:
                return
            part.space.clear()
            await part.space.wait()

    def _lower_limits(self, topic: _Topic) -> None:
        """A group joined `topic`: from now on every publisher checks for space at once
        (its next publish moves the limit to where the new group allows)."""
        for part in topic.partitions:
            part.limit = 0

    async def subscribe(
        self,
        topics: Sequence[str],
        group: str,
        handler: BatchHandler,
        options: ConsumerOptions = DEFAULT_CONSUMER_OPTIONS,
    ) -> MemorySubscription:
        topics = topic_names(topics)
        sub = MemorySubscription(self, topics, group, handler, options)
        for name in sub.topics:
            t = self._topic(name)
            g = t.groups.get(group)
            if g is None:
                g = t.groups[group] = _Group(group, self._partitions)
                g.committed = [part.base for part in t.partitions]
            g.members.append(sub)
            g.rebalance()
            self._lower_limits(t)
        self._subscriptions.append(sub)
        sub.begin()
        return sub

    async def listen(
        self,
        topics: Sequence[str],
        name: str,
        handler: BatchHandler,
        *,
        start: Start = "latest",
        options: ConsumerOptions = DEFAULT_CONSUMER_OPTIONS,
    ) -> MemorySubscription:
        topics = topic_names(topics)
        # A key no group name has: the listener's own group, dropped when it leaves.
        key = f"{name}\0listener-{next(self._listeners)}"
        sub = MemorySubscription(
            self, topics, name, handler, options, key=key, give_up=skip_dead_letter
        )
        for topic_name in sub.topics:
            t = self._topic(topic_name)
            g = t.groups[key] = _Group(key, self._partitions)
            g.committed = [part.end if start == "latest" else part.base for part in t.partitions]
            g.members.append(sub)
            g.rebalance()
            self._lower_limits(t)
        self._subscriptions.append(sub)
        sub.begin()
        return sub

    def _leave(self, sub: MemorySubscription) -> None:
        for name in sub.topics:
            t = self._topics[name]
            g = t.groups[sub.key]
            for p, holder in enumerate(g.busy):
                if holder is sub:
                    g.busy[p] = None
            g.members.remove(sub)
            g.rebalance()
            if sub.listening:
                del t.groups[sub.key]
                for part in t.partitions:
                    part.space.set()  # publishers may have been waiting for it
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)

    def _fetch(
        self, sub: MemorySubscription, limit: int
    ) -> tuple[list[Envelope], list[str], list[tuple[_Topic, _Group, int, int]]]:
        """Up to `limit` events from the partitions `sub` owns and nobody else still
        works on; returns them, their topics, and what to commit afterwards."""
        batch: list[Envelope] = []
        topics: list[str] = []
        commits: list[tuple[_Topic, _Group, int, int]] = []
        for name in sub.topics:
            t = self._topics[name]
            g = t.groups[sub.key]
            for p, owner in enumerate(g.owners):
                if owner is not sub or g.busy[p] not in (None, sub):
                    continue
                part = t.partitions[p]
                start = g.committed[p]
                stop = min(part.end, start + limit - len(batch))
                if stop <= start:
                    continue
                batch.extend(part.log[start - part.base : stop - part.base])
                topics.extend([name] * (stop - start))
                g.busy[p] = sub
                commits.append((t, g, p, stop))
                if len(batch) >= limit:
                    return batch, topics, commits
        return batch, topics, commits

    def _fetch_published(
        self, sub: MemorySubscription, topic: _Topic, partitions: Iterable[int]
    ) -> tuple[list[Envelope], list[str], list[tuple[_Topic, _Group, int, int]]]:
        """`_fetch` for inline delivery: only from `partitions` of `topic`, those a publish
        just wrote to (an idle member has nothing waiting on the others)."""
        limit = sub.max_batch
        batch: list[Envelope] = []
        topics: list[str] = []
        commits: list[tuple[_Topic, _Group, int, int]] = []
        g = topic.groups[sub.key]
        for p in partitions:
            if g.owners[p] is not sub or g.busy[p] is not None:
                continue
            part = topic.partitions[p]
            start = g.committed[p]
            stop = min(part.base + len(part.log), start + limit - len(batch))
            if stop <= start:
                continue
            batch.extend(part.log[start - part.base : stop - part.base])
            topics.extend([topic.name] * (stop - start))
            g.busy[p] = sub
            commits.append((topic, g, p, stop))
            if len(batch) >= limit:
                break
        return batch, topics, commits

    def _commit(
        self, sub: MemorySubscription, commits: list[tuple[_Topic, _Group, int, int]]
    ) -> None:
        for t, g, p, offset in commits:
            g.committed[p] = offset
            g.busy[p] = None
            owner = g.owners[p]
            if owner is not None and owner is not sub:
                owner.wakeup.set()  # it was waiting for us to finish this partition
            part = t.partitions[p]
            part.space.set()
            consumed = min(gr.committed[p] for gr in t.groups.values()) - part.base
            if consumed >= _TRIM_EVERY:
                del part.log[:consumed]
                part.base += consumed

    def _release(self, commits: list[tuple[_Topic, _Group, int, int]]) -> None:
        """Give back partitions of an abandoned batch without committing it."""
        for _t, g, p, _offset in commits:
            g.busy[p] = None
            owner = g.owners[p]
            if owner is not None:
                owner.wakeup.set()


class MemorySubscription:
    """One member of a consumer group on the in-process bus, or a listener: the one
    member of group `key` (given only for a listener), whose given-up events go to
    `give_up` rather than to the dead-letter topic."""

    def __init__(
        self,
        bus: MemoryBus,
        topics: tuple[str, ...],
        group: str,
        handler: BatchHandler,
        options: ConsumerOptions,
        *,
        key: str | None = None,
        give_up: PublishDeadLetter | None = None,
    ) -> None:
        self._bus = bus
        self.topics = topics
        self._group = group
        self.key = group if key is None else key  # the group's key in `_Topic.groups`
        self.listening = key is not None
        self._give_up = bus.publish if give_up is None else give_up
        self._handler = handler
        self._options = options
        self.wakeup = asyncio.Event()
        # True while a publish may deliver to this member in its own task: the member
        # is inline, running, parked with nothing to fetch, and nothing is in flight.
        self.takes_inline = False
        self._inline_in_flight = False
        self._fetch_after_inline = False  # the task woke while it was in flight
        self._killed = False
        # A batch whose inline try failed: (batch, topics, commits, the error), for the task.
        self._handover: (
            tuple[list[Envelope], list[str], list[tuple[_Topic, _Group, int, int]], Exception]
            | None
        ) = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._ages_s: dict[str, float] = {}

    @property
    def failure(self) -> str | None:
        return task_failure([self._task])

    @property
    def group(self) -> str:
        return self._group

    async def lag(self) -> dict[str, int]:
        """Exact: the events past the group's committed offset on the partitions owned."""
        lag: dict[str, int] = {}
        if self._task is None:
            return lag
        for name in self.topics:
            t = self._bus._topics[name]
            g = t.groups[self.key]
            lag[name] = sum(
                t.partitions[p].end - g.committed[p]
                for p, owner in enumerate(g.owners)
                if owner is self
            )
        return lag

    def event_age_s(self) -> Mapping[str, float]:
        return self._ages_s

    def partitions(self) -> frozenset[int]:
        if self._task is None:
            return frozenset()
        group = self._bus._topics[self.topics[0]].groups[self.key]
        return frozenset(p for p, owner in enumerate(group.owners) if owner is self)

    def sole_partitions(self) -> frozenset[int]:
        return self.partitions()  # one process: the group's owners change at once

    def begin(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"bus-consumer:{self._group}"
        )

    async def _run(self) -> None:
        bus = self._bus
        options = self._options
        while True:
            if self._handover is not None:
                batch, topics, commits, error = self._handover
                self._handover = None
                await self._deliver(batch, topics, commits, error)
                continue
            if self._stopping and not self._inline_in_flight:
                return
            if not self._inline_in_flight and not self._stopping:
                batch, topics, commits = bus._fetch(self, options.max_batch)
                if batch:
                    await self._deliver(batch, topics, commits, None)
                    continue
            if self._inline_in_flight:
                self._fetch_after_inline = True
            self.wakeup.clear()
            self.takes_inline = options.inline and not self._inline_in_flight
            try:
                await self.wakeup.wait()
            finally:
                self.takes_inline = False

    async def _deliver(
        self,
        batch: list[Envelope],
        topics: list[str],
        commits: list[tuple[_Topic, _Group, int, int]],
        first_error: Exception | None,
    ) -> None:
        try:
            await deliver(
                batch,
                topics,
                self._group,
                self._handler,
                self._options,
                self._give_up,
                self._ages_s,
                first_error,
            )
        except BaseException:
            self._bus._release(commits)
            raise
        self._bus._commit(self, commits)

    @property
    def max_batch(self) -> int:
        return self._options.max_batch

    async def deliver_inline(self, topic: _Topic, partitions: Iterable[int]) -> None:
        """Fetch this member's batch from `partitions` of `topic` and try its handler once,
        in the calling (publishing) task; see the module doc. Only while `takes_inline`."""
        self.takes_inline = False
        self._inline_in_flight = True
        batch, topics, commits = self._bus._fetch_published(self, topic, partitions)
        try:
            if batch:
                await self._try_inline(batch, topics, commits)
        finally:
            self._inline_in_flight = False
            if self._killed:
                pass  # its partitions went to the others, uncommitted
            elif self._stopping or self._handover is not None or self._fetch_after_inline:
                self._fetch_after_inline = False
                self.wakeup.set()
            elif not self.wakeup.is_set():
                self.takes_inline = True  # the task is still parked with nothing to do

    async def _try_inline(
        self,
        batch: list[Envelope],
        topics: list[str],
        commits: list[tuple[_Topic, _Group, int, int]],
    ) -> None:
        try:
            await self._handler(batch)
        except Exception as exc:
            error: Exception = exc
        except asyncio.CancelledError as exc:
            if cancel_requested():  # the publisher is cancelled: the task delivers it again
                if not self._killed:
                    self._bus._release(commits)
                raise
            error = unasked_cancellation(exc)
        else:
            note_event_ages(batch, topics, self._ages_s)
            if not self._killed:
                self._bus._commit(self, commits)
            return
        if not self._killed:
            self._handover = (batch, topics, commits, error)

    async def stop(self) -> None:
        """Finish the batch in flight, commit it, leave the group."""
        if self._task is None:
            return
        self._stopping = True
        self.takes_inline = False
        self.wakeup.set()
        task, self._task = self._task, None
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._bus._leave(self)

    async def kill(self) -> None:
        """Die mid-batch: the batch in flight stays uncommitted for the others."""
        if self._task is None:
            return
        self.takes_inline = False
        self._killed = True
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._bus._leave(self)
