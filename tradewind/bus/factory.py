"""Choose the bus adapter from a URL: `memory://`, `redis://host:port/db`,
`kafka://host:port[,host:port]`. Adapter tunables ride in the query string, e.g.
`redis://127.0.0.1:6379/0?lease_ms=3000` or `kafka://h:9092?session_timeout_ms=6000`."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from tradewind.bus.memory import MemoryBus
from tradewind.bus.port import Bus

SCHEMES = ("memory://", "redis://", "rediss://", "kafka://")


def open_bus(url: str, *, partitions: int = 8) -> Bus:
    """The bus that `url` names, not yet started; ValueError says what is wrong."""
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    if parts.scheme == "memory":
        max_lag = int(options.get("max_lag", 100_000))
        return MemoryBus(partitions=partitions, max_lag=max_lag)
    if parts.scheme in ("redis", "rediss"):
        from tradewind.bus.redis_streams import RedisStreamsBus

        return RedisStreamsBus.from_url(url, partitions=partitions)
    if parts.scheme == "kafka":
        from tradewind.bus.kafka import KafkaBus

        return KafkaBus.from_url(url, partitions=partitions)
    raise ValueError(
        f"unknown scheme {parts.scheme!r}; use memory://, redis://host:port/db "
        "or kafka://host:port[,host:port]"
    )
