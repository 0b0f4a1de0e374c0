"""The `gateway` service: the public API served by uvicorn inside the runtime.

On start it takes the run's shared resources (`ServiceContext.resources`: database,
venues, key encryptor, the cache marketdata keeps last prices in), builds what they lack
from the settings (`config.py`), joins the bus with its own consumer group (`feed.py`),
starts the outbox relay that carries its bot commands to the bus, and serves HTTP(S) on
`TRADEWIND_HTTP_HOST:TRADEWIND_HTTP_PORT` (HTTPS when `TRADEWIND_TLS_CERT_FILE` and
`TRADEWIND_TLS_KEY_FILE` are set: TLS 1.2 or later with modern ciphers, see
`tradewind.security.tls_server`, and HSTS, see `headers.py`).

Venues, first found wins: the `venues=` argument, `resources.venues`,
`TRADEWIND_VENUE_URLS` and `TRADEWIND_VENUES`; else a `ConfigError`. The services
`/admin/health` and `/admin/breakers` report on: the other services of this process
(the `peers=` argument, else `resources.services`, which the runner fills in), then
every instance of those other processes run, as their runners publish them to the shared
cache (`resources.statuses`, see `tradewind.runtime.service_status`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import uvicorn

from tradewind.bus.port import Subscription
from tradewind.errors import ConfigError
from tradewind.gateway.account_changes import AccountChanges
from tradewind.gateway.app import build_state, create_app
from tradewind.gateway.config import (
    master_keys_from_settings,
    tls_from_settings,
    token_config_from_settings,
)
from tradewind.gateway.deps import GatewayState, LoginPolicy, PeerView, RequestPolicy
from tradewind.gateway.feed import LISTENER, TOPICS, account_events_handler
from tradewind.gateway.hub import StreamHub
from tradewind.gateway.metrics import GatewayMetrics
from tradewind.runtime.logging import get_logger
from tradewind.runtime.metrics import timed_handler
from tradewind.runtime.service import AdminEndpoints, Service, ServiceContext
from tradewind.runtime.service_status import ServiceStatus
from tradewind.runtime.settings import Settings
from tradewind.security.encryption import Encryptor
from tradewind.security.passwords import PasswordHasher
from tradewind.security.proxies import parse_trusted_proxies
from tradewind.security.tls_server import ServerTls, uvicorn_tls_options
from tradewind.store import login_failures
from tradewind.store.database import Database
from tradewind.store.outbox import OutboxRelay
from tradewind.venues.directory import CcxtVenues
from tradewind.venues.port import VenueDirectory

#: Seconds between two reads of the token versions and ended sessions (see
#: gateway/revocation.py): how long another instance may still accept a revoked token.
REVOCATION_POLL_S = 1.0

#: How long `stop` waits for the WebSocket sessions to close themselves (1001, "gateway
#: stopping") before the web server shuts down and closes any left with 1012.
_SESSIONS_CLOSE_S = 1.0

#: Once made whoever registered this address an administrator, with no proof of owning
#: it (security review, item 6); now ignored, and the gateway says so at start.
RETIRED_BOOTSTRAP_ADMIN_VARIABLE = "TRADEWIND_BOOTSTRAP_ADMIN_EMAIL"


class GatewayService(Service):
    """The `gateway` service: serves the public HTTP(S) and WebSocket API, fed by its own
    consumer group and relaying its bot commands to the bus through the outbox."""

    name = "gateway"

    def __init__(
        self,
        venues: VenueDirectory | None = None,
        *,
        peers: Callable[[], Sequence[Service]] | None = None,
        hasher: PasswordHasher | None = None,
        stream_queue_size: int = 256,
    ) -> None:
        """`stream_queue_size`: messages a WebSocket client may fall behind before it
        is dropped."""
        self._venues = venues
        self._stream_queue_size = stream_queue_size
        self._peers = peers
        self._hasher = hasher
        self._own_db: Database | None = None  # closed on stop; a shared one is not
        self._relay: OutboxRelay | None = None
        self._subscription: Subscription | None = None
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._revocations: asyncio.Task[None] | None = None
        self._account_changes: AccountChanges | None = None
        self.state: GatewayState | None = None

    async def start(self, ctx: ServiceContext) -> None:
        settings, log, shared = ctx.settings, ctx.log, ctx.resources
        if RETIRED_BOOTSTRAP_ADMIN_VARIABLE in os.environ:
            # The address itself is not logged: it is personal data.
            log.warning(
                f"{RETIRED_BOOTSTRAP_ADMIN_VARIABLE} is set but no longer honoured: "
                "registering grants nothing; make an administrator with "
                "`tradewind users grant-admin EMAIL`"
            )
        encryptor = shared.encryptor or Encryptor(master_keys_from_settings(settings))
        db = shared.database
        tokens = token_config_from_settings(settings, log, db.url if db else None)
        tls = tls_from_settings(settings)
        venues = self._find_venues(ctx)
        listening = _listen(settings.http_host, settings.http_port)
        try:
            if db is None:
                self._own_db = db = Database(settings.database_url)
                await db.migrate()
            self._relay = OutboxRelay(db, ctx.bus)
            state = build_state(
                db=db,
                encryptor=encryptor,
                tokens=tokens,
                venues=venues,
                hasher=self._hasher,
                login_policy=_login_policy(settings),
                request_policy=RequestPolicy(
                    per_user_per_minute=settings.rate_per_user,
                    exchange_calls_per_user_per_minute=settings.exchange_calls_per_user,
                    exchange_calls_per_minute=settings.exchange_calls,
                ),
                trusted_proxies=parse_trusted_proxies(settings.trusted_proxies),
                peers=self._peer_views(ctx),
                cache=shared.cache,
            )
            if ctx.resources.statuses is not None:
                state.instance = ctx.resources.statuses.instance
            state.remote_peers = self._remote_peers(ctx)
            state.analytics_benchmark = settings.analytics.analytics_benchmark
            state.outbox_written = self._relay.poke
            state.hub = StreamHub(self._stream_queue_size)
            self._account_changes = _account_changes(state)
            self.state = state
            await self._poll_revocations(state)  # before the first request is served
            self._revocations = asyncio.create_task(
                self._keep_polling_revocations(state), name="gateway-revocations"
            )
            await self._relay.start()
            handler = account_events_handler(state.portfolios, state.hub)
            self._subscription = await ctx.bus.listen(
                TOPICS, LISTENER, timed_handler(ctx.metrics, LISTENER, handler)
            )
            metrics = GatewayMetrics(ctx.metrics.registry, state.hub)
            await self._serve(create_app(state, metrics), listening, tls)
        except BaseException:
            listening.close()
            await self.stop()
            raise
        scheme = "https" if tls else "http"
        log.info("serving", url=f"{scheme}://{settings.http_host}:{settings.http_port}/api/v1")

    async def _poll_revocations(self, state: GatewayState) -> None:
        async with state.db.read() as conn:
            await state.authenticator.revocations.poll(conn)
            if self._account_changes is not None:
                await self._account_changes.poll(conn)

    async def _keep_polling_revocations(self, state: GatewayState) -> None:
        """Pick up token versions raised, sessions ended and exchange accounts connected
        or removed on other instances (within `REVOCATION_POLL_S`), and forget old login
        failures now and then."""
        log = get_logger("tradewind.gateway")
        polls = 0
        while True:
            await asyncio.sleep(REVOCATION_POLL_S)
            try:
                await self._poll_revocations(state)
                polls += 1
                if polls % 3600 == 1:
                    async with state.db.transaction() as conn:
                        await login_failures.prune(conn, datetime.now(UTC))
            except Exception as exc:  # the database may be failing over: keep polling
                log.warning("cannot poll token revocations", error=type(exc).__name__)

    async def _serve(self, app: Any, listening: socket.socket, tls: ServerTls | None) -> None:
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,  # query strings may hold tokens; the API logs what matters
            lifespan="off",
            ws="websockets-sansio",
            timeout_graceful_shutdown=5,
            server_header=False,
            # uvicorn would take X-Forwarded-For from 127.0.0.1 by default; the gateway
            # believes it only from TRADEWIND_TRUSTED_PROXIES (see security/proxies.py).
            proxy_headers=False,
            **(uvicorn_tls_options(tls.cert_file, tls.key_file) if tls else {}),
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve([listening]), name="gateway")
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the gateway's HTTP server stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Close WebSocket sessions, let requests in flight finish, stop consuming,
        relay what the outbox still holds, close the database."""
        if self.state is not None:
            await self.state.hub.close_all("gateway stopping", within_s=_SESSIONS_CLOSE_S)
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await self._task
            self._task = None
        if self._revocations is not None:
            self._revocations.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._revocations
            self._revocations = None
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None
        if self._relay is not None:
            await self._relay.stop()
            self._relay = None
        if self._own_db is not None:
            await self._own_db.close()
            self._own_db = None

    @property
    def ready(self) -> bool:
        return (
            self._server is not None
            and self._server.started
            and self._task is not None
            and not self._task.done()
            and self._subscription is not None
        )

    def admin_endpoints(self) -> AdminEndpoints:
        return {"/gateway": self._stats}

    def _stats(self) -> dict[str, Any]:
        state = self.state
        if state is None:
            return {"started": False}
        return {
            "started": True,
            "websocket_clients": state.hub.connections,
            "websocket_clients_dropped_slow": state.hub.dropped_slow,
            "cached_portfolios": len(state.portfolios),
        }

    def _find_venues(self, ctx: ServiceContext) -> VenueDirectory:
        injected = self._venues or ctx.resources.venues
        if injected is not None:
            return injected
        settings = ctx.settings
        declared = CcxtVenues.declared(
            settings.venue_urls, settings.venues, ca_file=settings.venue_ca_file
        )
        if declared is not None:
            return declared
        raise ConfigError(
            "TRADEWIND_VENUE_URLS",
            "the gateway needs the venues to check API keys on; set it to NAME=http://HOST:PORT "
            "(a `tradewind venue serve`), or TRADEWIND_VENUES to real exchanges "
            "(NAME=ADAPTER), or run the gateway within `tradewind up`",
        )

    def _peer_views(self, ctx: ServiceContext) -> Callable[[], Sequence[PeerView]]:
        peers = self._peers
        if peers is None:
            found: Sequence[Service] = ctx.resources.services
            peers = lambda: found  # noqa: E731

        def views() -> list[PeerView]:
            return [_peer_view(s) for s in peers() if s is not self]

        return views

    def _remote_peers(
        self, ctx: ServiceContext
    ) -> Callable[[], Awaitable[Sequence[ServiceStatus]]]:
        statuses = ctx.resources.statuses
        log = ctx.log

        async def remote() -> Sequence[ServiceStatus]:
            if statuses is None:
                return ()
            try:
                return await statuses.read_others()
            except Exception:  # the cache being down must not break the admin routes
                log.warning("could not read the other processes' services", exc_info=True)
                return ()

        return remote


