"""Coinbase's names for the simulated exchange's listings and assets: product ids
(`BTC-USD` for the engine's `BTC/USD`), the product and currency views, and the pairs a
coinbase-served synthetic market lists (USD and USDC quotes, as on Coinbase)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal

from tradewind.venues.simulated.market import SyntheticSpec
from tradewind.venues.simulated.matching import InstrumentSpec

#: The synthetic market of a venue served with `--api coinbase`.
COINBASE_SYNTHETIC: Mapping[str, SyntheticSpec] = {
    "BTC/USD": SyntheticSpec(Decimal("30000")),
    "ETH/USD": SyntheticSpec(Decimal("2000"), volatility=0.9),
    "SOL/USD": SyntheticSpec(Decimal("100"), volatility=1.2),
    "BTC/USDC": SyntheticSpec(Decimal("30000")),
    "ETH/USDC": SyntheticSpec(Decimal("2000"), volatility=0.9),
}

#: Fiat currencies (Coinbase's `/v2/currencies`); every other asset is crypto.
FIAT = {"USD": "US Dollar", "EUR": "Euro", "GBP": "British Pound"}
_NAMES = {
    "BTC": "Bitcoin",
    "ETH": "Ethereum",
    "SOL": "Solana",
    "USDC": "USDC",
    "USDT": "Tether",
    "BNB": "BNB",
    "XRP": "XRP",
}
_IDS = uuid.UUID("6f1d2c8e-4a55-4d3e-9c61-0b7f4f6f2a10")  # namespace of the sim's uuids

#: Largest base and quote sizes of an order, as Coinbase lists them for a major pair.
QUOTE_MAX_SIZE = Decimal("150000000")


def product_id(symbol: str) -> str:
    """`BTC/USD` -> `BTC-USD`."""
    return symbol.replace("/", "-")


def asset_name(asset: str) -> str:
    return FIAT.get(asset) or _NAMES.get(asset) or asset


def stable_uuid(*parts: str) -> str:
    """A uuid that is always the same for the same parts (accounts, orders, assets): a
    client sees stable ids across requests without the simulator storing them."""
    return str(uuid.uuid5(_IDS, "/".join(parts)))


class ProductMap:
    """Product ids <-> engine symbols of one venue."""

    def __init__(self, specs: Mapping[str, InstrumentSpec]) -> None:
        self._specs = dict(specs)
        self._by_id = {product_id(s): s for s in specs}

    def symbol(self, pid: str) -> str | None:
        return self._by_id.get(pid)

    def spec(self, symbol: str) -> InstrumentSpec:
        return self._specs[symbol]

    @property
    def product_ids(self) -> list[str]:
        return sorted(self._by_id)

    def assets(self) -> list[str]:
        """Every asset traded on the venue, sorted."""
        found: set[str] = set()
        for spec in self._specs.values():
            found.update((spec.instrument.base, spec.instrument.quote))
        return sorted(found)


def plain(value: Decimal) -> str:
    """A decimal as Coinbase writes it: no exponent, no trailing zeros ("0" for zero)."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def product_view(
    spec: InstrumentSpec,
    *,
    price: Decimal,
    change_24h_percent: Decimal,
    volume_24h: Decimal,
    quote_volume_24h: Decimal,
    mid_market: Decimal | None,
) -> dict[str, object]:
    """One product as `GET /api/v3/brokerage/market/products` lists it."""
    inst, filters = spec.instrument, spec.filters
    base, quote = inst.base, inst.quote
    pid = product_id(inst.symbol)
    quote_min = filters.min_notional if filters.min_notional > 0 else filters.tick_size
    return {
        "product_id": pid,
        "price": plain(price),
        "price_percentage_change_24h": plain(change_24h_percent),
        "volume_24h": plain(volume_24h),
        "volume_percentage_change_24h": "0",
        "base_increment": plain(filters.step_size),
        "quote_increment": plain(filters.tick_size),
        "quote_min_size": plain(quote_min),
        "quote_max_size": plain(min(filters.max_notional, QUOTE_MAX_SIZE)),
        "base_min_size": plain(filters.min_qty),
        "base_max_size": plain(filters.max_qty),
        "base_name": asset_name(base),
        "quote_name": asset_name(quote),
        "watched": False,
        "is_disabled": False,
        "new": False,
        "status": "online",
        "cancel_only": False,
        "limit_only": False,
        "post_only": False,
        "trading_disabled": False,
        "auction_mode": False,
        "product_type": "SPOT",
        "quote_currency_id": quote,
        "base_currency_id": base,
        "fcm_trading_session_details": None,
        "mid_market_price": "" if mid_market is None else plain(mid_market),
        "alias": "",
        "alias_to": [],
        "base_display_symbol": base,
        "quote_display_symbol": quote,
        "view_only": False,
        "price_increment": plain(filters.tick_size),
        "display_name": f"{base}-{quote}",
        "product_venue": "CBE",
        "approximate_quote_24h_volume": plain(quote_volume_24h),
    }


def currencies_view(
    assets: Iterable[str],
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """(fiat, crypto) as `/v2/currencies` and `/v2/currencies/crypto` list them."""
    fiat: list[dict[str, object]] = []
    crypto: list[dict[str, object]] = []
    for index, asset in enumerate(sorted(assets)):
        if asset in FIAT:
            fiat.append({"id": asset, "name": FIAT[asset], "min_size": "0.01"})
        else:
            crypto.append(
                {
                    "asset_id": stable_uuid("asset", asset),
                    "code": asset,
                    "name": asset_name(asset),
                    "color": "#0052FF",
                    "sort_index": index,
                    "exponent": 8,
                    "type": "crypto",
                    "address_regex": "^.+$",
                }
            )
    return fiat, crypto
