"""Who reads which partition in a Redis Streams consumer group: membership and leases.

The instances of a group on a set of topics register in a sorted set scored by expiry
time (ms, on the Redis server's clock, so clock skew between hosts does not matter) and
heartbeat every third of the lease. Each one wants the partition numbers that a
round-robin over the sorted live member ids gives it (that partition of every topic of
the subscription, so a key stays with one member), and may only read a partition while
it holds that partition's lease, a key `SET ... PX lease_ms NX` to its member id that it
renews with every heartbeat. A lease is given back only between batches, once everything
fetched from the partition is acknowledged; a crashed instance's leases simply expire,
so a partition has at most one reader at a time and keeps its per-key order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

#: One partition of one topic: (topic, partition index).
Unit = tuple[str, int]

#: Fastest heartbeat (s), used while a wanted partition is still held by someone else.
_CLAIM_INTERVAL_S = 0.1

# KEYS[1]: the member set; KEYS[2]: its generation; KEYS[3..]: leases we hold. ARGV:
# member id, lease (ms). Registers the member, drops expired ones (a change of members
# bumps the generation), renews our leases; returns the live member ids, the generation
# and per lease 1 if renewed or 0 if it is no longer ours.
_HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local changes = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
changes = changes + redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if changes > 0 then
  redis.call('INCR', KEYS[2])
end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
local renewed = {}
for i = 3, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    renewed[i - 2] = redis.call('PEXPIRE', KEYS[i], ttl)
  else
    renewed[i - 2] = 0
  end
end
return {redis.call('ZRANGE', KEYS[1], 0, -1), redis.call('GET', KEYS[2]), renewed}
"""

# KEYS: leases wanted. ARGV: member id, lease (ms). Returns 1 per lease now ours.
_CLAIM = """
local claimed = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    claimed[i] = redis.call('PEXPIRE', key, ARGV[2])
  elseif redis.call('SET', key, ARGV[1], 'PX', ARGV[2], 'NX') then
    claimed[i] = 1
  else
    claimed[i] = 0
  end
end
return claimed
"""

# KEYS[1]: the member set; KEYS[2]: its generation; KEYS[3..]: leases to give back.
# ARGV: member id, "1" to also leave the group. Deletes only leases still ours.
_RELEASE = """
if ARGV[2] == '1' and redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('INCR', KEYS[2])
end
local released = 0
for i = 3, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    released = released + redis.call('DEL', KEYS[i])
  end
end
return released
"""


def assign(units: Sequence[Unit], members: Sequence[str], me: str) -> set[Unit]:
    """The units `me` should own: the partition numbers dealt round-robin over the sorted
    `members`, each with that partition of every topic. A key's events then reach one
    member whatever their topic (an account's intents and its cancels: the instance
    that tracks its orders); dealing (topic, partition) pairs split them over members."""
    ranked = sorted(members)
    if me not in ranked:
        return set()
    count = len(ranked)
    mine = ranked.index(me)
    return {unit for unit in units if unit[1] % count == mine}


