"""Binance's request signing for SIGNED (TRADE, USER_DATA) endpoints. Pure: no I/O, no clock.

The signature is the hex HMAC-SHA256, keyed with the API secret, of `totalParams`: the
query string followed directly by the request body (no separator), exactly as sent and
without the `signature` parameter itself. `timestamp` (ms) must satisfy
`timestamp < server_time + 1000` and `server_time - timestamp <= recvWindow`.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

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


def timestamp_problem(timestamp_ms: int, recv_window_ms: Decimal, server_ms: int) -> str | None:
    """Binance's -1021 message if the request is too old or too far ahead, else None."""
    if timestamp_ms >= server_ms + MAX_AHEAD_MS:
        return AHEAD_OF_SERVER
    if server_ms - timestamp_ms > recv_window_ms:
        return OUTSIDE_RECV_WINDOW
    return None
