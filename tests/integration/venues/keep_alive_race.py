"""A TCP proxy in front of the simulated venue that plays the server's side of the HTTP
keep-alive race, deterministically, for the `test_*keep_alive*` tests.

The race: a server closes a keep-alive connection it finds idle at the very moment the
client, which still counts the connection as reusable, writes its next request on it.
The request crosses the close and is never answered; the client sees the connection
end (aiohttp: `ServerDisconnectedError`, or "Cannot write to closing transport").
A real server only loses that race by a few milliseconds' chance; this proxy loses it
every time it is told to, by closing the client's connection, unanswered, when a
request arrives on it that the server would have been closing:

- with `idle_close_s`, any request on a connection idle that long (a server whose idle
  timeout is `idle_close_s`, at the worst moment);
- after `drop_next_reused_request()`, the next request that reuses a connection (once).

Bytes are passed through untouched otherwise, so the client speaks to the real
simulated exchange; the proxy parses no HTTP: a new request is the first client bytes
after the venue's answer. The proxy alone decides when a client's connection ends: if
the venue closes its idle side, the next request goes on a new connection to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from urllib.parse import urlsplit

import uvicorn

UVICORN_DEFAULT_IDLE_S: float = (
    inspect.signature(uvicorn.Config).parameters["timeout_keep_alive"].default
)
"""How long a uvicorn server keeps an idle connection unless told otherwise (5 s): the
shortest idle timeout in common use."""

_CHUNK = 65536


class KeepAliveRaceProxy:
    """Listens on a free loopback port (`url`) and forwards to `upstream_url`."""

    def __init__(self, upstream_url: str, *, idle_close_s: float | None = None) -> None:
        parts = urlsplit(upstream_url)
        assert parts.hostname is not None and parts.port is not None
        self._upstream = (parts.hostname, parts.port)
        self._idle_close_s = idle_close_s
        self._drop_next_reused = False
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.connections = 0
        """Client connections accepted so far."""
        self.dropped = 0
        """Requests met by closing their connection unanswered."""

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def drop_next_reused_request(self) -> None:
        """Close, unanswered, the next request that arrives on a connection that has
        already carried one."""
        self._drop_next_reused = True

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accepted, "127.0.0.1", 0)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for handler in list(self._handlers):
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            await self._relay(reader, writer)
        finally:
            self._handlers.discard(handler)
            await _close(writer)

    async def _relay(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        answered_at: float | None = None  # when the last answer's bytes went to the client
        to_venue: asyncio.StreamWriter | None = None
        answers: asyncio.Task[None] | None = None

        async def pass_answers(from_venue: asyncio.StreamReader) -> None:
            nonlocal answered_at
            while chunk := await from_venue.read(_CHUNK):
                to_client.write(chunk)
                await to_client.drain()
                answered_at = loop.time()
            if answered_at is None:  # the venue left a request unanswered
                to_client.close()

        try:
            while chunk := await client.read(_CHUNK):
                if answered_at is not None and self._loses_race(loop.time() - answered_at):
                    self.dropped += 1
                    return
                answered_at = None  # a request is in flight until its answer
                if answers is None or answers.done():
                    # The first request, or the venue has closed its idle side: only
                    # this proxy decides when the client's connection ends.
                    await _close(to_venue)
                    from_venue, to_venue = await asyncio.open_connection(*self._upstream)
                    answers = asyncio.create_task(pass_answers(from_venue))
                assert to_venue is not None
                to_venue.write(chunk)
                await to_venue.drain()
        finally:
            if answers is not None:
                answers.cancel()
                await asyncio.gather(answers, return_exceptions=True)
            await _close(to_venue)

    def _loses_race(self, idle_s: float) -> bool:
        if self._drop_next_reused:
            self._drop_next_reused = False
            return True
        return self._idle_close_s is not None and idle_s >= self._idle_close_s


async def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
