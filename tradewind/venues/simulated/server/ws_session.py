"""One WebSocket client's session, as Binance's and Coinbase's stream endpoints serve it:
accept, then a writer task that sends what the hub and the replies queue (so they keep
their order), a reader task, and the server's own decision to close, whichever ends
first; the close frame is sent only if the server closed it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.websockets import (
    WebSocket,
    WebSocketDisconnect,
    WebSocketDisconnected,
    WebSocketState,
)

from tradewind.venues.simulated.server.stream_connection import Connection

CLOSE_TIMEOUT_S = 1.0  # a client that stopped reading cannot take the close frame
# what sending raises once the client has gone or the close frame went out
CLIENT_GONE = (WebSocketDisconnect, WebSocketDisconnected)


async def serve_session(
    websocket: WebSocket,
    outbox: Connection,
    read: Callable[[], Coroutine[Any, Any, None]],
    disconnect: Callable[[], None],
) -> None:
    """Accept `websocket` and serve it until the client leaves, `read()` returns or the
    server closes `outbox`; `disconnect()` then makes the hub forget the client. An
    error other than the client going away is raised."""
    try:
        await websocket.accept()
    except BaseException:
        disconnect()
        raise
    tasks: tuple[asyncio.Task[Any], ...] = (
        asyncio.create_task(_write(websocket, outbox)),
        asyncio.create_task(read()),
        asyncio.create_task(outbox.closed.wait()),
    )
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        disconnect()
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
    for task in tasks:
        error = None if task.cancelled() else task.exception()
        if error is not None and not isinstance(error, CLIENT_GONE):
            raise error
    if outbox.closed.is_set() and websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(TimeoutError, *CLIENT_GONE):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await websocket.close(outbox.close_code, outbox.close_reason)


async def receive_text(websocket: WebSocket) -> str | None:
    """The client's next message as text (a binary one decoded as UTF-8, bad bytes
    replaced), or None once it disconnected."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    text: str | None = message.get("text")
    if text is None:
        text = message.get("bytes", b"").decode("utf-8", "replace")
    return text


async def _write(websocket: WebSocket, outbox: Connection) -> None:
    while True:
        await websocket.send_text(await outbox.next_text())
