"""The health server every Tradewind process runs: liveness, readiness, metrics, admin.

- `GET /healthz`: 200 while the process runs (liveness).
- `GET /readyz`: 200 only when every service is started and ready; else 503 with the
  names of those that are not (and while draining on shutdown, so balancers stop
  sending work).
- `GET /metrics`: the runtime's Prometheus metrics, text format; each scrape first sets
  `tradewind_ready{service}` (what `/readyz` says) and samples the bus consumers' lag.
- `GET /debug/profile?seconds=N`: a sampling profile of the running process
  (`profiling.py`), operator token only.
- the services' read-only admin views, e.g. `GET /deadletters`, as JSON. Those in
  `OPEN_VIEWS` hold no tenant data (counts, per-venue states) and are open like the
  rest; every other view (per-account portfolios, kill switches naming users and
  accounts, dead letters whose reasons may quote payloads) answers only to the operator
  token, `Authorization: Bearer TOKEN` (`TRADEWIND_HEALTH_TOKEN`), with 401 otherwise;
  with no token configured those views are not served at all (404). A new view is
  closed until it is added to `OPEN_VIEWS`: the port is often reachable by more people
  than the API, so tenant data must never be on it by default.

uvicorn serves it inside the runtime's event loop on a socket bound here, so a busy port
is reported as a `ConfigError` and signals stay with the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tradewind.errors import ConfigError
from tradewind.runtime.metrics import PROMETHEUS_CONTENT_TYPE, RuntimeMetrics
from tradewind.runtime.profiling import PATH as PROFILE_PATH
from tradewind.runtime.profiling import LiveProfiler
from tradewind.runtime.service import Service
from tradewind.security.tls_server import ServerTls, uvicorn_tls_options

#: The admin views with no tenant, account or user data, served without the token:
#: `/strategy` and `/gateway` are counts, `/breakers` and `/marketdata` per-venue states,
#: `/marketdata/publishing` the markets an instance publishes (active) or keeps warm.
OPEN_VIEWS = frozenset(
    {"/strategy", "/gateway", "/breakers", "/marketdata", "/marketdata/publishing"}
)

#: Where the operator token comes from, for error messages.
TOKEN_SETTING = "TRADEWIND_HEALTH_TOKEN"


@dataclass(slots=True)
class Readiness:
    """What `/readyz` reports: the services, and whether the process is shutting down."""

    services: Sequence[Service]
    draining: bool = False

    def not_ready(self) -> list[str]:
        """Names of the services that are not ready (all of them while draining)."""
        return [s.name for s in self.services if self.draining or not s.ready]


def _json(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = msgspec.json.encode(data)
    return Response(body, status_code, headers, media_type="application/json")


def build_health_app(
    readiness: Readiness, metrics: RuntimeMetrics, operator_token: str | None = None
) -> Starlette:
    """The health app for `readiness.services`; the admin views outside `OPEN_VIEWS`
    are served only with `operator_token` (not at all without one). Raises ValueError
    if two services claim one admin path or a builtin one."""

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok"})

    async def readyz(request: Request) -> Response:
        not_ready = readiness.not_ready()
        if not_ready:
            status = "draining" if readiness.draining else "starting"
            return _json({"ready": False, "status": status, "not_ready": not_ready}, 503)
        return _json({"ready": True, "services": [s.name for s in readiness.services]})

    async def prometheus(request: Request) -> Response:
        not_ready = set(readiness.not_ready())
        for service in readiness.services:
            metrics.ready.labels(service.name).set(0 if service.name in not_ready else 1)
        await metrics.sample_bus()
        return Response(metrics.render(), media_type=PROMETHEUS_CONTENT_TYPE)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    if operator_token:
        profile = _operator_only_response(LiveProfiler(), operator_token.encode())
        routes.append(Route(PROFILE_PATH, profile, methods=["GET"]))
    taken = {route.path for route in routes} | {PROFILE_PATH}
    for service in readiness.services:
        for path, view in service.admin_endpoints().items():
            if path in taken:
                raise ValueError(f"service {service.name!r} claims the taken path {path}")
            taken.add(path)
            if path in OPEN_VIEWS:
                routes.append(Route(path, _admin_view(view), methods=["GET"]))
            elif operator_token:
                guarded = _operator_only(view, operator_token.encode())
                routes.append(Route(path, guarded, methods=["GET"]))
    return Starlette(routes=routes)


def _admin_view(view: Callable[[], Any]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        return _json(view())

    return endpoint


def _operator_only(view: Callable[[], Any], token: bytes) -> Callable[[Request], Any]:
    async def answer(request: Request) -> Response:
        return _json(view())

    return _operator_only_response(answer, token)


def _operator_only_response(
    endpoint: Callable[[Request], Awaitable[Response]], token: bytes
) -> Callable[[Request], Awaitable[Response]]:
    async def guarded(request: Request) -> Response:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        # compare_digest: the time taken does not tell how much of the token was right.
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token):
            detail = f"this view needs Authorization: Bearer <{TOKEN_SETTING}>"
            return _json({"detail": detail}, 401, {"WWW-Authenticate": "Bearer"})
        return await endpoint(request)

    return guarded


class _ServerWithoutSignals(uvicorn.Server):
    """uvicorn leaving SIGTERM and SIGINT to the runner, which drains services first."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HealthServer:
    """The health app served by uvicorn on `host:port` (0 = a free port) in this loop."""

    def __init__(
        self, app: Starlette, host: str, port: int, setting: str, tls: ServerTls | None = None
    ) -> None:
        """`tls`: serve HTTPS (the process's own certificate, as the gateway's)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._socket = socket.create_server((host, port), family=family)
        except OSError as exc:
            reason = f"[Errno {exc.errno}] {os.strerror(exc.errno)}" if exc.errno else str(exc)
            raise ConfigError(setting, f"cannot listen on {host}:{port}: {reason}") from None
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            **(uvicorn_tls_options(tls.cert_file, tls.key_file) if tls else {}),
        )
        self.scheme = "https" if tls else "http"
        self._server = _ServerWithoutSignals(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The TCP port it listens on (the one picked when 0 was asked for)."""
        return int(self._socket.getsockname()[1])

    @property
    def stopped(self) -> asyncio.Task[None]:
        """The serving task; done when the server stopped (or crashed)."""
        assert self._task is not None, "start() first"
        return self._task

    async def start(self) -> None:
        """Serve; returns once the server accepts connections."""
        self._task = asyncio.create_task(self._server.serve([self._socket]), name="health")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("the health server stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop serving, letting requests in flight finish (up to 2 s)."""
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._socket.close()
