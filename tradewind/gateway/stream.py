"""`/api/v1/stream`: live portfolio, order and fill events of the caller's own accounts.

Authenticate with `?token=ACCESS_TOKEN`, or (better: URLs end up in proxy logs) send
`{"type": "auth", "token": "..."}` as the first message within 5 seconds. The server
answers `{"type": "subscribed", "accounts": [...]}` and then pushes events (shapes in
`hub.py`). It closes the connection with code 4401 for a missing or bad token and when
the token is revoked while the stream is open (roles changed, user disabled, session
logged out: see `revocation.py`), 4403
without the `portfolio:read` permission, 4429 past the user's request budget (every
connection takes one request from it, like a REST call; the reason says when to retry),
4408 when the token expires (reconnect with a fresh one), 1013 if the client reads too
slowly, and 1001 when the gateway stops.
Accounts the user connects later through this gateway are added to open sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from tradewind.gateway.auth import Principal
from tradewind.gateway.deps import GatewayState, too_many
from tradewind.gateway.errors import ApiError
from tradewind.gateway.hub import CLOSE, REVOKED_REASON, StreamClient
from tradewind.gateway.rbac import Permission

router = APIRouter()

STREAM_PATH = "/stream"
STREAM_PERMISSION = Permission.PORTFOLIO_READ
AUTH_TIMEOUT_S = 5.0

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOKEN_EXPIRED = 4408
CLOSE_TOO_MANY = 4429
CLOSE_TOO_SLOW = 1013
CLOSE_GOING_AWAY = 1001


class _AuthMessage(msgspec.Struct):
    type: str
    token: str


@router.websocket(STREAM_PATH)
async def stream(websocket: WebSocket) -> None:
    state: GatewayState = websocket.app.state.gateway
    await websocket.accept()
    principal = await _authenticate(websocket, state)
    if principal is None:
        return
    if not principal.can(STREAM_PERMISSION):
        await websocket.close(CLOSE_FORBIDDEN, f"your roles do not grant {STREAM_PERMISSION}")
        return
    try:
        too_many(state.user_limiter, principal.user_id, "requests")
    except ApiError as exc:
        await _close(websocket, CLOSE_TOO_MANY, exc.detail[:120])
        return
    state.ownership.forget(principal.user_id)
    accounts = await state.ownership.accounts_of(principal.user_id)
    client = state.hub.connect(
        principal.user_id,
        accounts,
        session_id=principal.session_id,
        token_version=principal.token_version,
    )
    # A revocation that landed while the accounts were read reached the hub before this
    # client was in it; from here on the hub ends the session itself.
    refusal = state.authenticator.revocations.refusal(
        principal.user_id, principal.token_version, principal.session_id
    )
    if refusal is not None:
        state.hub.disconnect(client)
        await _close(websocket, CLOSE_UNAUTHENTICATED, refusal[:120])
        return
    try:
        await websocket.send_text(
            msgspec.json.encode({"type": "subscribed", "accounts": list(accounts)}).decode()
        )
        await _serve(websocket, client, principal, state)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away (RuntimeError: sending after its close)
    finally:
        state.hub.disconnect(client)


async def _authenticate(websocket: WebSocket, state: GatewayState) -> Principal | None:
    token = websocket.query_params.get("token")
    if token is None:
        try:
            async with asyncio.timeout(AUTH_TIMEOUT_S):
                raw = await websocket.receive_text()
            token = msgspec.json.decode(raw, type=_AuthMessage).token
        except (TimeoutError, msgspec.DecodeError, msgspec.ValidationError, KeyError):
            await _close(
                websocket,
                CLOSE_UNAUTHENTICATED,
                'send {"type": "auth", "token": ACCESS_TOKEN} first',
            )
            return None
        except WebSocketDisconnect:
            return None
    try:
        return state.authenticator.authenticate(token)
    except ApiError as exc:
        await _close(websocket, CLOSE_UNAUTHENTICATED, exc.detail[:120])
        return None


async def _serve(
    websocket: WebSocket, client: StreamClient, principal: Principal, state: GatewayState
) -> None:
    """Send queued messages until the client leaves, lags, the token expires or the
    gateway stops. The loop waits on the queue alone (one wake-up per message); the
    watcher task turns the client's close into a `CLOSE` on that queue."""
    leeway = state.authenticator.config.leeway_s
    expires_in = principal.expires_at + leeway - time.time()
    watching = asyncio.create_task(_watch_for_close(websocket, client))
    try:
        async with asyncio.timeout(max(0.0, expires_in)):
            while True:
                message = await client.queue.get()
                if message is CLOSE:
                    break
                await websocket.send_text(message)
    except TimeoutError:
        await _close(websocket, CLOSE_TOKEN_EXPIRED, "the access token expired; reconnect")
        return
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await watching
    reason = client.close_reason
    if reason == REVOKED_REASON:
        await _close(websocket, CLOSE_UNAUTHENTICATED, reason)
    elif reason != _CLIENT_LEFT:
        stopping = reason.startswith("gateway")
        await _close(websocket, CLOSE_GOING_AWAY if stopping else CLOSE_TOO_SLOW, reason)


_CLIENT_LEFT = "the client closed the connection"


async def _watch_for_close(websocket: WebSocket, client: StreamClient) -> None:
    """Read and ignore what the client sends; when it closes, end the session."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            client.end(_CLIENT_LEFT)
            return


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code, reason)
