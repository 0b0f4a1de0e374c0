"""The gateway's FastAPI app: REST under `/api/v1`, the WebSocket stream, OpenAPI at
`/openapi.json`, the web dashboard at `/` (`webapp.py`), and `build_state` that wires
what the routes share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradewind import __version__
from tradewind.cache.port import Cache
from tradewind.gateway import (
    routes_accounts,
    routes_admin,
    routes_auth,
    routes_bots,
    routes_limits,
    routes_market,
    routes_reads,
    routes_rebalance,
    routes_web,
    stream,
)
from tradewind.gateway.auth import Authenticator
from tradewind.gateway.deps import (
    PUBLIC_ROUTES,
    GatewayState,
    LoginPolicy,
    PeerView,
    RequestPolicy,
)
from tradewind.gateway.docs import install_docs
from tradewind.gateway.errors import ApiError, documented, install_error_handlers
from tradewind.gateway.headers import SecurityHeaders
from tradewind.gateway.metrics import GatewayMetrics, RequestMetrics
from tradewind.gateway.rbac import Permission
from tradewind.gateway.strategies import InstalledStrategies, StrategyCatalog
from tradewind.gateway.webapp import WEBAPP_DIST, install_webapp
from tradewind.security.encryption import Encryptor
from tradewind.security.passwords import PasswordHasher
from tradewind.security.proxies import IpNetwork
from tradewind.security.refresh_tokens import RefreshPolicy, RefreshTokenIssuer
from tradewind.security.tokens import AccessTokenConfig
from tradewind.store.database import Database
from tradewind.store.refresh_token_families import SqlRefreshTokenStore
from tradewind.venues.port import VenueDirectory

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024


def build_state(
    *,
    db: Database,
    encryptor: Encryptor,
    tokens: AccessTokenConfig,
    venues: VenueDirectory,
    hasher: PasswordHasher | None = None,
    strategies: StrategyCatalog | None = None,
    login_policy: LoginPolicy | None = None,
    request_policy: RequestPolicy | None = None,
    trusted_proxies: tuple[IpNetwork, ...] = (),
    refresh_policy: RefreshPolicy | None = None,
    peers: Callable[[], Sequence[PeerView]] = lambda: (),
    cache: Cache | None = None,
) -> GatewayState:
    """Everything the routes share, over `db` (already migrated). `hasher` defaults to
    production argon2id; tests pass a cheap one. `cache`: where marketdata keeps the
    last prices."""
    refresh_policy = refresh_policy or RefreshPolicy()
    refresh_store = SqlRefreshTokenStore(db, refresh_policy)
    return GatewayState(
        db=db,
        encryptor=encryptor,
        authenticator=Authenticator(tokens),
        refresh_tokens=RefreshTokenIssuer(refresh_store, refresh_policy),
        refresh_store=refresh_store,
        hasher=hasher or PasswordHasher(),
        venues=venues,
        strategies=strategies or InstalledStrategies(),
        login_policy=login_policy or LoginPolicy(),
        request_policy=request_policy or RequestPolicy(),
        trusted_proxies=trusted_proxies,
        peers=peers,
        cache=cache,
    )


def create_app(
    state: GatewayState, metrics: GatewayMetrics | None = None, webapp_dist: Path = WEBAPP_DIST
) -> FastAPI:
    """The API over `state`, counted in `metrics` if given, and the web dashboard built
    in `webapp_dist` at `/`; refuses (ValueError) a route that declares no permission."""
    app = FastAPI(
        title="Tradewind API",
        version=__version__,
        description="Accounts, bots and portfolios of the Tradewind trading platform. "
        "Authenticate with `Authorization: Bearer ACCESS_TOKEN` (from `/api/v1/auth/login`).",
        openapi_url="/openapi.json",
        docs_url=None,  # docs.py serves it without a CDN
        redoc_url=None,
        # FastAPI's native OpenTelemetry would report to the global providers, which
        # Tradewind leaves unconfigured (it exports Prometheus metrics, see metrics.py):
        # off, it costs nothing per request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.gateway = state
    for router in (
        routes_auth.router,
        routes_web.router,
        routes_accounts.router,
        routes_market.router,
        routes_bots.router,
        routes_rebalance.router,
        routes_reads.router,
        routes_limits.router,
        routes_admin.router,
        stream.router,
    ):
        # 429 on every route: an authenticated caller past their request budget, and
        # the public ones past their own throttles (logins, sign-ups, refreshes).
        app.include_router(router, prefix=API_PREFIX, responses=documented(400, 429))
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    if metrics is not None:
        app.add_middleware(RequestMetrics, metrics=metrics, prefix=API_PREFIX)
    app.add_middleware(SecurityHeaders, no_store_prefix=API_PREFIX)  # outermost: on all
    install_docs(app)
    install_webapp(app, webapp_dist)  # last: every other route takes precedence
    check_every_route_declares_a_permission(app)
    return app


def route_permission(route: APIRoute) -> Permission | None:
    """The permission a route's `require(...)` dependency asks for, or None."""
    for dependency in route.dependant.dependencies:
        permission = getattr(dependency.call, "permission", None)
        if isinstance(permission, Permission):
            return permission
    return None


def api_routes(app: FastAPI) -> list[tuple[str, str, Permission | None]]:
    """(method, path, permission) of every REST route, sorted."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path is not None:
            found += [(m, context.path, route_permission(route)) for m in context.methods or ()]
    return sorted(found, key=lambda item: (item[1], item[0]))


def check_every_route_declares_a_permission(app: FastAPI) -> None:
    """Raise ValueError for a route that is neither public nor asks for a permission
    (or is both): access control must be a decision, never a default."""
    routes = api_routes(app)
    if not routes:
        raise ValueError("found no routes to check; has FastAPI's routing changed?")
    for method, path, permission in routes:
        public = (method, path) in PUBLIC_ROUTES
        if public == (permission is not None):
            problem = "is public and also asks" if public else "declares no permission and"
            raise ValueError(f"{method} {path} {problem} is not in PUBLIC_ROUTES")


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413, whether announced by
    Content-Length or streamed in chunks."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                raise_too_large = True
                break
        else:
            raise_too_large = False
        if raise_too_large:
            await _too_large(send, self.max_bytes)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise ApiError(413, f"the body is larger than {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)


async def _too_large(send: Send, max_bytes: int) -> None:
    body = (
        b'{"detail":"the body is larger than '
        + str(max_bytes).encode()
        + b' bytes","code":"too_large","errors":[]}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
