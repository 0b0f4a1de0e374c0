"""The cache on Redis: MSET-like pipelines and MGET, keys under a prefix.

A group of live members is two keys, `<prefix>group:<name>:values` (a hash, member ->
value) and `<prefix>group:<name>:expiries` (a sorted set, member -> expiry in ms on the
Redis server's clock, so clock skew between hosts does not matter). Lua scripts keep
them consistent: each heartbeat and each read first drops the members that expired, and
a heartbeat sets both keys to expire with the last member, so an abandoned group
disappears.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tradewind.errors import ConfigError
from tradewind.security.redis_tls import redis_client

# KEYS[1]: the group's values; KEYS[2]: its expiries. Drops the expired members.
_PRUNE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
if #expired > 0 then
  redis.call('HDEL', KEYS[1], unpack(expired))
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
end
"""

# ARGV: ttl (ms), then member, value pairs. Both keys expire with the last member.
_HEARTBEAT = (
    _PRUNE
    + """
local expires = now + tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[2], expires, ARGV[i])
end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
redis.call('PEXPIREAT', KEYS[2], last[2])
"""
)

# Returns the live members as member, value, member, value, ...
_LIVE_MEMBERS = _PRUNE + "\nreturn redis.call('HGETALL', KEYS[1])\n"


class RedisCache:
    def __init__(self, url: str, *, prefix: str = "tw:cache:") -> None:
        self._client: aioredis.Redis = redis_client(url, socket_timeout=5)
        self._prefix = prefix
        self._heartbeat = self._client.register_script(_HEARTBEAT)
        self._live_members = self._client.register_script(_LIVE_MEMBERS)

    async def start(self) -> None:
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            raise ConfigError("TRADEWIND_CACHE_URL", f"Redis does not answer: {exc}") from None

    async def put_many(self, items: Mapping[str, bytes], ttl_s: float | None = None) -> None:
        if not items:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for key, value in items.items():
                pipe.set(self._prefix + key, value, px=int(ttl_s * 1000) if ttl_s else None)
            await pipe.execute()

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        values = await self._client.mget([self._prefix + k for k in keys])
        return [v.encode() if isinstance(v, str) else v for v in values]

    async def heartbeat(self, group: str, members: Mapping[str, bytes], ttl_s: float) -> None:
        if not members:
            return
        pairs = [part for member, value in members.items() for part in (member, value)]
        await self._heartbeat(keys=self._group_keys(group), args=[int(ttl_s * 1000), *pairs])

    async def live_members(self, group: str) -> dict[str, bytes]:
        flat = await self._live_members(keys=self._group_keys(group))
        return {
            _text(member): value.encode() if isinstance(value, str) else value
            for member, value in zip(flat[::2], flat[1::2], strict=True)
        }

    async def close(self) -> None:
        await self._client.aclose()

    def _group_keys(self, group: str) -> list[str]:
        return [f"{self._prefix}group:{group}:values", f"{self._prefix}group:{group}:expiries"]


def _text(member: bytes | str) -> str:
    return member.decode() if isinstance(member, bytes) else member
