"""The simulated exchange's Coinbase Advanced Trade WebSocket endpoints.

- `MARKET_DATA_PATH` (`/advanced-trade-ws`, Coinbase's wss://advanced-trade-ws.coinbase.com):
  every channel: `level2` (messages on `l2_data`), `market_trades`, `ticker`,
  `ticker_batch`, `candles`, `heartbeats` and `user`. ccxt.pro's `coinbase` (4.5.90)
  connects here for everything, `watch_orders` included: point `urls['api']['ws']` at
  `ws://127.0.0.1:PORT/advanced-trade-ws`.
- `USER_DATA_PATH` (`/advanced-trade-ws-user`, wss://advanced-trade-ws-user.coinbase.com):
  `heartbeats` and `user` only, as Coinbase's user order data endpoint.

A client sends `{"type": "subscribe" | "unsubscribe", "channel", "product_ids", "jwt"}`
(one channel a message); the server answers a subscribe with the channel's snapshot
and the connection's `subscriptions`, and a bad request with
`{"type": "error", "message"}`. `user` needs a JWT of a CDP key (`CoinbaseKeys`); a JWT
that does not verify is refused on any channel with "authentication failure", as
Coinbase does.

Limits, as Coinbase documents them (Advanced Trade WebSocket rate limits): 8 connections
a second per IP address (more are refused at the handshake with HTTP 429) and 8
unauthenticated messages a second per IP address (a message with a JWT is not counted;
one over the limit is answered with an error and ignored), each refusal counted with the
REST ones (`CoinbaseLimiters.ws_refusals`, in `/sim/v1/submissions`' "rate_limited"). A
venue whose Coinbase rate limits are lifted (`ServerState.coinbase_rate_limits` None)
lifts these too.

Wire it with one line: `app.router.routes.extend(coinbase_stream_routes(state))`.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import msgspec
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import (
    WebSocket,
)

from tradewind.venues.simulated.server.coinbase.keys import CoinbaseAuthError
from tradewind.venues.simulated.server.coinbase.streams_hub import (
    CHANNELS,
    MARKET_CHANNELS,
    CoinbaseClient,
    CoinbaseStreamHub,
)
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.ws_session import receive_text, serve_session

MARKET_DATA_PATH = "/advanced-trade-ws"
USER_DATA_PATH = "/advanced-trade-ws-user"
USER_DATA_CHANNELS = ("heartbeats", "user")
AUTHENTICATION_FAILURE = "authentication failure"


@dataclass(frozen=True)
class WsRateLimit:
    """At most `count` events per `per_s` seconds per IP address."""

    count: int
    per_s: float

    def __str__(self) -> str:
        return f"at most {self.count} per {self.per_s:g} s per IP address"


#: Coinbase: "WebSocket connections are rate-limited at 8 per second per IP address".
CONNECTIONS_PER_IP = WsRateLimit(8, 1.0)
#: Coinbase: "unauthenticated messages are rate-limited at 8 per second per IP address".
UNAUTHENTICATED_MESSAGES_PER_IP = WsRateLimit(8, 1.0)


def coinbase_stream_routes(
    state: ServerState,
    hub: CoinbaseStreamHub | None = None,
    *,
    connections: WsRateLimit = CONNECTIONS_PER_IP,
    messages: WsRateLimit = UNAUTHENTICATED_MESSAGES_PER_IP,
) -> list[BaseRoute]:
    """The Coinbase WebSocket routes of the simulated exchange. Without `hub`, one is
    created and registered on `state.exchange`; call this once per state. A state whose
    Coinbase rate limits are lifted (`coinbase_rate_limits` None) lifts `connections`
    and `messages` too."""
    if hub is None:
        hub = CoinbaseStreamHub(state.exchange, state.faults)
        state.exchange.add_listener(hub)
    lifted = state.coinbase_rate_limits is None
    endpoints = _Endpoints(
        state,
        hub,
        _PerIp(None if lifted else connections),
        _PerIp(None if lifted else messages),
    )
    return [
        WebSocketRoute(MARKET_DATA_PATH, endpoints.market_data),
        WebSocketRoute(USER_DATA_PATH, endpoints.user_data),
    ]


class SubscriptionRequest(msgspec.Struct, frozen=True):
    """One subscribe or unsubscribe message (legacy `api_key`/`signature` fields are
    read past: only CDP keys' JWTs authenticate)."""

    type: str
    channel: str = ""
    product_ids: list[str] = []
    jwt: str | None = None


class RequestRefused(Exception):
    """A message the server answers with an error; `reason` says what was wrong."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message if reason is None else f"{message}: {reason}")
        self.message, self.reason = message, reason


def read_request(text: str, products: set[str], channels: tuple[str, ...]) -> SubscriptionRequest:
    """The request in `text`, checked against the products and channels served;
    RequestRefused if it is not one (the JWT is checked by the caller)."""
    try:
        request = msgspec.json.decode(text, type=SubscriptionRequest)
    except msgspec.DecodeError:
        raise RequestRefused("failure to parse message", "not a JSON object") from None
    except msgspec.ValidationError as exc:
        raise RequestRefused("failure to parse message", str(exc)) from None
    if request.type not in ("subscribe", "unsubscribe"):
        raise RequestRefused(
            "failure to parse message",
            f"type must be subscribe or unsubscribe, got {request.type!r}",
        )
    if request.channel not in channels:
        raise RequestRefused(
            f"unknown channel {request.channel!r}", f"expected one of {', '.join(channels)}"
        )
    unknown = [p for p in request.product_ids if p not in products]
    if unknown:
        raise RequestRefused(
            f"unknown product ids {', '.join(unknown)}",
            f"expected some of {', '.join(sorted(products))}",
        )
    needs_products = request.type == "subscribe" and request.channel in MARKET_CHANNELS
    if needs_products and not request.product_ids:
        raise RequestRefused(f"the {request.channel} channel needs product_ids", 'e.g. ["BTC-USD"]')
    return request


class _PerIp:
    """A sliding window of events per IP address; `limit` None admits everything."""

    def __init__(self, limit: WsRateLimit | None) -> None:
        self.limit = limit
        self._seen: dict[str, deque[float]] = {}

    def allow(self, ip: str) -> bool:
        """Count one event of `ip` now; False (not counted) if it is over the limit."""
        limit = self.limit
        if limit is None:
            return True
        now = time.monotonic()
        seen = self._seen.setdefault(ip, deque())
        while seen and seen[0] <= now - limit.per_s:
            seen.popleft()
        if len(seen) >= limit.count:
            return False
        seen.append(now)
        return True


class _Endpoints:
    def __init__(
        self, state: ServerState, hub: CoinbaseStreamHub, connections: _PerIp, messages: _PerIp
    ) -> None:
        self._state = state
        self._hub = hub
        self._connections = connections
        self._messages = messages
        self._products = set(hub.products)

    async def market_data(self, websocket: WebSocket) -> None:
        await self._serve(websocket, CHANNELS)

    async def user_data(self, websocket: WebSocket) -> None:
        await self._serve(websocket, USER_DATA_CHANNELS)

    async def _serve(self, websocket: WebSocket, channels: tuple[str, ...]) -> None:
        """Accept the connection (unless its address is over the connection limit) and
        serve it until the client leaves or the server closes it. One writer task sends
        what the hub and the replies queue, so that they keep their order."""
        ip = websocket.client.host if websocket.client else ""
        if not self._connections.allow(ip):
            self._state.coinbase_limiters.ws_refusals += 1
            await _refuse(websocket, f"too many connections: {self._connections.limit}")
            return
        client = self._hub.connect()
        await serve_session(
            websocket,
            client.outbox,
            lambda: self._read(websocket, client, ip, channels),
            lambda: self._hub.disconnect(client),
        )

    async def _read(
        self, websocket: WebSocket, client: CoinbaseClient, ip: str, channels: tuple[str, ...]
    ) -> None:
        while (text := await receive_text(websocket)) is not None:
            self.handle(client, text, ip, channels)
            if client.outbox.closed.is_set():
                return

    def handle(self, client: CoinbaseClient, text: str, ip: str, channels: tuple[str, ...]) -> None:
        """Act on one client message: subscribe, unsubscribe, or answer an error."""
        hub = self._hub
        try:
            request = read_request(text, self._products, channels)
            if request.jwt is None and not self._messages.allow(ip):
                self._state.coinbase_limiters.ws_refusals += 1
                raise RequestRefused(
                    "rate limit exceeded", f"unauthenticated messages: {self._messages.limit}"
                )
            account_id = self._authenticate(request)
        except RequestRefused as refused:
            hub.send_error(client, refused.message, refused.reason)
            return
        if request.type == "subscribe":
            hub.subscribe(client, request.channel, request.product_ids, account_id)
        else:
            hub.unsubscribe(client, request.channel, request.product_ids)

    def _authenticate(self, request: SubscriptionRequest) -> str | None:
        """The account a subscription's JWT names (None without one); a JWT that does
        not verify is refused on any channel, and `user` needs one."""
        if request.jwt is None:
            if request.type == "subscribe" and request.channel == "user":
                raise RequestRefused(AUTHENTICATION_FAILURE, "the user channel needs a jwt")
            return None
        try:
            return self._state.coinbase_keys.authenticate_ws(request.jwt, time.time())
        except CoinbaseAuthError as exc:
            raise RequestRefused(AUTHENTICATION_FAILURE, str(exc)) from None


async def _refuse(websocket: WebSocket, reason: str) -> None:
    """Turn the handshake down: HTTP 429 where the server can send it, else a close."""
    if "websocket.http.response" in (websocket.scope.get("extensions") or {}):
        body = {"type": "error", "message": reason}
        await websocket.send_denial_response(JSONResponse(body, status_code=429))
    else:
        await websocket.close(1008, reason[:120])
