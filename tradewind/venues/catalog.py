"""The real exchanges a platform can declare (`TRADEWIND_VENUES=NAME=ADAPTER,…`): for
each adapter, the ccxt client it builds, the hosts that client calls, the rate limits
that apply, and how an API key's permissions are checked.

| adapter | ccxt client | key check |
|---|---|---|
| `binance` | `binance`, spot | `GET /sapi/v1/account/apiRestrictions` |
| `binance-testnet` | `binance` in sandbox mode, spot | `GET /api/v3/account` (no `/sapi`) |
| `coinbase` | `coinbase` (Advanced Trade) | `GET /api/v3/brokerage/key_permissions` |
| `coinbase-sandbox` | refused: ccxt has no sandbox for it | — |
| `ccxt:<id>` | any other `ccxt.pro` exchange, spot | none possible: every key refused |

Everything here but `check_key` is pure: it builds ccxt objects, never a connection.
See docs/venues/real-exchanges.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import ccxt  # type: ignore[import-untyped]
import ccxt.pro  # type: ignore[import-untyped]

from tradewind.domain.rate_limits import RateWindow, binance_ip_windows, binance_order_windows
from tradewind.errors import ConfigError
from tradewind.venues import key_check
from tradewind.venues.ccxt_venue import CcxtVenue
from tradewind.venues.key_check import KeyCheck

SETTING = "TRADEWIND_VENUES"
GENERIC_PREFIX = "ccxt:"

VENUE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
"""A venue's name, as the gateway's API accepts it (`body.venue`)."""

SPOT_ONLY: Mapping[str, Any] = {"defaultType": "spot"}
BINANCE_SPOT: Mapping[str, Any] = {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}}
"""Binance's markets are loaded from the spot API only: the futures APIs are of no use to
a spot platform, and ccxt refuses futures in sandbox mode (futures testnet retired)."""

GENERIC_KEY_REFUSAL = (
    "Tradewind cannot check what an API key may do on {venue} (a generic ccxt venue: "
    "ccxt has no common call that tells whether a key can withdraw), so it refuses every "
    "key there rather than risk storing one that can move funds off the account"
)

COINBASE_SANDBOX_REFUSAL = (
    "adapter 'coinbase-sandbox' is not available: ccxt {version}'s `coinbase` (Advanced "
    "Trade) has no sandbox URLs (no urls['test'], so set_sandbox_mode cannot work), and "
    "Tradewind will not fall back to production; use 'coinbase' with a key of a small "
    "portfolio, or 'binance-testnet' to trade with test funds"
)


@dataclass(frozen=True)
class Adapter:
    """How one kind of venue is reached: the ccxt exchange, sandbox or not, its ccxt
    options, whether Binance's published limits apply, and the implicit ccxt method of
    its key check (None: keys cannot be checked)."""

    ccxt_id: str
    sandbox: bool
    options: Mapping[str, Any]
    binance_limits: bool
    key_check_method: str | None


ADAPTERS: Mapping[str, Adapter] = {
    "binance": Adapter("binance", False, BINANCE_SPOT, True, "sapi_get_account_apirestrictions"),
    "binance-testnet": Adapter("binance", True, BINANCE_SPOT, True, "private_get_account"),
    "coinbase": Adapter(
        "coinbase", False, SPOT_ONLY, False, "v3_private_get_brokerage_key_permissions"
    ),
}
"""The named adapters; `ccxt:<id>` builds a generic one (`generic_adapter`)."""


@dataclass(frozen=True)
class VenueSpec:
    """One declared real venue: its name on this platform, the adapter as declared
    (`binance`, `ccxt:kraken`, …), and the ccxt exchange it runs on."""

    name: str
    adapter: str
    ccxt_id: str
    sandbox: bool

    @property
    def profile(self) -> Adapter:
        return adapter(self.adapter)


@dataclass(frozen=True)
class VenueLimits:
    """The rate limits a venue's calls follow. `ccxt_rate_limit_ms`: the least time
    between two requests ccxt's own limiter (on for every real venue) keeps, ms.
    `ip_windows`, `order_windows`: the venue's published limits per egress IP and per
    account that execution's gate paces by (`tradewind.services.execution.gate`), empty
    where Tradewind knows none."""

    ccxt_rate_limit_ms: float
    ip_windows: tuple[RateWindow, ...]
    order_windows: tuple[RateWindow, ...]


def adapter(declared: str) -> Adapter:
    """The adapter for `binance`, `binance-testnet`, `coinbase` or `ccxt:<id>`;
    ConfigError naming TRADEWIND_VENUES and what is wrong otherwise."""
    if declared == "coinbase-sandbox":
        raise ConfigError(SETTING, COINBASE_SANDBOX_REFUSAL.format(version=ccxt.__version__))
    if declared.startswith(GENERIC_PREFIX):
        return generic_adapter(declared.removeprefix(GENERIC_PREFIX))
    found = ADAPTERS.get(declared)
    if found is None:
        known = ", ".join([*ADAPTERS, "ccxt:<id>"])
        raise ConfigError(SETTING, f"unknown adapter {declared!r}; known: {known}")
    return found


def generic_adapter(ccxt_id: str) -> Adapter:
    """Any exchange `ccxt.pro` streams from, with conservative defaults: spot only,
    ccxt's own rate limiter, no key accepted (see `GENERIC_KEY_REFUSAL`)."""
    if ccxt_id in ("binance", "coinbase"):
        raise ConfigError(
            SETTING, f"use adapter {ccxt_id!r}, not 'ccxt:{ccxt_id}': it checks keys properly"
        )
    if ccxt_id not in ccxt.exchanges:
        raise ConfigError(
            SETTING, f"ccxt {ccxt.__version__} has no exchange {ccxt_id!r} (see ccxt.exchanges)"
        )
    if ccxt_id not in ccxt.pro.exchanges:
        raise ConfigError(
            SETTING,
            f"ccxt knows {ccxt_id!r} but has no streams for it (not in ccxt.pro.exchanges); "
            "a venue needs watch_* streams for market data and order updates",
        )
    return Adapter(ccxt_id, False, SPOT_ONLY, False, None)


