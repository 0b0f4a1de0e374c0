"""Choose the cache from TRADEWIND_CACHE_URL: `memory://` or `redis://host:port/db`
(`?prefix=` sets the key prefix, default `tw:cache:`)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit, urlunsplit

from tradewind.cache.memory import MemoryCache
from tradewind.cache.port import Cache
from tradewind.cache.redis_cache import RedisCache
from tradewind.errors import ConfigError


def open_cache(url: str) -> Cache:
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return MemoryCache()
    if parts.scheme in ("redis", "rediss"):
        prefix = dict(parse_qsl(parts.query)).get("prefix", "tw:cache:")
        return RedisCache(urlunsplit(parts._replace(query="")), prefix=prefix)
    raise ConfigError(
        "TRADEWIND_CACHE_URL", f"unknown scheme {parts.scheme!r}; use memory:// or redis://"
    )
