"""What the routes share (`GatewayState`) and the FastAPI dependencies that hand it out:
the caller (`require(permission)`), paging, and the client's address.

Every route declares its permission with `Depends(require(Permission.X))`, or is in
`PUBLIC_ROUTES`; `app.check_every_route_declares_a_permission` refuses to build an app
where a route does neither.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from tradewind.gateway.auth import Authenticator, Principal
from tradewind.gateway.cache import Ownership, PortfolioCache
from tradewind.gateway.errors import ApiError
from tradewind.gateway.hub import StreamHub
from tradewind.gateway.rate_limits import RateLimiter
from tradewind.gateway.rbac import Permission
from tradewind.gateway.strategies import StrategyCatalog
from tradewind.security.envelope import Encryptor
from tradewind.security.passwords import PasswordHasher
from tradewind.security.refresh_tokens import RefreshTokenIssuer, RefreshTokenStore
from tradewind.store.database import Database
from tradewind.venues.directory import VenueDirectory

#: (method, path) of the routes anyone may call, without a token.
PUBLIC_ROUTES = frozenset(
    {
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/logout"),
    }
)

MAX_PAGE = 500
MAX_OFFSET = 1_000_000


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """Lock an account for `lockout_s` seconds after `max_failures` failed logins in a
    row; throttle attempts per IP and per account (per minute)."""

    max_failures: int = 5
    lockout_s: int = 900
    per_ip_per_minute: int = 30
    per_account_per_minute: int = 10


@dataclass(frozen=True, slots=True)
class PeerView:
    """Another service in this process, as operators see it: its readiness, and its
    read-only admin views (the same ones the health server serves)."""

    name: str
    ready: Callable[[], bool]
    admin_views: Callable[[], dict[str, Callable[[], Any]]]


@dataclass
class GatewayState:
    """Everything the routes use; built once by `app.build_state` (or a test)."""

    db: Database
    encryptor: Encryptor
    authenticator: Authenticator
    refresh_tokens: RefreshTokenIssuer
    refresh_store: RefreshTokenStore
    hasher: PasswordHasher
    venues: VenueDirectory
    strategies: StrategyCatalog
    login_policy: LoginPolicy = field(default_factory=LoginPolicy)
    bootstrap_admin_email: str = ""
    portfolios: PortfolioCache = field(default_factory=PortfolioCache)
    hub: StreamHub = field(default_factory=StreamHub)
    peers: Callable[[], Sequence[PeerView]] = lambda: ()
    #: Called after a transaction staged outbox events (wakes the relay).
    outbox_written: Callable[[], None] = lambda: None
    ownership: Ownership = field(init=False)
    ip_limiter: RateLimiter = field(init=False)
    account_limiter: RateLimiter = field(init=False)
    #: Bounds concurrent argon2 work (each hash holds ~64 MiB for tens of ms).
    password_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))

    def __post_init__(self) -> None:
        self.ownership = Ownership(self._load_account_ids)
        self.ip_limiter = RateLimiter(self.login_policy.per_ip_per_minute)
        self.account_limiter = RateLimiter(self.login_policy.per_account_per_minute)

    async def _load_account_ids(self, user_id: str) -> list[str]:
        from tradewind.store.accounts import list_accounts

        async with self.db.read() as conn:
            return [a.id for a in await list_accounts(conn, user_id=user_id, limit=10_000)]


# Dependencies are `async def` on purpose: FastAPI runs plain `def` ones in a worker
# thread, which costs more than everything they do.


async def gateway_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


State = Annotated[GatewayState, Depends(gateway_state)]


def require(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the verified caller, if one of their roles grants `permission`;
    401 without a valid token, 403 without the permission."""

    async def caller(request: Request) -> Principal:
        state: GatewayState = request.app.state.gateway
        principal = state.authenticator.authenticate_header(request.headers.get("authorization"))
        if not principal.can(permission):
            raise ApiError(403, f"your roles do not grant {permission.value}", code="forbidden")
        return principal

    caller.permission = permission  # type: ignore[attr-defined]  # read by the RBAC checks
    return caller


def client_ip(request: Request) -> str:  # a helper, not a dependency
    """The peer's address (put the gateway behind a proxy that sets it with
    `--proxy-headers` / `--forwarded-allow-ips` if there is one)."""
    return request.client.host if request.client is not None else ""


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int
    offset: int


async def paging(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip")] = 0,
) -> Paging:
    return Paging(limit, offset)


PageParams = Annotated[Paging, Depends(paging)]
