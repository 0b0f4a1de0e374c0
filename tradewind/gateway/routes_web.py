"""The browser's session: the dashboard's sign-in, refresh and sign-out, with the refresh
token kept in a cookie that page scripts cannot read.

The dashboard holds only the short-lived access token, in memory; the refresh token
lives in `tradewind_refresh` (`HttpOnly`: no script reads it, so an injected script
cannot carry it off; `Secure`; `SameSite=Strict`: no other site's page sends it;
`Path=/api/v1/auth/session`: only these three routes ever receive it). Besides
SameSite, each route requires the header `X-Tradewind-Web: 1`, which a cross-site form
cannot send and a cross-site `fetch` may send only after a CORS preflight the gateway
never grants, and refuses an `Origin` other than its own (403 `csrf`).

The checks, throttles, lockouts, rotation, reuse detection and audit are those of
`/auth/login`, `/auth/refresh` and `/auth/logout` (`routes_auth`), called as they are;
the refresh token never appears in these routes' bodies.

Chromium (and Firefox) accept `Secure` cookies from `http://localhost` and
`http://127.0.0.1`, which browsers treat as secure contexts, so `tradewind up` works
without TLS on the loopback address; any other host needs HTTPS.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request, Response

from tradewind.gateway import routes_auth
from tradewind.gateway.auth import unauthenticated
from tradewind.gateway.deps import State
from tradewind.gateway.errors import ApiError, documented
from tradewind.gateway.schemas import Credentials, RefreshRequest, SessionTokens, TokenPair
from tradewind.security.proxies import IpNetwork

SESSION_PATH = "/api/v1/auth/session"
COOKIE = "tradewind_refresh"
WEB_HEADER = "X-Tradewind-Web"
_MAX_TOKEN_CHARS = 256


async def same_origin_browser(request: Request, state: State) -> None:
    """A dependency: 403 `csrf` unless the request carries `X-Tradewind-Web: 1` and
    either no `Origin` or this gateway's own."""
    if request.headers.get(WEB_HEADER) != "1":
        raise ApiError(
            403, f"a browser session route needs the header {WEB_HEADER}: 1", code="csrf"
        )
    origin = request.headers.get("origin")
    if origin is not None and origin not in _own_origins(request, state.trusted_proxies):
        raise ApiError(403, "the request comes from another site's page", code="csrf")


def _own_origins(request: Request, proxies: tuple[IpNetwork, ...]) -> set[str]:
    """`scheme://host` of this request; with `https://host` too when it came through a
    trusted proxy, which may have ended TLS in front of the gateway."""
    host = request.headers.get("host", "")
    origins = {f"{request.url.scheme}://{host}"}
    peer = request.client.host if request.client is not None else ""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return origins
    if any(address in network for network in proxies):
        origins.add(f"https://{host}")
    return origins


router = APIRouter(tags=["auth"], dependencies=[Depends(same_origin_browser)])
_REFUSALS = documented(401, 403, 429)


@router.post(
    "/auth/session", response_model=SessionTokens, responses=_REFUSALS, summary="Sign in (browser)"
)
async def start_session(body: Credentials, request: Request, state: State) -> Response:
    """`/auth/login` for the dashboard: the access token in the body, the refresh token
    in the `tradewind_refresh` cookie."""
    pair = await routes_auth.login(body, request, state)
    return _session_response(pair)


@router.post(
    "/auth/session/refresh",
    response_model=SessionTokens,
    responses=_REFUSALS,
    summary="Refresh (browser)",
)
async def refresh_session(request: Request, state: State) -> Response:
    """`/auth/refresh` with the cookie's token: a new access token and a new cookie.
    A refused token (unknown, expired, or used before: then its whole session ends)
    answers 401 and clears the cookie."""
    token = _cookie_token(request)
    if token is None:
        raise unauthenticated("no browser session; sign in", "no_session")
    try:
        pair = await routes_auth.refresh(RefreshRequest(refresh_token=token), request, state)
    except ApiError as exc:
        if exc.status == 401:
            exc.headers = {**exc.headers, "Set-Cookie": _cleared_cookie()}
        raise
    return _session_response(pair)


@router.post(
    "/auth/session/end", status_code=204, responses=_REFUSALS, summary="Sign out (browser)"
)
async def end_session(request: Request, state: State) -> Response:
    """`/auth/logout` with the cookie's token; clears the cookie. 204 whether or not a
    session was open."""
    token = _cookie_token(request)
    if token is not None:
        await routes_auth.logout(RefreshRequest(refresh_token=token), request, state)
    return Response(status_code=204, headers={"Set-Cookie": _cleared_cookie()})


def _cookie_token(request: Request) -> str | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > _MAX_TOKEN_CHARS:
        return None
    return token


def _session_response(pair: TokenPair) -> Response:
    body = SessionTokens(access_token=pair.access_token, expires_in=pair.expires_in)
    max_age = max(0, int((pair.refresh_expires_at - datetime.now(UTC)).total_seconds()))
    return Response(
        body.model_dump_json(),
        media_type="application/json",
        headers={"Set-Cookie": _cookie(pair.refresh_token, max_age)},
    )


def _cookie(value: str, max_age: int) -> str:
    return (
        f"{COOKIE}={value}; HttpOnly; Secure; SameSite=Strict; Path={SESSION_PATH}; "
        f"Max-Age={max_age}"
    )


def _cleared_cookie() -> str:
    return _cookie("", 0)
