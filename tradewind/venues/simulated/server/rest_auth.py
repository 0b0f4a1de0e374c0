"""Who is calling: the API key of `X-MBX-APIKEY`, the signature and timestamp of SIGNED
requests, and the key's permissions, checked in Binance's order with Binance's errors
(`key_credentials` and `verify_signed` serve the WebSocket API too, which signs its
JSON params rather than the query string). A signature is checked as the key's kind
asks (`signing`): hex HMAC-SHA256 with an HMAC key's secret, base64 Ed25519 with an
Ed25519 key's registered public key; any other `signature` is -1022 either way.

Secrets and signatures are never logged or echoed: failures say only what was wrong.
"""

from __future__ import annotations

import enum
import re
import time
from decimal import Decimal

from starlette.requests import Request

from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.exchange import ApiCredentials, SimulatedExchange
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.signing import (
    DEFAULT_RECV_WINDOW_MS,
    MAX_RECV_WINDOW_MS,
    ed25519_signature_matches,
    signature_matches,
    signed_payload,
    timestamp_problem,
)

API_KEY_HEADER = "X-MBX-APIKEY"
_KEY_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,128}")
_RECV_WINDOW = re.compile(r"[0-9]{1,20}(\.[0-9]{1,3})?")


class Security(enum.Enum):
    """Binance's endpoint security types (NONE endpoints never authenticate)."""

    USER_STREAM = "USER_STREAM"  # API key only
    MARKET_DATA = "MARKET_DATA"  # API key only
    USER_DATA = "USER_DATA"  # API key and signature
    TRADE = "TRADE"  # API key, signature, and the key's trade permission


def authenticate(
    exchange: SimulatedExchange, request: Request, params: Params, security: Security
) -> ApiCredentials:
    """The credentials the request proves, or the BinanceError that refuses it."""
    creds = key_credentials(exchange, request.headers.get(API_KEY_HEADER, ""))
    if security in (Security.USER_STREAM, Security.MARKET_DATA):
        return creds
    payload = signed_payload(params.raw_query, params.raw_body)
    verify_signed(creds, params, security, payload, time.time_ns() // NS_PER_MS)
    return creds


async def read_authenticated(
    exchange: SimulatedExchange, request: Request, security: Security
) -> tuple[Params, ApiCredentials]:
    """A REST request's parameters and the credentials they prove (see `authenticate`):
    what every signed or keyed route reads first."""
    params = await Params.read(request)
    return params, authenticate(exchange, request, params, security)


def key_credentials(exchange: SimulatedExchange, api_key: str) -> ApiCredentials:
    """The credentials of `api_key`: -2014 if it is malformed, -2015 if unknown."""
    if not _KEY_FORMAT.fullmatch(api_key):
        raise errors.bad_api_key_format()
    creds = exchange.credentials(api_key)
    if creds is None:
        raise errors.key_rejected()
    return creds


def verify_signed(
    creds: ApiCredentials, params: Params, security: Security, payload: str | None, now_ms: int
) -> None:
    """A SIGNED request's checks, in Binance's order: `signature` of `payload` (None: the
    caller is already authenticated, as a WebSocket API session after `session.logon`,
    and signs nothing), `timestamp` within `recvWindow` of `now_ms`, and for TRADE the
    key's trade permission."""
    signature = params.required("signature") if payload is not None else ""
    timestamp_text = params.text("timestamp")
    if timestamp_text is None or not timestamp_text.isascii() or not timestamp_text.isdigit():
        raise errors.mandatory_missing("timestamp")
    timestamp = int(timestamp_text)
    recv_window = _recv_window(params)
    if payload is not None and not _signs(creds, payload, signature):
        raise errors.invalid_signature()
    problem = timestamp_problem(timestamp, recv_window, now_ms)
    if problem is not None:
        raise errors.timestamp_outside_window(problem)
    if security is Security.TRADE and not creds.permissions.trade:
        raise errors.key_rejected()


def _signs(creds: ApiCredentials, payload: str, signature: str) -> bool:
    """Whether `signature` signs `payload` for the key of `creds`, whichever its kind."""
    if creds.public_key is not None:
        return ed25519_signature_matches(creds.public_key, payload, signature)
    return signature_matches(creds.secret, payload, signature)


def _recv_window(params: Params) -> Decimal:
    """`recvWindow` in ms (Binance allows 3 decimals, i.e. microseconds), at most 60000."""
    text = params.text("recvWindow")
    if text is None:
        return DEFAULT_RECV_WINDOW_MS
    if not _RECV_WINDOW.fullmatch(text):
        raise errors.illegal_chars("recvWindow", r"^[0-9]{1,20}(\.[0-9]{1,3})?$")
    value = Decimal(text)
    if value > MAX_RECV_WINDOW_MS:
        raise errors.recv_window_too_big()
    if value <= 0:
        raise errors.invalid_parameter("recvWindow")
    return value
