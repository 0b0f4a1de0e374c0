"""A hand-written Binance WebSocket API client (no ccxt) for the `test_sim_ws_api*`
tests: requests framed and HMAC-signed as web-socket-api.md shows, on the `websockets`
client."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from tests.integration.venues.sim_rest_support import Account

WAIT_S = 5.0


def signature_payload(params: Mapping[str, Any]) -> str:
    """Every param, sorted by name, as `name=value&...` (JSON booleans as true/false)."""
    return "&".join(f"{name}={_text(value)}" for name, value in sorted(params.items()))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class WsApiClient:
    """One `/ws-api/v3` connection acting for `account`."""

    def __init__(self, connection: ClientConnection, account: Account) -> None:
        self.connection = connection
        self.account = account
        self._ids = itertools.count(1)

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, base_url: str, account: Account, query: str = ""
    ) -> AsyncIterator[WsApiClient]:
        url = base_url.replace("http://", "ws://", 1) + "/ws-api/v3" + query
        async with websockets.connect(url, proxy=None, open_timeout=WAIT_S) as connection:
            yield cls(connection, account)

    async def send_frame(self, frame: str) -> dict[str, Any]:
        """Send `frame` as it is; the next reply."""
        await self.connection.send(frame)
        async with asyncio.timeout(WAIT_S):
            while True:
                reply = json.loads(await self.connection.recv())
                if "event" not in reply:  # user data events are not replies
                    return dict(reply)

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        signed: bool = False,
        secret: str | None = None,
        api_key: str | None = None,
    ) -> dict[str, Any]:
        """The reply to `method`; a `signed` call adds `apiKey` (unless `params` has
        it), `timestamp` (likewise) and the `signature` made with `secret`."""
        fields = dict(params or {})
        if signed:
            fields.setdefault("apiKey", api_key or self.account.api_key)
            fields.setdefault("timestamp", now_ms())
            payload = signature_payload(fields)
            key = (secret or self.account.secret).encode()
            fields["signature"] = hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()
        request_id = f"{method}-{next(self._ids)}"
        frame = {"id": request_id, "method": method, "params": fields}
        reply = await self.send_frame(json.dumps(frame))
        assert reply["id"] == request_id, reply
        return reply

    async def result(
        self, method: str, params: Mapping[str, Any] | None = None, *, signed: bool = False
    ) -> Any:
        """The `result` of a call that must succeed."""
        reply = await self.call(method, params, signed=signed)
        assert reply["status"] == 200, reply
        return reply["result"]

    async def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """asset -> (free, locked), from `account.status`."""
        account = await self.result("account.status", signed=True)
        return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in account["balances"]}


def error_of(reply: Mapping[str, Any]) -> tuple[int, int, str]:
    """(status, code, msg) of a failed reply."""
    assert "result" not in reply, reply
    return reply["status"], reply["error"]["code"], reply["error"]["msg"]


def weight_used(reply: Mapping[str, Any]) -> int:
    """The REQUEST_WEIGHT count a reply reports."""
    (count,) = [
        limit["count"]
        for limit in reply["rateLimits"]
        if limit["rateLimitType"] == "REQUEST_WEIGHT"
    ]
    return int(count)
