"""The cache contract, the same on the in-process cache and on Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.waiting import wait_until_async
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


async def test_live_members_are_each_groups_last_heartbeats(cache: Cache) -> None:
    await cache.heartbeat("status", {"risk@a:1": b"r1", "execution@a:1": b"e1"}, ttl_s=60)
    await cache.heartbeat("status", {"execution@b:2": b"e2"}, ttl_s=60)
    await cache.heartbeat("status", {"risk@a:1": b"r1 again"}, ttl_s=60)
    await cache.heartbeat("other", {"risk@a:1": b"elsewhere"}, ttl_s=60)
    await cache.heartbeat("status", {}, ttl_s=60)
    assert await cache.live_members("status") == {
        "risk@a:1": b"r1 again",
        "execution@a:1": b"e1",
        "execution@b:2": b"e2",
    }
    assert await cache.live_members("other") == {"risk@a:1": b"elsewhere"}
    assert await cache.live_members("nobody") == {}


async def test_a_member_no_heartbeat_renews_leaves_its_group_and_the_others_stay(
    cache: Cache,
) -> None:
    await cache.heartbeat("status", {"gone@a:1": b"x", "staying@b:2": b"y"}, ttl_s=60)
    assert set(await cache.live_members("status")) == {"gone@a:1", "staying@b:2"}
    # A heartbeat replaces the member's expiry: this one gives it a moment to live.
    await cache.heartbeat("status", {"gone@a:1": b"x"}, ttl_s=0.05)

    async def gone() -> bool:
        return "gone@a:1" not in await cache.live_members("status")

    await wait_until_async(gone)
    assert await cache.live_members("status") == {"staying@b:2": b"y"}


async def test_a_redis_group_expires_with_its_last_member(redis_url: str) -> None:
    prefix = f"test{uuid.uuid4().hex[:8]}:"
    cache = open_cache(f"{redis_url}?prefix={prefix}")
    client = aioredis.Redis.from_url(redis_url)
    await cache.start()
    try:
        await cache.heartbeat("status", {"long@a:1": b"x"}, ttl_s=60)
        await cache.heartbeat("status", {"short@b:2": b"y"}, ttl_s=0.05)
        keys = [k async for k in client.scan_iter(f"{prefix}*")]
        assert len(keys) == 2
        # The group's keys live as long as its longest-lived member, not its latest.
        assert [await client.pttl(k) > 30_000 for k in keys] == [True, True]

        await cache.heartbeat("abandoned", {"short@b:2": b"y"}, ttl_s=0.05)

        # Nobody reads it again: the group's own keys expire, not just its member.
        async def abandoned_group_gone() -> bool:
            return not [k async for k in client.scan_iter(f"{prefix}group:abandoned:*")]

        await wait_until_async(abandoned_group_gone)
    finally:
        leftover = [k async for k in client.scan_iter(f"{prefix}*")]
        if leftover:
            await client.delete(*leftover)
        await client.aclose()
        await cache.close()


def test_an_unknown_cache_scheme_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="TRADEWIND_CACHE_URL"):
        open_cache("memcached://x")
