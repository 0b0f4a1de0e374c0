"""Access tokens: short-lived signed JWTs (RFC 9068 profile) that say who is calling and
with which roles.

An access token is signed with HS256 (a shared secret of at least 32 bytes) or EdDSA
(Ed25519: the gateway signs, any service can verify with the public key). Its header is
`{"alg", "typ": "at+jwt"}` and its claims are `iss`, `aud`, `sub` (the user id),
`roles`, `iat`, `exp` (Unix seconds; 5 minutes later by default), `jti` (unique), `sid`
(the login session: its refresh-token family) and `ver` (the user's token version when
it was issued; raising the version refuses every older token).

Decoding trusts nothing in the token before the signature is checked, and refuses with
`InvalidToken(reason)`: `alg` `none` or any algorithm but the configured one (so neither
the "none" attack nor RS/HS-style key confusion can apply), another `typ`, unknown header
fields (`crit`, `b64`, `jku` …), a bad signature, another issuer or audience, a missing or
ill-typed claim, and an expired or future token (30 s leeway for clock skew).

Refresh tokens are opaque and live in `refresh_tokens.py`.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tradewind.errors import ConfigError
from tradewind.security.errors import InvalidToken, TokenProblem

TokenAlgorithm = Literal["HS256", "EdDSA"]

ACCESS_TOKEN_TYPE = "at+jwt"
DEFAULT_ISSUER = "tradewind"
DEFAULT_AUDIENCE = "tradewind-api"
DEFAULT_ACCESS_TOKEN_TTL_S = 5 * 60
DEFAULT_LEEWAY_S = 30
MIN_HS256_SECRET_BYTES = 32
JWT_SECRET_VARIABLE = "TRADEWIND_JWT_SECRET"
JWT_PRIVATE_KEY_FILE_VARIABLE = "TRADEWIND_JWT_PRIVATE_KEY_FILE"

_MAX_TOKEN_CHARS = 8192
_ALLOWED_HEADER_FIELDS = frozenset({"alg", "typ", "kid"})
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "roles", "iat", "exp", "jti", "sid", "ver"]


class AccessClaims(msgspec.Struct, frozen=True):
    """The verified claims of an access token; times are Unix seconds."""

    iss: str
    aud: str
    sub: str
    roles: tuple[str, ...]
    iat: int
    exp: int
    jti: str
    sid: str
    ver: int


@dataclass(frozen=True, slots=True)
class AccessTokenConfig:
    """How access tokens are signed and checked. Build it with `hs256` or `eddsa`.

    `signing_key` is None on a service that only verifies (EdDSA with a public key).
    `ttl_s` is the token lifetime and `leeway_s` the clock skew tolerated, in seconds.
    """

    algorithm: TokenAlgorithm
    verifying_key: bytes | Ed25519PublicKey = field(repr=False)
    signing_key: bytes | Ed25519PrivateKey | None = field(repr=False)
    issuer: str = DEFAULT_ISSUER
    audience: str = DEFAULT_AUDIENCE
    ttl_s: int = DEFAULT_ACCESS_TOKEN_TTL_S
    leeway_s: int = DEFAULT_LEEWAY_S

    def __post_init__(self) -> None:
        if self.ttl_s <= 0 or self.leeway_s < 0:
            raise ValueError("ttl_s must be positive and leeway_s not negative")
        if not self.issuer or not self.audience:
            raise ValueError("issuer and audience must not be empty")

    @classmethod
    def hs256(
        cls,
        secret: bytes | str,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        ttl_s: int = DEFAULT_ACCESS_TOKEN_TTL_S,
        leeway_s: int = DEFAULT_LEEWAY_S,
    ) -> AccessTokenConfig:
        """HMAC-SHA256 with `secret` (text is used as its UTF-8 bytes); raises
        `ConfigError` naming `TRADEWIND_JWT_SECRET` when it is shorter than 32 bytes."""
        key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if len(key) < MIN_HS256_SECRET_BYTES:
            raise ConfigError(
                JWT_SECRET_VARIABLE,
                f"must be at least {MIN_HS256_SECRET_BYTES} bytes; generate one with "
                f"`tradewind keys generate --jwt`",
            )
        return cls("HS256", key, key, issuer, audience, ttl_s, leeway_s)

    @classmethod
    def eddsa(
        cls,
        private_key: Ed25519PrivateKey | None = None,
        public_key: Ed25519PublicKey | None = None,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        ttl_s: int = DEFAULT_ACCESS_TOKEN_TTL_S,
        leeway_s: int = DEFAULT_LEEWAY_S,
    ) -> AccessTokenConfig:
        """Ed25519: give the private key to sign (and verify), or only the public key to
        verify."""
        if private_key is not None:
            public_key = private_key.public_key()
        if public_key is None:
            raise ValueError("give an Ed25519 private key, a public key, or both")
        return cls("EdDSA", public_key, private_key, issuer, audience, ttl_s, leeway_s)

    @classmethod
    def eddsa_from_pem(cls, pem: bytes, **options: Any) -> AccessTokenConfig:
        """`eddsa` with an unencrypted PEM (PKCS#8) Ed25519 private key, as written to
        `TRADEWIND_JWT_PRIVATE_KEY_FILE`; raises `ConfigError` if it is not one."""
        try:
            key = load_pem_private_key(pem, password=None)
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(
                JWT_PRIVATE_KEY_FILE_VARIABLE, "is not an unencrypted PEM Ed25519 private key"
            )
        return cls.eddsa(key, **options)


def generate_hs256_secret() -> str:
    """A new HS256 secret: 32 random bytes as URL-safe base64 (43 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


def issue_access_token(
    config: AccessTokenConfig,
    subject: str,
    roles: Sequence[str],
    *,
    session_id: str,
    version: int,
    now_s: float | None = None,
) -> str:
    """A signed access token for the user `subject` with `roles`, in the login session
    `session_id`, at the user's token `version`, valid `config.ttl_s` seconds from
    `now_s` (Unix seconds; default now)."""
    if config.signing_key is None:
        raise ValueError("this configuration only verifies tokens: it has no signing key")
    if not subject or not session_id:
        raise ValueError("the subject and the session id must not be empty")
    issued_at = int(time.time() if now_s is None else now_s)
    claims = {
        "iss": config.issuer,
        "aud": config.audience,
        "sub": subject,
        "roles": list(roles),
        "iat": issued_at,
        "exp": issued_at + config.ttl_s,
        "jti": secrets.token_urlsafe(16),
        "sid": session_id,
        "ver": version,
    }
    return jwt.encode(
        claims, config.signing_key, algorithm=config.algorithm, headers={"typ": ACCESS_TOKEN_TYPE}
    )


def decode_access_token(
    token: str, config: AccessTokenConfig, *, now_s: float | None = None
) -> AccessClaims:
    """The claims of `token` once every check has passed (see the module docstring);
    raises `InvalidToken` with the reason otherwise. `now_s` is the time to check
    against, in Unix seconds (default now)."""
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_CHARS:
        raise InvalidToken("malformed", f"not a token of 1-{_MAX_TOKEN_CHARS} characters")
    _check_header(token, config)
    try:
        payload = jwt.decode(
            token,
            key=config.verifying_key,
            algorithms=[config.algorithm],
            audience=config.audience,
            issuer=config.issuer,
            options={
                "require": _REQUIRED_CLAIMS,
                "strict_aud": True,
                # Times are checked below against `now_s`, which PyJWT cannot take.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as exc:
        reason, message = _describe_jwt_error(exc)
        raise InvalidToken(reason, message) from None
    try:
        claims = msgspec.convert(payload, AccessClaims)
    except msgspec.ValidationError as exc:
        raise InvalidToken("invalid_claim", str(exc)) from None
    _check_times(claims, payload, config, time.time() if now_s is None else now_s)
    if not claims.sub or not claims.jti or not claims.sid:
        raise InvalidToken("invalid_claim", "`sub`, `jti` and `sid` must not be empty")
    if claims.ver < 0:
        raise InvalidToken("invalid_claim", "`ver` must not be negative")
    return claims


def _check_header(token: str, config: AccessTokenConfig) -> None:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("malformed", "not a JWS compact token") from None
    algorithm = header.get("alg")
    if not isinstance(algorithm, str):
        raise InvalidToken("malformed", "the header names no algorithm")
    if algorithm.lower() == "none":
        raise InvalidToken("algorithm", "unsigned tokens (alg 'none') are refused")
    if algorithm != config.algorithm:
        raise InvalidToken(
            "algorithm", f"algorithm {algorithm[:16]!r} is not the configured {config.algorithm}"
        )
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in (
        ACCESS_TOKEN_TYPE,
        f"application/{ACCESS_TOKEN_TYPE}",
    ):
        raise InvalidToken("type", f"the header's typ is not {ACCESS_TOKEN_TYPE!r}")
    unknown = set(header) - _ALLOWED_HEADER_FIELDS
    if unknown:
        names = ", ".join(sorted(name[:16] for name in unknown))
        raise InvalidToken("malformed", f"unsupported header fields: {names}")


def _check_times(
    claims: AccessClaims, payload: dict[str, Any], config: AccessTokenConfig, now: float
) -> None:
    if now > claims.exp + config.leeway_s:
        raise InvalidToken("expired", f"expired {int(now - claims.exp)} s ago")
    if claims.iat > now + config.leeway_s:
        raise InvalidToken("not_yet_valid", "issued in the future (`iat` after now)")
    not_before = payload.get("nbf")
    if not_before is not None:
        if not isinstance(not_before, int) or isinstance(not_before, bool):
            raise InvalidToken("invalid_claim", "`nbf` must be an integer")
        if not_before > now + config.leeway_s:
            raise InvalidToken("not_yet_valid", "not valid before its `nbf`")


def _describe_jwt_error(exc: jwt.PyJWTError) -> tuple[TokenProblem, str]:
    # Subclasses before their bases: InvalidSignatureError is a DecodeError.
    if isinstance(exc, jwt.InvalidSignatureError):
        return "signature", "the signature does not match"
    if isinstance(exc, jwt.InvalidAlgorithmError | jwt.InvalidKeyError):
        return "algorithm", "the algorithm is not allowed for this key"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "audience", "the token is meant for another audience"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "issuer", "the token was issued by someone else"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return "missing_claim", f"the token has no `{exc.claim}` claim"
    if isinstance(exc, jwt.DecodeError):
        return "malformed", "the token cannot be decoded"
    return "invalid_claim", type(exc).__name__
