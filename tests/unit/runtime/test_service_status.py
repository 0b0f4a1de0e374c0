"""Each process's services published to the shared cache, and read by the others."""

from __future__ import annotations

from tradewind.cache.memory import MemoryCache
from tradewind.runtime.service import AdminEndpoints, Service, ServiceContext
from tradewind.runtime.service_status import GROUP, TTL_S, ServiceStatus, ServiceStatuses
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
    """Wall clock for the statuses (ns) and monotonic clock for the cache (s), in step."""

    def __init__(self) -> None:
        self.s = 1_000.0

    def ns(self) -> int:
        return int(self.s * 1e9)


def statuses_on(cache: MemoryCache, clock: Clock, instance: str) -> ServiceStatuses:
    return ServiceStatuses(cache, NAMES, instance=instance, clock_ns=clock.ns)


async def test_a_process_reads_every_instance_the_others_published_not_its_own() -> None:
    clock = Clock()
    cache = MemoryCache(clock=lambda: clock.s)
    b, c = statuses_on(cache, clock, "host-b:2"), statuses_on(cache, clock, "host-c:3")
    here = statuses_on(cache, clock, "host-a:1")
    await c.publish([Fake("execution", breakers="closed")])
    await b.publish([Fake("risk", ready=False), Fake("execution", breakers="open")])
    await here.publish([Fake("gateway"), Fake("execution")])

    published = clock.ns()
    assert await here.read_others() == [
        ServiceStatus(name="risk", instance="host-b:2", ready=False, published_ns=published),
        ServiceStatus(
            name="execution",
            instance="host-b:2",
            ready=True,
            breakers={"sim": "open"},
            published_ns=published,
        ),
        ServiceStatus(
            name="execution",
            instance="host-c:3",
            ready=True,
            breakers={"sim": "closed"},
            published_ns=published,
        ),
    ]
    assert [(s.name, s.instance) for s in await c.read_others()] == [
        ("gateway", "host-a:1"),
        ("risk", "host-b:2"),
        ("execution", "host-a:1"),
        ("execution", "host-b:2"),
    ]


async def test_an_instance_that_stops_publishing_drops_out_after_its_ttl() -> None:
    clock = Clock()
    cache = MemoryCache(clock=lambda: clock.s)
    stopped, running = statuses_on(cache, clock, "host-b:2"), statuses_on(cache, clock, "host-c:3")
    reader = statuses_on(cache, clock, "host-a:1")
    await stopped.publish([Fake("risk")])
    await running.publish([Fake("risk")])
    clock.s += TTL_S / 2
    await running.publish([Fake("risk")])
    clock.s += TTL_S / 2
    assert [s.instance for s in await reader.read_others()] == ["host-c:3"]


async def test_an_entry_it_cannot_read_is_skipped_and_a_failing_readiness_is_unknown() -> None:
    class Broken(Fake):
        @property
        def ready(self) -> bool:
            raise RuntimeError("no answer")

    cache = MemoryCache()
    statuses = ServiceStatuses(cache, NAMES, instance="host-a:1")
    await cache.heartbeat(GROUP, {"gateway@host-b:2": b"\xc1 not msgpack"}, ttl_s=TTL_S)
    await ServiceStatuses(cache, NAMES, instance="host-b:2").publish([Broken("risk")])
    assert [(s.name, s.ready) for s in await statuses.read_others()] == [("risk", None)]


async def test_a_service_the_reader_does_not_know_comes_last() -> None:
    cache = MemoryCache()
    await ServiceStatuses(cache, NAMES, instance="host-b:2").publish(
        [Fake("newcomer"), Fake("risk")]
    )
    read = await ServiceStatuses(cache, NAMES, instance="host-a:1").read_others()
    assert [s.name for s in read] == ["risk", "newcomer"]
