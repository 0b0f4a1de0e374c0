"""Risk limits: an account's own (its owner sets them) and the platform's ceiling (an
admin sets it). The analytics service engages an account's kill switch when its figures
break the tighter of the two (`domain/risk_limits.py`, docs/analytics.md); the account's
view shows the switch and its reason while it halts trading."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from tradewind.domain.risk_limits import (
    ENGAGED_BY,
    EffectiveLimits,
    Limit,
    RiskLimits,
    bot_limits,
    effective,
)
from tradewind.gateway.auth import Principal
from tradewind.gateway.deps import State, client_ip, require
from tradewind.gateway.errors import ApiError, documented
from tradewind.gateway.rbac import Permission
from tradewind.gateway.routes_accounts import AccountId, owned_account
from tradewind.gateway.routes_bots import BotId, owned_bot
from tradewind.gateway.schemas import (
    AccountRiskLimitsView,
    BotRiskLimitsBody,
    BotRiskLimitsView,
    EffectiveLimitsView,
    KillSwitchView,
    LimitInForce,
    RiskLimitsBody,
    RiskLimitsView,
)
from tradewind.store import audit, bots, risk_limits
from tradewind.store.audit import KillSwitchRecord
from tradewind.store.kill_switch_events import stage_kill_switch_event

router = APIRouter(tags=["risk limits"])

Reader = Annotated[Principal, Depends(require(Permission.ACCOUNTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.ACCOUNTS_WRITE))]
BotReader = Annotated[Principal, Depends(require(Permission.BOTS_READ))]
BotWriter = Annotated[Principal, Depends(require(Permission.BOTS_WRITE))]
CeilingReader = Annotated[Principal, Depends(require(Permission.KILL_SWITCHES_READ))]
CeilingWriter = Annotated[Principal, Depends(require(Permission.RISK_CEILING_WRITE))]


def _view(limits: RiskLimits) -> RiskLimitsView:
    return RiskLimitsView(max_drawdown=limits.max_drawdown, max_var_95=limits.max_var_95)


def _in_force(limit: Limit | None) -> LimitInForce | None:
    if limit is None:
        return None
    set_by = limit.set_by
    return LimitInForce(
        value=limit.value,
        set_by="account" if set_by == "account" else "bot" if set_by == "bot" else "platform",
    )


def _effective_view(limits: EffectiveLimits) -> EffectiveLimitsView:
    return EffectiveLimitsView(
        max_drawdown=_in_force(limits.max_drawdown), max_var_95=_in_force(limits.max_var_95)
    )


def _detail(body: RiskLimitsBody | BotRiskLimitsBody) -> dict[str, str | None]:
    """The limits as the audit log keeps them (decimal strings)."""
    return {k: None if v is None else str(v) for k, v in body.model_dump().items()}


def _account_halt(switches: list[KillSwitchRecord], account_id: str) -> KillSwitchRecord | None:
    return next((s for s in switches if (s.scope, s.target) == ("account", account_id)), None)


def _limits(body: RiskLimitsBody) -> RiskLimits:
    return RiskLimits(max_drawdown=body.max_drawdown, max_var_95=body.max_var_95)


async def _account_view(state: State, account_id: str) -> AccountRiskLimitsView:
    async with state.db.read() as conn:
        own = await risk_limits.account_limits(conn, account_id) or RiskLimits()
        platform = await risk_limits.platform_limits(conn)
        switches = await audit.list_kill_switches(conn)
    halt = _account_halt(switches, account_id)
    return AccountRiskLimitsView(
        account=_view(own),
        platform=_view(platform),
        effective=_effective_view(effective(own, platform)),
        halted=None
        if halt is None
        else KillSwitchView(
            scope=halt.scope,
            target=halt.target,
            reason=halt.reason,
            actor_id=halt.actor_id,
            engaged_at=halt.engaged_at,
        ),
    )


@router.get(
    "/accounts/{account_id}/risk-limits",
    responses=documented(401, 403, 404),
    summary="The account's risk limits, the platform's ceiling, and a halt they caused",
)
async def get_account_limits(
    account_id: AccountId, caller: Reader, state: State
) -> AccountRiskLimitsView:
    await owned_account(state, caller.user_id, account_id)
    return await _account_view(state, account_id)


@router.put(
    "/accounts/{account_id}/risk-limits",
    responses=documented(401, 403, 404, 422),
    summary="Set the account's risk limits (replaces them; null: no limit)",
)
async def set_account_limits(
    account_id: AccountId,
    body: RiskLimitsBody,
    caller: Writer,
    state: State,
    request: Request,
) -> AccountRiskLimitsView:
    """The analytics service checks them at its next round (every few seconds): a
    drawdown or VaR beyond the tighter of these and the platform's ceiling halts the
    account (kill switch, open orders cancelled), with the reason shown here."""
    await owned_account(state, caller.user_id, account_id)
    limits = _limits(body)
    async with state.db.transaction() as conn:
        await risk_limits.set_account_limits(conn, account_id, limits)
        await audit.record(
            conn,
            "risk_limits.set",
            actor_id=caller.user_id,
            target_type="account",
            target_id=account_id,
            detail=_detail(body),
            source_ip=client_ip(request),
        )
    return await _account_view(state, account_id)


@router.post(
    "/accounts/{account_id}/risk-limits/resume",
    responses=documented(401, 403, 404, 409),
    summary="Release a halt the account's risk limits caused",
)
async def resume_account(
    account_id: AccountId, caller: Writer, state: State, request: Request
) -> AccountRiskLimitsView:
    """Trading on the account resumes: the kill switch its risk limits engaged is
    released (the limits do not engage it again until the figures have come back within
    them, docs/analytics.md). 409 when nothing halts the account, or when an operator's
    switch does: only an operator releases that one."""
    await owned_account(state, caller.user_id, account_id)
    async with state.db.transaction() as conn:
        halt = _account_halt(await audit.list_kill_switches(conn), account_id)
        if halt is None:
            raise ApiError(409, "the account is not halted", code="not_halted")
        if halt.actor_id != ENGAGED_BY:
            raise ApiError(
                409,
                "the account is halted by an operator's kill switch, not by its risk "
                f"limits ({halt.reason}); an operator releases it",
                code="halted_by_operator",
            )
        await audit.release_kill_switch(conn, "account", account_id)
        await stage_kill_switch_event(
            conn,
            scope="account",
            target=account_id,
            engaged=False,
            reason="released by the account's owner",
            actor_id=caller.user_id,
        )
        await audit.record(
            conn,
            "kill_switch.released",
            actor_id=caller.user_id,
            target_type="account",
            target_id=account_id,
            detail={"engaged_by": ENGAGED_BY},
            source_ip=client_ip(request),
        )
    state.outbox_written()
    return await _account_view(state, account_id)


async def _bot_view(state: State, user_id: str, bot_id: str) -> BotRiskLimitsView:
    async with state.db.read() as conn:
        bot = await owned_bot(conn, user_id, bot_id)
        platform = await risk_limits.platform_limits(conn)
    own = RiskLimits(max_drawdown=bot.max_drawdown, max_var_95=bot.max_var_95)
    return BotRiskLimitsView(
        bot=_view(own),
        platform=_view(platform),
        effective=_effective_view(bot_limits(own, platform)),
        paused_reason=bot.paused_reason,
    )


@router.get(
    "/bots/{bot_id}/risk-limits",
    responses=documented(401, 403, 404),
    summary="The bot's risk limits, the platform's ceiling, and a pause they caused",
)
async def get_bot_limits(bot_id: BotId, caller: BotReader, state: State) -> BotRiskLimitsView:
    return await _bot_view(state, caller.user_id, bot_id)


@router.put(
    "/bots/{bot_id}/risk-limits",
    responses=documented(401, 403, 404, 422),
    summary="Set the bot's risk limits (replaces them; null: no limit)",
)
async def set_bot_limits(
    bot_id: BotId, body: BotRiskLimitsBody, caller: BotWriter, state: State, request: Request
) -> BotRiskLimitsView:
    """The analytics service checks them at its next round: a drawdown of the bot's PnL
    or a one-minute VaR beyond the tighter of these and the platform's ceiling pauses
    the bot, with the reason shown here and in the bot's view (docs/analytics.md,
    "Bots")."""
    async with state.db.transaction() as conn:
        bot = await owned_bot(conn, caller.user_id, bot_id)
        await bots.set_bot_limits(
            conn, bot.id, RiskLimits(max_drawdown=body.max_drawdown, max_var_95=body.max_var_95)
        )
        await audit.record(
            conn,
            "risk_limits.bot_set",
            actor_id=caller.user_id,
            target_type="bot",
            target_id=bot.id,
            detail=_detail(body),
            source_ip=client_ip(request),
        )
    return await _bot_view(state, caller.user_id, bot_id)


@router.get(
    "/admin/risk-limits",
    responses=documented(401, 403),
    summary="The platform's ceiling over every account's risk limits",
)
async def get_platform_limits(caller: CeilingReader, state: State) -> RiskLimitsView:
    async with state.db.read() as conn:
        return _view(await risk_limits.platform_limits(conn))


@router.put(
    "/admin/risk-limits",
    responses=documented(401, 403, 422),
    summary="Set the platform's ceiling (replaces it; null: no ceiling on that figure)",
)
async def set_platform_limits(
    body: RiskLimitsBody, caller: CeilingWriter, state: State, request: Request
) -> RiskLimitsView:
    """No account's limit may be looser: where an account's is, the ceiling applies."""
    limits = _limits(body)
    async with state.db.transaction() as conn:
        await risk_limits.set_platform_limits(conn, limits, actor_id=caller.user_id)
        await audit.record(
            conn,
            "risk_limits.platform_set",
            actor_id=caller.user_id,
            target_type="platform",
            detail=_detail(body),
            source_ip=client_ip(request),
        )
    return _view(limits)
