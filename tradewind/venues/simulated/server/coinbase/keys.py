"""Coinbase API keys on the simulated exchange, and the checks of every signed request.

Two kinds, as Coinbase (and ccxt's `coinbase`) know them:

- **CDP keys** (the current kind): the portal mints an EC P-256 key pair, names the key
  `organizations/{uuid}/apiKeys/{uuid}` and hands out the PEM private key once; Coinbase
  keeps the public key. Each request carries `Authorization: Bearer <jwt>`, an ES256 JWT
  whose header `kid` and claim `sub` are the key name, `iss` "coinbase-cloud", `aud`
  ["retail_rest_api_proxy"], `nbf`/`exp` (at most two minutes apart) and, for REST,
  `uri` = "METHOD host/path" (no query). A WebSocket JWT has no `uri`.
- **Legacy HMAC keys**: `CB-ACCESS-KEY`, `CB-ACCESS-TIMESTAMP` (seconds) and
  `CB-ACCESS-SIGN` = hex HMAC-SHA256(secret, timestamp + METHOD + path + body), the
  timestamp within 30 seconds of the server's clock.

Pure: no I/O; time comes in as `now_s`. No secret, token or signature ever appears in
an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tradewind.venues.simulated.exchange import KeyPermissions

JWT_ISSUER = "coinbase-cloud"
JWT_AUDIENCE = "retail_rest_api_proxy"
#: Coinbase: "a JWT expires after 2 minutes"; a longer-lived token is refused.
JWT_MAX_LIFETIME_S = 120
#: Tolerated clock difference between client and server for `nbf` and `exp` (seconds).
JWT_LEEWAY_S = 5
#: Legacy keys: the CB-ACCESS-TIMESTAMP must be within 30 seconds of the server's time.
HMAC_MAX_SKEW_S = 30

KeyKind = Literal["cdp", "hmac"]
_ALPHANUMERIC = string.ascii_letters + string.digits


class CoinbaseAuthError(Exception):
    """A signed request or WebSocket token that does not authenticate; the message says
    what was wrong (never the secret, token or signature)."""


@dataclass(frozen=True)
class CoinbaseKeyPermissions:
    """What a key may do, as `GET /api/v3/brokerage/key_permissions` reports it."""

    can_view: bool
    can_trade: bool
    can_transfer: bool
    portfolio_uuid: str
    portfolio_type: str = "DEFAULT"


@dataclass(frozen=True)
class _Key:
    account_id: str
    kind: KeyKind
    permissions: CoinbaseKeyPermissions
    public_key: ec.EllipticCurvePublicKey | None  # CDP keys
    hmac_secret: str | None  # legacy keys


class CoinbaseKeys:
    """The Coinbase keys of one simulated venue: key name -> owner, kind, permissions and
    what checks its signatures (the public key of a CDP key, the secret of an HMAC key)."""

    def __init__(self) -> None:
        self._keys: dict[str, _Key] = {}
        self._portfolios: dict[str, str] = {}  # account id -> its default portfolio uuid

    def mint(
        self, account_id: str, permissions: KeyPermissions, *, kind: KeyKind = "cdp"
    ) -> tuple[str, str]:
        """A new key for `account_id`: (key name, secret). The secret of a CDP key is its
        PEM EC private key ("-----BEGIN EC PRIVATE KEY-----", as the portal's download);
        of an HMAC key, 32 alphanumerics. Only the public key (CDP) is kept."""
        portfolio = self._portfolios.setdefault(account_id, str(uuid.uuid4()))
        perms = CoinbaseKeyPermissions(
            can_view=True,
            can_trade=permissions.trade,
            can_transfer=permissions.transfer or permissions.withdraw,
            portfolio_uuid=portfolio,
        )
        if kind == "cdp":
            private_key = ec.generate_private_key(ec.SECP256R1())
            name = f"organizations/{uuid.uuid4()}/apiKeys/{uuid.uuid4()}"
            pem = private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            ).decode()
            self._keys[name] = _Key(account_id, kind, perms, private_key.public_key(), None)
            return name, pem
        if kind == "hmac":
            # Neither 88 characters nor '='-ended nor PEM: what makes ccxt sign with HMAC.
            name = _alphanumeric(16)
            secret = _alphanumeric(32)
            self._keys[name] = _Key(account_id, kind, perms, None, secret)
            return name, secret
        raise ValueError(f"key kind must be 'cdp' or 'hmac', got {kind!r}")

    def permissions(self, key_name: str) -> CoinbaseKeyPermissions:
        """What `key_name` may do; KeyError if there is no such key."""
        return self._keys[key_name].permissions

    def portfolio_of(self, account_id: str) -> str:
        """The uuid of the account's default portfolio (minted with its first key)."""
        return self._portfolios.setdefault(account_id, str(uuid.uuid4()))

    def key_name_of(self, headers: Mapping[str, str]) -> str | None:
        """The key name a request claims (JWT `kid` or CB-ACCESS-KEY), unverified: call
        it after `authenticate_rest` succeeded to know which key signed."""
        bearer = _bearer(headers)
        if bearer is not None:
            try:
                kid = jwt.get_unverified_header(bearer).get("kid")
            except jwt.PyJWTError:
                return None
            return kid if isinstance(kid, str) else None
        return _header(headers, "cb-access-key")

    def authenticate_rest(
        self,
        method: str,
        host: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        now_s: float,
    ) -> str:
        """The account id of a signed REST request, or CoinbaseAuthError. `host` is the
        request's Host (e.g. "127.0.0.1:8080"), `path` its path without the query."""
        bearer = _bearer(headers)
        if bearer is not None:
            key_name, claims = self._verify_jwt(bearer, now_s)
            uri = claims.get("uri")
            if not isinstance(uri, str):
                raise CoinbaseAuthError("the JWT has no uri claim (a REST JWT names its request)")
            if not _uri_matches(uri, method, host, path):
                raise CoinbaseAuthError(
                    f"the JWT's uri is not this request ({method.upper()} {host}{path})"
                )
            return self._keys[key_name].account_id
        legacy_name = _header(headers, "cb-access-key")
        if legacy_name is None:
            raise CoinbaseAuthError(
                "no credentials: send Authorization: Bearer <JWT> (CDP key) or "
                "CB-ACCESS-KEY, CB-ACCESS-SIGN and CB-ACCESS-TIMESTAMP (legacy key)"
            )
        return self._verify_hmac(legacy_name, method, path, headers, body, now_s)

    def authenticate_ws(self, token: str, now_s: float) -> str:
        """The account id of a WebSocket subscription's JWT (no `uri` claim), or
        CoinbaseAuthError."""
        key_name, claims = self._verify_jwt(token, now_s)
        if "uri" in claims:
            raise CoinbaseAuthError("the JWT has a uri claim: it signs one REST request")
        return self._keys[key_name].account_id

    def _verify_jwt(self, token: str, now_s: float) -> tuple[str, dict[str, object]]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise CoinbaseAuthError("the bearer token is not a JWT") from None
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise CoinbaseAuthError("the JWT has no kid (the key name) in its header")
        key = self._keys.get(kid)
        if key is None or key.public_key is None:
            raise CoinbaseAuthError("unknown API key (the JWT's kid names no CDP key)")
        if header.get("alg") != "ES256":
            raise CoinbaseAuthError("the JWT must be signed with ES256")
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                key.public_key,
                algorithms=["ES256"],
                audience=JWT_AUDIENCE,
                issuer=JWT_ISSUER,
                # Times are checked below against `now_s`, not PyJWT's clock.
                options={
                    "require": ["sub", "iss", "aud", "nbf", "exp"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise CoinbaseAuthError("the JWT's signature does not verify") from None
        except jwt.InvalidAudienceError:
            raise CoinbaseAuthError(f"the JWT's aud must be [{JWT_AUDIENCE!r}]") from None
        except jwt.InvalidIssuerError:
            raise CoinbaseAuthError(f"the JWT's iss must be {JWT_ISSUER!r}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise CoinbaseAuthError(f"the JWT has no {exc.claim} claim") from None
        except jwt.PyJWTError:
            raise CoinbaseAuthError("the JWT is malformed") from None
        if claims.get("sub") != kid:
            raise CoinbaseAuthError("the JWT's sub is not its kid (the key name)")
        _check_times(claims, now_s)
        return kid, claims

    def _verify_hmac(
        self,
        key_name: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        now_s: float,
    ) -> str:
        key = self._keys.get(key_name)
        if key is None or key.hmac_secret is None:
            raise CoinbaseAuthError("unknown API key (CB-ACCESS-KEY names no legacy key)")
        signature = _header(headers, "cb-access-sign")
        timestamp = _header(headers, "cb-access-timestamp")
        if signature is None or timestamp is None:
            raise CoinbaseAuthError(
                "a legacy key signs with CB-ACCESS-SIGN and CB-ACCESS-TIMESTAMP"
            )
        try:
            ts = int(timestamp)
        except ValueError:
            raise CoinbaseAuthError("CB-ACCESS-TIMESTAMP must be whole seconds") from None
        if abs(now_s - ts) > HMAC_MAX_SKEW_S:
            raise CoinbaseAuthError("request timestamp expired")
        message = timestamp.encode() + method.upper().encode() + path.encode() + body
        expected = hmac.new(key.hmac_secret.encode(), message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise CoinbaseAuthError("CB-ACCESS-SIGN does not sign this request")
        return key.account_id


def _check_times(claims: Mapping[str, object], now_s: float) -> None:
    nbf, exp = claims.get("nbf"), claims.get("exp")
    if not isinstance(nbf, int | float) or not isinstance(exp, int | float):
        raise CoinbaseAuthError("the JWT's nbf and exp must be numbers (seconds)")
    if exp - nbf > JWT_MAX_LIFETIME_S:
        raise CoinbaseAuthError(f"the JWT lives longer than {JWT_MAX_LIFETIME_S} s (exp - nbf)")
    if now_s + JWT_LEEWAY_S < nbf:
        raise CoinbaseAuthError("the JWT is not valid yet (nbf is in the future)")
    if now_s - JWT_LEEWAY_S >= exp:
        raise CoinbaseAuthError("the JWT has expired")


def _uri_matches(uri: str, method: str, host: str, path: str) -> bool:
    """`uri` is "METHOD host/path", the host with or without a scheme: ccxt strips only
    "https://", so over plain http its uri reads "GET http://127.0.0.1:PORT/..."."""
    claimed_method, _, target = uri.partition(" ")
    for scheme in ("https://", "http://"):
        target = target.removeprefix(scheme)
    return claimed_method == method.upper() and target == host + path


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = _header(headers, "authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by its lowercase name; Starlette's Headers are case-insensitive already,
    a plain dict may not be."""
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def _alphanumeric(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))
