"""Choose the cache from TRADEWIND_CACHE_URL: `memory://` or `redis://host:port/db`
(`rediss://` for TLS). `?prefix=` sets the key prefix (default `tw:cache:`); redis-py's
own parameters (`ssl_ca_certs`, `ssl_certfile`, ...) pass through to it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tradewind.cache.memory import MemoryCache
from tradewind.cache.port import Cache
from tradewind.cache.redis_cache import RedisCache
from tradewind.errors import ConfigError


def open_cache(url: str) -> Cache:
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return MemoryCache()
    if parts.scheme in ("redis", "rediss"):
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefix = dict(query).get("prefix", "tw:cache:")
        rest = urlencode([(name, value) for name, value in query if name != "prefix"])
        return RedisCache(urlunsplit(parts._replace(query=rest)), prefix=prefix)
    raise ConfigError(
        "TRADEWIND_CACHE_URL", f"unknown scheme {parts.scheme!r}; use memory:// or redis://"
    )
