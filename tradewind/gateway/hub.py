"""Fan-out of account events to WebSocket clients, by account id.

The gateway consumes `portfolio.updates` and `orders.events`; `StreamHub.dispatch`
turns each event that some connected client watches into one JSON text, once, and puts
it on the queue of every client watching that account. Queues are bounded: a client
that falls `queue_size` messages behind is disconnected (it can reconnect and read the
current state over REST) rather than slowing everyone down or growing memory.

Message shapes (text frames, JSON):
`{"type": "portfolio", "event_id": ..., "data": <PortfolioView>}`,
`{"type": "order", "event_id": ..., "data": {"type": "order.filled", ...}}`,
`{"type": "fill", "event_id": ..., "data": {...}}`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import msgspec

from tradewind.bus.envelope import Envelope
from tradewind.domain.analytics_figures import figures_json
from tradewind.domain.events import AnalyticsUpdate, Fill, OrderEventBase
from tradewind.gateway.cache import fixed
from tradewind.gateway.revocation import Revoked

_encode = msgspec.json.Encoder().encode

#: Put on a client's queue to end its session; `reason` says why.
CLOSE = None
#: The close reason of a session whose token was revoked.
REVOKED_REASON = "revoked: your access changed or the session ended; log in again"


class StreamClient:
    """One connected WebSocket: its user, watched accounts and outgoing queue."""

    __slots__ = ("accounts", "close_reason", "queue", "session_id", "token_version", "user_id")

    def __init__(
        self, user_id: str, queue_size: int, session_id: str = "", token_version: int = 0
    ) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.token_version = token_version
        self.accounts: set[str] = set()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(queue_size + 1)
        self.close_reason = ""

    def end(self, reason: str) -> None:
        """Drop what is queued and tell the session to close with `reason`."""
        self.close_reason = reason
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(CLOSE)


class StreamHub:
    """The connected WebSocket clients by the account ids they watch: each event is encoded
    once and queued for every client watching its account (bounded queues)."""

    def __init__(self, queue_size: int = 256) -> None:
        self._queue_size = queue_size
        self._watchers: dict[str, set[StreamClient]] = {}
        self._clients: set[StreamClient] = set()
        self._none_left = asyncio.Event()
        self._none_left.set()
        self.dropped_slow = 0

    @property
    def connections(self) -> int:
        return len(self._clients)

    def connect(
        self,
        user_id: str,
        account_ids: Iterable[str],
        *,
        session_id: str = "",
        token_version: int = 0,
    ) -> StreamClient:
        """A new session of `user_id` watching `account_ids`, opened with a token of
        `session_id` at `token_version` (what revocation compares against)."""
        client = StreamClient(user_id, self._queue_size, session_id, token_version)
        self._clients.add(client)
        self._none_left.clear()
        for account_id in account_ids:
            self._watch(client, account_id)
        return client

    def disconnect(self, client: StreamClient) -> None:
        self._clients.discard(client)
        if not self._clients:
            self._none_left.set()
        for account_id in client.accounts:
            watchers = self._watchers.get(account_id)
            if watchers is not None:
                watchers.discard(client)
                if not watchers:
                    del self._watchers[account_id]
        client.accounts.clear()

    def account_added(self, user_id: str, account_id: str) -> None:
        """The user connected an account: their open sessions watch it from now on."""
        for client in self._clients:
            if client.user_id == user_id:
                self._watch(client, account_id)

    def account_removed(self, account_id: str) -> None:
        for client in self._watchers.pop(account_id, set()):
            client.accounts.discard(account_id)

    def revoked(self, change: Revoked) -> None:
        """End the sessions whose token `change` refuses (a role change, a disabled
        user, a logout), at once rather than when the token expires."""
        for client in list(self._clients):
            if (client.user_id == change.user_id and client.token_version < change.version) or (
                change.session_id is not None and client.session_id == change.session_id
            ):
                self.disconnect(client)
                client.end(REVOKED_REASON)

    async def close_all(self, reason: str, *, within_s: float) -> bool:
        """End every session with `reason` and wait, at most `within_s`, until each has
        sent its close and left: the gateway closes them itself (1001 and the reason)
        before the web server's shutdown would close what is left with 1012. True when
        every session left in time."""
        for client in list(self._clients):
            client.end(reason)
        try:
            async with asyncio.timeout(within_s):
                await self._none_left.wait()
        except TimeoutError:
            return False
        return True

    def dispatch(self, event: Envelope, portfolio: bytes | None = None) -> int:
        """Queue `event` for the clients watching its account; `portfolio` is the
        already-encoded valuation when `event` is a portfolio update the cache kept
        (a stale one is not forwarded). Returns the number of messages queued."""
        payload = event.payload
        account_id = getattr(payload, "account_id", None)
        watchers = self._watchers.get(account_id) if account_id is not None else None
        if not watchers:
            return 0
        message = _message(event, payload, portfolio)
        if message is None:
            return 0
        queued = 0
        for client in list(watchers):
            if client.queue.qsize() >= self._queue_size:
                self.dropped_slow += 1
                self.disconnect(client)
                client.end("too slow: fell too far behind the stream")
                continue
            client.queue.put_nowait(message)
            queued += 1
        return queued

    def _watch(self, client: StreamClient, account_id: str) -> None:
        client.accounts.add(account_id)
        self._watchers.setdefault(account_id, set()).add(client)


def _message(event: Envelope, payload: Any, portfolio: bytes | None) -> str | None:
    head = b'{"event_id":"' + event.event_id.encode() + b'","type":'
    if portfolio is not None and event.type == "portfolio.update":
        return (head + b'"portfolio","data":' + portfolio + b"}").decode()
    if isinstance(payload, Fill):
        return (head + b'"fill","data":' + _encode(_plain(payload)) + b"}").decode()
    if isinstance(payload, OrderEventBase):
        return (head + b'"order","data":' + _encode(_plain(payload)) + b"}").decode()
    if isinstance(payload, AnalyticsUpdate):
        return (head + b'"analytics","data":' + _encode(_analytics(payload)) + b"}").decode()
    return None


def _analytics(payload: AnalyticsUpdate) -> dict[str, Any]:
    """The update's account, time and window as they are (`type`, `account_id`,
    `valuation_asset`, `equity`, `since_ns`, `ts_ns`), then its figures as the API's
    `metrics` write them (`figures_json`: the same names and values)."""
    return {
        "type": "analytics.update",
        "account_id": payload.account_id,
        "valuation_asset": payload.valuation_asset,
        "equity": fixed(payload.equity),
        "since_ns": payload.since_ns,
        "ts_ns": payload.ts_ns,
        **figures_json(payload),
    }


def _plain(payload: msgspec.Struct) -> dict[str, Any]:
    """The event as JSON-ready data: amounts as fixed-point strings, the instrument as
    `{"venue", "symbol"}` rather than msgspec's compact array."""
    data: dict[str, Any] = msgspec.to_builtins(payload, builtin_types=(Decimal,))
    for key, value in data.items():
        if isinstance(value, Decimal):
            data[key] = fixed(value)
    instrument = getattr(payload, "instrument", None)
    if instrument is not None:
        data["instrument"] = {"venue": instrument.venue, "symbol": instrument.symbol}
    return data
