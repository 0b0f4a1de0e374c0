"""The generic adapter, `ccxt:<id>`: any exchange `ccxt.pro` streams from, known only
through ccxt's unified structures, with conservative defaults: spot only, ccxt's own
rate limiter, no published limits, and no key accepted (ccxt has no common call that
tells whether a key can withdraw)."""

from __future__ import annotations

from collections.abc import Mapping

import ccxt  # type: ignore[import-untyped]
import ccxt.pro  # type: ignore[import-untyped]

from tradewind.errors import ConfigError
from tradewind.venues.adapters import SETTING, VenueAdapter
from tradewind.venues.profile import GENERIC

SPOT_ONLY: Mapping[str, str] = {"defaultType": "spot"}

KEY_REFUSAL = (
    "Tradewind cannot check what an API key may do on {venue} (a generic ccxt venue: "
    "ccxt has no common call that tells whether a key can withdraw), so it refuses every "
    "key there rather than risk storing one that can move funds off the account"
)


def adapter_for(ccxt_id: str, installed: Mapping[str, VenueAdapter]) -> VenueAdapter:
    """The generic adapter of `ccxt_id`; ConfigError if ccxt does not stream from it, or
    if an installed adapter runs on it (it checks keys properly: use that one)."""
    proper = sorted(name for name, known in installed.items() if known.ccxt_id == ccxt_id)
    if proper:
        name = ccxt_id if ccxt_id in proper else proper[0]
        raise ConfigError(
            SETTING, f"use adapter {name!r}, not 'ccxt:{ccxt_id}': it checks keys properly"
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
    return VenueAdapter(f"ccxt:{ccxt_id}", GENERIC, ccxt_id, options=SPOT_ONLY)
