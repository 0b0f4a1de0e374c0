"""The Binance WebSocket API (`/ws-api/v3`, Binance's web-socket-api.md): trading,
account and market data methods, session authentication and user data streams.

Requests are `{"id", "method", "params"}` (`ws_api_request`); replies are
`{"id", "status": 200, "result", "rateLimits"}` or `{"id", "status", "error": {"code",
"msg"[, "data"]}, "rateLimits"}`, where `status` is the HTTP status REST answers the
same refusal with. The methods that mirror a REST endpoint (`ws_api_methods`) run
REST's own code, so their validation, errors and results are REST's; this module adds
what is the WebSocket API's own:

- Rate limits: a request weighs what its REST endpoint weighs (session methods 2,
  connecting 2) against the per-IP REQUEST_WEIGHT limiter REST uses; past the limit
  it is refused 429, or 418 once banned, with `data: {"serverTime", "retryAfter"}`.
  Order placement counts against the account's ORDERS limits, shared with REST too.
  `rateLimits` (ORDERS first for order placement, then REQUEST_WEIGHT) comes with
  every reply to a request that was weighed, unless `returnRateLimits` is false in the
  request or in the connection URL (`/ws-api/v3?returnRateLimits=false`). The REST
  fault switches (5xx, timeouts, 429s) do not reach the WebSocket API; the
  `fail_after_accept` fault does (order placement answers 500, -1007).
- Authentication: a SIGNED method takes `apiKey`, `timestamp`, `signature` and
  optional `recvWindow`, checked as REST checks them (`rest_auth`). The signature
  signs every param but `signature`, sorted by name, joined `name=value&...`: hex
  HMAC-SHA256 keyed with the API secret for an HMAC key, base64 Ed25519 for an
  Ed25519 key. After `session.logon` (itself signed) `apiKey` and `signature` may be
  left out, `timestamp` may not. `session.logon` takes only Ed25519 keys, as Binance's
  ("Session Authentication" in web-socket-api.md): an HMAC key's logon is -1022.
- User data: `userDataStream.subscribe` (after logon) or
  `userDataStream.subscribe.signature` send the account's events on this connection
  as `{"subscriptionId": n, "event": {...}}`; `userDataStream.unsubscribe`,
  `session.subscriptions`.

A method this server does not serve is refused 400, -1020 "This operation is not
supported.".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from starlette.websockets import WebSocket

from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.exchange import ApiCredentials
from tradewind.venues.simulated.matching import MatchingError
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.binance_errors import BinanceError
from tradewind.venues.simulated.server.formatting import SymbolMap
from tradewind.venues.simulated.server.rest_auth import Security, key_credentials, verify_signed
from tradewind.venues.simulated.server.rest_gate import refusal_error
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.stream_connection import Connection, UserSink
from tradewind.venues.simulated.server.stream_hub import BinanceStreamHub
from tradewind.venues.simulated.server.weights import RateLimit
from tradewind.venues.simulated.server.ws_api_methods import rest_mirror_methods
from tradewind.venues.simulated.server.ws_api_request import (
    InvalidWsApiRequest,
    WsApiRequest,
    decode_request,
)

CONNECTION_WEIGHT = 2  # Binance: "Connecting to WebSocket API costs 2 weight."
SESSION_METHOD_WEIGHT = 2  # session.*, userDataStream.subscribe*, unsubscribe

SessionCall = Callable[[WsApiRequest, Params, int], object]


def _wall_ms() -> int:
    return time.time_ns() // NS_PER_MS


class WsApi:
    """The WebSocket API of one server state: the methods mirroring REST, built once,
    and a session per connection (`open_session`)."""

    def __init__(self, state: ServerState, hub: BinanceStreamHub) -> None:
        self.state = state
        self.hub = hub
        self.methods = rest_mirror_methods(state, SymbolMap(state.exchange.specs))

    def open_session(self, connection: Connection, websocket: WebSocket) -> WsApiSession:
        """A session for a client that just connected (and is charged for connecting)."""
        client = websocket.client
        return_limits = websocket.query_params.get("returnRateLimits", "true") != "false"
        return WsApiSession(self, connection, client.host if client else "unknown", return_limits)


class WsApiSession:
    """One `/ws-api/v3` connection: its logon, its user data subscriptions, and the
    replies to its requests."""

    def __init__(
        self,
        api: WsApi,
        connection: Connection,
        client_ip: str,
        return_rate_limits: bool = True,
        *,
        clock_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        self._api = api
        self._state = api.state
        self._hub = api.hub
        self._connection = connection
        self._ip = client_ip
        self._return_rate_limits = return_rate_limits
        self._clock_ms = clock_ms
        self._connected_ms = clock_ms()
        self._logon: ApiCredentials | None = None
        self._logon_ms: int | None = None
        self._next_subscription_id = 0
        self._subscriptions: dict[int, UserSink] = {}
        self._session_methods: dict[str, SessionCall] = {
            "session.logon": self._session_logon,
            "session.status": lambda request, params, now_ms: self._status(),
            "session.logout": self._session_logout,
            "session.subscriptions": lambda request, params, now_ms: [
                {"subscriptionId": i} for i in sorted(self._subscriptions)
            ],
            "userDataStream.subscribe": self._subscribe_logged_on,
            "userDataStream.subscribe.signature": self._subscribe_signature,
            "userDataStream.unsubscribe": self._unsubscribe,
        }
        # Refused or not, connecting counts; the client learns of a refusal at its
        # first request.
        self._state.ip_limiter.admit(self._ip, CONNECTION_WEIGHT, self._connected_ms)

    def handle(self, text: str) -> str:
        """The reply to one request frame."""
        now_ms = self._clock_ms()
        try:
            request = decode_request(text)
        except InvalidWsApiRequest as invalid:
            return _encode({"id": invalid.request_id, **_error(invalid)})
        return _encode(self._answer(request, now_ms))

    def _answer(self, request: WsApiRequest, now_ms: int) -> dict[str, object]:
        reply: dict[str, object] = {"id": request.id}
        show_limits = self._return_rate_limits
        weighed = False  # the request's weight was counted (or refused for the limit)
        account_id: str | None = None  # whose ORDERS limits the reply shows
        try:
            mirror = self._api.methods.get(request.method)
            session_call = self._session_methods.get(request.method)
            if mirror is None and session_call is None:
                raise errors.unsupported_operation(errors.BAD_REQUEST)
            params = Params.of(request.values)
            show_limits = self._shows_rate_limits(params)
            weighed = True
            if mirror is None:
                assert session_call is not None
                self._admit(SESSION_METHOD_WEIGHT, now_ms)
                result = session_call(request, params, now_ms)
            else:
                self._admit(mirror.weight(request.values), now_ms)
                creds = self._caller(mirror.security, request, params, now_ms)
                if creds is not None and mirror.places_orders:
                    account_id = creds.account_id
                result = mirror.call(params, creds)
            reply.update(status=200, result=result)
        except MatchingError as exc:
            reply.update(_error(BinanceError.from_matching(exc)))
        except BinanceError as error:
            reply.update(_error(error))
        self._state.requests[("WS", request.method)] += 1  # answered (a subscription made)
        if weighed and show_limits:
            reply["rateLimits"] = self._rate_limits(account_id, now_ms)
        return reply

    # -- rate limits ------------------------------------------------------------------

    def _shows_rate_limits(self, params: Params) -> bool:
        if "returnRateLimits" not in params:
            return self._return_rate_limits
        return params.flag("returnRateLimits")

    def _admit(self, weight: int, now_ms: int) -> None:
        """Count `weight` against this client IP's limits; 429 or 418 past them."""
        refusal = self._state.ip_limiter.admit(self._ip, weight, now_ms)
        if refusal is None:
            return
        error = refusal_error(refusal)
        retry_at_ms = refusal.banned_until_ms or now_ms + refusal.retry_after_s * 1000
        error.data = {"serverTime": now_ms, "retryAfter": retry_at_ms}
        raise error

    def _rate_limits(self, account_id: str | None, now_ms: int) -> list[dict[str, object]]:
        """ORDERS of the account (for order placement), then this IP's REQUEST_WEIGHT."""
        usage: list[tuple[RateLimit, int]] = []
        if account_id is not None:
            usage += self._state.order_limiter.usage(account_id, now_ms)
        usage += self._state.ip_limiter.weight_usage(self._ip, now_ms)
        return [{**limit.as_binance(), "count": count} for limit, count in usage]

    # -- authentication ---------------------------------------------------------------

    def _caller(
        self, security: Security | None, request: WsApiRequest, params: Params, now_ms: int
    ) -> ApiCredentials | None:
        """Who calls a method of `security` (None for a public one): the request's own
        `apiKey` and signature, else the session's logon (no signature then)."""
        if security is None:
            return None
        api_key = request.values.get("apiKey")
        if api_key is not None:
            creds = key_credentials(self._state.exchange, api_key)
            payload: str | None = request.signature_payload()
        else:
            creds = self._logged_on()
            payload = None
        if security is not Security.USER_STREAM:
            verify_signed(creds, params, security, payload, now_ms)
        return creds

    def _logged_on(self) -> ApiCredentials:
        """The session's credentials; -1102 without a logon, -2015 (and the logon
        forgotten) if its key no longer exists."""
        if self._logon is None:
            raise errors.mandatory_missing("apiKey")
        current = self._state.exchange.credentials(self._logon.api_key)
        if current is None:
            self._logon = self._logon_ms = None
            raise errors.key_rejected()
        return current

    # -- session and user data stream methods -----------------------------------------

    def _session_logon(self, request: WsApiRequest, params: Params, now_ms: int) -> object:
        if "apiKey" not in request.values:
            raise errors.mandatory_missing("apiKey")
        creds = self._caller(Security.USER_DATA, request, params, now_ms)
        if creds is not None and creds.public_key is None:
            # Binance: "Only Ed25519 keys are supported for this feature"; an HMAC
            # signature there is refused as not valid.
            raise errors.invalid_signature()
        self._logon, self._logon_ms = creds, now_ms
        return self._status()

    def _session_logout(self, request: WsApiRequest, params: Params, now_ms: int) -> object:
        self._logon = self._logon_ms = None
        return self._status()

    def _status(self) -> dict[str, object]:
        return {
            "apiKey": self._logon.api_key if self._logon else None,
            "authorizedSince": self._logon_ms,
            "connectedSince": self._connected_ms,
            "returnRateLimits": self._return_rate_limits,
            "serverTime": self._clock_ms(),
            "userDataStream": bool(self._subscriptions),
        }

    def _subscribe_logged_on(self, request: WsApiRequest, params: Params, now_ms: int) -> object:
        if self._logon is None:
            raise errors.key_rejected()  # Binance: the session must be logged on first
        return self._subscribe(self._logged_on().account_id)

    def _subscribe_signature(self, request: WsApiRequest, params: Params, now_ms: int) -> object:
        if "apiKey" not in request.values:
            raise errors.mandatory_missing("apiKey")
        creds = self._caller(Security.USER_DATA, request, params, now_ms)
        assert creds is not None
        return self._subscribe(creds.account_id)

    def _subscribe(self, account_id: str) -> dict[str, int]:
        subscription_id = self._next_subscription_id
        self._next_subscription_id += 1
        self._subscriptions[subscription_id] = self._hub.attach_user(
            self._connection, account_id, subscription_id=subscription_id
        )
        return {"subscriptionId": subscription_id}

    def _unsubscribe(self, request: WsApiRequest, params: Params, now_ms: int) -> object:
        wanted = params.integer("subscriptionId")
        if wanted is None:
            ids = list(self._subscriptions)
        elif wanted in self._subscriptions:
            ids = [wanted]
        else:
            raise errors.invalid_parameter("subscriptionId")
        for subscription_id in ids:
            self._hub.detach_user(self._subscriptions.pop(subscription_id))
        return {}


def _error(error: BinanceError) -> dict[str, Any]:
    return {"status": error.status, "error": error.body()}


def _encode(reply: Mapping[str, object]) -> str:
    return msgspec.json.encode(reply).decode()
