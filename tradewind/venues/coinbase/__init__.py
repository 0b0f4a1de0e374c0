"""The Coinbase adapters: `coinbase` (Advanced Trade, through ccxt's `coinbase`) and
`coinbase-sandbox`, refused (ccxt has no sandbox URLs for it).

What sets Coinbase apart, declared in its profile for the ccxt session to follow:

- ccxt's `coinbase` drops the unified `clientOrderId` and sends its own id, so the
  client order id goes as Coinbase's `client_order_id`;
- orders are looked up and canceled by Coinbase's order id only (the client order id
  query of Get Order is deprecated): the session finds it among the account's orders;
- a market buy is placed by the quote amount it spends (`quote_size`): the quantity at
  the best ask;
- Create Order answers ids only, without the order's state or fills: the session reads
  the order back (any venue's answer without a status is), and its fills are read
  apart;
- the `user` channel carries no executions: an order's update has only what its fills
  add up to (`cumulative_quantity`, `avg_price`, `total_fees`, `number_of_fills`), no
  trade id, price or size of any one of them (ccxt's `coinbase` parses it with no
  `trades`), so the profile has no `stream_fill`. An update showing more filled than
  the fills booked has them read from `orders/historical/fills` (`fetch_my_fills`):
  one read per symbol for every order of the account then waiting, since the order's
  first report. No trade id is made up from the cumulative figures: the books key
  fills by the venue's trade id, and a made-up one would be booked again beside the
  real fill a reconciliation reads;
- a repeated `client_order_id` places nothing and answers the existing order, so a
  resend is never refused: it comes back as the order it repeats;
- an unknown order id is a 404 whose `NOT_FOUND` ccxt does not map (its phrase is in
  `refusal_phrases`), and a refused order a `success: false` answer ccxt raises as a
  bare ExchangeError (told apart by its `new_order_failure_reason`).

Its published REST limits (`limits`) are not windows execution's gate can pace by:
ccxt's own limiter paces each session at them, and the public one, per IP address, paces
the public requests of a process's sessions behind one address together
(`public_requests_per_s`). Its WebSocket limits (connections, and subscriptions without
a JWT, per IP address) pace a process's stream openings (`stream_openings_per_s`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ccxt  # type: ignore[import-untyped]

from tradewind.venues.adapters import VenueAdapter
from tradewind.venues.coinbase.limits import PUBLIC_REQUESTS_PACED_PER_S, STREAM_OPENINGS_PER_S
from tradewind.venues.key_check import KeyCheck
from tradewind.venues.port import VenueOrderStatus
from tradewind.venues.profile import Refusal, VenueProfile

SPOT: Mapping[str, Any] = {
    "defaultType": "spot",
    # Advanced Trade's accounts (available_balance and hold): ccxt's default, the /v2
    # wallets, says only each asset's total, so an open order's hold would read as free.
    "fetchBalance": "v3PrivateGetBrokerageAccounts",
}

SANDBOX_REFUSAL = (
    "adapter 'coinbase-sandbox' is not available: ccxt {version}'s `coinbase` (Advanced "
    "Trade) has no sandbox URLs (no urls['test'], so set_sandbox_mode cannot work), and "
    "Tradewind will not fall back to production; use 'coinbase' with a key of a small "
    "portfolio, or 'binance-testnet' to trade with test funds"
)


def _market_buy_by_size(amount: str) -> Mapping[str, Any]:
    """A market buy of exactly `amount` of the base asset: Advanced Trade's
    `market_market_ioc` takes a `base_size` on either side, where ccxt would send a
    `quote_size` (a sum to spend, whose fills may come to more or less than `amount` as
    the book moves: the platform's order would not add up). ccxt's own check for a price
    is turned off, and the order configuration, merged into ccxt's request last, wins."""
    return {
        "createMarketBuyOrderRequiresPrice": False,
        "order_configuration": {"market_market_ioc": {"base_size": amount}},
    }


PROFILE = VenueProfile(
    "coinbase",
    refusal_phrases=(
        ("order with this orderID was not found", Refusal.UNKNOWN_ORDER),
        ("new_order_failure_reason", Refusal.ORDER_REFUSED),
    ),
    statuses={
        "PENDING": VenueOrderStatus.NEW,
        "QUEUED": VenueOrderStatus.NEW,
        "OPEN": None,  # NEW or PARTIALLY_FILLED by what filled
        "CANCEL_QUEUED": None,
        "FILLED": VenueOrderStatus.FILLED,
        "CANCELLED": VenueOrderStatus.CANCELED,
        "EXPIRED": VenueOrderStatus.EXPIRED,
        "FAILED": VenueOrderStatus.REJECTED,
    },
    status_fields=("status",),
    raw_fields={
        "order.filled": ("filled_size", "cumulative_quantity"),  # REST, the user channel
        "order.cost": ("filled_value",),
        "order.average": ("average_filled_price", "avg_price"),
        "fill.price": ("price",),
        "fill.quantity": ("size",),
        "fill.fee": ("commission",),
        "trade.price": ("price",),
        "trade.quantity": ("size",),
    },
    client_order_id_param="client_order_id",
    orders_by_client_id=False,
    market_buy_params=_market_buy_by_size,
    history_pages=True,  # fills and orders: 100 a page by default, newest first
    stream_catch_up=True,  # the user channel's snapshot lists open orders only
    stream_openings_per_s=STREAM_OPENINGS_PER_S,
    public_requests_per_s=PUBLIC_REQUESTS_PACED_PER_S,
    candles_per_request=300,  # ccxt's coinbase asks for at most 300 (Coinbase serves 350)
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
