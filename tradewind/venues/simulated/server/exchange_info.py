"""exchangeInfo's description of one symbol: status, precisions, order types and filters.

Binance publishes a real maximum in every filter (`maxPrice`, `maxNotional`; clients such
as ccxt read them into their market limits, and a 0 there caps every order at 0). The
venue's listings carry Binance's usual maxima, which the engine enforces
(`instruments.spec_for`); an instrument built elsewhere with a maximum left at 0 (the
engine's "no maximum") is published with those same usual values.
"""

from __future__ import annotations

from decimal import Decimal

from tradewind.venues.simulated.instruments import MAX_NOTIONAL, TICKS_PER_MAX_PRICE
from tradewind.venues.simulated.matching import InstrumentSpec, SymbolFilters
from tradewind.venues.simulated.server.formatting import (
    ASSET_PRECISION,
    SELF_TRADE_PREVENTION,
    fixed,
)
from tradewind.venues.simulated.server.order_views import (
    ALLOW_TRAILING_STOP,
    CANCEL_REPLACE_ALLOWED,
    OCO_ALLOWED,
    ORDER_TYPES,
)


def published_max_price(filters: SymbolFilters) -> Decimal:
    """PRICE_FILTER.maxPrice, quote per base unit: the instrument's, or 10**8 ticks."""
    return filters.max_price or filters.tick_size * TICKS_PER_MAX_PRICE


def published_max_notional(filters: SymbolFilters) -> Decimal:
    """NOTIONAL.maxNotional, quote units: the instrument's, or 9000000."""
    return filters.max_notional or MAX_NOTIONAL


def symbol_info(spec: InstrumentSpec, wire_symbol: str) -> dict[str, object]:
    """One item of exchangeInfo's `symbols`."""
    f = spec.filters
    return {
        "symbol": wire_symbol,
        "status": "TRADING",
        "baseAsset": spec.instrument.base,
        "baseAssetPrecision": ASSET_PRECISION,
        "quoteAsset": spec.instrument.quote,
        "quotePrecision": ASSET_PRECISION,
        "quoteAssetPrecision": ASSET_PRECISION,
        "baseCommissionPrecision": ASSET_PRECISION,
        "quoteCommissionPrecision": ASSET_PRECISION,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": False,
        "ocoAllowed": OCO_ALLOWED,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": ALLOW_TRAILING_STOP,
        "cancelReplaceAllowed": CANCEL_REPLACE_ALLOWED,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fixed(f.min_price),
                "maxPrice": fixed(published_max_price(f)),
                "tickSize": fixed(f.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fixed(f.min_qty),
                "maxQty": fixed(f.max_qty),
                "stepSize": fixed(f.step_size),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fixed(f.min_notional),
                "applyMinToMarket": f.apply_min_to_market,
                "maxNotional": fixed(published_max_notional(f)),
                "applyMaxToMarket": f.apply_max_to_market,
                "avgPriceMins": 0,  # market orders are checked against the best price
            },
        ],
        "permissions": ["SPOT"],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": SELF_TRADE_PREVENTION,
        "allowedSelfTradePreventionModes": [SELF_TRADE_PREVENTION],
    }
