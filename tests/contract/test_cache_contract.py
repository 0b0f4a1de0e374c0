"""The cache contract, the same on the in-process cache and on Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from tradewind.cache.factory import open_cache
from tradewind.cache.port import Cache
from tradewind.errors import ConfigError


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    prefix = f"test{uuid.uuid4().hex[:8]}:"
    if request.param == "memory":
        url = "memory://"
    else:
        url = f"{request.getfixturevalue('redis_url')}?prefix={prefix}"
    opened = open_cache(url)
    await opened.start()
    yield opened
    await opened.close()
    if request.param == "redis":
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
        keys = [k async for k in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_values_come_back_in_key_order_and_missing_ones_are_none(cache: Cache) -> None:
    await cache.put_many({"price:BTC/USDT": b"30000", "price:ETH/USDT": b"2000"})
    got = await cache.get_many(["price:ETH/USDT", "nope", "price:BTC/USDT"])
    assert got == [b"2000", None, b"30000"]


async def test_a_newer_value_replaces_the_old(cache: Cache) -> None:
    await cache.put_many({"k": b"1"})
    await cache.put_many({"k": b"2"})
    assert await cache.get_many(["k"]) == [b"2"]


async def test_values_expire_after_their_ttl(cache: Cache) -> None:
    await cache.put_many({"short": b"x"}, ttl_s=0.2)
    assert await cache.get_many(["short"]) == [b"x"]
    await asyncio.sleep(0.4)
    assert await cache.get_many(["short"]) == [None]


def test_an_unknown_cache_scheme_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="TRADEWIND_CACHE_URL"):
        open_cache("memcached://x")
