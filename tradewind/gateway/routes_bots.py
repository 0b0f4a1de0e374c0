"""Bots: a strategy with parameters on one of the caller's exchange accounts.

Every state change writes the bot row, stages a `BotCommand` for the strategy service
on `bot.commands` (keyed by account id) through the transactional outbox, and records
an audit entry, all in one transaction: the command leaves if and only if the change
committed. Asking for the state a bot is already in changes nothing and sends nothing.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from tradewind.bus.envelope import envelope
from tradewind.bus.topics import BOT_COMMANDS
from tradewind.domain.bot_lifecycle import BotAction, transition
from tradewind.domain.bot_pnl import MinuteReturns, QuoteResults, bot_drawdown, bot_results
from tradewind.domain.commands import BotCommand
from tradewind.domain.kill_switches import covering_switches
from tradewind.domain.performance import EquitySample, bucketed
from tradewind.domain.time_units import datetime_from_ns
from tradewind.gateway.auth import Principal
from tradewind.gateway.deps import GatewayState, PageParams, State, client_ip, require
from tradewind.gateway.errors import ApiError, documented, not_found
from tradewind.gateway.rbac import Permission
from tradewind.gateway.routes_accounts import owned_account
from tradewind.gateway.routes_reads import (
    MAX_VALUATIONS,
    RESOLUTION_S,
    ResolutionQuery,
    WindowEnd,
    WindowStart,
    analytics_window,
)
from tradewind.gateway.schemas import (
    BotAnalyticsView,
    BotCreate,
    BotPnlPoint,
    BotQuoteResultsView,
    BotView,
    HaltedByView,
    HoldingView,
    Page,
    StrategyView,
    page,
)
from tradewind.store import accounts, audit, bot_snapshots, bots, trades
from tradewind.store.audit import KillSwitchRecord
from tradewind.store.bot_snapshots import BotSnapshot
from tradewind.store.bots import BotRecord
from tradewind.store.database import Connection
from tradewind.store.outbox import enqueue

router = APIRouter(tags=["bots"])

Reader = Annotated[Principal, Depends(require(Permission.BOTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.BOTS_WRITE))]
BotId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
StrategyName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


def bot_view(bot: BotRecord, halted_by: KillSwitchRecord | None = None) -> BotView:
    return BotView(
        id=bot.id,
        account_id=bot.account_id,
        strategy=bot.strategy,
        params=bot.params,
        state=bot.state.value,
        paused_reason=bot.paused_reason,
        halted_by=None if halted_by is None else HaltedByView.model_validate(halted_by),
        created_at=bot.created_at,
        updated_at=bot.updated_at,
    )


async def bot_views(conn: Connection, found: list[BotRecord]) -> list[BotView]:
    """`found` as views, each with the kill switch that halts it, if one does: the
    broadest engaged (`covering_switches`, as risk and execution choose)."""
    switches = {(s.scope, s.target): s for s in await audit.list_kill_switches(conn)}
    if not switches:
        return [bot_view(bot) for bot in found]
    venues = await accounts.venues(conn, {bot.account_id for bot in found})
    views = []
    for bot in found:
        keys = covering_switches(venues.get(bot.account_id, ""), bot.account_id, bot.id)
        halting = next((switches[key] for key in keys if key in switches), None)
        views.append(bot_view(bot, halting))
    return views


async def bot_view_of(conn: Connection, bot: BotRecord) -> BotView:
    """`bot` as a view, with the kill switch that halts it (see `bot_views`)."""
    return (await bot_views(conn, [bot]))[0]


async def owned_bot(conn: Connection, user_id: str, bot_id: str) -> BotRecord:
    bot = await bots.get_bot(conn, bot_id)
    if bot is None or bot.user_id != user_id:
        raise not_found("bot")
    return bot


async def _stage_command(
    conn: Connection, bot: BotRecord, action: BotAction, issued_by: str
) -> None:
    command = BotCommand(
        account_id=bot.account_id,
        bot_id=bot.id,
        action=action,
        issued_by=issued_by,
        ts_ns=time.time_ns(),
    )
    await enqueue(conn, BOT_COMMANDS, [envelope(command, bot.account_id)])


@router.get("/strategies", responses=documented(401, 403), summary="Installed strategies")
async def list_strategies(caller: Reader, state: State) -> list[StrategyView]:
    catalog = state.strategies
    return [StrategyView(name=n, params_schema=catalog.params_schema(n)) for n in catalog.names()]


@router.get("/strategies/{name}", responses=documented(401, 403, 404))
async def get_strategy(name: StrategyName, caller: Reader, state: State) -> StrategyView:
    if name not in state.strategies.names():
        raise not_found("strategy")
    return StrategyView(name=name, params_schema=state.strategies.params_schema(name))


@router.post(
    "/bots", status_code=201, responses=documented(401, 403, 404, 502, 503), summary="Create a bot"
)
async def create_bot(body: BotCreate, caller: Writer, state: State, request: Request) -> BotView:
    """A stopped bot running `strategy` with `params` on one of your accounts; the
    params are checked against the strategy's schema and the symbols the account's venue
    lists (422 naming the field and the bound) and stored with its defaults filled in."""
    account = await owned_account(state, caller.user_id, body.account_id)
    params = state.strategies.validate(body.strategy, body.params)
    listed = await state.listings.symbols(account.venue)
    state.strategies.require_listed(body.strategy, params, account.venue, listed)
    async with state.db.transaction() as conn:
        bot = await bots.create_bot(
            conn,
            user_id=caller.user_id,
            account_id=account.id,
            strategy=body.strategy,
            params=params,
        )
        await audit.record(
            conn,
            "bot.created",
            actor_id=caller.user_id,
            target_type="bot",
            target_id=bot.id,
            detail={"account_id": account.id, "strategy": body.strategy},
            source_ip=client_ip(request),
        )
        return await bot_view_of(conn, bot)


@router.get("/bots", responses=documented(401, 403), summary="Your bots")
async def list_bots(caller: Reader, state: State, paging: PageParams) -> Page[BotView]:
    async with state.db.read() as conn:
        found = await bots.list_bots(
            conn, user_id=caller.user_id, offset=paging.offset, limit=paging.limit + 1
        )
        views = await bot_views(conn, found)
    return page(views, paging.limit, paging.offset)


@router.get("/bots/{bot_id}", responses=documented(401, 403, 404))
async def get_bot(bot_id: BotId, caller: Reader, state: State) -> BotView:
    async with state.db.read() as conn:
        return await bot_view_of(conn, await owned_bot(conn, caller.user_id, bot_id))


MAX_BOT_FILLS = 100_000


@router.get(
    "/bots/{bot_id}/analytics",
    responses=documented(401, 403, 404, 422),
    summary="The bot's results from its own fills, and its PnL series over a window",
)
async def bot_analytics(
    bot_id: BotId,
    caller: Reader,
    state: State,
    resolution: ResolutionQuery = "hour",
    start: WindowStart = None,
    end: WindowEnd = None,
) -> BotAnalyticsView:
    """What the bot realised at average cost, paid in fees and traded, its closed
    trades' win rate, profit factor and average win and loss, and what it still holds:
    per quote asset, from the fills of its orders (a bot shares its account's money, so
    its figures are those of its trades; the account's returns and risk are at
    `/accounts/{id}/analytics`). And its PnL series in the account's valuation asset as
    the analytics service records it (`pnl` at `resolution` over [`from`, `to`]), with
    its drawdown over the window (the PnL's fall from its peak over the account's
    equity at the peak) and its one-minute VaR over the window's recorded minutes, as
    the bot's risk limits measure them (docs/analytics.md, "Bots")."""
    since, until = analytics_window(resolution, start, end)
    async with state.db.read() as conn:
        bot = await owned_bot(conn, caller.user_id, bot_id)
        found = await trades.bot_fills(conn, bot.account_id, bot.id, limit=MAX_BOT_FILLS + 1)
        series = await bot_snapshots.series(conn, bot.id, since, until, limit=MAX_VALUATIONS)
    truncated = len(found) > MAX_BOT_FILLS
    results = bot_results(found[-MAX_BOT_FILLS:])
    quote = series[-1].quote if series else None
    series = [s for s in series if s.quote == quote]  # a change of valuation asset
    drawdown = bot_drawdown((s.pnl, s.account_equity) for s in series) if series else None
    returns = MinuteReturns(keep_minutes=int((until - since).total_seconds()) // 60 + 1)
    for s in series:
        returns.add(s.ts_ns, s.pnl, s.account_equity)
    return BotAnalyticsView(
        bot_id=bot.id,
        account_id=bot.account_id,
        fills=results.fills,
        truncated=truncated,
        by_quote=[_quote_view(q) for _, q in sorted(results.by_quote.items())],
        unvalued_fees=results.unvalued_fees,
        resolution=resolution,
        start=since,
        end=until,
        quote=quote,
        pnl=_pnl_points(series, RESOLUTION_S[resolution]),
        current_drawdown=None if drawdown is None else drawdown.current,
        max_drawdown=None if drawdown is None else drawdown.max,
        var_95=returns.var_95(),
        var_periods=returns.periods,
    )


def _pnl_points(series: list[BotSnapshot], period_s: int) -> list[BotPnlPoint]:
    """Each period's last PnL, the periods between two recorded ones filled flat (as an
    account's equity series)."""
    samples = bucketed([EquitySample(s.ts_ns, s.pnl) for s in series], period_s, fill=True)
    return [BotPnlPoint(at=datetime_from_ns(s.ts_ns), pnl=s.equity) for s in samples]


def _quote_view(q: QuoteResults) -> BotQuoteResultsView:
    closed = q.trades
    return BotQuoteResultsView(
        quote=q.quote, realized_pnl=q.realized_pnl, fees=q.fees, bought=q.bought, sold=q.sold,
        volume=q.volume, trades=closed.trades, win_rate=closed.win_rate,
        profit_factor=closed.profit_factor, average_win=closed.average_win,
        average_loss=closed.average_loss,
        holdings=[
            HoldingView(symbol=symbol, quantity=h.quantity, average_cost=h.average_cost)
            for symbol, h in sorted(q.holdings.items())
        ],
    )  # fmt: skip


async def _change_state(
    state: GatewayState, caller: Principal, bot_id: str, action: BotAction, ip: str
) -> BotView:
    async with state.db.transaction() as conn:
        bot = await owned_bot(conn, caller.user_id, bot_id)
        step = transition(bot.state, action)
        if step.refused is not None:
            raise ApiError(409, step.refused, code="invalid_transition")
        if not step.changes:
            return await bot_view_of(conn, bot)
        target = step.target
        await bots.set_bot_state(conn, bot.id, target, paused_reason=None)
        await _stage_command(conn, bot, action, caller.user_id)
        await audit.record(
            conn,
            f"bot.{action.value}",
            actor_id=caller.user_id,
            target_type="bot",
            target_id=bot.id,
            detail={"from": bot.state.value, "to": target.value},
            source_ip=ip,
        )
        changed = await bots.get_bot(conn, bot.id) or bot
        view = await bot_view_of(conn, changed)
    state.outbox_written()
    return view


@router.post("/bots/{bot_id}/start", responses=documented(401, 403, 404, 409))
async def start_bot(bot_id: BotId, caller: Writer, state: State, request: Request) -> BotView:
    return await _change_state(state, caller, bot_id, BotAction.START, client_ip(request))


@router.post("/bots/{bot_id}/pause", responses=documented(401, 403, 404, 409))
async def pause_bot(bot_id: BotId, caller: Writer, state: State, request: Request) -> BotView:
    return await _change_state(state, caller, bot_id, BotAction.PAUSE, client_ip(request))


@router.post("/bots/{bot_id}/stop", responses=documented(401, 403, 404, 409))
async def stop_bot(bot_id: BotId, caller: Writer, state: State, request: Request) -> BotView:
    return await _change_state(state, caller, bot_id, BotAction.STOP, client_ip(request))


@router.delete("/bots/{bot_id}", status_code=204, responses=documented(401, 403, 404))
async def delete_bot(bot_id: BotId, caller: Writer, state: State, request: Request) -> Response:
    """Stop the bot if it runs, then delete it."""
    async with state.db.transaction() as conn:
        bot = await owned_bot(conn, caller.user_id, bot_id)
        stopping = transition(bot.state, BotAction.STOP).changes
        if stopping:
            await _stage_command(conn, bot, BotAction.STOP, caller.user_id)
        await bots.delete_bot(conn, bot.id)
        await audit.record(
            conn,
            "bot.deleted",
            actor_id=caller.user_id,
            target_type="bot",
            target_id=bot.id,
            detail={"was": bot.state.value},
            source_ip=client_ip(request),
        )
    if stopping:
        state.outbox_written()
    return Response(status_code=204)
