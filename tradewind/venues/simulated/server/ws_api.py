"""The Binance WebSocket API (`/ws-api/v3`) as far as user data streams need it.

ccxt 4.5.90 watches spot orders and balances here (`userDataStream.subscribe.signature`);
the `session.logon` + `userDataStream.subscribe` flavour, `userDataStream.unsubscribe`,
`session.status` / `session.logout` / `session.subscriptions`, `ping` and `time` are
served too (`session.logon` takes HMAC keys here; Binance wants Ed25519 for it). Trading
methods (`order.place`, ...) are not: use the REST API.

Requests are `{"id", "method", "params": {...}}`; replies `{"id", "status": 200,
"result"}` or `{"id", "status": 4xx, "error": {"code", "msg"}}`. User data events come
as `{"subscriptionId": n, "event": {...}}`. Signatures are HMAC-SHA256 (hex) of the
params other than `signature`, sorted by name, joined `name=value&...`, with the
account's API secret; `timestamp` is checked against `recvWindow` and the server's wall
clock as on REST (`signing`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from tradewind.venues.simulated.exchange import ApiCredentials
from tradewind.venues.simulated.server.signing import (
    DEFAULT_RECV_WINDOW_MS,
    MAX_RECV_WINDOW_MS,
    signature_matches,
    timestamp_problem,
)
from tradewind.venues.simulated.server.stream_connection import Connection, UserSink
from tradewind.venues.simulated.server.stream_hub import StreamHub


class WsApiRequest(msgspec.Struct, frozen=True):
    method: str
    params: dict[str, Any] = {}
    id: int | str | None = None


class _ApiError(Exception):
    """A refused request: HTTP-like status, Binance code and message."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class WsApiSession:
    """One `/ws-api/v3` connection: its logon and its user data subscriptions."""

    def __init__(
        self, hub: StreamHub, connection: Connection, *, clock_ms: Callable[[], int] = _wall_ms
    ) -> None:
        self._hub = hub
        self._connection = connection
        self._clock_ms = clock_ms
        self._connected_ms = clock_ms()
        self._logon: ApiCredentials | None = None
        self._logon_ms: int | None = None
        self._next_subscription_id = 0
        self._subscriptions: dict[int, UserSink] = {}
        self._methods: dict[str, Callable[[dict[str, Any]], object]] = {
            "ping": lambda _: {},
            "time": lambda _: {"serverTime": self._clock_ms()},
            "session.logon": self._session_logon,
            "session.status": lambda _: self._status(),
            "session.logout": self._session_logout,
            "session.subscriptions": lambda _: [
                {"subscriptionId": i} for i in sorted(self._subscriptions)
            ],
            "userDataStream.subscribe": self._subscribe_logged_on,
            "userDataStream.subscribe.signature": self._subscribe_signature,
            "userDataStream.unsubscribe": self._unsubscribe,
        }

    def handle(self, text: str) -> str:
        """The reply to one request frame."""
        request_id: int | str | None = None
        try:
            try:
                request = msgspec.json.decode(text, type=WsApiRequest)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise _ApiError(400, -1135, f"Invalid JSON request: {exc}") from None
            request_id = request.id
            method = self._methods.get(request.method)
            if method is None:
                known = ", ".join(self._methods)
                msg = f"Unknown method {request.method!r}; this server serves: {known}"
                raise _ApiError(400, -1000, msg)
            result = method(request.params)
        except _ApiError as error:
            reply: dict[str, object] = {
                "id": request_id,
                "status": error.status,
                "error": {"code": error.code, "msg": error.msg},
            }
        else:
            reply = {"id": request_id, "status": 200, "result": result}
        return msgspec.json.encode(reply).decode()

    # -- methods ----------------------------------------------------------------------

    def _session_logon(self, params: dict[str, Any]) -> object:
        self._logon = self._verify(params)
        self._logon_ms = self._clock_ms()
        return self._status()

    def _session_logout(self, params: dict[str, Any]) -> object:
        self._logon = self._logon_ms = None
        return self._status()

    def _status(self) -> dict[str, object]:
        return {
            "apiKey": self._logon.api_key if self._logon else None,
            "authorizedSince": self._logon_ms,
            "connectedSince": self._connected_ms,
            "returnRateLimits": False,
            "serverTime": self._clock_ms(),
            "userDataStream": bool(self._subscriptions),
        }

    def _subscribe_logged_on(self, params: dict[str, Any]) -> object:
        if self._logon is None:
            raise _ApiError(
                401, -2015, "userDataStream.subscribe needs session.logon first "
                "(or call userDataStream.subscribe.signature with a signed request)",
            )  # fmt: skip
        return self._subscribe(self._logon.account_id)

    def _subscribe_signature(self, params: dict[str, Any]) -> object:
        return self._subscribe(self._verify(params).account_id)

    def _subscribe(self, account_id: str) -> dict[str, int]:
        subscription_id = self._next_subscription_id
        self._next_subscription_id += 1
        self._subscriptions[subscription_id] = self._hub.attach_user(
            self._connection, account_id, subscription_id=subscription_id
        )
        return {"subscriptionId": subscription_id}

    def _unsubscribe(self, params: dict[str, Any]) -> object:
        wanted = params.get("subscriptionId")
        if wanted is None:
            ids = list(self._subscriptions)
        elif wanted in self._subscriptions:
            ids = [wanted]
        else:
            raise _ApiError(400, -1000, f"subscriptionId {wanted!r} is not subscribed here")
        for subscription_id in ids:
            self._hub.detach_user(self._subscriptions.pop(subscription_id))
        return {}

    # -- authentication ---------------------------------------------------------------

    def _verify(self, params: dict[str, Any]) -> ApiCredentials:
        """The credentials a signed request was made with; raises _ApiError if the key,
        the timestamp or the signature is not right."""
        for name in ("apiKey", "timestamp", "signature"):
            if params.get(name) in (None, ""):
                raise _ApiError(
                    400, -1102,
                    f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
                )  # fmt: skip
        credentials = self._hub.exchange.credentials(str(params["apiKey"]))
        if credentials is None:
            raise _ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        timestamp, recv_window = params["timestamp"], _recv_window(params)
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise _ApiError(400, -1100, "Illegal characters found in parameter 'timestamp'.")
        problem = timestamp_problem(timestamp, recv_window, self._clock_ms())
        if problem is not None:
            raise _ApiError(400, -1021, problem)
        payload = "&".join(
            f"{name}={_param_text(value)}"
            for name, value in sorted(params.items())
            if name != "signature"
        )
        if not signature_matches(credentials.secret, payload, str(params["signature"])):
            raise _ApiError(401, -1022, "Signature for this request is not valid.")
        return credentials


def _recv_window(params: dict[str, Any]) -> Decimal:
    value = params.get("recvWindow", DEFAULT_RECV_WINDOW_MS)
    try:
        window = Decimal(str(value))
    except InvalidOperation:
        window = Decimal(-1)
    if isinstance(value, bool) or not 0 < window <= MAX_RECV_WINDOW_MS:
        raise _ApiError(
            400, -1131, f"recvWindow must be more than 0 and at most {MAX_RECV_WINDOW_MS}."
        )
    return window


def _param_text(value: object) -> str:
    """A JSON param as it is written in the signed payload."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
