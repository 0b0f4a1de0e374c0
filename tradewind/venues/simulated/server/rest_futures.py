"""The futures exchanges' exchangeInfo (USDⓈ-M `/fapi/v1`, COIN-M `/dapi/v1`), listing
nothing: the simulated venue trades spot only.

Binance serves these from other hosts (fapi.binance.com, dapi.binance.com); a client whose
every URL points here (ccxt's `load_markets()` asks for spot, linear and inverse markets
by default) learns that there are no futures instead of failing on a 404.
"""

from __future__ import annotations

import time

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.server.binance_errors import json_response


def futures_routes() -> APIRouter:
    router = APIRouter()

    @router.get("/fapi/v1/exchangeInfo")
    async def usd_margined_info(request: Request) -> Response:
        return json_response(_empty_info(assets=True))

    @router.get("/dapi/v1/exchangeInfo")
    async def coin_margined_info(request: Request) -> Response:
        return json_response(_empty_info(assets=False))

    return router


def _empty_info(*, assets: bool) -> dict[str, object]:
    """Binance's futures exchangeInfo shape with nothing listed (`assets` is USDⓈ-M's)."""
    info: dict[str, object] = {
        "timezone": "UTC",
        "serverTime": time.time_ns() // NS_PER_MS,
        "rateLimits": [],
        "exchangeFilters": [],
    }
    if assets:
        info["assets"] = []
    info["symbols"] = []
    return info
