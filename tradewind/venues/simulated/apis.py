"""The exchange APIs the simulated exchange serves (`tradewind venue serve --api NAME`):
each one's name, what it is called, and how TRADEWIND_VENUE_URLS marks a venue serving
it. Everything outside the simulator names a served API only by these names: how ccxt
reaches one is `client.SERVED_APIS`, how the server answers it `server.serve`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

from tradewind.errors import ConfigError

Api = Literal["binance", "coinbase"]


@dataclass(frozen=True)
class ApiListing:
    """`title`: what the API is called (in the welcome of `tradewind up`); `url_prefix`:
    what comes before a venue's URL in TRADEWIND_VENUE_URLS when it serves this API
    ("" for the default API)."""

    name: Api
    title: str
    url_prefix: str


DEFAULT_API: Api = "binance"
"""What `tradewind venue serve` serves without `--api`, and what a URL without a prefix
in TRADEWIND_VENUE_URLS speaks."""

APIS: Mapping[Api, ApiListing] = {
    "binance": ApiListing("binance", "Binance API", ""),
    "coinbase": ApiListing("coinbase", "Coinbase Advanced Trade API", "coinbase+"),
}
"""Every served API, the default first."""


def api_named(name: str, option: str = "--api") -> Api:
    """The served API called `name`; ConfigError naming `option` and the choices."""
    if name not in APIS:
        raise ConfigError(option, f"expected {' or '.join(APIS)}, got {name!r}")
    return cast(Api, name)


def served_api(url: str) -> tuple[Api, str]:
    """The API a simulated venue's URL (as TRADEWIND_VENUE_URLS declares it) serves, and
    its base URL: `coinbase+http://127.0.0.1:8766` serves the API of that prefix at
    `http://127.0.0.1:8766`; a URL without a prefix, the default API."""
    for listing in APIS.values():
        if listing.url_prefix and url.startswith(listing.url_prefix):
            return listing.name, url.removeprefix(listing.url_prefix)
    return DEFAULT_API, url


def declared_url(api: Api, base_url: str) -> str:
    """How TRADEWIND_VENUE_URLS declares a venue serving `api` at `base_url` (the inverse
    of `served_api`)."""
    return APIS[api].url_prefix + base_url
