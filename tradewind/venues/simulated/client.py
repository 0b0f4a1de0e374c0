"""A ccxt session on the simulated exchange served over HTTP (`tradewind venue serve`):
ccxt's `binance`, unmodified, with every URL moved to the simulator's, and the
simulator's profile (Binance's refusals, statuses and limits: `profile.OVER_HTTP`)."""

from __future__ import annotations

from typing import Any

from tradewind.venues.binance.keys import from_api_restrictions as read_key_check
from tradewind.venues.ccxt_venue import CcxtVenue, SharedMarkets, rehosted_urls
from tradewind.venues.simulated.profile import OVER_HTTP

__all__ = ["CCXT_OPTIONS", "KEY_CHECK_METHOD", "ccxt_session", "read_key_check"]

CCXT_OPTIONS: dict[str, Any] = {
    "defaultType": "spot",
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
    "adjustForTimeDifference": False,
    "fetchOpenOrders": {"warnWithoutSymbol": False},
}
"""ccxt `binance` options that keep it to the spot endpoints the simulated exchange
serves (see docs/venues/ccxt-binance-protocol.md)."""

KEY_CHECK_METHOD = "sapi_get_account_apirestrictions"
"""The simulator serves Binance's `GET /sapi/v1/account/apiRestrictions` for a key's
permissions (read by `read_key_check`)."""


def ccxt_session(
    base_http: str,
    base_ws: str,
    api_key: str,
    secret: str,
    *,
    name: str = "sim",
    ca_file: str | None = None,
    local_address: str | None = None,
    markets: SharedMarkets | None = None,
) -> CcxtVenue:
    """A session talking only to the simulated exchange's server at `base_http` (e.g.
    `http://127.0.0.1:8765`, or `https://…` with `ca_file` trusting its certificate) and
    `base_ws` (`ws://127.0.0.1:8765`, `wss://…`), from `local_address` (None: the
    default route)."""
    venue = CcxtVenue.create(
        "binance", api_key, secret, options=CCXT_OPTIONS, name=name, ca_file=ca_file,
        profile=OVER_HTTP, local_address=local_address, markets=markets,
    )  # fmt: skip
    exchange = venue.exchange
    exchange.urls["api"] = rehosted_urls(exchange.urls["api"], base_http, base_ws)
    return venue
