"""A Coinbase user's accounts (one per asset: what ccxt reads balances from), its API
key's permissions and its fee tier, on the simulated exchange.

    GET /api/v3/brokerage/accounts[?limit=&cursor=]   available_balance and hold per asset
    GET /api/v3/brokerage/accounts/{account_uuid}
    GET /v2/accounts[?limit=]                          total per asset (ccxt's default)
    GET /api/v3/brokerage/key_permissions
    GET /api/v3/brokerage/transaction_summary          the account's maker and taker rates
"""

from __future__ import annotations

import time
from decimal import Decimal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.domain.time_units import NS_PER_DAY
from tradewind.venues.simulated.matching import BalanceSnapshot
from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.coinbase import errors
from tradewind.venues.simulated.server.coinbase.orders import iso_time
from tradewind.venues.simulated.server.coinbase.products import (
    FIAT,
    asset_name,
    plain,
    stable_uuid,
)
from tradewind.venues.simulated.server.coinbase.requests import CoinbaseRequests, paging
from tradewind.venues.simulated.server.state import ServerState

MAX_ACCOUNTS_PAGE = 250  # Coinbase: limit at most 250, default 49
DEFAULT_ACCOUNTS_PAGE = 49
_ZERO = Decimal(0)


def _wallets(state: ServerState, account_id: str, assets: list[str]) -> list[BalanceSnapshot]:
    """One balance per asset of the venue (zero where the account holds none), sorted."""
    held = state.exchange.engine.balances(account_id)
    return [held.get(a) or BalanceSnapshot(a, _ZERO, _ZERO) for a in assets]


def _v3_account(account_id: str, balance: BalanceSnapshot, portfolio: str) -> dict[str, object]:
    asset = balance.asset
    created = iso_time(0)
    return {
        "uuid": stable_uuid("wallet", account_id, asset),
        "name": f"{asset} Wallet",
        "currency": asset,
        "available_balance": {"value": plain(balance.free), "currency": asset},
        "default": True,
        "active": True,
        "created_at": created,
        "updated_at": created,
        "deleted_at": None,
        "type": "ACCOUNT_TYPE_FIAT" if asset in FIAT else "ACCOUNT_TYPE_CRYPTO",
        "ready": True,
        "hold": {"value": plain(balance.locked), "currency": asset},
        "retail_portfolio_id": portfolio,
        "platform": "ACCOUNT_PLATFORM_CONSUMER",
    }


def _v2_account(account_id: str, balance: BalanceSnapshot) -> dict[str, object]:
    asset = balance.asset
    wallet = stable_uuid("wallet", account_id, asset)
    created = iso_time(0)
    return {
        "id": wallet,
        "name": f"{asset} Wallet",
        "primary": True,
        "type": "fiat" if asset in FIAT else "wallet",
        "currency": {"code": asset, "name": asset_name(asset), "exponent": 8, "type": "crypto"},
        "balance": {"amount": plain(balance.free + balance.locked), "currency": asset},
        "created_at": created,
        "updated_at": created,
        "resource": "account",
        "resource_path": f"/v2/accounts/{wallet}",
    }


def account_routes(state: ServerState, requests: CoinbaseRequests) -> APIRouter:
    router = APIRouter()
    assets = requests.products.assets()

    async def accounts(request: Request) -> Response:
        account_id = await requests.account(request)
        offset, limit = paging(request, DEFAULT_ACCOUNTS_PAGE, MAX_ACCOUNTS_PAGE)
        wallets = _wallets(state, account_id, assets)
        page = wallets[offset : offset + limit]
        has_next = offset + limit < len(wallets)
        portfolio = requests.portfolio(account_id)
        return json_response(
            {
                "accounts": [_v3_account(account_id, b, portfolio) for b in page],
                "has_next": has_next,
                "cursor": str(offset + limit) if has_next else "",
                "size": len(page),
            }
        )

    async def one_account(request: Request) -> Response:
        account_id = await requests.account(request)
        wanted = request.path_params["account_uuid"]
        portfolio = requests.portfolio(account_id)
        for balance in _wallets(state, account_id, assets):
            if stable_uuid("wallet", account_id, balance.asset) == wanted:
                return json_response({"account": _v3_account(account_id, balance, portfolio)})
        raise errors.not_found(f"no account {wanted!r}")

    async def v2_accounts(request: Request) -> Response:
        account_id = await requests.account(request, v2=True)
        rows = [_v2_account(account_id, b) for b in _wallets(state, account_id, assets)]
        pagination = {"ending_before": None, "starting_after": None, "limit": len(rows),
                      "order": "desc", "previous_uri": None, "next_uri": None}  # fmt: skip
        return json_response({"pagination": pagination, "data": rows})

    async def key_permissions(request: Request) -> Response:
        await requests.account(request)
        key_name = state.coinbase_keys.key_name_of(request.headers)
        assert key_name is not None
        perms = state.coinbase_keys.permissions(key_name)
        return json_response(
            {
                "can_view": perms.can_view,
                "can_trade": perms.can_trade,
                "can_transfer": perms.can_transfer,
                "portfolio_uuid": perms.portfolio_uuid,
                "portfolio_type": perms.portfolio_type,
            }
        )

    async def transaction_summary(request: Request) -> Response:
        account_id = await requests.account(request)
        maker, taker = state.exchange.engine.fee_rates(account_id)
        trades = state.exchange.engine.account_trades(account_id)
        since_ns = time.time_ns() - 30 * NS_PER_DAY
        volume = sum((t.quote_quantity for t in trades if t.ts_ns >= since_ns), _ZERO)
        return json_response(
            {
                "total_volume": plain(volume),  # a JSON number on Coinbase; exact here
                "total_fees": 0,
                "fee_tier": {
                    "pricing_tier": "Simulated",
                    "usd_from": "0",
                    "usd_to": "10000",
                    "taker_fee_rate": plain(taker),
                    "maker_fee_rate": plain(maker),
                    "aop_from": "",
                    "aop_to": "",
                },
                "margin_rate": None,
                "goods_and_services_tax": None,
                "advanced_trade_only_volume": plain(volume),
                "advanced_trade_only_fees": 0,
                "coinbase_pro_volume": 0,
                "coinbase_pro_fees": 0,
            }
        )

    brokerage = "/api/v3/brokerage"
    router.add_api_route(f"{brokerage}/accounts", accounts, methods=["GET"])
    router.add_api_route(f"{brokerage}/accounts/{{account_uuid}}", one_account, methods=["GET"])
    router.add_api_route("/v2/accounts", v2_accounts, methods=["GET"])
    router.add_api_route(f"{brokerage}/key_permissions", key_permissions, methods=["GET"])
    router.add_api_route(f"{brokerage}/transaction_summary", transaction_summary, methods=["GET"])
    return router
