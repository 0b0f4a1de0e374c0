"""Choose the bus adapter from a URL: `memory://`, `redis://host:port/db`,
`kafka://host:port[,host:port]`. Adapter tunables ride in the query string, e.g.
`redis://127.0.0.1:6379/0?lease_ms=3000` or `kafka://h:9092?session_timeout_ms=6000`,
each adapter's read by its one parser (`RedisStreamsSettings.from_url`,
`KafkaSettings.from_url`, `memory_max_lag`): they differ by adapter, and the same URL
serves the platform, `tradewind bench bus` and the chaos runs."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from tradewind.bus.memory import MemoryBus
from tradewind.bus.port import Bus

SCHEMES = ("memory://", "redis://", "rediss://", "kafka://")
_MEMORY_OPTIONS = ("max_lag",)


def open_bus(url: str, *, partitions: int = 8) -> Bus:
    """The bus that `url` names, not yet started; ValueError says what is wrong."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryBus(partitions=partitions, max_lag=memory_max_lag(url))
    if scheme in ("redis", "rediss"):
        from tradewind.bus.redis_streams import RedisStreamsBus

        return RedisStreamsBus.from_url(url, partitions=partitions)
    if scheme == "kafka":
        from tradewind.bus.kafka import KafkaBus

        return KafkaBus.from_url(url, partitions=partitions)
    raise _unknown_scheme(scheme)


def check_bus_url(url: str) -> None:
    """Read `url`'s options as `open_bus` would, opening nothing, so that a bad tunable
    stops the start with the settings' other errors; ValueError says what is wrong."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        memory_max_lag(url)
    elif scheme in ("redis", "rediss"):
        from tradewind.bus.redis_streams import RedisStreamsSettings

        RedisStreamsSettings.from_url(url)
    elif scheme == "kafka":
        from tradewind.bus.kafka_settings import KafkaSettings  # aiokafka: only when used

        KafkaSettings.from_url(url)
    else:
        raise _unknown_scheme(scheme)


def memory_max_lag(url: str) -> int:
    """The in-process bus's `max_lag` option (events a subscriber may fall behind before
    publishers wait) [100000]; ValueError for another option or a bad number."""
    options = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    for name in options:
        if name not in _MEMORY_OPTIONS:
            raise ValueError(f"unknown in-process bus option {name!r}; known options: max_lag")
    text = options.get("max_lag", "100000")
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"max_lag={text!r} in the bus URL is not a positive whole number")
    return int(text)


def _unknown_scheme(scheme: str) -> ValueError:
    return ValueError(
        f"unknown scheme {scheme!r}; use memory://, redis://host:port/db "
        "or kafka://host:port[,host:port]"
    )
