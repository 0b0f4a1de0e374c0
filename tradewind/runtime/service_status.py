"""Every process's services as the other processes see them.

When each service runs in its own process (`tradewind service NAME`), the gateway has no
`Service` object of the others to ask. So every runner publishes, every `PERIOD_S`, the
status of each service it runs to the shared cache (Redis when distributed): its name,
the process it runs in (`host:pid`), whether it is ready, and its venue circuit
breakers. Each is a member of the cache group `GROUP`, one per (service, process), so
redundant instances of a service (two strategies, two executions) are each
seen. A member lives `TTL_S` after its last publication, so a process that stopped or
lost the cache drops out; the gateway's admin routes list the members of every process
but its own.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from tradewind.runtime.logging import get_logger

if TYPE_CHECKING:
    from tradewind.cache.port import Cache
    from tradewind.runtime.service import Service

#: Seconds between two publications of a process's statuses.
PERIOD_S = 2.0
#: Seconds a status lives: three periods, so one late publication does not drop it.
TTL_S = 3 * PERIOD_S
#: The cache group holding the statuses, one member per (service, process).
GROUP = "service-status"
#: The admin view a service reports its venue circuit breakers on (execution's).
BREAKERS_VIEW = "/breakers"

_log = get_logger("tradewind.runtime")


class ServiceStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One service as its process last published it. `ready`: None when its readiness
    check raised; `breakers`: venue -> breaker state (`closed`, `open`, …), empty for a
    service without breakers; `published_ns`: wall clock, ns since the epoch."""

    name: str
    instance: str
    ready: bool | None
    breakers: dict[str, str] = {}
    published_ns: int


def this_instance() -> str:
    """What names this process among the platform's: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def breaker_states(data: Any) -> dict[str, str]:
    """`{"venue": "closed"}`, `{"venue": {"state": "open", ...}}` or
    `[{"venue": ..., "state": ...}]` (execution's `BreakerStatus` structs, or their JSON
    from a health server) as venue -> state."""
    data = msgspec.to_builtins(data)
    if isinstance(data, Mapping):
        return {
            str(venue): str(value.get("state", "unknown") if isinstance(value, Mapping) else value)
            for venue, value in data.items()
        }
    if isinstance(data, list):
        return {
            str(item.get("venue")): str(item.get("state", "unknown"))
            for item in data
            if isinstance(item, Mapping) and "venue" in item
        }
    return {}


def status_of(service: Service, instance: str, published_ns: int) -> ServiceStatus:
    """`service`'s status now; a readiness check or breakers view that raises must not
    stop the others' publication, so it reads as unknown (None, no breakers)."""
    ready: bool | None
    try:
        ready = service.ready
    except Exception:
        ready = None
    breakers: dict[str, str] = {}
    view = service.admin_endpoints().get(BREAKERS_VIEW)
    if view is not None:
        try:
            breakers = breaker_states(view())
        except Exception:
            _log.warning("breakers view failed", service=service.name, exc_info=True)
    return ServiceStatus(
        name=service.name,
        instance=instance,
        ready=ready,
        breakers=breakers,
        published_ns=published_ns,
    )


class ServiceStatuses:
    """The services' statuses in the shared `cache`: this process's (`instance`)
    published, every process's read. `names`: every service the platform has, the order
    statuses are read in; `ttl_s`: how long a published status lives."""

    def __init__(
        self,
        cache: Cache,
        names: Sequence[str],
        *,
        instance: str | None = None,
        ttl_s: float = TTL_S,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._cache = cache
        self.names = tuple(names)
        self.instance = instance or this_instance()
        self.ttl_s = ttl_s
        self._clock_ns = clock_ns
        self._decoder = msgspec.msgpack.Decoder(ServiceStatus)

    async def publish(self, services: Sequence[Service]) -> None:
        """Write each of `services`' status, to live `ttl_s`."""
        now = self._clock_ns()
        await self._cache.heartbeat(
            GROUP,
            {
                f"{s.name}@{self.instance}": msgspec.msgpack.encode(
                    status_of(s, self.instance, now)
                )
                for s in services
            },
            ttl_s=self.ttl_s,
        )

    async def publish_every(self, services: Sequence[Service], period_s: float = PERIOD_S) -> None:
        """Publish every `period_s` until cancelled; a cache that fails is logged and
        tried again next period (the statuses expire meanwhile: the others see the
        services as gone, which is what they are to them)."""
        while True:
            try:
                await self.publish(services)
            except Exception:
                _log.warning("could not publish the services' status", exc_info=True)
            await asyncio.sleep(period_s)

    async def read_others(self) -> list[ServiceStatus]:
        """The statuses every other process published within `ttl_s` (this one's are
        the reader's to ask directly), every instance of each service, in `names` order
        (services not in it last, by name), then by instance."""
        order = {name: index for index, name in enumerate(self.names)}
        found = []
        for value in (await self._cache.live_members(GROUP)).values():
            try:
                status = self._decoder.decode(value)
            except msgspec.DecodeError:  # written by another version: not ours to read
                continue
            if status.instance != self.instance:
                found.append(status)
        return sorted(found, key=lambda s: (order.get(s.name, len(order)), s.name, s.instance))