class PartitionLeases:
    """One instance's membership in a group and the partition leases it holds.

    `held` are the units whose lease is ours; `wanted` are those the current assignment
    gives us. The consumer reads `readable()` (held and wanted, while the leases are
    fresh) and gives back `held - wanted` between batches with `release`. `changed` is
    set whenever either set changes.

    The heartbeat runs every lease/3, but members joining or leaving bump a generation
    counter that the consumer reads along with every fetch (`generation_key`) and
    reports to `notice`, which heartbeats at once: partitions move within one read,
    not one heartbeat.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        topics: Sequence[str],
        group: str,
        partitions: int,
        member_id: str,
        lease_ms: int,
    ) -> None:
        names = sorted(set(topics))
        self.units: list[Unit] = [(t, p) for t in names for p in range(partitions)]
        self.member_id = member_id
        self.lease_ms = lease_ms
        self.held: set[Unit] = set()
        self.wanted: set[Unit] = set()
        self.changed = asyncio.Event()
        self._members_key = f"{prefix}:{','.join(names)}:{group}:members"
        self.generation_key = f"{prefix}:{','.join(names)}:{group}:generation"
        self._generation: bytes | None = None
        self._wake = asyncio.Event()  # heartbeat now: members changed, or halt()
        self._halted = False
        self._lease_keys = {u: f"{prefix}:lease:{u[0]}:{group}:{u[1]}" for u in self.units}
        self._fresh: set[Unit] = set()
        self._releasing: set[Unit] = set()  # a claim racing a release could resurrect it
        self._valid_until = 0.0  # time.monotonic() after which held leases may be gone
        self._claims = 0  # counts our successful claims: a lease's term, see `term`
        self._terms: dict[Unit, int] = {}
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)

    @property
    def settled(self) -> bool:
        """True when we hold exactly the partitions the assignment gives us."""
        return self.held == self.wanted

    def readable(self) -> list[Unit]:
        """Units to read now, in a stable order; none once the leases may have lapsed."""
        if time.monotonic() >= self._valid_until:
            return []
        return [u for u in self.units if u in self.held and u in self.wanted]

    def term(self, unit: Unit) -> int:
        """Which of our claims of `unit` we hold now (0: never claimed). A read sent under
        one term and answered under another may hold entries read by the owner between
        the two: the answer must be dropped."""
        return self._terms.get(unit, 0)

    def take_acquired(self) -> set[Unit]:
        """Units acquired since the last call; their previous owner may have left
        events unacknowledged, so they are read from their pending entries first."""
        fresh, self._fresh = self._fresh, set()
        return fresh

    async def tick(self) -> None:
        """One heartbeat: stay a member, renew our leases, claim what is ours now."""
        started = time.monotonic()
        renewing = sorted(self.held)
        keys = [self._members_key, self.generation_key, *(self._lease_keys[u] for u in renewing)]
        reply = await self._heartbeat(keys=keys, args=[self.member_id, self.lease_ms])
        members, self._generation, renewed = reply
        self._valid_until = started + self.lease_ms / 1000
        before = (set(self.held), set(self.wanted))
        self.held.difference_update(u for u, ok in zip(renewing, renewed, strict=True) if not ok)
        self.wanted = assign(self.units, [m.decode() for m in members], self.member_id)
        missing = [
            u
            for u in self.units
            if u in self.wanted and u not in self.held and u not in self._releasing
        ]
        if missing:
            claimed = await self._claim(
                keys=[self._lease_keys[u] for u in missing], args=[self.member_id, self.lease_ms]
            )
            won = {u for u, ok in zip(missing, claimed, strict=True) if ok}
            for unit in won:
                self._claims += 1
                self._terms[unit] = self._claims
            self.held |= won
            self._fresh |= won
        if (self.held, self.wanted) != before:
            self.changed.set()

    def notice(self, generation: bytes | None) -> None:
        """The members' generation as the consumer just read it; a change means members
        came or went, so heartbeat now to take or give back partitions."""
        if generation != self._generation:
            self._generation = generation
            self._wake.set()

    def halt(self) -> None:
        """Make `run` return (at once, or after the heartbeat in progress)."""
        self._halted = True
        self._wake.set()

    async def run(self) -> None:
        """Heartbeat every lease/3, faster while claiming, at once when `notice`d of
        new members, until `halt()`."""
        failing = False
        while not self._halted:
            pause = self.lease_ms / 3000
            if not self.settled:
                pause = min(pause, _CLAIM_INTERVAL_S)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel
            # (kill) that lands as the wait ends, and this loop would never end.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._wake.wait()
            self._wake.clear()
            if self._halted:
                return
            try:
                await self.tick()
                failing = False
            except (RedisError, OSError) as exc:
                if not failing:  # one line per outage, not one per heartbeat
                    log.warning("bus heartbeat for %s failed: %s", self._members_key, exc)
                failing = True
            except Exception:  # a dead heartbeat would silently stop all reading
                log.exception("bus heartbeat for %s failed unexpectedly", self._members_key)

    async def release(self, units: Iterable[Unit]) -> None:
        """Give back the leases of `units` (nothing of them may be unacknowledged)."""
        gone = [u for u in units if u in self.held]
        if not gone:
            return
        self.held.difference_update(gone)  # first, so no heartbeat renews them meanwhile
        self._releasing.update(gone)
        self.changed.set()
        keys = [self._members_key, self.generation_key, *(self._lease_keys[u] for u in gone)]
        try:
            await self._release(keys=keys, args=[self.member_id, "0"])
        finally:
            self._releasing.difference_update(gone)

    async def leave(self) -> None:
        """Leave the group and give back every lease, so others take over at once."""
        gone = sorted(self.held)
        self.held.clear()
        self.wanted.clear()
        keys = [self._members_key, self.generation_key, *(self._lease_keys[u] for u in gone)]
        await self._release(keys=keys, args=[self.member_id, "1"])
