"""Reads of the caller's own trading: portfolio (from cached state), orders, fills,
equity history and analytics (from the system of record), every list paged with
`limit`/`offset`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from tradewind.domain.analytics_figures import (
    MIN_PAIRED_PERIODS,
    account_figures,
    exposure_of,
    figures_json,
)
from tradewind.domain.exact import EXACT
from tradewind.domain.model import Instrument
from tradewind.domain.orders import OrderState
from tradewind.domain.performance import (
    EquitySample,
    PeriodReturn,
    beta_and_correlation,
    bucketed,
    mean_equity,
    performance_of_returns,
    realized_changes,
    samples_from_valuations,
    time_weighted_returns,
    trade_stats,
    turnover,
)
from tradewind.domain.time_units import NS_PER_S, datetime_from_ns
from tradewind.gateway.auth import Principal
from tradewind.gateway.deps import GatewayState, PageParams, State, require
from tradewind.gateway.errors import ApiError, documented
from tradewind.gateway.rbac import Permission
from tradewind.gateway.routes_accounts import AccountId, owned_account
from tradewind.gateway.schemas import (
    AnalyticsView,
    EquityPoint,
    FillView,
    OrderView,
    Page,
    PortfolioView,
    QueryTime,
    page,
)
from tradewind.services.marketdata import read_last_prices
from tradewind.store import portfolio_snapshots, trades
from tradewind.store.database import as_utc

router = APIRouter(tags=["portfolio"])

Reader = Annotated[Principal, Depends(require(Permission.PORTFOLIO_READ))]
AccountFilter = Annotated[
    str | None,
    Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Only this account (default: all)"),
]


async def portfolio_bodies(state: GatewayState, account_ids: tuple[str, ...]) -> list[bytes]:
    """The JSON of each account's latest valuation, from the cache, else from its newest
    snapshot; accounts with neither (no valuation yet) are left out."""
    cache = state.portfolios
    bodies: list[bytes | None] = [cache.get(a) for a in account_ids]
    missing = [a for a, body in zip(account_ids, bodies, strict=True) if body is None]
    if missing:
        async with state.db.read() as conn:
            snapshots = await portfolio_snapshots.latest_snapshots(conn, missing)
        for position, account_id in enumerate(account_ids):
            if bodies[position] is None and account_id in snapshots:
                bodies[position] = cache.remember_snapshot(snapshots[account_id])
    return [body for body in bodies if body is not None]


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


@router.get(
    "/portfolio",
    response_model=Page[PortfolioView],
    responses=documented(401, 403),
    summary="Latest valuation of each of your accounts",
)
async def portfolio(caller: Reader, state: State, paging: PageParams) -> Response:
    """Served from the gateway's cached state (the portfolio service's live updates),
    falling back to the newest stored snapshot; accounts with no valuation yet are left
    out of the page."""
    owned = await state.ownership.accounts_of(caller.user_id)
    chosen = owned[paging.offset : paging.offset + paging.limit]
    bodies = await portfolio_bodies(state, chosen)
    more = len(owned) > paging.offset + paging.limit
    next_offset = str(paging.offset + paging.limit).encode() if more else b"null"
    return _json(
        b'{"items":['
        + b",".join(bodies)
        + b'],"limit":'
        + str(paging.limit).encode()
        + b',"offset":'
        + str(paging.offset).encode()
        + b',"next_offset":'
        + next_offset
        + b"}"
    )


@router.get(
    "/accounts/{account_id}/portfolio",
    response_model=PortfolioView,
    responses=documented(401, 403, 404),
)
async def account_portfolio(account_id: AccountId, caller: Reader, state: State) -> Response:
    owned = await state.ownership.accounts_of(caller.user_id)
    if account_id not in owned:
        await owned_account(state, caller.user_id, account_id)  # 404 unless just connected
    bodies = await portfolio_bodies(state, (account_id,))
    if not bodies:
        raise ApiError(404, "no valuation of this account yet", code="not_found")
    return _json(bodies[0])


async def _account_ids(state: GatewayState, caller: Principal, only: str | None) -> list[str]:
    if only is None:
        return list(await state.ownership.accounts_of(caller.user_id))
    await owned_account(state, caller.user_id, only)
    return [only]


_ID = r"^[A-Za-z0-9_-]{1,64}$"


def trade_filter(
    bot_id: Annotated[str | None, Query(pattern=_ID, description="Only this bot's")] = None,
    symbol: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Z0-9]{1,16}/[A-Z0-9]{1,16}$", description="Only this symbol (BASE/QUOTE)"
        ),
    ] = None,
    side: Annotated[Literal["BUY", "SELL"] | None, Query(description="Only this side")] = None,
    since: Annotated[QueryTime | None, Query(description="From this time (inclusive)")] = None,
    until: Annotated[QueryTime | None, Query(description="Before this time (exclusive)")] = None,
) -> trades.TradeFilter:
    """The filters orders and fills share; a time without a zone is UTC."""
    start = as_utc(since) if since is not None else None
    end = as_utc(until) if until is not None else None
    if start is not None and end is not None and end <= start:
        raise ApiError(422, "until must be after since", field="query.until")
    return trades.TradeFilter(bot_id=bot_id, symbol=symbol, side=side, since=start, until=end)


TradeFilterParams = Annotated[trades.TradeFilter, Depends(trade_filter)]
OrderStateFilter = Annotated[OrderState | None, Query(description="Only orders in this state")]


@router.get("/orders", responses=documented(401, 403, 404), summary="Your orders, newest first")
async def list_orders(
    caller: Reader,
    state: State,
    paging: PageParams,
    only: TradeFilterParams,
    account_id: AccountFilter = None,
    order_state: Annotated[OrderStateFilter, Query(alias="state")] = None,
) -> Page[OrderView]:
    ids = await _account_ids(state, caller, account_id)
    if order_state is not None:
        only = replace(only, state=order_state.value)
    async with state.db.read() as conn:
        found = await trades.list_orders(
            conn, ids, offset=paging.offset, limit=paging.limit + 1, only=only
        )
    items = [OrderView.model_validate(order, from_attributes=True) for order in found]
    return page(items, paging.limit, paging.offset)


@router.get("/fills", responses=documented(401, 403, 404), summary="Your fills, newest first")
async def list_fills(
    caller: Reader,
    state: State,
    paging: PageParams,
    only: TradeFilterParams,
    account_id: AccountFilter = None,
) -> Page[FillView]:
    ids = await _account_ids(state, caller, account_id)
    async with state.db.read() as conn:
        found = await trades.list_fills(
            conn, ids, offset=paging.offset, limit=paging.limit + 1, only=only
        )
    items = [FillView.model_validate(row) for row in found]
    return page(items, paging.limit, paging.offset)


@router.get(
    "/accounts/{account_id}/equity",
    responses=documented(401, 403, 404),
    summary="Equity over time, oldest first",
)
async def equity_history(
    account_id: AccountId, caller: Reader, state: State, paging: PageParams
) -> Page[EquityPoint]:
    account = await owned_account(state, caller.user_id, account_id)
    async with state.db.read() as conn:
        points = await portfolio_snapshots.equity_history(
            conn, account.id, offset=paging.offset, limit=paging.limit + 1
        )
    items = [EquityPoint(at=at, equity=equity) for at, equity in points]
    return page(items, paging.limit, paging.offset)


Resolution = Literal["minute", "hour", "day"]
RESOLUTION_S: dict[str, int] = {"minute": 60, "hour": 3_600, "day": 86_400}
#: The window when `from` is not given: about 1,000-2,000 periods of each resolution.
_DEFAULT_WINDOW = {
    "minute": timedelta(days=1),
    "hour": timedelta(days=60),
    "day": timedelta(days=730),
}
#: Valuations read for one answer at most (the newest); ~140 days of minute snapshots.
MAX_VALUATIONS = 200_000


#: The query parameters of an analytics window (accounts' and the platform's).
ResolutionQuery = Annotated[
    Resolution, Query(description="The period of the returns and of the equity series")
]
WindowStart = Annotated[
    QueryTime | None, Query(alias="from", description="Default: a window per resolution")
]
WindowEnd = Annotated[QueryTime | None, Query(alias="to", description="Default: now")]


def equity_points(samples: Sequence[EquitySample]) -> list[EquityPoint]:
    """An equity series as the API writes it."""
    return [EquityPoint(at=datetime_from_ns(s.ts_ns), equity=s.equity) for s in samples]


def analytics_window(
    resolution: Resolution, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    """The window an analytics query asked for (`from`, `to`): to now, and over the
    resolution's default window, unless given; 422 if it is empty."""
    until = as_utc(end) if end is not None else datetime.now(UTC)
    try:
        since = as_utc(start) if start is not None else until - _DEFAULT_WINDOW[resolution]
    except OverflowError:  # `to` within the default window of year 1
        raise ApiError(422, "`to` is too early", code="invalid_window", field="to") from None
    if since >= until:
        raise ApiError(422, "`from` must be before `to`", code="invalid_window", field="from")
    return since, until


