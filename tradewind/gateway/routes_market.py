"""Venues and their public market data, as the dashboard shows them: which venues an
account can be connected to, and an account's venue's candles for a bot's price chart
(read and kept by `market_candles.MarketCandles`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from tradewind.gateway.auth import Principal
from tradewind.gateway.deps import State, require
from tradewind.gateway.errors import ApiError, documented
from tradewind.gateway.rbac import Permission
from tradewind.gateway.routes_accounts import owned_account
from tradewind.gateway.schemas import CandleView, VenueView
from tradewind.venues.directory import CcxtVenues

router = APIRouter(tags=["market data"])

MAX_CANDLES = 1000

#: The candle widths charts may ask for: ones every supported venue serves, or builds
#: from its one-minute candles.
Interval = Literal["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d"]
AccountId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


@router.get("/venues", responses=documented(401, 403), summary="Venues to connect accounts to")
async def list_venues(
    caller: Annotated[Principal, Depends(require(Permission.VENUES_READ))], state: State
) -> list[VenueView]:
    """Every venue this platform trades on, by the name `POST /accounts` takes."""
    venues = state.venues
    views = []
    for name in venues.names:
        spec = venues.spec(name) if isinstance(venues, CcxtVenues) else None
        if spec is None:
            views.append(VenueView(name=name, kind="simulated", adapter=None))
        else:
            views.append(VenueView(name=name, kind="exchange", adapter=spec.adapter))
    return views


@router.get(
    "/accounts/{account_id}/candles",
    responses=documented(401, 403, 404, 422, 502, 503),
    summary="Candles of a symbol on the account's venue",
)
async def account_candles(
    account_id: AccountId,
    caller: Annotated[Principal, Depends(require(Permission.ACCOUNTS_READ))],
    state: State,
    # Optional only so that another user's account id answers 404 before any 422.
    symbol: Annotated[
        str | None, Query(min_length=3, max_length=40, description="Required; e.g. BTC/USDT")
    ] = None,
    interval: Annotated[Interval, Query(description="Candle width")] = "5m",
    limit: Annotated[int, Query(ge=1, le=MAX_CANDLES, description="Candles, newest last")] = 200,
) -> list[CandleView]:
    """The last `limit` closed candles of `symbol` at `interval` on the venue of one of
    your accounts, oldest first (a period without trades has none); `ts` is each
    candle's open time in ms since the Unix epoch. 422 if the venue does not list the
    symbol; 503 if it cannot be reached, 502 if it fails otherwise."""
    account = await owned_account(state, caller.user_id, account_id)
    if symbol is None:
        raise ApiError(422, "symbol: give the market, e.g. BTC/USDT", field="query.symbol")
    if symbol not in await state.listings.symbols(account.venue):
        raise ApiError(422, f"symbol: {account.venue} does not list {symbol}", field="query.symbol")
    found = await state.candles.last(account.venue, symbol, interval, limit)
    return [
        CandleView(ts=c.open_ms, open=c.open, high=c.high, low=c.low, close=c.close,
                   volume=c.volume)
        for c in found
    ]  # fmt: skip
