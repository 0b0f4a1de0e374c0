"""A ccxt session on the simulated exchange served over HTTP (`tradewind venue serve`):
ccxt's `binance` (the default API) or `coinbase` (a venue served with `--api coinbase`),
unmodified, with every URL moved to the simulator's, and the simulator's profile of that
API (`profile.OVER_HTTP`, `profile.COINBASE_OVER_HTTP`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tradewind.venues import coinbase
from tradewind.venues.binance.keys import from_api_restrictions as read_key_check
from tradewind.venues.ccxt_venue import CcxtVenue, SharedMarkets, rehosted_urls
from tradewind.venues.coinbase import from_key_permissions
from tradewind.venues.key_check import KeyCheck
from tradewind.venues.profile import VenueProfile
from tradewind.venues.simulated.apis import Api
from tradewind.venues.simulated.profile import COINBASE_OVER_HTTP, OVER_HTTP

__all__ = [
    "CCXT_OPTIONS",
    "COINBASE_CCXT_OPTIONS",
    "COINBASE_WS_PATH",
    "KEY_CHECK_METHOD",
    "SERVED_APIS",
    "Api",
    "ccxt_session",
    "read_key_check",
]

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

COINBASE_CCXT_OPTIONS: Mapping[str, Any] = coinbase.SPOT
"""ccxt `coinbase` as the `coinbase` adapter configures it (Advanced Trade, spot)."""

COINBASE_WS_PATH = "/advanced-trade-ws"
"""Where the simulator serves Coinbase's WebSocket (wss://advanced-trade-ws.coinbase.com,
every channel, `user` included), beside its REST routes on the same port."""

KEY_CHECK_METHOD = "sapi_get_account_apirestrictions"
"""The simulator serves Binance's `GET /sapi/v1/account/apiRestrictions` for a key's
permissions (read by `read_key_check`)."""


@dataclass(frozen=True)
class ServedApi:
    """How ccxt reaches one of the APIs the simulator serves: its ccxt exchange and
    options, the profile of its sessions, and how a key's permissions are read."""

    ccxt_id: str
    options: Mapping[str, Any]
    profile: VenueProfile
    key_check_method: str
    read_key_check: Callable[[Mapping[str, Any]], KeyCheck]


SERVED_APIS: Mapping[Api, ServedApi] = {
    "binance": ServedApi("binance", CCXT_OPTIONS, OVER_HTTP, KEY_CHECK_METHOD, read_key_check),
    "coinbase": ServedApi(
        "coinbase",
        COINBASE_CCXT_OPTIONS,
        COINBASE_OVER_HTTP,
        "v3_private_get_brokerage_key_permissions",
        from_key_permissions,
    ),
}


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
    api: Api = "binance",
) -> CcxtVenue:
    """A session talking only to the simulated exchange's server at `base_http` (e.g.
    `http://127.0.0.1:8765`, or `https://…` with `ca_file` trusting its certificate) and
    `base_ws` (`ws://127.0.0.1:8765`, `wss://…`), from `local_address` (None: the
    default route), through the ccxt exchange of the `api` it serves: Binance's, or
    Coinbase's Advanced Trade (its keys: a CDP key's name and PEM private key, or a
    legacy key and secret)."""
    served = SERVED_APIS[api]
    venue = CcxtVenue.create(
        served.ccxt_id, api_key, secret, options=served.options, name=name, ca_file=ca_file,
        profile=served.profile, local_address=local_address, markets=markets,
    )  # fmt: skip
    exchange = venue.exchange
    exchange.urls["api"] = rehosted_urls(exchange.urls["api"], base_http, base_ws)
    if api == "coinbase":  # its own host on Coinbase: a path on the simulator's
        exchange.urls["api"]["ws"] = base_ws.rstrip("/") + COINBASE_WS_PATH
    return venue
