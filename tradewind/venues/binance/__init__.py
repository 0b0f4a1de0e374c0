"""The Binance adapters (`binance`, `binance-testnet`): Binance spot through ccxt's
`binance`, with Binance's published limits, its refusal codes, its raw payload's names
and the fills its user data stream reports (`stream`). The simulated exchange serves
the same API, so its sessions over HTTP use this profile too
(`venues.simulated.profile`)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tradewind.venues.adapters import VenueAdapter
from tradewind.venues.binance import errors, keys, limits, stream
from tradewind.venues.port import VenueOrderStatus
from tradewind.venues.profile import Refusal, VenueProfile

SPOT: Mapping[str, Any] = {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}}
"""Binance's markets are loaded from the spot API only: the futures APIs are of no use to
a spot platform, and ccxt refuses futures in sandbox mode (futures testnet retired)."""

PROFILE = VenueProfile(
    "binance",
    limits=limits.rules(),
    error_code=errors.error_code,  # {"code": -2010, "msg": …}
    # -1015: too many new orders (the account's order count, not the IP's weight).
    refusal_codes={-1015: Refusal.ACCOUNT_RATE_LIMITED},
    # -2010 is shared by several refusals; a client order id in use says this.
    refusal_phrases=(("Duplicate order sent", Refusal.DUPLICATE_CLIENT_ID),),
    statuses={
        "NEW": VenueOrderStatus.NEW,
        "PENDING_NEW": VenueOrderStatus.NEW,
        "PARTIALLY_FILLED": VenueOrderStatus.PARTIALLY_FILLED,
        "PENDING_CANCEL": None,  # still open: NEW or PARTIALLY_FILLED by what filled
        "FILLED": VenueOrderStatus.FILLED,
        "CANCELED": VenueOrderStatus.CANCELED,
        "EXPIRED": VenueOrderStatus.EXPIRED,
        "EXPIRED_IN_MATCH": VenueOrderStatus.EXPIRED,  # self-trade prevention
        "REJECTED": VenueOrderStatus.REJECTED,
    },
    status_fields=("status", "X"),  # REST, and the user data stream's executionReport
    raw_fields={
        "order.quantity": ("origQty", "q"),
        "order.filled": ("executedQty", "z"),
        "order.cost": ("cummulativeQuoteQty", "Z"),
        "order.price": ("price", "p"),
        "order.average": ("avgPrice", "ap"),
        # A cancel's answer has the order's id here, the cancel request's own in
        # clientOrderId (which ccxt reports).
        "order.client_order_id": ("origClientOrderId",),
        "fill.price": ("price", "L"),
        "fill.quantity": ("qty", "l"),
        "fill.fee": ("commission", "n"),
        "fill.quote_quantity": ("quoteQty", "Y"),
        "trade.price": ("p", "price"),
        "trade.quantity": ("q", "qty"),
        "balances.as_of": ("updateTime",),
        "balances.rows": ("balances",),
    },
    # A trade's quoteQty: price x quantity rounded down to 10^-8 (the buyer pays it).
    quote_step=Decimal("1e-8"),
    candles_per_request=1000,  # klines' `limit` at most
    # A TRADE executionReport carries its fill: a resting order's fills come with the
    # order stream's updates, not from myTrades + allOrders (40 weight a symbol).
    stream_fill=stream.execution_fill,
)

BINANCE = VenueAdapter(
    "binance",
    PROFILE,
    "binance",
    options=SPOT,
    key_check_method="sapi_get_account_apirestrictions",
    read_key_check=keys.from_api_restrictions,
)

TESTNET = VenueAdapter(
    "binance-testnet",
    PROFILE,  # the testnet publishes the same structure of limits
    "binance",
    sandbox=True,
    options=SPOT,
    key_check_method="private_get_account",  # no /sapi on the testnet
    read_key_check=keys.from_testnet_account,
)