@router.get(
    "/accounts/{account_id}/analytics",
    responses=documented(401, 403, 404),
    summary="Performance and risk of an account over a window",
)
async def account_analytics(
    account_id: AccountId,
    caller: Reader,
    state: State,
    resolution: ResolutionQuery = "hour",
    start: WindowStart = None,
    end: WindowEnd = None,
) -> AnalyticsView:
    """Returns (over the window, and over its last day, week and month), drawdown (with
    its dates, and the current one's start), volatility, Sharpe, Sortino, Calmar, VaR and
    CVaR (95 %, 99 %) of the account's equity (deposits and withdrawals taken out), from
    the valuations the portfolio service records, and the equity series at `resolution`;
    trade statistics from the changes of its realised PnL between valuations, the fees
    paid and the turnover over the window; exposure and concentration of its latest
    balances at the last prices. The same figures, under the same names, as the
    analytics service pushes (`"type": "analytics"`; docs/analytics.md)."""
    account = await owned_account(state, caller.user_id, account_id)
    since, until = analytics_window(resolution, start, end)
    async with state.db.read() as conn:
        rows = await portfolio_snapshots.valuations(
            conn, account.id, since, until, limit=MAX_VALUATIONS
        )
    period_s = RESOLUTION_S[resolution]
    samples = bucketed(
        samples_from_valuations((ts, eq, rp, up, fees) for ts, _, eq, rp, up, fees, _ in rows),
        period_s,
        fill=True,
    )
    traded = EXACT.subtract(rows[-1][6], rows[0][6]) if rows else Decimal(0)
    valuation_asset = rows[-1][1] if rows else None
    shares, concentration = (
        await _exposure(state, account.id, account.venue, valuation_asset)
        if valuation_asset is not None
        else ({}, None)
    )
    returns = time_weighted_returns(samples)
    symbol = state.analytics_benchmark
    beta, correlation = (
        _co_movement(
            returns, period_s, await _benchmark_returns(state, account.venue, symbol, resolution)
        )
        if symbol and len(returns) >= MIN_PAIRED_PERIODS
        else (None, None)
    )
    figures = account_figures(
        performance_of_returns(returns, period_s, samples[0].ts_ns if samples else None),
        trade_stats(realized_changes(row[3] for row in rows)),
        fees=EXACT.subtract(rows[-1][5], rows[0][5]) if rows else Decimal(0),
        turnover=turnover(traded, mean_equity(samples)),
        benchmark=symbol,
        beta=beta,
        correlation=correlation,
        exposure=shares,
        concentration=concentration,
    )
    return AnalyticsView(
        account_id=account.id,
        valuation_asset=valuation_asset,
        resolution=resolution,
        start=since,
        end=until,
        metrics=figures_json(figures),
        equity=equity_points(samples),
    )


