"""The Coinbase adapters: `coinbase` (Advanced Trade, through ccxt's `coinbase`) and
`coinbase-sandbox`, refused (ccxt has no sandbox URLs for it). Coinbase publishes no
weight windows ccxt does not keep already: ccxt's own limiter paces it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ccxt  # type: ignore[import-untyped]

from tradewind.venues.adapters import VenueAdapter
from tradewind.venues.key_check import KeyCheck
from tradewind.venues.port import OrderStatus
from tradewind.venues.profile import VenueProfile

SPOT: Mapping[str, Any] = {"defaultType": "spot"}

SANDBOX_REFUSAL = (
    "adapter 'coinbase-sandbox' is not available: ccxt {version}'s `coinbase` (Advanced "
    "Trade) has no sandbox URLs (no urls['test'], so set_sandbox_mode cannot work), and "
    "Tradewind will not fall back to production; use 'coinbase' with a key of a small "
    "portfolio, or 'binance-testnet' to trade with test funds"
)

PROFILE = VenueProfile(
    "coinbase",
    statuses={
        "PENDING": OrderStatus.NEW,
        "QUEUED": OrderStatus.NEW,
        "OPEN": None,  # NEW or PARTIALLY_FILLED by what filled
        "CANCEL_QUEUED": None,
        "FILLED": OrderStatus.FILLED,
        "CANCELLED": OrderStatus.CANCELED,
        "EXPIRED": OrderStatus.EXPIRED,
        "FAILED": OrderStatus.REJECTED,
    },
    status_fields=("status",),
)


def from_key_permissions(permissions: Mapping[str, Any]) -> KeyCheck:
    """Coinbase Advanced Trade's `GET /api/v3/brokerage/key_permissions` (`can_view`,
    `can_trade`, `can_transfer`). Coinbase's transfer permission is the one that sends
    funds off the account (to addresses or other users), so it counts as withdrawal too."""
    can_transfer = bool(permissions.get("can_transfer"))
    return KeyCheck(
        can_trade=bool(permissions.get("can_trade")),
        can_withdraw=can_transfer,
        can_transfer=can_transfer,
        ip_restricted=False,  # Coinbase does not report it
        can_view=bool(permissions.get("can_view")),
    )


COINBASE = VenueAdapter(
    "coinbase",
    PROFILE,
    "coinbase",
    options=SPOT,
    key_check_method="v3_private_get_brokerage_key_permissions",
    read_key_check=from_key_permissions,
)

SANDBOX = VenueAdapter(
    "coinbase-sandbox",
    PROFILE,
    "coinbase",
    sandbox=True,
    options=SPOT,
    unavailable=SANDBOX_REFUSAL.format(version=ccxt.__version__),
)
