"""Who is calling: access-token verification for HTTP and WebSocket, with a small cache.

Verifying a JWT (header checks, HMAC or Ed25519, claims) costs tens of microseconds;
the same token arrives on every request of a session, so a verified token is kept (by
its exact text, which the signature covers) until it expires. Expiry, and revocation
(a token older than its user's token version, or of an ended session: see
`revocation.py`), are checked on every use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tradewind.domain.bounded import BoundedLru
from tradewind.gateway.errors import ApiError
from tradewind.gateway.rbac import Permission, permissions_of
from tradewind.gateway.revocation import Revocations
from tradewind.security.errors import InvalidToken
from tradewind.security.tokens import AccessTokenConfig, decode_access_token

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="tradewind"'}


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified caller: the user id, roles and what they grant, the token's issue and
    expiry times (Unix seconds), its login session and token version."""

    user_id: str
    roles: tuple[str, ...]
    permissions: frozenset[Permission]
    issued_at: int
    expires_at: int
    session_id: str
    token_version: int

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def unauthenticated(detail: str, reason: str = "invalid_token") -> ApiError:
    return ApiError(401, detail, code=reason, headers=_CHALLENGE)


class Authenticator:
    """Turns access tokens into principals, keeping verified tokens until they expire;
    expiry and revocation are checked on every use."""

    def __init__(
        self,
        config: AccessTokenConfig,
        *,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._cache: BoundedLru[str, Principal] = BoundedLru(cache_size)
        self._clock = clock
        self.revocations = Revocations(config.ttl_s + config.leeway_s, clock=clock)

    def authenticate(self, token: str) -> Principal:
        """The principal of `token`; raises a 401 `ApiError` saying what was wrong."""
        now = self._clock()
        principal = self._cache.get(token)
        if principal is None:
            try:
                claims = decode_access_token(token, self.config, now_s=now)
            except InvalidToken as exc:
                raise unauthenticated(str(exc), f"token_{exc.reason}") from None
            principal = Principal(
                claims.sub,
                claims.roles,
                permissions_of(claims.roles),
                claims.iat,
                claims.exp,
                claims.sid,
                claims.ver,
            )
            self._cache[token] = principal
        elif now > principal.expires_at + self.config.leeway_s:
            del self._cache[token]
            raise unauthenticated("invalid access token (expired)", "token_expired")
        refusal = self.revocations.refusal(
            principal.user_id, principal.token_version, principal.session_id
        )
        if refusal is not None:
            raise unauthenticated(refusal, "token_revoked")
        return principal

    def authenticate_header(self, authorization: str | None) -> Principal:
        """`authenticate` for an `Authorization: Bearer TOKEN` header value."""
        if not authorization:
            raise unauthenticated("send an access token: Authorization: Bearer TOKEN", "no_token")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated("the Authorization header must be `Bearer TOKEN`", "no_token")
        return self.authenticate(token.strip())
