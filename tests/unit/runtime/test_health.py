from __future__ import annotations

import socket

import httpx
import pytest

from tradewind.errors import ConfigError
from tradewind.runtime.health import HealthServer, Readiness, build_health_app
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import AdminEndpoints, Service, ServiceContext


class StubService(Service):
    """A service whose readiness the test sets; serves `/stub` when given a view."""

    name = "stub"

    def __init__(self, name: str = "stub", ready: bool = True, admin: bool = False) -> None:
        self.name = name
        self.is_ready = ready
        self.admin = admin

    async def start(self, ctx: ServiceContext) -> None:
        self.is_ready = True

    async def stop(self) -> None:
        self.is_ready = False

    @property
    def ready(self) -> bool:
        return self.is_ready

    def admin_endpoints(self) -> AdminEndpoints:
        return {"/stub": lambda: [{"n": 1}]} if self.admin else {}


async def get(path: str, *services: Service, draining: bool = False) -> httpx.Response:
    app = build_health_app(Readiness(services, draining=draining), RuntimeMetrics())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://health") as http:
        return await http.get(path)


async def test_healthz_answers_while_the_process_runs() -> None:
    response = await get("/healthz", StubService(ready=False))
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_is_200_when_every_service_is_ready() -> None:
    response = await get("/readyz", StubService("a"), StubService("b"))
    assert (response.status_code, response.json()) == (200, {"ready": True, "services": ["a", "b"]})


async def test_readyz_is_503_naming_the_services_not_ready() -> None:
    response = await get("/readyz", StubService("a"), StubService("b", ready=False))
    assert response.status_code == 503
    assert response.json() == {"ready": False, "status": "starting", "not_ready": ["b"]}


async def test_readyz_is_503_while_draining() -> None:
    response = await get("/readyz", StubService("a"), draining=True)
    assert response.status_code == 503
    assert response.json()["status"] == "draining"


async def test_metrics_are_prometheus_text_named_tradewind() -> None:
    response = await get("/metrics", StubService())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "tradewind_build_info" in response.text
    assert "process_resident_memory_bytes" in response.text


async def test_services_admin_views_are_served_as_json() -> None:
    response = await get("/stub", StubService(admin=True))
    assert (response.status_code, response.json()) == (200, [{"n": 1}])


async def test_two_services_claiming_one_path_is_refused() -> None:
    with pytest.raises(ValueError, match="claims the taken path /stub"):
        await get("/stub", StubService("a", admin=True), StubService("b", admin=True))


async def test_health_server_serves_on_a_picked_port_and_stops() -> None:
    app = build_health_app(Readiness([StubService()]), RuntimeMetrics())
    server = HealthServer(app, "127.0.0.1", 0, setting="TRADEWIND_HEALTH_PORT")
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            assert (await http.get("/readyz")).status_code == 200
    finally:
        await server.stop()
    assert server.stopped.done()


def test_a_busy_port_is_a_config_error_naming_the_setting() -> None:
    app = build_health_app(Readiness([]), RuntimeMetrics())
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as caught:
            HealthServer(app, "127.0.0.1", port, setting="TRADEWIND_HEALTH_PORT")
    assert caught.value.setting == "TRADEWIND_HEALTH_PORT"
    assert caught.value.problem == (
        f"cannot listen on 127.0.0.1:{port}: [Errno 98] Address already in use"
    )
