"""The cache on Redis: MSET-like pipelines and MGET, keys under a prefix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tradewind.errors import ConfigError
from tradewind.security.redis_tls import redis_client


class RedisCache:
    def __init__(self, url: str, *, prefix: str = "tw:cache:") -> None:
        self._client: aioredis.Redis = redis_client(url, socket_timeout=5)
        self._prefix = prefix

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

    async def close(self) -> None:
        await self._client.aclose()
