"""The `gateway` service really serving: uvicorn on a free loopback port, a memory bus,
a SQLite file, the in-process simulated exchange."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from tests.integration.gateway.support import CHEAP_HASHER, JWT_SECRET
from tests.unit.security.factories import key_text
from tradewind.bus.memory import MemoryBus
from tradewind.gateway.deps import GatewayState
from tradewind.gateway.service import GatewayService
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, Service, ServiceContext
from tradewind.runtime.settings import Settings
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.exchange import SimulatedExchange


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def gateway_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'tradewind.db'}",
        "http_port": free_port(),
        "master_keys": key_text("k1"),
        "jwt_secret": JWT_SECRET,
        "login_rate_per_ip": 10_000,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Serving:
    service: GatewayService
    bus: MemoryBus
    settings: Settings
    metrics: RuntimeMetrics

    @property
    def state(self) -> GatewayState:
        assert self.service.state is not None
        return self.service.state

    @property
    def url(self) -> str:
        scheme = "https" if self.settings.tls_cert_file else "http"
        return f"{scheme}://127.0.0.1:{self.settings.http_port}"

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1) + "/api/v1/stream"


@asynccontextmanager
async def serving(
    settings: Settings,
    exchange: SimulatedExchange | None,
    *,
    peers: Sequence[Service] | None = (),
    bus: MemoryBus | None = None,
    stream_queue_size: int = 256,
    resources: Resources | None = None,
) -> AsyncIterator[Serving]:
    bus = bus or MemoryBus(partitions=4)
    await bus.start()
    venues = SimulatedVenues(exchange) if exchange is not None else None
    service = GatewayService(
        venues,
        peers=None if peers is None else lambda: peers,  # None: the run's (`Resources`)
        hasher=CHEAP_HASHER,
        stream_queue_size=stream_queue_size,
    )
    log = structlog.stdlib.get_logger("tradewind.services.gateway")
    metrics = RuntimeMetrics()
    await service.start(ServiceContext(settings, bus, log, metrics, resources or Resources()))
    try:
        yield Serving(service, bus, settings, metrics)
    finally:
        await service.stop()
        await bus.close()
