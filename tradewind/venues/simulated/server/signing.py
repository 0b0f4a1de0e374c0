"""Binance's request signing for SIGNED (TRADE, USER_DATA) endpoints. Pure: no I/O, no clock.

The signed payload is `totalParams`: the query string followed directly by the request
body (no separator), exactly as sent and without the `signature` parameter itself (the
WebSocket API signs its params instead, sorted by name: `ws_api_request`). What
`signature` is depends on the API key's kind:

- HMAC key: the hex HMAC-SHA256 of the payload keyed with the API secret (any case).
- Ed25519 key (the client registered its public key, PEM): the base64 of the Ed25519
  signature of the payload by the client's private key; case matters, and in a query
  string or form body it is URL-encoded, since base64 has `+`, `/` and `=`.

`timestamp` (ms) must satisfy `timestamp < server_time + 1000` and
`server_time - timestamp <= recvWindow`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from decimal import Decimal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

DEFAULT_RECV_WINDOW_MS = Decimal(5000)
MAX_RECV_WINDOW_MS = Decimal(60000)
MAX_AHEAD_MS = 1000
_SIGNATURE_PREFIX = "signature="

AHEAD_OF_SERVER = "Timestamp for this request was 1000ms ahead of the server's time."
OUTSIDE_RECV_WINDOW = "Timestamp for this request is outside of the recvWindow."


def sign(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of `payload` keyed with `secret` (what a client sends as `signature`)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _without_signature(part: str) -> str:
    return "&".join(p for p in part.split("&") if p and not p.startswith(_SIGNATURE_PREFIX))


def signed_payload(raw_query: str, raw_body: str) -> str:
    """`totalParams` of a request: the raw query string then the raw form body, each with
    its `signature=...` pair removed, wherever it was."""
    return _without_signature(raw_query) + _without_signature(raw_body)


def signature_matches(secret: str, payload: str, signature: str) -> bool:
    """True if `signature` (hex, any case) signs `payload`; constant time."""
    return hmac.compare_digest(sign(secret, payload), signature.lower())


def sign_ed25519(private_key: Ed25519PrivateKey, payload: str) -> str:
    """Base64 of the Ed25519 signature of `payload` (what a client with an Ed25519 key
    sends as `signature`, before URL-encoding it)."""
    return base64.b64encode(private_key.sign(payload.encode())).decode()


def ed25519_signature_matches(public_key: Ed25519PublicKey, payload: str, signature: str) -> bool:
    """True if `signature` is the base64 (standard alphabet, padded) of an Ed25519
    signature of `payload` that `public_key` verifies; False for anything else,
    malformed base64 included."""
    try:
        public_key.verify(base64.b64decode(signature, validate=True), payload.encode())
    except (ValueError, InvalidSignature):  # binascii.Error is a ValueError
        return False
    return True


def load_ed25519_public_key(pem: str) -> Ed25519PublicKey:
    """The Ed25519 public key of `pem`: SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC
    KEY-----`), as Binance's key generator and `openssl pkey -pubout` write it. Raises
    ValueError saying what `pem` is instead (for a message starting with the field's name)."""
    if "PRIVATE KEY-----" in pem:
        raise ValueError(
            "is a private key: register the public key (-----BEGIN PUBLIC KEY-----) and "
            "keep the private key to sign with"
        )
    try:
        key = load_pem_public_key(pem.strip().encode())
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError(
            "is not a PEM public key: expected -----BEGIN PUBLIC KEY-----, a base64 "
            "body and -----END PUBLIC KEY----- (e.g. `openssl pkey -pubout`)"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        kind = type(key).__name__.removesuffix("PublicKey")  # RSA, EC, Ed448…
        raise ValueError(f"is not an Ed25519 public key (it is {kind})")
    return key


def timestamp_problem(timestamp_ms: int, recv_window_ms: Decimal, server_ms: int) -> str | None:
    """Binance's -1021 message if the request is too old or too far ahead, else None."""
    if timestamp_ms >= server_ms + MAX_AHEAD_MS:
        return AHEAD_OF_SERVER
    if server_ms - timestamp_ms > recv_window_ms:
        return OUTSIDE_RECV_WINDOW
    return None
