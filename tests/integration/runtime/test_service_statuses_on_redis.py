"""Distributed mode: a gateway in one process reports the services other processes run,
as their runners publish them to the shared Redis cache."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx

from tests.integration.gateway.serving import gateway_settings, serving
from tests.integration.gateway.support import Api, new_exchange
from tradewind.cache.factory import open_cache
from tradewind.runtime.service import AdminEndpoints, Resources, Service, ServiceContext
from tradewind.runtime.service_status import ServiceStatuses
from tradewind.services.execution.gate import BreakerStatus
from tradewind.venues.directory import SimulatedVenues

NAMES = ("gateway", "risk", "execution")


class Elsewhere(Service):
    """A service of another process, as its runner sees it."""

    def __init__(self, name: str, breaker: str | None = None) -> None:
        self.name = name
        self._breaker = breaker

    async def start(self, ctx: ServiceContext) -> None: ...

    async def stop(self) -> None: ...

    @property
    def ready(self) -> bool:
        return True

    def admin_endpoints(self) -> AdminEndpoints:
        if self._breaker is None:
            return {}
        status = BreakerStatus(venue="sim", state=self._breaker, open_for_s=2.0, blocked_for_s=0.0)
        return {"/breakers": lambda: [status]}


async def test_the_gateway_lists_the_services_other_processes_publish_to_redis(
    tmp_path: Path, redis_url: str
) -> None:
    exchange = new_exchange()
    cache_url = f"{redis_url}?prefix=test-{uuid.uuid4().hex}:"
    gateway_cache, other_cache = open_cache(cache_url), open_cache(cache_url)
    await gateway_cache.start()
    await other_cache.start()
    # The other process: its runner publishes its services every period until it stops.
    other = ServiceStatuses(other_cache, NAMES, instance="host-b:42")
    publishing = asyncio.create_task(
        other.publish_every([Elsewhere("risk"), Elsewhere("execution", breaker="open")])
    )
    resources = Resources(
        venues=SimulatedVenues(exchange),
        cache=gateway_cache,
        statuses=ServiceStatuses(gateway_cache, NAMES, instance="host-a:7"),
    )
    try:
        async with (
            serving(
                gateway_settings(tmp_path), exchange, resources=resources, peers=None
            ) as server,
            httpx.AsyncClient(base_url=server.url) as client,
        ):
            operator = await Api(client, server.state, exchange).as_roles("operator")
            await other.publish([Elsewhere("risk"), Elsewhere("execution", breaker="open")])
            health = await client.get("/api/v1/admin/health", headers=operator.headers)
            assert health.json() == [
                {"name": "gateway", "status": "ready"},
                {"name": "risk", "status": "ready"},
                {"name": "execution", "status": "ready"},
            ]
            breakers = await client.get("/api/v1/admin/breakers", headers=operator.headers)
            assert breakers.json() == [{"venue": "sim", "state": "open"}]
    finally:
        publishing.cancel()
        await asyncio.gather(publishing, return_exceptions=True)
        await gateway_cache.close()
        await other_cache.close()
