"""Binance's `/sapi/v1` endpoints a spot-only account answers: the API key's restrictions
and trading status, the coins of the wallet (with their networks, both ways switched
off: the simulator has no deposits or withdrawals) and the margin pairs (none).

These are what unmodified clients ask while loading markets: ccxt's `load_markets()`
with its default options calls capital/config/getall, margin/allPairs and
margin/isolated/allPairs (docs/venues/binance-spot-endpoints.md).
"""

from __future__ import annotations

import functools
from decimal import Decimal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.coin_networks import (
    COIN_NAMES,
    FIAT,
    CoinNetwork,
    networks_of,
)
from tradewind.venues.simulated.server.formatting import SymbolMap, free_amount, locked_amount
from tradewind.venues.simulated.server.rest_auth import Security, read_authenticated
from tradewind.venues.simulated.server.state import ServerState

#: Binance's thresholds for locking a key's trading (GTC cancel, IOC/FOK expiry and
#: unfilled ratios); the simulator never locks one.
TRIGGER_CONDITION = {"GCR": 150, "IFER": 150, "UFR": 300}
_NO_TRANSFERS = "The simulated exchange has no deposits or withdrawals."


def sapi_routes(state: ServerState, symbols: SymbolMap) -> APIRouter:
    """The wallet and margin routes under /sapi/v1."""
    exchange = state.exchange
    engine = exchange.engine
    listed_assets = {
        a for spec in exchange.specs.values() for a in (spec.instrument.base, spec.instrument.quote)
    }
    router = APIRouter(prefix="/sapi/v1")

    caller = functools.partial(read_authenticated, exchange)

    @router.get("/account/apiRestrictions")
    async def api_restrictions(request: Request) -> Response:
        _, creds = await caller(request, Security.USER_DATA)
        permissions = creds.permissions
        return json_response(
            {
                "ipRestrict": permissions.ip_restrict,
                "createTime": creds.created_ms,
                "enableReading": True,
                "enableSpotAndMarginTrading": permissions.trade,
                "enableWithdrawals": permissions.withdraw,
                "enableInternalTransfer": permissions.transfer,
                "enableMargin": False,
                "enableFutures": False,
                "permitsUniversalTransfer": permissions.transfer,
                "enableVanillaOptions": False,
                "enableFixApiTrade": False,
                "enableFixReadOnly": False,
                "enablePortfolioMarginTrading": False,
            }
        )

    @router.get("/account/apiTradingStatus")
    async def api_trading_status(request: Request) -> Response:
        _, creds = await caller(request, Security.USER_DATA)
        return json_response(
            {
                "data": {
                    "isLocked": False,
                    "plannedRecoverTime": 0,
                    "triggerCondition": TRIGGER_CONDITION,
                    "updateTime": creds.created_ms,
                }
            }
        )

    @router.get("/capital/config/getall")
    async def all_coins(request: Request) -> Response:
        _, creds = await caller(request, Security.USER_DATA)
        held = engine.balances(creds.account_id)
        coins = []
        for coin in sorted(listed_assets | set(held)):
            balance = engine.balance(creds.account_id, coin)
            coins.append(
                {
                    "coin": coin,
                    "depositAllEnable": False,
                    "withdrawAllEnable": False,
                    "name": COIN_NAMES.get(coin, coin),
                    "free": _plain(free_amount(balance.free)),
                    "locked": _plain(locked_amount(balance.locked)),
                    "freeze": "0",
                    "withdrawing": "0",
                    "ipoing": "0",
                    "ipoable": "0",
                    "storage": "0",
                    "isLegalMoney": coin in FIAT,
                    "trading": coin in listed_assets,
                    "networkList": [
                        _network(coin, network, is_default=i == 0)
                        for i, network in enumerate(networks_of(coin))
                    ],
                }
            )
        return json_response(coins)

    @router.get("/margin/allPairs")
    async def cross_margin_pairs(request: Request) -> Response:
        params, _ = await caller(request, Security.MARKET_DATA)
        params.optional_symbol(symbols)  # a listed symbol, or -1121
        return json_response([])  # spot only: no symbol trades on margin

    @router.get("/margin/isolated/allPairs")
    async def isolated_margin_pairs(request: Request) -> Response:
        params, _ = await caller(request, Security.MARKET_DATA)
        params.required("timestamp")  # mandatory here although the endpoint is not signed
        params.optional_symbol(symbols)
        return json_response([])

    return router


def _network(coin: str, network: CoinNetwork, *, is_default: bool) -> dict[str, object]:
    """One `networkList` item; amounts in `coin`."""
    return {
        "network": network.network,
        "coin": coin,
        "withdrawIntegerMultiple": "0.00000001",
        "isDefault": is_default,
        "depositEnable": False,
        "withdrawEnable": False,
        "depositDesc": _NO_TRANSFERS,
        "withdrawDesc": _NO_TRANSFERS,
        "specialTips": "",
        "specialWithdrawTips": "",
        "name": network.name,
        "resetAddressStatus": False,
        "addressRegex": network.address_regex,
        "memoRegex": network.memo_regex,
        "withdrawFee": "0",
        "withdrawMin": "0",
        "withdrawMax": "0",
        "withdrawInternalMin": "0",
        "depositDust": "0",
        "minConfirm": 0,
        "unLockConfirm": 0,
        "sameAddress": bool(network.memo_regex),
        "withdrawTag": bool(network.memo_regex),
        "estimatedArrivalTime": 0,
        "busy": False,
        "contractAddressUrl": "",
        "contractAddress": "",
    }


def _plain(amount: str) -> str:
    """An amount without trailing zeros ("12.5", "0"), as this endpoint writes them."""
    return format(Decimal(amount).normalize(), "f")