#: The venue's candles of each resolution, for the benchmark's returns.
_CANDLE_INTERVAL = {"minute": "1m", "hour": "1h", "day": "1d"}
#: The benchmark's candles read for one answer (the newest): beta and correlation are
#: taken over the periods of the window these reach.
BENCHMARK_CANDLES = 1_000


async def _benchmark_returns(
    state: GatewayState, venue: str, symbol: str, resolution: Resolution
) -> dict[int, float]:
    """{period (ns since the epoch // the period): the benchmark's return over it}, from
    the close of its candle and of the one before on the account's venue (a period
    without a candle kept the price: a return of 0, as a flat period of an account's);
    {} when the venue does not list the symbol or does not answer."""
    try:
        if symbol not in await state.listings.symbols(venue):
            return {}
        candles = await state.candles.last(
            venue, symbol, _CANDLE_INTERVAL[resolution], BENCHMARK_CANDLES
        )
    except ApiError:  # the venue is not answering (502, 503): no beta this time
        return {}
    width_ms = RESOLUTION_S[resolution] * 1_000
    closes = {c.open_ms // width_ms: float(c.close) for c in candles if c.close > 0}
    found: dict[int, float] = {}
    if not closes:
        return found
    price = closes[min(closes)]
    for period in range(min(closes) + 1, max(closes) + 1):
        now = closes.get(period, price)
        found[period] = now / price - 1.0
        price = now
    return found


def _co_movement(
    returns: Sequence[PeriodReturn], period_s: int, benchmark: dict[int, float]
) -> tuple[float | None, float | None]:
    """Beta and correlation of the account's `returns` (each over the `period_s` period
    its time falls in) with the benchmark's of the same periods; (None, None) with fewer
    than `MIN_PAIRED_PERIODS` in common."""
    width_ns = period_s * NS_PER_S
    paired = [
        (period.value, theirs)
        for period in returns
        if (theirs := benchmark.get(period.ts_ns // width_ns)) is not None
    ]
    if len(paired) < MIN_PAIRED_PERIODS:
        return None, None
    return beta_and_correlation([ours for ours, _ in paired], [theirs for _, theirs in paired])


class _Balances(msgspec.Struct):
    """The part of a cached valuation (`cache.PortfolioJson`) exposure reads."""

    valuation_asset: str
    balances: dict[str, Decimal]


_decode_balances = msgspec.json.Decoder(_Balances).decode


async def _exposure(
    state: GatewayState, account_id: str, venue: str, valuation_asset: str
) -> tuple[dict[str, float], float | None]:
    """Exposure and concentration of the account's latest balances (its live valuation,
    else its newest snapshot) at the last prices marketdata keeps in the cache, on its
    venue; nothing without the cache or in another valuation asset than the window's."""
    bodies = await portfolio_bodies(state, (account_id,))
    if not bodies or state.cache is None:
        return {}, None
    latest = _decode_balances(bodies[0])
    if latest.valuation_asset != valuation_asset:
        return {}, None
    held = [
        asset for asset, amount in latest.balances.items() if amount and asset != valuation_asset
    ]
    instruments = [Instrument(venue, f"{a}/{valuation_asset}", a, valuation_asset) for a in held]
    found = await read_last_prices(state.cache, instruments)
    prices = {i.symbol: float(last.price) for i, last in found.items() if last.price > 0}
    return exposure_of(latest.balances, valuation_asset, prices.get)
