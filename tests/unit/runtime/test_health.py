from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import httpx
import pytest

from tradewind.app.registry import SERVICES, create_services
from tradewind.errors import ConfigError
from tradewind.runtime.health import OPEN_VIEWS, HealthServer, Readiness, build_health_app
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import AdminEndpoints, Service, ServiceContext

OPERATOR_TOKEN = "operator-token-for-the-health-port"
TENANT_VIEWS = ("/portfolios", "/deadletters", "/risk/kill-switches", "/analytics/accounts")


class StubService(Service):
    """A service whose readiness the test sets; serves `/stub` when given a view."""

    name = "stub"

    def __init__(
        self, name: str = "stub", ready: bool = True, admin: bool = False, path: str = "/stub"
    ) -> None:
        self.name = name
        self.is_ready = ready
        self.admin = admin
        self.path = path

    async def start(self, ctx: ServiceContext) -> None:
        self.is_ready = True

    async def stop(self) -> None:
        self.is_ready = False

    @property
    def ready(self) -> bool:
        return self.is_ready

    def admin_endpoints(self) -> AdminEndpoints:
        return {self.path: lambda: [{"n": 1}]} if self.admin else {}


async def get(
    path: str,
    *services: Service,
    draining: bool = False,
    operator_token: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    readiness = Readiness(services, draining=draining)
    app = build_health_app(readiness, RuntimeMetrics(), operator_token)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://health") as http:
        return await http.get(path, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


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


@pytest.mark.parametrize("path", sorted(OPEN_VIEWS))
async def test_tenant_free_admin_views_are_served_as_json_without_a_token(path: str) -> None:
    response = await get(path, StubService(admin=True, path=path))
    assert (response.status_code, response.json()) == (200, [{"n": 1}])


async def test_other_admin_views_are_not_served_when_no_operator_token_is_configured() -> None:
    response = await get("/stub", StubService(admin=True))
    assert response.status_code == 404


async def test_the_operator_token_unlocks_the_other_admin_views() -> None:
    response = await get(
        "/stub",
        StubService(admin=True),
        operator_token=OPERATOR_TOKEN,
        headers=bearer(OPERATOR_TOKEN),
    )
    assert (response.status_code, response.json()) == (200, [{"n": 1}])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("operator-token-for-the-health-porT"),
        bearer(""),
        {"Authorization": OPERATOR_TOKEN},
        {"Authorization": f"Basic {OPERATOR_TOKEN}"},
    ],
    ids=["missing", "wrong", "empty", "no-scheme", "basic"],
)
async def test_a_missing_or_wrong_operator_token_is_401_json(headers: dict[str, str]) -> None:
    response = await get(
        "/stub", StubService(admin=True), operator_token=OPERATOR_TOKEN, headers=headers
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "detail": "this view needs Authorization: Bearer <TRADEWIND_HEALTH_TOKEN>"
    }


@pytest.mark.parametrize("path", TENANT_VIEWS)
async def test_the_services_tenant_views_are_never_open(path: str) -> None:
    services = create_services(list(SERVICES))
    assert (await get(path, *services)).status_code == 404
    locked = await get(path, *services, operator_token=OPERATOR_TOKEN)
    assert locked.status_code == 401
    unlocked = await get(
        path, *services, operator_token=OPERATOR_TOKEN, headers=bearer(OPERATOR_TOKEN)
    )
    assert (unlocked.status_code, unlocked.json()) == (200, [])


async def test_every_view_the_services_offer_is_either_open_or_tenant_data() -> None:
    # A new view must be classified: open here only if it holds no tenant data.
    offered = {path for s in create_services(list(SERVICES)) for path in s.admin_endpoints()}
    assert offered == OPEN_VIEWS | set(TENANT_VIEWS)


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


