"""The browser-hardening headers on every gateway response.

- `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
  `X-Frame-Options: DENY`;
- `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` unless the
  response carries its own (the `/docs` page does: see `docs.py`), so a JSON body a
  browser is tricked into rendering can run nothing and load nothing;
- `Cache-Control: no-store` under the API prefix: tokens, keys and portfolios must not
  stay in a browser's or a proxy's cache;
- `Strict-Transport-Security` on every response when the gateway serves HTTPS itself
  (uvicorn with `TRADEWIND_TLS_CERT_FILE`, so the request's scheme is `https`):
  browsers then refuse plain HTTP to this host, subdomains included, for two years.
  Never over plain HTTP, where browsers ignore it; `X-Forwarded-Proto` is not believed
  (uvicorn's `proxy_headers` is off), so behind a TLS-terminating proxy the proxy
  sends it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=63072000; includeSubDomains"

_ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class SecurityHeaders:
    """Pure ASGI middleware adding the headers above to every HTTP response; responses
    under `no_store_prefix` (e.g. `/api/v1`) are never cached."""

    def __init__(self, app: ASGIApp, no_store_prefix: str) -> None:
        self.app = app
        self.no_store_prefix = no_store_prefix.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = scope["path"].startswith(self.no_store_prefix)
        https = scope.get("scheme") == "https"

        async def hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(_ALWAYS)
                headers.setdefault("Content-Security-Policy", API_POLICY)
                if no_store:
                    headers["Cache-Control"] = "no-store"
                if https:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, hardened)
