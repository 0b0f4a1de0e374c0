"""Distributed mode: a gateway in one process reports every instance of the services
other processes run, as their runners publish them to the shared Redis cache."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.integration.gateway.serving import gateway_settings, serving
from tests.integration.gateway.support import Api, new_exchange
from tests.waiting import wait_until_async
from tradewind.cache.factory import open_cache
from tradewind.cache.port import Cache
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


@dataclass
class Platform:
    """A gateway (process `host-a:7`) and the shared cache the other processes publish
    their services' statuses to."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    cache_url: str

    async def other_process(self) -> Cache:
        cache = open_cache(self.cache_url)
        await cache.start()
        return cache

    async def admin(self, view: str) -> Any:
        response = await self.client.get(f"/api/v1/admin/{view}", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()


@asynccontextmanager
async def gateway_on_redis(tmp_path: Path, redis_url: str) -> AsyncIterator[Platform]:
    exchange = new_exchange()
    cache_url = f"{redis_url}?prefix=test-{uuid.uuid4().hex}:"
    gateway_cache = open_cache(cache_url)
    await gateway_cache.start()
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
            yield Platform(client, operator.headers, cache_url)
    finally:
        await gateway_cache.close()


@asynccontextmanager
async def publishing(statuses: ServiceStatuses, *services: Service) -> AsyncIterator[None]:
    """`statuses`' process publishing `services` every period, as its runner does."""
    await statuses.publish(services)
    task = asyncio.create_task(statuses.publish_every(services, period_s=0.1))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_gateway_lists_every_instance_other_processes_publish_to_redis(
    tmp_path: Path, redis_url: str
) -> None:
    async with gateway_on_redis(tmp_path, redis_url) as platform:
        b_cache, c_cache = await platform.other_process(), await platform.other_process()
        b = ServiceStatuses(b_cache, NAMES, instance="host-b:42")
        c = ServiceStatuses(c_cache, NAMES, instance="host-c:43")
        try:
            async with (
                publishing(b, Elsewhere("risk"), Elsewhere("execution", breaker="open")),
                publishing(c, Elsewhere("execution", breaker="closed")),
            ):
                assert await platform.admin("health") == [
                    {"name": "gateway", "instance": "host-a:7", "status": "ready"},
                    {"name": "risk", "instance": "host-b:42", "status": "ready"},
                    {"name": "execution", "instance": "host-b:42", "status": "ready"},
                    {"name": "execution", "instance": "host-c:43", "status": "ready"},
                ]
                assert await platform.admin("breakers") == [
                    {"venue": "sim", "instance": "host-b:42", "state": "open"},
                    {"venue": "sim", "instance": "host-c:43", "state": "closed"},
                ]
        finally:
            await b_cache.close()
            await c_cache.close()


async def test_an_instance_that_stops_publishing_drops_out_of_the_gateways_view(
    tmp_path: Path, redis_url: str
) -> None:
    async with gateway_on_redis(tmp_path, redis_url) as platform:
        b_cache, c_cache = await platform.other_process(), await platform.other_process()
        b = ServiceStatuses(b_cache, NAMES, instance="host-b:42")
        c = ServiceStatuses(c_cache, NAMES, instance="host-c:43", ttl_s=2.0)

        async def instances() -> list[tuple[str, str]]:
            return [(row["name"], row["instance"]) for row in await platform.admin("health")]

        try:
            async with publishing(b, Elsewhere("execution")):
                async with publishing(c, Elsewhere("execution")):
                    assert await instances() == [
                        ("gateway", "host-a:7"),
                        ("execution", "host-b:42"),
                        ("execution", "host-c:43"),
                    ]

                async def c_gone() -> bool:  # c stopped: its status lives out its TTL
                    return ("execution", "host-c:43") not in await instances()

                await wait_until_async(c_gone)
                assert await instances() == [("gateway", "host-a:7"), ("execution", "host-b:42")]
                assert await platform.admin("breakers") == [
                    {"venue": "sim", "instance": None, "state": "unknown"}
                ]
        finally:
            await b_cache.close()
            await c_cache.close()