def parse_venues(text: str, simulated: Iterable[str] = ()) -> tuple[VenueSpec, ...]:
    """`binance=binance,kr=ccxt:kraken` -> the declared venues, in order. ConfigError
    naming TRADEWIND_VENUES and the bad part for a malformed part, a bad name, a
    duplicate name, a name `simulated` (TRADEWIND_VENUE_URLS) already has, an unknown
    adapter or ccxt id, or an adapter that cannot be had (coinbase-sandbox)."""
    simulated_names = frozenset(simulated)
    taken = set(simulated_names)
    specs: list[VenueSpec] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, declared = (s.strip() for s in part.partition("="))
        if not sep or not name or not declared:
            raise ConfigError(SETTING, f"expected NAME=ADAPTER[,…], got {part!r}")
        if not VENUE_NAME.match(name):
            raise ConfigError(
                SETTING,
                f"venue name {name!r} in {part!r}: use 1 to 64 of a-z, 0-9, '_', '.', '-', "
                "starting with a letter or digit",
            )
        if name in taken:
            where = "also in TRADEWIND_VENUE_URLS" if name in simulated_names else "declared twice"
            raise ConfigError(SETTING, f"venue name {name!r} is {where}")
        try:
            profile = adapter(declared)
        except ConfigError as exc:
            raise ConfigError(SETTING, f"{part!r}: {exc.problem}") from None
        taken.add(name)
        specs.append(VenueSpec(name, declared, profile.ccxt_id, profile.sandbox))
    return tuple(specs)


def exchange_for(
    spec: VenueSpec, api_key: str = "", secret: str = "", *, ca_file: str | None = None
) -> CcxtVenue:
    """A session on `spec`'s ccxt exchange, configured by its adapter (sandbox URLs,
    options, ccxt's rate limiter on); it connects on its first call only."""
    profile = spec.profile
    venue = CcxtVenue.create(
        profile.ccxt_id, api_key, secret, options=profile.options, name=spec.name,
        ca_file=ca_file,
    )  # fmt: skip
    exchange = venue.exchange
    if profile.sandbox:
        exchange.set_sandbox_mode(True)
    # Conservative for every real venue; execution's gate adds the published limits.
    exchange.enableRateLimit = True
    return venue


def hosts(spec: VenueSpec) -> tuple[str, ...]:
    """Every host `spec`'s ccxt client is configured to call (its `urls['api']` after
    sandbox mode), sorted: a spot session calls a subset of them."""
    exchange = exchange_for(spec).exchange
    return tuple(sorted(set(_hosts_in(exchange.urls["api"], exchange))))


def limits(spec: VenueSpec) -> VenueLimits:
    """The rate limits `spec`'s calls follow: for Binance (and its testnet, which
    publishes the same structure of limits) the published windows execution's gate knows;
    for every venue ccxt's `rateLimit` with its limiter on."""
    rate_limit_ms = float(exchange_for(spec).exchange.rateLimit)
    if spec.profile.binance_limits:
        return VenueLimits(rate_limit_ms, binance_ip_windows(), binance_order_windows())
    return VenueLimits(rate_limit_ms, (), ())


async def check_key(spec: VenueSpec, api_key: str, secret: str, ca_file: str | None) -> KeyCheck:
    """What the key may do on `spec`'s venue, by its adapter's read-only permission call;
    for a generic venue a refusal, without a call. Raises the session's `VenueError`s
    (`AuthenticationFailed` when the venue refuses the key)."""
    method = spec.profile.key_check_method
    if method is None:
        return KeyCheck(
            can_trade=False,
            can_withdraw=False,
            can_transfer=False,
            ip_restricted=False,
            unverifiable=GENERIC_KEY_REFUSAL.format(venue=spec.name),
        )
    session = exchange_for(spec, api_key, secret, ca_file=ca_file)
    try:
        response: dict[str, Any] = await session.call_raw(method)
    finally:
        await session.close()
    return key_check_from_response(spec, response)


def key_check_from_response(spec: VenueSpec, response: Mapping[str, Any]) -> KeyCheck:
    """The `KeyCheck` that `spec`'s key-check response means."""
    if spec.profile.ccxt_id == "coinbase":
        return key_check.from_coinbase_key_permissions(response)
    if spec.sandbox:
        return key_check.from_binance_testnet_account(response)
    return key_check.from_binance_api_restrictions(response)


def _hosts_in(urls: Any, exchange: Any) -> Iterable[str]:
    if isinstance(urls, Mapping):
        for value in urls.values():
            yield from _hosts_in(value, exchange)
    elif isinstance(urls, str):
        host = urlsplit(exchange.implode_hostname(urls)).hostname
        if host:
            yield host
