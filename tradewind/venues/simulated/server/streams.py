"""The simulated exchange's Binance-compatible WebSocket endpoints.

- `/ws`, `/ws/<stream>[/<stream>...]`: raw market streams (`btcusdt@trade`,
  `btcusdt@depth@100ms`, `btcusdt@ticker`, `!miniTicker@arr`, ...: `stream_names`) or a
  user data stream (`/ws/<listenKey>`). A path that is only digits (ccxt connects to
  `/ws/0`, `/ws/1`, ...) opens an empty connection. A name the server does not serve is
  refused at the handshake: HTTP 400 with Binance's `{"code", "msg"}`.
- `/stream?streams=a/b/c`: combined streams, each event sent as `{"stream", "data"}`.
- On both, the live methods SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY and
  GET_PROPERTY (`combined`), answered `{"result": ..., "id": ...}`.
- `/ws-api/v3`: the WebSocket API (`ws_api`): trading, account and market data
  methods, and the user data stream that ccxt's `watch_orders` / `watch_balance` use
  for spot.

Ping/pong are WebSocket control frames handled by the server (uvicorn): run it with
`UVICORN_WS_OPTIONS` to ping every 20 s and drop a client silent for a minute, as Binance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import msgspec
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import (
    WebSocket,
)

from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.stream_connection import (
    CLOSE_TOO_SLOW,
    Connection,
    UserSink,
)
from tradewind.venues.simulated.server.stream_hub import BinanceStreamHub
from tradewind.venues.simulated.server.stream_names import (
    MAX_STREAMS_PER_CONNECTION,
    InvalidStream,
    MarketStream,
    parse_stream,
)
from tradewind.venues.simulated.server.ws_api import WsApi
from tradewind.venues.simulated.server.ws_session import receive_text, serve_session

#: uvicorn.Config options that make the server ping like Binance (every 20 s; a client
#: that does not answer within a minute is disconnected).
UVICORN_WS_OPTIONS: dict[str, Any] = {"ws_ping_interval": 20.0, "ws_ping_timeout": 60.0}

_INVALID_REQUEST, _INVALID_JSON, _UNKNOWN_PROPERTY, _INVALID_VALUE = 2, 3, 0, 1
_INVALID_LISTEN_KEY = -1125


def stream_routes(state: ServerState, hub: BinanceStreamHub | None = None) -> list[BaseRoute]:
    """The WebSocket routes of the simulated exchange. Without `hub`, one is created
    and registered on `state.exchange`; call this once per state."""
    if hub is None:
        hub = BinanceStreamHub(state.exchange, state.faults, state.listen_keys)
        state.exchange.add_listener(hub)
    endpoints = _Endpoints(hub, WsApi(state, hub))
    return [
        WebSocketRoute("/ws", endpoints.raw),
        WebSocketRoute("/ws/{streams:path}", endpoints.raw),
        WebSocketRoute("/stream", endpoints.combined),
        WebSocketRoute("/ws-api/v3", endpoints.ws_api),
    ]


class _Request(msgspec.Struct, frozen=True):
    method: str
    params: list[Any] = []
    id: int | str | None = None


class _Refused(Exception):
    """A connection or request the server turns down: Binance's code and message."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


class _Endpoints:
    def __init__(self, hub: BinanceStreamHub, ws_api: WsApi) -> None:
        self._hub = hub
        self._ws_api = ws_api

    async def raw(self, websocket: WebSocket) -> None:
        path = websocket.path_params.get("streams", "")
        await self._market(websocket, path.split("/") if path else [], combined=False)

    async def combined(self, websocket: WebSocket) -> None:
        names = _streams_parameter(websocket.scope.get("query_string", b""))
        await self._market(websocket, names.split("/") if names else [], combined=True)

    async def ws_api(self, websocket: WebSocket) -> None:
        connection = self._hub.connect(combined=False)
        session = self._ws_api.open_session(connection, websocket)
        await _serve(websocket, self._hub, connection, session.handle)

    async def _market(self, websocket: WebSocket, names: list[str], *, combined: bool) -> None:
        try:
            streams, users = _resolve(self._hub, [n for n in names if n and not n.isdigit()])
        except _Refused as refused:
            body = {"code": refused.code, "msg": refused.msg}
            if "websocket.http.response" in (websocket.scope.get("extensions") or {}):
                await websocket.send_denial_response(JSONResponse(body, status_code=400))
            else:
                await websocket.close(1008, refused.msg[:120])
            return
        connection = self._hub.connect(combined=combined)
        for stream in streams:
            self._hub.subscribe(connection, stream)
        for key, account_id in users:
            self._hub.attach_user(connection, account_id, listen_key=key)
        methods = _StreamMethods(self._hub, connection)
        await _serve(websocket, self._hub, connection, methods.handle)


def _streams_parameter(query: bytes) -> str:
    """The `streams` of a combined stream's query string. Percent-escapes are decoded but
    a "+" stays a plus, as in `btcusdt@kline_1d@+08:00` (a form decoder would make it a
    space)."""
    for pair in query.decode("latin-1").split("&"):
        key, _, value = pair.partition("=")
        if unquote(key) == "streams":
            return unquote(value)
    return ""


