"""The next rebalance of a `rebalance` bot: the orders it would place now and the risk
before and after (docs/analytics.md, "The next rebalance").

Its inputs, all read when asked: the bot's params (the bots table), the account's
latest valuation's balances (as `GET /accounts/{id}/portfolio` serves them: the
portfolio service's live update, else the newest snapshot), the last prices
marketdata keeps in the cache, and the venue's markets (filters and taker fee, through
the gateway's cached listings). The plan itself is the strategy's own code
(`strategies/rebalance_preview.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Literal

import msgspec
from fastapi import APIRouter

from tradewind.domain.model import Instrument
from tradewind.domain.time_units import datetime_from_ns
from tradewind.gateway.deps import GatewayState, State
from tradewind.gateway.errors import ApiError, documented, not_found
from tradewind.gateway.routes_bots import BotId, Reader, owned_bot
from tradewind.gateway.routes_reads import portfolio_bodies
from tradewind.gateway.schemas import (
    AssetWeightView,
    NextRebalanceView,
    PlannedOrderView,
    RiskFiguresView,
)
from tradewind.gateway.strategies import (
    RebalanceNotPlannable,
    RebalanceParams,
    preview_rebalance,
    rebalance_params,
)
from tradewind.services.marketdata import read_last_prices
from tradewind.store import accounts
from tradewind.venues.port import Market

router = APIRouter(tags=["bots"])

FeeSource = Literal["venue", "assumed"]

#: The taker fee assumed when the venue lists none: 0.1 %, most venues' base rate.
ASSUMED_TAKER_FEE = Decimal("0.001")


class _Balances(msgspec.Struct):
    """The part of a cached valuation (`cache.PortfolioJson`) the plan reads."""

    balances: dict[str, Decimal]
    as_of: datetime


_decode_balances = msgspec.json.Decoder(_Balances).decode


@router.get(
    "/bots/{bot_id}/next-rebalance",
    responses=documented(401, 403, 404, 409),
    summary="The orders the bot's next rebalance would place, and the risk before and after",
)
async def next_rebalance(bot_id: BotId, caller: Reader, state: State) -> NextRebalanceView:
    """For a `rebalance` bot, now: the market orders its next rebalance would place
    (sells first), what they trade (in quote and as a fraction of equity) and would pay
    in taker fees, and each asset's weight, the concentration (Herfindahl) and the
    largest weight before and after the planned fills at the last prices. 409 naming
    the problem for another strategy, a momentum weighting (its closes are not kept
    here) or balances or prices not known yet."""
    async with state.db.read() as conn:
        bot = await owned_bot(conn, caller.user_id, bot_id)
        account = await accounts.get_account(conn, bot.account_id)
    if account is None:  # removed since: its bots go with it
        raise not_found("bot")
    params = rebalance_params(bot.strategy, bot.params)
    if params.weighting == "momentum":
        raise ApiError(
            409,
            f"the momentum weighting needs the last {params.momentum_bars + 1} closes of "
            "every basket symbol, which the gateway does not keep; only the bot knows its "
            "next targets",
            code="not_plannable",
        )
    balances = await _latest_balances(state, account.id)
    prices, prices_as_of = await _last_prices(state, account.venue, params)
    markets = await _markets(state, account.venue, params)
    notes: list[str] = []
    if markets is None:
        notes.append(f"not rounded: {account.venue}'s markets could not be loaded")
    fee_rate, fee_source = _taker_fee(markets)
    if fee_source == "assumed":
        notes.append(f"taker fee assumed {ASSUMED_TAKER_FEE:%}: the venue lists none")
    try:
        preview = preview_rebalance(
            params,
            balances=balances.balances,
            prices=prices,
            markets=markets,
            fee_rate=fee_rate,
        )
    except RebalanceNotPlannable as exc:
        raise ApiError(409, exc.reason, code="not_plannable") from None
    return NextRebalanceView(
        bot_id=bot.id,
        account_id=account.id,
        quote=preview.quote,
        orders=[
            PlannedOrderView(side=o.side.value, symbol=o.symbol, quantity=o.quantity, value=o.value)
            for o in preview.orders
        ],
        equity=preview.equity,
        traded=preview.traded,
        traded_fraction=preview.traded_fraction,
        fee_rate=preview.fee_rate,
        fee_rate_source=fee_source,
        fees=preview.fees,
        rounded=markets is not None,
        weights=[AssetWeightView(asset=w.asset, before=w.before, after=w.after)
                 for w in preview.weights],
        before=RiskFiguresView(concentration=preview.before.concentration,
                               largest_weight=preview.before.largest_weight),
        after=RiskFiguresView(concentration=preview.after.concentration,
                              largest_weight=preview.after.largest_weight),
        balances_as_of=balances.as_of,
        prices_as_of=prices_as_of,
        notes=notes,
    )  # fmt: skip


async def _latest_balances(state: GatewayState, account_id: str) -> _Balances:
    """The balances of the account's latest valuation; 409 before its first."""
    bodies = await portfolio_bodies(state, (account_id,))
    if not bodies:
        raise ApiError(
            409,
            "the account's balances are not known yet: the portfolio service has not valued "
            "it; try again once GET /accounts/{id}/portfolio answers",
            code="not_plannable",
        )
    return _decode_balances(bodies[0])


async def _last_prices(
    state: GatewayState, venue: str, params: RebalanceParams
) -> tuple[dict[str, Decimal], datetime]:
    """The basket's last prices and when the oldest of them was traded; 409 naming the
    symbols without one."""
    if state.cache is None:
        raise ApiError(
            409,
            "this gateway is not given the cache where marketdata keeps the last prices",
            code="not_plannable",
        )
    instruments = [Instrument.parse(venue, symbol) for symbol in params.basket]
    found = await read_last_prices(state.cache, instruments)
    missing = [i.symbol for i in instruments if i not in found or found[i].price <= 0]
    if missing:
        raise ApiError(
            409,
            f"no last price yet for {', '.join(missing)} on {venue}; marketdata records one "
            "with the symbol's first trade",
            code="not_plannable",
        )
    oldest_ns = min(last.ts_ns for last in found.values())
    return {i.symbol: last.price for i, last in found.items()}, datetime_from_ns(oldest_ns)


async def _markets(
    state: GatewayState, venue: str, params: RebalanceParams
) -> Mapping[str, Market] | None:
    """The basket's markets, or None when the venue's listing cannot be had (or lacks a
    basket symbol): the plan is then not rounded, and says so."""
    try:
        listed = await state.listings.markets(venue)
    except ApiError:  # 502/503: the venue is not answering; plan without its filters
        return None
    if any(symbol not in listed for symbol in params.basket):
        return None
    return {symbol: listed[symbol] for symbol in params.basket}


def _taker_fee(markets: Mapping[str, Market] | None) -> tuple[Decimal, FeeSource]:
    """The largest taker fee the basket's markets list (the estimate errs high), or
    `ASSUMED_TAKER_FEE` when any lists none."""
    fees = [m.taker_fee for m in markets.values()] if markets is not None else []
    if not fees or any(fee is None for fee in fees):
        return ASSUMED_TAKER_FEE, "assumed"
    return max(fee for fee in fees if fee is not None), "venue"
