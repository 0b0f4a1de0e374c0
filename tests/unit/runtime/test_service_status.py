"""Each process's services published to the shared cache, and read by the others."""

from __future__ import annotations

from tradewind.cache.memory import MemoryCache
from tradewind.runtime.service import AdminEndpoints, Service, ServiceContext
from tradewind.runtime.service_status import KEY_PREFIX, TTL_S, ServiceStatus, ServiceStatuses
from tradewind.services.execution.gate import BreakerStatus

NAMES = ("gateway", "risk", "execution")


class Fake(Service):
    def __init__(self, name: str, ready: bool = True, breakers: str | None = None) -> None:
        self.name = name
        self._ready = ready
        self._breakers = breakers

    async def start(self, ctx: ServiceContext) -> None: ...

    async def stop(self) -> None: ...

    @property
    def ready(self) -> bool:
        return self._ready

    def admin_endpoints(self) -> AdminEndpoints:
        if self._breakers is None:
            return {}
        status = BreakerStatus(venue="sim", state=self._breakers, open_for_s=1.0, blocked_for_s=0.0)
        return {"/breakers": lambda: [status]}


class Clock:
    def __init__(self) -> None:
        self.ns = 1_000 * 10**9

    def __call__(self) -> int:
        return self.ns


async def test_a_process_reads_the_services_the_others_published_not_its_own() -> None:
    cache, clock = MemoryCache(), Clock()
    elsewhere = ServiceStatuses(cache, NAMES, instance="host-b:2", clock_ns=clock)
    here = ServiceStatuses(cache, NAMES, instance="host-a:1", clock_ns=clock)
    await elsewhere.publish([Fake("risk", ready=False), Fake("execution", breakers="open")])
    await here.publish([Fake("gateway")])

    assert await here.read(excluding={"gateway"}) == [
        ServiceStatus(name="risk", instance="host-b:2", ready=False, published_ns=clock.ns),
        ServiceStatus(
            name="execution",
            instance="host-b:2",
            ready=True,
            breakers={"sim": "open"},
            published_ns=clock.ns,
        ),
    ]
    assert await here.read(excluding=NAMES) == []


async def test_a_status_older_than_its_ttl_is_left_out() -> None:
    cache, clock = MemoryCache(), Clock()
    statuses = ServiceStatuses(cache, NAMES, clock_ns=clock)
    await statuses.publish([Fake("risk")])
    clock.ns += int(TTL_S * 1e9) + 1
    assert await statuses.read() == []


async def test_an_entry_it_cannot_read_is_skipped_and_a_failing_readiness_is_unknown() -> None:
    class Broken(Fake):
        @property
        def ready(self) -> bool:
            raise RuntimeError("no answer")

    cache = MemoryCache()
    statuses = ServiceStatuses(cache, NAMES)
    await cache.put_many({KEY_PREFIX + "gateway": b"\xc1 not msgpack"})
    await statuses.publish([Broken("risk")])
    assert [(s.name, s.ready) for s in await statuses.read()] == [("risk", None)]
