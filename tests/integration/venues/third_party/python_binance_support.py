"""python-binance (1.0.37) pointed at the venue by base URL only.

python-binance takes no base URL argument (`tld` and `base_endpoint` only pick among
Binance's own hosts): its clients build every URL from class attributes (`API_URL`,
`MARGIN_API_URL`, `WS_API_URL`, and the socket manager's `STREAM_URL`), which its
constructors `format()` with the tld. A subclass setting them is the supported way to
re-host it (the same way its testnet/demo URLs are attributes); nothing else changes.

The sync and async clients run one `order_flow` session through their own calls.
"""

from __future__ import annotations

import asyncio
from typing import Any

from binance.async_client import AsyncClient
from binance.client import Client
from binance.exceptions import BinanceAPIException
from binance.ws.streams import BinanceSocketManager

from tests.integration.venues.third_party.order_flow import Json
from tests.integration.venues.third_party.venue_support import Venue


def rehosted(cls: type[Any], venue: Venue) -> type[Any]:
    """`cls` (Client or AsyncClient) with every spot URL on the venue."""
    attrs = {
        "API_URL": f"{venue.url}/api",
        "MARGIN_API_URL": f"{venue.url}/sapi",
        "WS_API_URL": f"{venue.ws_url}/ws-api/v3",
    }
    return type(f"Venue{cls.__name__}", (cls,), attrs)


def socket_manager(venue: Venue) -> type[BinanceSocketManager]:
    attrs = {"STREAM_URL": f"{venue.ws_url}/"}
    return type("VenueBinanceSocketManager", (BinanceSocketManager,), attrs)


def sync_client(venue: Venue, api_key: str | None = None, secret: str | None = None) -> Client:
    client: Client = rehosted(Client, venue)(api_key, secret)
    return client


async def async_client(
    venue: Venue, api_key: str | None = None, secret: str | None = None
) -> AsyncClient:
    client: AsyncClient = await rehosted(AsyncClient, venue).create(api_key, secret)
    return client


class _Codes:
    def error_code(self, error: Exception) -> int | None:
        return error.code if isinstance(error, BinanceAPIException) else None


class SyncCalls(_Codes):
    """`order_flow.SpotCalls` through python-binance's sync `Client` (in a thread)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def _call(self, name: str, **params: Any) -> Any:
        return await asyncio.to_thread(getattr(self.client, name), **params)

    async def place(self, params: dict[str, str]) -> Json:
        return await self._call("create_order", **params)  # type: ignore[no-any-return]

    async def place_oco(self, params: dict[str, str]) -> Json:
        side = params["side"]
        rest = {k: v for k, v in params.items() if k != "side"}
        name = "order_oco_sell" if side == "SELL" else "order_oco_buy"
        return await self._call(name, **rest)  # type: ignore[no-any-return]

    async def order(self, symbol: str, order_id: int) -> Json:
        return await self._call("get_order", symbol=symbol, orderId=order_id)  # type: ignore[no-any-return]

    async def cancel(self, symbol: str, order_id: int) -> Json:
        return await self._call("cancel_order", symbol=symbol, orderId=order_id)  # type: ignore[no-any-return]

    async def open_orders(self, symbol: str) -> list[Json]:
        return await self._call("get_open_orders", symbol=symbol)  # type: ignore[no-any-return]

    async def open_order_lists(self) -> list[Json]:
        return await self._call("get_open_oco_orders")  # type: ignore[no-any-return]

    async def cancel_all(self, symbol: str) -> list[Json]:
        return await self._call("cancel_all_open_orders", symbol=symbol)  # type: ignore[no-any-return]

    async def my_trades(self, symbol: str) -> list[Json]:
        return await self._call("get_my_trades", symbol=symbol)  # type: ignore[no-any-return]

    async def account(self) -> Json:
        return await self._call("get_account")  # type: ignore[no-any-return]

    async def commission(self, symbol: str) -> Json:
        return await self._call("v3_get_account_commission", symbol=symbol)  # type: ignore[no-any-return]


class AsyncCalls(_Codes):
    """`order_flow.SpotCalls` through python-binance's `AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    async def place(self, params: dict[str, str]) -> Json:
        return await self.client.create_order(**params)  # type: ignore[no-any-return]

    async def place_oco(self, params: dict[str, str]) -> Json:
        return await self.client.create_oco_order(**params)  # type: ignore[no-any-return]

    async def order(self, symbol: str, order_id: int) -> Json:
        return await self.client.get_order(symbol=symbol, orderId=order_id)  # type: ignore[no-any-return]

    async def cancel(self, symbol: str, order_id: int) -> Json:
        return await self.client.cancel_order(symbol=symbol, orderId=order_id)  # type: ignore[no-any-return]

    async def open_orders(self, symbol: str) -> list[Json]:
        return await self.client.get_open_orders(symbol=symbol)  # type: ignore[no-any-return]

    async def open_order_lists(self) -> list[Json]:
        return await self.client.get_open_oco_orders()  # type: ignore[no-any-return]

    async def cancel_all(self, symbol: str) -> list[Json]:
        return await self.client.cancel_all_open_orders(symbol=symbol)  # type: ignore[no-any-return]

    async def my_trades(self, symbol: str) -> list[Json]:
        return await self.client.get_my_trades(symbol=symbol)  # type: ignore[no-any-return]

    async def account(self) -> Json:
        return await self.client.get_account()  # type: ignore[no-any-return]

    async def commission(self, symbol: str) -> Json:
        return await self.client.v3_get_account_commission(symbol=symbol)  # type: ignore[no-any-return]


class WsApiCalls(_Codes):
    """`order_flow.SpotCalls` through `AsyncClient`'s WebSocket API methods (`ws_*`: one
    connection to `/ws-api/v3`, signed requests)."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    async def place(self, params: dict[str, str]) -> Json:
        return await self.client.ws_create_order(**params)  # type: ignore[no-any-return]

    async def place_oco(self, params: dict[str, str]) -> Json:
        return await self.client.ws_create_oco_order(**params)  # type: ignore[no-any-return]

    async def order(self, symbol: str, order_id: int) -> Json:
        return await self.client.ws_get_order(symbol=symbol, orderId=order_id)  # type: ignore[no-any-return]

    async def cancel(self, symbol: str, order_id: int) -> Json:
        return await self.client.ws_cancel_order(symbol=symbol, orderId=order_id)  # type: ignore[no-any-return]

    async def open_orders(self, symbol: str) -> list[Json]:
        return await self.client.ws_get_open_orders(symbol=symbol)  # type: ignore[no-any-return]

    async def open_order_lists(self) -> list[Json]:
        return await self.client.ws_get_oco_open_orders()  # type: ignore[no-any-return]

    async def cancel_all(self, symbol: str) -> list[Json]:
        return await self.client.ws_cancel_all_open_orders(symbol=symbol)  # type: ignore[no-any-return]

    async def my_trades(self, symbol: str) -> list[Json]:
        return await self.client.ws_get_my_trades(symbol=symbol)  # type: ignore[no-any-return]

    async def account(self) -> Json:
        return await self.client.ws_get_account()  # type: ignore[no-any-return]

    async def commission(self, symbol: str) -> Json:
        return await self.client.ws_get_commission_rates(symbol=symbol)  # type: ignore[no-any-return]