def _resolve(
    hub: BinanceStreamHub, names: list[str]
) -> tuple[list[MarketStream], list[tuple[str, str]]]:
    """Market streams and (listen key, account id) pairs; refuses unknown ones. A name
    with "@" is a market stream, any other a listen key."""
    if len(names) > MAX_STREAMS_PER_CONNECTION:
        raise _Refused(_INVALID_REQUEST, f"at most {MAX_STREAMS_PER_CONNECTION} streams")
    streams, users = [], []
    for name in names:
        if "@" in name:
            try:
                streams.append(parse_stream(name, hub.symbols))
            except InvalidStream as exc:
                raise _Refused(_INVALID_REQUEST, f"Invalid request: {exc}") from None
        else:
            account_id = hub.listen_keys.account_of(name)
            if account_id is None:
                raise _Refused(_INVALID_LISTEN_KEY, "This listenKey does not exist.")
            users.append((name, account_id))
    return streams, users


class _StreamMethods:
    """The JSON methods of a market stream connection."""

    def __init__(self, hub: BinanceStreamHub, connection: Connection) -> None:
        self._hub = hub
        self._connection = connection

    def handle(self, text: str) -> str:
        try:
            request = msgspec.json.decode(text, type=_Request)
        except msgspec.DecodeError as exc:
            return _error(_INVALID_JSON, f"Invalid JSON: {exc}", None)
        except msgspec.ValidationError as exc:
            return _error(_INVALID_REQUEST, f"Invalid request: {exc}", None)
        try:
            result = self._call(request)
        except _Refused as refused:
            return _error(refused.code, refused.msg, request.id)
        return msgspec.json.encode({"result": result, "id": request.id}).decode()

    def _call(self, request: _Request) -> object:
        hub, connection, params = self._hub, self._connection, request.params
        if request.method == "SUBSCRIBE":
            names = _names(params)
            if len(connection.streams) + len(names) > MAX_STREAMS_PER_CONNECTION:
                raise _Refused(_INVALID_REQUEST, f"at most {MAX_STREAMS_PER_CONNECTION} streams")
            streams, users = _resolve(hub, names)
            for stream in streams:
                hub.subscribe(connection, stream)
            for key, account_id in users:
                if not any(s.listen_key == key for s in connection.user_sinks):
                    hub.attach_user(connection, account_id, listen_key=key)
            return None
        if request.method == "UNSUBSCRIBE":
            for name in _names(params):
                if not hub.unsubscribe(connection, _canonical(hub, name)):
                    _detach_listen_key(hub, connection.user_sinks, name)
            return None
        if request.method == "LIST_SUBSCRIPTIONS":
            keys = [s.listen_key for s in connection.user_sinks if s.listen_key is not None]
            return [*connection.streams, *keys]
        if request.method in ("SET_PROPERTY", "GET_PROPERTY"):
            return self._property(request.method, params)
        raise _Refused(
            _INVALID_REQUEST,
            f"Invalid request: unknown method {request.method!r}, expected one of SUBSCRIBE, "
            "UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY",
        )

    def _property(self, method: str, params: list[Any]) -> object:
        if not params or params[0] != "combined":
            raise _Refused(_UNKNOWN_PROPERTY, "Unknown property")
        if method == "GET_PROPERTY":
            return self._connection.combined
        if len(params) != 2 or not isinstance(params[1], bool):
            raise _Refused(_INVALID_VALUE, "Invalid value type: expected Boolean")
        self._connection.combined = params[1]
        return None


def _names(params: list[Any]) -> list[str]:
    if not all(isinstance(p, str) for p in params):
        raise _Refused(_INVALID_REQUEST, "Invalid request: params must be stream names")
    return list(params)


def _canonical(hub: BinanceStreamHub, name: str) -> str:
    try:
        return parse_stream(name, hub.symbols).name
    except InvalidStream:
        return name


def _detach_listen_key(hub: BinanceStreamHub, sinks: list[UserSink], key: str) -> None:
    for sink in [s for s in sinks if s.listen_key == key]:
        hub.detach_user(sink)


def _error(code: int, msg: str, request_id: int | str | None) -> str:
    return msgspec.json.encode({"error": {"code": code, "msg": msg}, "id": request_id}).decode()


async def _serve(
    websocket: WebSocket,
    hub: BinanceStreamHub,
    connection: Connection,
    handle: Callable[[str], str],
) -> None:
    """Accept the connection and serve it until the client leaves or the server closes it
    (subscriptions made before are live when the client sees the handshake); the reader
    answers requests with `handle`."""
    await serve_session(
        websocket,
        connection,
        lambda: _read(websocket, hub, connection, handle),
        lambda: hub.disconnect(connection),
    )


async def _read(
    websocket: WebSocket,
    hub: BinanceStreamHub,
    connection: Connection,
    handle: Callable[[str], str],
) -> None:
    while (text := await receive_text(websocket)) is not None:
        if not connection.send(handle(text)):
            hub.drop(connection, CLOSE_TOO_SLOW, "client too slow")
            return