def _peer_view(service: Service) -> PeerView:
    return PeerView(service.name, lambda: service.ready, lambda: dict(service.admin_endpoints()))


def _login_policy(settings: Settings) -> LoginPolicy:
    return LoginPolicy(
        max_failures=settings.login_max_failures,
        lockout_s=settings.login_lockout_s,
        per_ip_per_minute=settings.login_rate_per_ip,
        per_account_per_minute=settings.login_rate_per_account,
        refreshes_per_ip_per_minute=settings.refresh_rate_per_ip,
    )


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        reason = f"[Errno {exc.errno}] {os.strerror(exc.errno)}" if exc.errno else str(exc)
        raise ConfigError(
            "TRADEWIND_HTTP_PORT", f"cannot listen on {host}:{port}: {reason}"
        ) from None


class _Server(uvicorn.Server):
    """uvicorn leaving SIGTERM and SIGINT to the runner, which drains services first."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _account_changes(state: GatewayState) -> AccountChanges:
    """Accounts connected or removed on other instances, told to this one's hub (open
    streams follow them) and caches (see `account_changes`)."""

    def added(user_id: str, account_id: str) -> None:
        state.ownership.forget(user_id)
        state.hub.account_added(user_id, account_id)

    def removed(actor_id: str | None, account_id: str) -> None:
        if actor_id:
            state.ownership.forget(actor_id)
        state.hub.account_removed(account_id)
        state.portfolios.forget(account_id)

    return AccountChanges(added, removed)