async def test_health_server_serves_https_with_the_process_certificate(tmp_path: Path) -> None:
    from tests.tls import CertificateAuthority
    from tradewind.security.tls_server import ServerTls

    ca = CertificateAuthority(tmp_path)
    issued = ca.server()
    app = build_health_app(Readiness([StubService()]), RuntimeMetrics())
    tls = ServerTls(str(issued.cert), str(issued.key))
    server = HealthServer(app, "127.0.0.1", 0, setting="TRADEWIND_HEALTH_PORT", tls=tls)
    await server.start()
    try:
        assert server.scheme == "https"
        verify = ssl.create_default_context(cafile=str(ca.cert))
        url = f"https://localhost:{server.port}"
        async with httpx.AsyncClient(base_url=url, verify=verify) as http:
            assert (await http.get("/readyz")).status_code == 200
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            with pytest.raises(httpx.HTTPError):  # no plain HTTP on the same port
                await http.get("/readyz")
    finally:
        await server.stop()


def test_the_health_port_refuses_plain_http_when_tls_is_required() -> None:
    from tradewind.runtime.settings import load_settings, served_tls

    with pytest.raises(ConfigError, match="the health port would serve plain HTTP"):
        served_tls(load_settings(require_tls=True), "the health port")


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


def test_the_strategy_view_answers_before_the_service_started() -> None:
    from tradewind.services.strategy.service import StrategyService

    view = StrategyService().admin_endpoints()["/strategy"]
    assert view() == {"running": 0, "paused": 0, "accounts": 0, "timers": 0}


def spin_the_loop_for_a_profile(stop: asyncio.Event) -> asyncio.Task[None]:
    """Work on the event loop, as a service would, while a profile is taken."""

    async def busy_service_work() -> None:
        while not stop.is_set():
            sum(i * i for i in range(20_000))
            await asyncio.sleep(0)

    return asyncio.get_running_loop().create_task(busy_service_work())


async def test_a_profile_of_the_running_process_shows_what_its_loop_runs() -> None:
    app = build_health_app(Readiness([StubService()]), RuntimeMetrics(), OPERATOR_TOKEN)
    stop = asyncio.Event()
    work = spin_the_loop_for_a_profile(stop)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://health") as http:
        text = await http.get("/debug/profile?seconds=0.5", headers=bearer(OPERATOR_TOKEN))
        speedscope = await http.get(
            "/debug/profile?seconds=0.2&format=speedscope", headers=bearer(OPERATOR_TOKEN)
        )
    stop.set()
    await work
    assert text.status_code == 200, text.text
    assert "busy_service_work" in text.text  # the services' task, not only the request
    assert speedscope.status_code == 200 and "busy_service_work" in speedscope.text


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ("seconds=0", 400, "seconds must be a number above 0 and at most 300"),
        ("seconds=301", 400, "seconds must be a number above 0 and at most 300"),
        ("seconds=soon", 400, "seconds must be a number above 0"),
        ("seconds=1&format=pdf", 400, "format must be one of text, html, speedscope"),
    ],
)
async def test_a_bad_profile_request_says_what_is_wrong(
    query: str, status: int, detail: str
) -> None:
    response = await get(
        f"/debug/profile?{query}", operator_token=OPERATOR_TOKEN, headers=bearer(OPERATOR_TOKEN)
    )
    assert response.status_code == status
    assert detail in response.json()["detail"]


async def test_profiles_are_for_the_operator_only() -> None:
    assert (await get("/debug/profile?seconds=1")).status_code == 404  # no token set
    refused = await get("/debug/profile?seconds=1", operator_token=OPERATOR_TOKEN)
    assert refused.status_code == 401


async def test_one_profile_at_a_time() -> None:
    app = build_health_app(Readiness([StubService()]), RuntimeMetrics(), OPERATOR_TOKEN)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://health") as http:
        both = await asyncio.gather(
            http.get("/debug/profile?seconds=0.5", headers=bearer(OPERATOR_TOKEN)),
            http.get("/debug/profile?seconds=0.5", headers=bearer(OPERATOR_TOKEN)),
        )
    assert sorted(r.status_code for r in both) == [200, 409]
