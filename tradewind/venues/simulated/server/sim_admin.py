"""Who may use the simulator's own API (`/sim/v1`: the faucet that opens funded
accounts, any account's balances, the fault switches, the submissions log).

That API has no per-account keys: whoever reaches it can read every account and break
the venue for everyone. So:

- A peer on the loopback interface (127.0.0.0/8, ::1) may use it without a token, as
  tests, examples and a developer's `tradewind venue serve` always have.
- Any other peer must send `Authorization: Bearer <token>` with the admin token
  (`tradewind venue serve --admin-token`, or the setting TRADEWIND_SIM_ADMIN_TOKEN); it is
  compared in constant time. Otherwise the answer is 401 `{"error": "..."}`.
- `tradewind venue serve` on a non-loopback address without a token refuses to start,
  naming `--admin-token` (`require_admin_token`). Where no token can be given (the venue
  `tradewind up` serves next to its gateway), `/sim/v1` is simply closed to every
  non-loopback peer.

The peer is the TCP peer as the server reports it. uvicorn replaces it with the
`X-Forwarded-For` address only for requests from its trusted proxies (127.0.0.1 by
default); a reverse proxy on this host that does not set that header would make every
request look local, so put the token on any venue reachable through one.

The Binance API (`/api`, `/sapi`) and the streams are not affected: they authenticate
with the accounts' own API keys.
"""

from __future__ import annotations

import hmac
import ipaddress

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tradewind.errors import ConfigError
from tradewind.venues.simulated.server.binance_errors import json_response

ADMIN_TOKEN_OPTION = "--admin-token"
ADMIN_TOKEN_SETTING = "TRADEWIND_SIM_ADMIN_TOKEN"
MIN_TOKEN_LENGTH = 16
_ADMIN_PREFIX = "/sim"


def is_loopback(host: str | None) -> bool:
    """Whether `host` (an IP address as a server reports its peer, or `localhost`) is on
    the loopback interface. Anything that is not an address (None, a Unix socket's
    path, a test client's made-up name) is not."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def bearer_token_matches(authorization: str | None, token: str | None) -> bool:
    """Whether the `Authorization` header carries `Bearer <token>`; never with no token."""
    if not token or not authorization:
        return False
    scheme, _, presented = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


def may_administer(peer: str | None, authorization: str | None, token: str | None) -> bool:
    """Whether a request from `peer` with this `Authorization` header may use /sim/v1."""
    return is_loopback(peer) or bearer_token_matches(authorization, token)


def require_admin_token(host: str, token: str | None) -> None:
    """Refuse (ConfigError naming --admin-token) to serve on a non-loopback `host`
    without an admin token, and any token too short to resist guessing."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            ADMIN_TOKEN_OPTION, f"must be at least {MIN_TOKEN_LENGTH} characters long"
        )
    if not token and not is_loopback(host):
        raise ConfigError(
            ADMIN_TOKEN_OPTION,
            f"serving on {host}, which is not a loopback address, needs an admin token for "
            f"the /sim/v1 API (or set {ADMIN_TOKEN_SETTING}); "
            "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )


class SimAdminGate:
    """ASGI middleware in front of `/sim/...`: lets loopback peers through and answers
    any other peer 401 unless it brings the simulator's admin token."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self._app = app
        self._token = token or None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_admin_path(scope["path"]):
            client = scope.get("client")
            peer = client[0] if client else None
            if not may_administer(peer, _header(scope, b"authorization"), self._token):
                await _refusal(self._token is not None)(scope, receive, send)
                return
        await self._app(scope, receive, send)


def _is_admin_path(path: str) -> bool:
    return path == _ADMIN_PREFIX or path.startswith(_ADMIN_PREFIX + "/")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _refusal(token_configured: bool) -> Response:
    how = (
        "send Authorization: Bearer <admin token>"
        if token_configured
        else "this venue has no admin token, so only loopback clients may use it"
    )
    return json_response(
        {"error": f"the simulator API needs authentication: {how}"},
        401,
        {"WWW-Authenticate": 'Bearer realm="tradewind-sim"'},
    )
