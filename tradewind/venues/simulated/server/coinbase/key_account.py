"""The Coinbase keys of a simulated exchange serving Coinbase's API, as the platform
proves them when it reaches that exchange in process (`tradewind up`): it signs as a
client would (a JWT the CDP key's PEM private key signs, or a legacy key's HMAC
signature) and has the API's own key store check the proof, so that a key the served API
hands out (its faucet's) trades in process too."""

from __future__ import annotations

import hashlib
import hmac
import time

import jwt

from tradewind.venues.coinbase import from_key_permissions
from tradewind.venues.key_check import KeyAccount, KeyCheck
from tradewind.venues.simulated.server.coinbase.keys import (
    JWT_AUDIENCE,
    JWT_ISSUER,
    CoinbaseAuthError,
    CoinbaseKeys,
)

_PROOF_PATH = "/api/v3/brokerage/key_permissions"  # what a legacy key's proof signs


def key_account(keys: CoinbaseKeys) -> KeyAccount:
    """The account a Coinbase key of `keys` (a CDP key's name and PEM private key, or a
    legacy key and secret) trades for, and what the key may do; None for a key `keys`
    does not know or a secret that is not the key's."""

    def account_of(api_key: str, secret: str) -> tuple[str, KeyCheck] | None:
        now = time.time()
        try:
            if secret.startswith("-----BEGIN"):
                account_id = keys.authenticate_ws(_jwt(api_key, secret, now), now)
            else:
                account_id = keys.authenticate_rest(
                    "GET", "in-process", _PROOF_PATH, _hmac_headers(api_key, secret, now),
                    b"", now,
                )  # fmt: skip
        except (CoinbaseAuthError, ValueError, TypeError, jwt.PyJWTError):
            return None  # not this exchange's key, or not its secret
        permissions = keys.permissions(api_key)
        check = from_key_permissions(
            {
                "can_view": permissions.can_view,
                "can_trade": permissions.can_trade,
                "can_transfer": permissions.can_transfer,
            }
        )
        return account_id, check

    return account_of


def _jwt(key_name: str, pem: str, now: float) -> str:
    """A WebSocket-style JWT of the CDP key (no `uri`), as ccxt's `coinbase` makes."""
    seconds = int(now)
    claims = {
        "sub": key_name,
        "iss": JWT_ISSUER,
        "aud": [JWT_AUDIENCE],
        "nbf": seconds,
        "exp": seconds + 120,
    }
    return jwt.encode(claims, pem, algorithm="ES256", headers={"kid": key_name})


def _hmac_headers(key: str, secret: str, now: float) -> dict[str, str]:
    timestamp = str(int(now))
    message = f"{timestamp}GET{_PROOF_PATH}".encode()
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {"cb-access-key": key, "cb-access-timestamp": timestamp, "cb-access-sign": signature}
