"""The gate in front of the Binance routes (`/api/...`, `/sapi/...`, and the futures
`/fapi/...`, `/dapi/...` that answer nothing listed): injected faults, then the per-IP
request-weight limits with their usage headers: `X-MBX-USED-WEIGHT-1M` on every `/api`
response, `X-SAPI-USED-IP-WEIGHT-1M` (per endpoint, as Binance counts SAPI IP weight) on
every `/sapi` one. The futures routes are not weighted. Every request through it is
counted by method and path (`ServerState.requests`). The simulator's own `/sim` routes
and the WebSocket routes pass through.

Fault answers are chosen for what clients conclude from them (ccxt: see
docs/venues/ccxt-binance-protocol.md §3): 503 without a Binance `code` is "exchange not
available" (nothing executed); a hang then 504 is a request timeout; 429 is a rate limit.
"""

from __future__ import annotations

import asyncio
import math
import time
from urllib.parse import parse_qsl

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.binance_errors import BinanceError, json_response
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.weights import Refusal, request_weight, sapi_weight

_GUARDED = ("/api/", "/sapi/", "/fapi/", "/dapi/")


def refusal_error(refusal: Refusal) -> BinanceError:
    """The -1003 error of a request over an IP limit: 429, or 418 once banned (the
    WebSocket API refuses with it too)."""
    if refusal.banned_until_ms:
        return errors.ip_banned(refusal.banned_until_ms, refusal.retry_after_s)
    limit = refusal.limit
    refuse = (
        errors.too_much_weight if limit.kind == "REQUEST_WEIGHT" else errors.too_many_raw_requests
    )
    return refuse(limit.limit, limit.describe(), refusal.retry_after_s)


class BinanceGate:
    """ASGI middleware; `state.faults` and the IP limiters (`state.ip_limiter`,
    `state.sapi_limiter`) decide who gets through."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self._app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(_GUARDED):
            await self._app(scope, receive, send)
            return
        self._state.requests[(scope["method"], scope["path"])] += 1
        if await self._answered_by_fault(scope, receive, send):
            return
        path, method = scope["path"], scope["method"]
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        if path.startswith("/api/"):
            limiter, key = self._state.ip_limiter, ip
            query = scope.get("query_string", b"").decode("latin-1")
            weight = request_weight(method, path, dict(parse_qsl(query)))
        elif path.startswith("/sapi/"):
            limiter, key = self._state.sapi_limiter, f"{ip} {path}"
            weight = sapi_weight(method, path)
        else:
            await self._app(scope, receive, send)
            return
        now_ms = time.time_ns() // NS_PER_MS
        refusal = limiter.admit(key, weight, now_ms)
        usage = limiter.usage_headers(key, now_ms)
        if refusal is not None:
            error = refusal_error(refusal)
            error.headers.update(usage)
            await error.response()(scope, receive, send)
            return

        async def send_with_usage(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in usage.items():
                    headers[name] = value
            await send(message)

        await self._app(scope, receive, send_with_usage)

    async def _answered_by_fault(self, scope: Scope, receive: Receive, send: Send) -> bool:
        faults = self._state.faults
        now_ms = time.time() * 1000
        if faults.rate_limit_until_ms > now_ms:
            retry_after_s = max(1, math.ceil((faults.rate_limit_until_ms - now_ms) / 1000))
            await errors.too_many_requests(retry_after_s).response()(scope, receive, send)
            return True
        if faults.http_5xx_until_ms > now_ms:
            await json_response({"msg": "Service Unavailable."}, 503)(scope, receive, send)
            return True
        if faults.timeout_until_ms > now_ms:
            await asyncio.sleep(faults.hang_s)
            await json_response({"msg": "Gateway Time-out."}, 504)(scope, receive, send)
            return True
        return False
