"""Venue adapters as plug-ins: each kind of exchange the platform can declare
(`TRADEWIND_VENUES=NAME=ADAPTER`) is a `VenueAdapter`, published by an installed package
under the entry-point group `tradewind.venues` (Tradewind's own: `binance`,
`binance-testnet`, `coinbase`, `coinbase-sandbox`; see docs/venues/adapters.md for
writing another), plus the generic `ccxt:<id>` (`venues.generic`). Nothing else in the
platform names an exchange: execution paces, classifies refusals and reads statuses
through the adapter's `VenueProfile`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from tradewind.errors import ConfigError
from tradewind.venues.key_check import KeyCheck
from tradewind.venues.profile import VenueProfile

GROUP = "tradewind.venues"
SETTING = "TRADEWIND_VENUES"
GENERIC_PREFIX = "ccxt:"


@dataclass(frozen=True)
class VenueAdapter:
    """One kind of venue: what the platform knows of it (`profile`), the `ccxt.pro`
    exchange that reaches it (sandbox URLs or not, and its ccxt `options`), and how an API
    key's permissions are read: the ccxt method of a read-only call
    (`key_check_method`) and the reading of its answer (`read_key_check`); None for a
    venue whose keys cannot be checked (every key is then refused). `unavailable`: why
    the adapter cannot be declared here (said as a configuration error)."""

    name: str
    profile: VenueProfile
    ccxt_id: str
    sandbox: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    key_check_method: str | None = None
    read_key_check: Callable[[Mapping[str, Any]], KeyCheck] | None = None
    unavailable: str | None = None


@functools.cache
def installed() -> Mapping[str, VenueAdapter]:
    """Every adapter by name: those the installed packages publish under `GROUP`,
    Tradewind's own included (its `pyproject.toml` registers them; this package imports
    no venue package, which build on it). ConfigError naming the entry point for one
    that cannot be imported, is not a `VenueAdapter` of its own name, or takes a name
    another adapter has."""
    found: dict[str, VenueAdapter] = {}
    for point in entry_points(group=GROUP):
        where = f"{point.name} = {point.value}"
        try:
            loaded: object = point.load()
        except Exception as exc:  # a plug-in's import can fail in any way: say which
            raise ConfigError(
                SETTING, f"venue adapter {where} cannot be imported: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(loaded, VenueAdapter) or loaded.name != point.name:
            raise ConfigError(
                SETTING,
                f"venue adapter {where}: an entry point of group {GROUP!r} must be a "
                f"VenueAdapter named {point.name!r}, got {loaded!r}",
            )
        known = found.get(point.name)
        if known is not None and known is not loaded:
            raise ConfigError(
                SETTING,
                f"venue adapter {where}: the name {point.name!r} is taken; register it "
                "under another name",
            )
        found[point.name] = loaded
    return found


def adapter(declared: str) -> VenueAdapter:
    """The adapter declared as `declared` (`binance`, `ccxt:kraken`, …); ConfigError
    naming TRADEWIND_VENUES and what is wrong otherwise."""
    if declared.startswith(GENERIC_PREFIX):
        from tradewind.venues import generic

        return generic.adapter_for(declared.removeprefix(GENERIC_PREFIX), installed())
    found = installed().get(declared)
    if found is None:
        usable = sorted(name for name, one in installed().items() if one.unavailable is None)
        known = ", ".join([*usable, f"{GENERIC_PREFIX}<id>"])
        raise ConfigError(SETTING, f"unknown adapter {declared!r}; known: {known}")
    if found.unavailable is not None:
        raise ConfigError(SETTING, found.unavailable)
    return found
