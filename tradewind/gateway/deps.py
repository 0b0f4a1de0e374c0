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

from tradewind.cache.port import Cache
from tradewind.gateway.auth import Authenticator, Principal
from tradewind.gateway.cache import Ownership, PortfolioCache
from tradewind.gateway.errors import ApiError
from tradewind.gateway.hub import StreamHub
from tradewind.gateway.listings import VenueListings
from tradewind.gateway.market_candles import MarketCandles
from tradewind.gateway.rate_limits import RateLimiter
from tradewind.gateway.rbac import Permission
from tradewind.gateway.strategies import StrategyCatalog
from tradewind.runtime.service_status import ServiceStatus, this_instance
from tradewind.security.encryption import Encryptor
from tradewind.security.passwords import PasswordHasher
from tradewind.security.proxies import IpNetwork, client_address
from tradewind.security.refresh_tokens import RefreshTokenIssuer, RefreshTokenStore
from tradewind.store.database import Database
from tradewind.store.login_failures import DelayPolicy
from tradewind.venues.port import VenueDirectory

#: (method, path) of the routes anyone may call, without a token.
PUBLIC_ROUTES = frozenset(
    {
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/logout"),
        # The browser session's (routes_web): the cookie is the credential.
        ("POST", "/api/v1/auth/session"),
        ("POST", "/api/v1/auth/session/refresh"),
        ("POST", "/api/v1/auth/session/end"),
    }
)

MAX_PAGE = 500
MAX_OFFSET = 1_000_000


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """After `max_failures` failed logins in a row from one source on one address, that
    source waits `first_delay_s`, then twice, four times as long … at most `lockout_s`,
    before trying it again;
    attempts are throttled per source (`per_ip_per_minute`) and per address and source
    (`per_account_per_minute`), and token refreshes per source
    (`refreshes_per_ip_per_minute`; a client refreshes about once per access-token
    lifetime, so this leaves room for many clients behind one address)."""

    max_failures: int = 5
    lockout_s: int = 900
    per_ip_per_minute: int = 30
    per_account_per_minute: int = 10
    first_delay_s: int = 1
    refreshes_per_ip_per_minute: int = 60

    @property
    def delays(self) -> DelayPolicy:
        return DelayPolicy(free=self.max_failures, base_s=self.first_delay_s, max_s=self.lockout_s)


@dataclass(frozen=True, slots=True)
class RequestPolicy:
    """Budgets of authenticated callers, per minute and gateway instance: requests per
    user on any route, and calls to an exchange (key checks) per user and in all,
    which spend the user's key allowance and the platform's egress to the venue."""

    per_user_per_minute: int = 1200
    exchange_calls_per_user_per_minute: int = 6
    exchange_calls_per_minute: int = 300


def too_many(limiter: RateLimiter, key: str, what: str) -> None:
    """Take one from `limiter`'s bucket `key`, or answer 429 with `Retry-After`."""
    wait_s = limiter.try_acquire(key)
    if wait_s is not None:
        raise ApiError(
            429,
            f"too many {what}; try again in {wait_s:.0f} s",
            headers={"Retry-After": f"{wait_s:.0f}"},
        )


@dataclass(frozen=True, slots=True)
class PeerView:
    """Another service in this process, as operators see it: its readiness, and its
    read-only admin views (the same ones the health server serves)."""

    name: str
    ready: Callable[[], bool]
    admin_views: Callable[[], dict[str, Callable[[], Any]]]


async def _no_remote_peers() -> Sequence[ServiceStatus]:
    return ()


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
    request_policy: RequestPolicy = field(default_factory=RequestPolicy)
    #: Peers whose `X-Forwarded-For` is believed (`TRADEWIND_TRUSTED_PROXIES`).
    trusted_proxies: tuple[IpNetwork, ...] = ()
    portfolios: PortfolioCache = field(default_factory=PortfolioCache)
    #: The platform's cache, where marketdata keeps the last prices (None: not given).
    cache: Cache | None = None
    hub: StreamHub = field(default_factory=StreamHub)
    peers: Callable[[], Sequence[PeerView]] = lambda: ()
    #: This process among the platform's (`host:pid`), as its runner publishes it.
    instance: str = field(default_factory=this_instance)
    #: The services other processes run, as they published them (`runtime.service_status`).
    remote_peers: Callable[[], Awaitable[Sequence[ServiceStatus]]] = _no_remote_peers
    #: The symbol accounts' beta and correlation are measured against
    #: (`TRADEWIND_ANALYTICS_BENCHMARK`; "": none), read from the account's venue.
    analytics_benchmark: str = "BTC/USDT"
    #: Called after a transaction staged outbox events (wakes the relay).
    outbox_written: Callable[[], None] = lambda: None
    ownership: Ownership = field(init=False)
    ip_limiter: RateLimiter = field(init=False)
    account_limiter: RateLimiter = field(init=False)
    refresh_limiter: RateLimiter = field(init=False)
    user_limiter: RateLimiter = field(init=False)
    listings: VenueListings = field(init=False)
    candles: MarketCandles = field(init=False)
    exchange_user_limiter: RateLimiter = field(init=False)
    exchange_limiter: RateLimiter = field(init=False)
    #: Bounds concurrent argon2 work (each hash holds ~64 MiB for tens of ms).
    password_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))

    def __post_init__(self) -> None:
        self.ownership = Ownership(self._load_account_ids)
        self.listings = VenueListings(self.venues)
        self.candles = MarketCandles(self.venues)
        self.ip_limiter = RateLimiter(self.login_policy.per_ip_per_minute)
        self.account_limiter = RateLimiter(self.login_policy.per_account_per_minute)
        self.refresh_limiter = RateLimiter(self.login_policy.refreshes_per_ip_per_minute)
        requests = self.request_policy
        self.user_limiter = RateLimiter(requests.per_user_per_minute)
        self.exchange_user_limiter = RateLimiter(requests.exchange_calls_per_user_per_minute)
        self.exchange_limiter = RateLimiter(requests.exchange_calls_per_minute)
        # Through `self.hub` at call time: the service may swap the hub after this.
        self.authenticator.revocations.listeners.append(lambda change: self.hub.revoked(change))

    def take_exchange_call(self, user_id: str) -> None:
        """Spend one exchange call of `user_id`'s budget and of the platform's; 429 if
        either is spent."""
        too_many(self.exchange_user_limiter, user_id, "calls to the exchange")
        too_many(self.exchange_limiter, "", "calls to the exchange from the platform")

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
    401 without a valid token, 403 without the permission, 429 past the caller's
    request budget (`RequestPolicy.per_user_per_minute`)."""

    async def caller(request: Request) -> Principal:
        state: GatewayState = request.app.state.gateway
        principal = state.authenticator.authenticate_header(request.headers.get("authorization"))
        if not principal.can(permission):
            raise ApiError(403, f"your roles do not grant {permission.value}", code="forbidden")
        too_many(state.user_limiter, principal.user_id, "requests")
        return principal

    caller.permission = permission  # type: ignore[attr-defined]  # read by the RBAC checks
    return caller


def client_ip(request: Request) -> str:  # a helper, not a dependency
    """The client's address: the peer's, or from `X-Forwarded-For` when the peer is a
    trusted proxy (see `security.proxies`)."""
    state: GatewayState = request.app.state.gateway
    peer = request.client.host if request.client is not None else ""
    return client_address(peer, request.headers.getlist("x-forwarded-for"), state.trusted_proxies)


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
