"""The real exchanges a platform declares (`TRADEWIND_VENUES=NAME=ADAPTER,…`), each
through an installed venue adapter (`venues.adapters`; the built-in ones and how to
write another: docs/venues/real-exchanges.md, docs/venues/adapters.md): the ccxt client
it builds, the hosts that client calls, the rate limits that apply, and how an API key's
permissions are checked.

Everything here but `check_key` is pure: it builds ccxt objects, never a connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tradewind.domain.rate_limits import RateWindow
from tradewind.errors import ConfigError
from tradewind.venues import generic
from tradewind.venues.adapters import SETTING, VenueAdapter, adapter
from tradewind.venues.ccxt_venue import CcxtVenue, SharedMarkets
from tradewind.venues.key_check import KeyCheck

VENUE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
"""A venue's name, as the gateway's API accepts it (`body.venue`)."""


@dataclass(frozen=True)
class VenueSpec:
    """One declared real venue: its name on this platform, the adapter as declared
    (`binance`, `ccxt:kraken`, …), and the ccxt exchange it runs on."""

    name: str
    adapter: str
    ccxt_id: str
    sandbox: bool

    @property
    def venue_adapter(self) -> VenueAdapter:
        return adapter(self.adapter)


@dataclass(frozen=True)
class VenueLimits:
    """The rate limits a venue's calls follow. `ccxt_rate_limit_ms`: the least time
    between two requests ccxt's own limiter (on for every real venue) keeps, ms.
    `ip_windows`, `order_windows`: the venue's published limits per egress address and
    per account that execution's gate paces by (`tradewind.services.execution.gate`),
    empty where the adapter knows none."""

    ccxt_rate_limit_ms: float
    ip_windows: tuple[RateWindow, ...]
    order_windows: tuple[RateWindow, ...]


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
            found = adapter(declared)
        except ConfigError as exc:
            raise ConfigError(SETTING, f"{part!r}: {exc.problem}") from None
        taken.add(name)
        specs.append(VenueSpec(name, declared, found.ccxt_id, found.sandbox))
    return tuple(specs)


def exchange_for(
    spec: VenueSpec,
    api_key: str = "",
    secret: str = "",
    *,
    ca_file: str | None = None,
    local_address: str | None = None,
    markets: SharedMarkets | None = None,
) -> CcxtVenue:
    """A session on `spec`'s ccxt exchange, configured by its adapter (sandbox URLs,
    options, ccxt's rate limiter on); it connects on its first call only."""
    found = spec.venue_adapter
    venue = CcxtVenue.create(
        found.ccxt_id, api_key, secret, options=found.options, name=spec.name,
        ca_file=ca_file, profile=found.profile, local_address=local_address, markets=markets,
    )  # fmt: skip
    exchange = venue.exchange
    if found.sandbox:
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
    """The rate limits `spec`'s calls follow: the published windows its adapter knows
    (execution's gate paces by them), and for every venue ccxt's `rateLimit` with its
    limiter on."""
    rate_limit_ms = float(exchange_for(spec).exchange.rateLimit)
    rules = spec.venue_adapter.profile.limits
    if rules is None:
        return VenueLimits(rate_limit_ms, (), ())
    return VenueLimits(rate_limit_ms, rules.per_address, rules.per_account)


async def check_key(spec: VenueSpec, api_key: str, secret: str, ca_file: str | None) -> KeyCheck:
    """What the key may do on `spec`'s venue, by its adapter's read-only permission call;
    for a generic venue a refusal, without a call. Raises the session's `VenueError`s
    (`AuthenticationFailed` when the venue refuses the key)."""
    method = spec.venue_adapter.key_check_method
    if method is None:
        return KeyCheck(
            can_trade=False,
            can_withdraw=False,
            can_transfer=False,
            ip_restricted=False,
            unverifiable=generic.KEY_REFUSAL.format(venue=spec.name),
        )
    session = exchange_for(spec, api_key, secret, ca_file=ca_file)
    try:
        response: dict[str, Any] = await session.call_raw(method)
    finally:
        await session.close()
    return key_check_from_response(spec, response)


def key_check_from_response(spec: VenueSpec, response: Mapping[str, Any]) -> KeyCheck:
    """The `KeyCheck` that `spec`'s key-check response means (its adapter reads it)."""
    read = spec.venue_adapter.read_key_check
    if read is None:
        raise ConfigError(SETTING, f"venue {spec.name}: its adapter cannot check keys")
    return read(response)


def _hosts_in(urls: Any, exchange: Any) -> Iterable[str]:
    if isinstance(urls, Mapping):
        for value in urls.values():
            yield from _hosts_in(value, exchange)
    elif isinstance(urls, str):
        host = urlsplit(exchange.implode_hostname(urls)).hostname
        if host:
            yield host
