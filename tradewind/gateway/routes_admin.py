"""Operating the platform: users and their roles, kill switches, service health and
circuit breakers, the audit log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from tradewind.domain.analytics_figures import account_figures, figures_json
from tradewind.domain.bot_lifecycle import BotState
from tradewind.domain.performance import (
    bucketed,
    performance,
    samples_from_valuations,
    summed_valuations,
)
from tradewind.domain.risk_limits import ENGAGED_BY
from tradewind.domain.time_units import NS_PER_S, datetime_from_ns, ns_from_datetime
from tradewind.gateway.auth import Principal
from tradewind.gateway.deps import GatewayState, PageParams, State, client_ip, require
from tradewind.gateway.errors import ApiError, documented, not_found
from tradewind.gateway.rbac import Permission, Role
from tradewind.gateway.routes_auth import masked_email
from tradewind.gateway.routes_reads import (
    MAX_VALUATIONS,
    RESOLUTION_S,
    ResolutionQuery,
    WindowEnd,
    WindowStart,
    analytics_window,
    equity_points,
)
from tradewind.gateway.schemas import (
    AdminUserView,
    AuditEntryView,
    BreakerView,
    DeadLetterView,
    KillSwitchEngage,
    KillSwitchOutcome,
    KillSwitchRelease,
    KillSwitchView,
    Page,
    PlatformAnalyticsView,
    PlatformPerformanceView,
    RolesChange,
    ServiceHealth,
    ValuationTotalView,
    page,
)
from tradewind.runtime.service_status import BREAKERS_VIEW, breaker_states
from tradewind.store import audit, bots, login_failures, portfolio_snapshots, users
from tradewind.store.audit import KillSwitchRecord
from tradewind.store.kill_switch_events import stage_kill_switch_event

router = APIRouter(prefix="/admin", tags=["operations"])

UserId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
DEAD_LETTERS_VIEW = "/deadletters"
"""The admin view where the deadletters service keeps the latest dead letters."""


def _admin_user(state: GatewayState, user: users.UserRecord) -> AdminUserView:
    return AdminUserView(
        id=user.id,
        email=masked_email(state, user),
        roles=list(user.roles),
        created_at=user.created_at,
        disabled=user.disabled,
        failed_logins=user.failed_logins,
        locked_until=user.locked_until,
    )


@router.get("/users", responses=documented(401, 403), summary="Every user")
async def list_users(
    caller: Annotated[Principal, Depends(require(Permission.USERS_READ))],
    state: State,
    paging: PageParams,
) -> Page[AdminUserView]:
    async with state.db.read() as conn:
        found = await users.list_users(conn, offset=paging.offset, limit=paging.limit + 1)
    return page([_admin_user(state, u) for u in found], paging.limit, paging.offset)


@router.put("/users/{user_id}/roles", responses=documented(401, 403, 404, 409))
async def set_roles(
    user_id: UserId,
    body: RolesChange,
    caller: Annotated[Principal, Depends(require(Permission.USERS_WRITE))],
    state: State,
    request: Request,
) -> AdminUserView:
    """Replace a user's roles. Every token they hold stops working at once (on other
    gateway instances within a second) and open streams close; they log in or refresh
    to get the new roles. You cannot take the admin role from yourself."""
    roles = tuple(dict.fromkeys(role.value for role in body.roles))
    if user_id == caller.user_id and Role.ADMIN.value not in roles:
        raise ApiError(409, "you cannot remove your own admin role; ask another admin")
    async with state.db.transaction() as conn:
        user = await users.get_user(conn, user_id)
        if user is None:
            raise not_found("user")
        await users.set_roles(conn, user_id, roles)
        version = await users.raise_token_version(conn, user_id)
        await audit.record(
            conn,
            "user.roles_changed",
            actor_id=caller.user_id,
            target_type="user",
            target_id=user_id,
            detail={"from": list(user.roles), "to": list(roles)},
            source_ip=client_ip(request),
        )
        user = await users.get_user(conn, user_id) or user
    if version is not None:
        state.authenticator.revocations.raise_version(user_id, version)
    return _admin_user(state, user)


UserWriter = Annotated[Principal, Depends(require(Permission.USERS_WRITE))]


@router.post("/users/{user_id}/disable", responses=documented(401, 403, 404, 409))
async def disable_user(
    user_id: UserId, caller: UserWriter, state: State, request: Request
) -> AdminUserView:
    """Disable a user: they cannot log in, every session and token they hold ends at
    once (other gateway instances within a second), and their open streams close. Their
    bots are left as they are: stop them, or engage a kill switch, if they must not
    trade. You cannot disable yourself."""
    if user_id == caller.user_id:
        raise ApiError(409, "you cannot disable yourself; ask another admin")
    return await _set_disabled(user_id, True, caller, state, request)


@router.post("/users/{user_id}/enable", responses=documented(401, 403, 404))
async def enable_user(
    user_id: UserId, caller: UserWriter, state: State, request: Request
) -> AdminUserView:
    """Let a disabled user log in again (their old sessions stay ended)."""
    return await _set_disabled(user_id, False, caller, state, request)


async def _set_disabled(
    user_id: str, disabled: bool, caller: Principal, state: GatewayState, request: Request
) -> AdminUserView:
    version = None
    async with state.db.transaction() as conn:
        if not await users.set_disabled(conn, user_id, disabled):
            raise not_found("user")
        if disabled:
            version = await users.raise_token_version(conn, user_id)
        await audit.record(
            conn,
            "user.disabled" if disabled else "user.enabled",
            actor_id=caller.user_id,
            target_type="user",
            target_id=user_id,
            source_ip=client_ip(request),
        )
        user = await users.get_user(conn, user_id)
    assert user is not None
    if version is not None:
        state.authenticator.revocations.raise_version(user_id, version)
        await state.refresh_tokens.revoke_all(user_id, "admin")
    return _admin_user(state, user)


@router.post("/users/{user_id}/unlock", responses=documented(401, 403, 404))
async def unlock_user(
    user_id: UserId, caller: UserWriter, state: State, request: Request
) -> AdminUserView:
    """Clear the waits that failed logins put on every source for this user's address
    (after the owner proved who they are some other way)."""
    async with state.db.transaction() as conn:
        user = await users.get_user(conn, user_id)
        if user is None:
            raise not_found("user")
        cleared = await login_failures.clear_address(conn, user.email_index)
        await users.record_login_success(conn, user_id)
        await audit.record(
            conn,
            "user.unlocked",
            actor_id=caller.user_id,
            target_type="user",
            target_id=user_id,
            detail={"sources_cleared": cleared},
            source_ip=client_ip(request),
        )
        user = await users.get_user(conn, user_id) or user
    return _admin_user(state, user)


def _switch_view(switch: KillSwitchRecord) -> KillSwitchView:
    return KillSwitchView(
        scope=switch.scope,
        target=switch.target,
        reason=switch.reason,
        actor_id=switch.actor_id,
        engaged_at=switch.engaged_at,
    )


def _check_target(scope: str, target: str) -> None:
    if (scope == "global") != (target == ""):
        raise ApiError(
            422,
            "target: give no target for the global switch and one for any other scope",
            field="body.target",
        )


KillReader = Annotated[Principal, Depends(require(Permission.KILL_SWITCHES_READ))]
KillWriter = Annotated[Principal, Depends(require(Permission.KILL_SWITCHES_WRITE))]


@router.get("/kill-switches", responses=documented(401, 403), summary="Engaged kill switches")
async def list_kill_switches(caller: KillReader, state: State) -> list[KillSwitchView]:
    async with state.db.read() as conn:
        return [_switch_view(s) for s in await audit.list_kill_switches(conn)]


@router.post("/kill-switches", responses=documented(401, 403), summary="Engage a kill switch")
async def engage_kill_switch(
    body: KillSwitchEngage, caller: KillWriter, state: State, request: Request
) -> KillSwitchOutcome:
    """Halt new orders for everything, a venue, an account or a bot; `reason` is shown
    to the users whose orders it stops."""
    _check_target(body.scope, body.target)
    async with state.db.transaction() as conn:
        await audit.engage_kill_switch(
            conn, body.scope, body.target, reason=body.reason, actor_id=caller.user_id
        )
        published = await stage_kill_switch_event(
            conn,
            scope=body.scope,
            target=body.target,
            engaged=True,
            reason=body.reason,
            actor_id=caller.user_id,
        )
        await audit.record(
            conn,
            "kill_switch.engaged",
            actor_id=caller.user_id,
            target_type=body.scope,
            target_id=body.target,
            detail={"reason": body.reason},
            source_ip=client_ip(request),
        )
        engaged = [
            s
            for s in await audit.list_kill_switches(conn)
            if (s.scope, s.target) == (body.scope, body.target)
        ]
    if published:
        state.outbox_written()
    return KillSwitchOutcome(
        switch=_switch_view(engaged[0]) if engaged else None, changed=True, published=published
    )


@router.post(
    "/kill-switches/release", responses=documented(401, 403), summary="Release a kill switch"
)
async def release_kill_switch(
    body: KillSwitchRelease, caller: KillWriter, state: State, request: Request
) -> KillSwitchOutcome:
    _check_target(body.scope, body.target)
    async with state.db.transaction() as conn:
        released = await audit.release_kill_switch(conn, body.scope, body.target)
        published = False
        if released:
            published = await stage_kill_switch_event(
                conn,
                scope=body.scope,
                target=body.target,
                engaged=False,
                reason="released",
                actor_id=caller.user_id,
            )
            await audit.record(
                conn,
                "kill_switch.released",
                actor_id=caller.user_id,
                target_type=body.scope,
                target_id=body.target,
                source_ip=client_ip(request),
            )
    if published:
        state.outbox_written()
    return KillSwitchOutcome(switch=None, changed=released, published=published)


OperationsReader = Annotated[Principal, Depends(require(Permission.OPERATIONS_READ))]


@router.get("/analytics", responses=documented(401, 403), summary="The platform's aggregates")
async def platform_analytics(caller: OperationsReader, state: State) -> PlatformAnalyticsView:
    """Accounts and their money per valuation asset (each account's newest recorded
    valuation, summed exactly), bots per state, and the accounts a kill switch halts."""
    async with state.db.read() as conn:
        totals = await portfolio_snapshots.platform_totals(conn)
        by_state = await bots.count_by_state(conn)
        switches = [s for s in await audit.list_kill_switches(conn) if s.scope == "account"]
    return PlatformAnalyticsView(
        accounts=sum(t.accounts for t in totals),
        bots={s.value: by_state.get(s, 0) for s in BotState},
        halted_accounts=len(switches),
        halted_by_risk_limits=sum(s.actor_id == ENGAGED_BY for s in switches),
        by_valuation_asset=[
            ValuationTotalView(
                valuation_asset=t.valuation_asset, accounts=t.accounts, equity=t.equity,
                realized_pnl=t.realized_pnl, unrealized_pnl=t.unrealized_pnl, fees=t.fees,
                newest=t.newest,
            )
            for t in totals
        ],
    )  # fmt: skip


@router.get(
    "/analytics/performance",
    responses=documented(401, 403, 422),
    summary="The platform's return and drawdown",
)
async def platform_performance(
    caller: OperationsReader,
    state: State,
    valuation_asset: Annotated[
        str | None, Query(max_length=16, description="Default: every one accounts use")
    ] = None,
    resolution: ResolutionQuery = "hour",
    start: WindowStart = None,
    end: WindowEnd = None,
) -> list[PlatformPerformanceView]:
    """Return, drawdown, volatility, Sharpe, Sortino, Calmar, VaR and CVaR of all the
    accounts' equity together, per valuation asset, from the valuations the portfolio
    service records (each account's last in each period); deposits, withdrawals and new
    accounts are flows, not performance."""
    since, until = analytics_window(resolution, start, end)
    period_s = RESOLUTION_S[resolution]
    async with state.db.read() as conn:
        found = await portfolio_snapshots.platform_valuations(
            conn, since, until, period_s=period_s, limit=MAX_VALUATIONS,
            valuation_asset=valuation_asset,
        )  # fmt: skip
    # The accounts' valuations before the window open it, as of the end of the period
    # before the one `from` falls in: the first period's return counts.
    width = period_s * NS_PER_S
    start_ns = ns_from_datetime(since) // width
    start_ns = start_ns * width - 1
    views = []
    for asset, valuations in sorted(found.items()):
        summed = summed_valuations(valuations.opening, valuations.changes, start_ns)
        samples = bucketed(samples_from_valuations(summed), period_s, fill=True)
        accounts = valuations.opening.keys() | {a for a, _ in valuations.changes}
        views.append(
            PlatformPerformanceView(
                valuation_asset=asset,
                accounts=len(accounts),
                resolution=resolution,
                start=since,
                end=until,
                metrics=figures_json(account_figures(performance(samples, period_s))),
                equity=equity_points(samples),
            )
        )
    return views


@router.get("/health", responses=documented(401, 403), summary="Services' readiness")
async def service_health(caller: OperationsReader, state: State) -> list[ServiceHealth]:
    """The gateway itself, every other service running in this process, then every
    instance of the services other processes publish to the shared cache
    (`runtime.service_status`; one that stopped publishing drops out after a few
    seconds). Each row names the process it runs in."""
    here = state.instance
    found = [ServiceHealth(name="gateway", instance=here, status="ready")]
    for peer in state.peers():
        status: Literal["ready", "not_ready", "unknown"]
        try:
            status = "ready" if peer.ready() else "not_ready"
        except Exception:  # a peer's readiness check must not break this report
            status = "unknown"
        found.append(ServiceHealth(name=peer.name, instance=here, status=status))
    for remote in await state.remote_peers():
        status = "unknown" if remote.ready is None else "ready" if remote.ready else "not_ready"
        found.append(ServiceHealth(name=remote.name, instance=remote.instance, status=status))
    return found


@router.get("/breakers", responses=documented(401, 403), summary="Venue circuit breakers")
async def breakers(caller: OperationsReader, state: State) -> list[BreakerView]:
    """Each venue's breaker in each execution instance that reports it, in this process
    or (through the shared cache) in another; one `unknown` row for a configured venue
    none reports. Configured venues first, in their order, then any other reported."""
    reported: dict[str, dict[str, str]] = {}  # venue -> instance -> state
    for peer in state.peers():
        view = peer.admin_views().get(BREAKERS_VIEW)
        if view is not None:
            for venue, breaker in breaker_states(view()).items():
                reported.setdefault(venue, {})[state.instance] = breaker
    for remote in await state.remote_peers():
        for venue, breaker in remote.breakers.items():
            reported.setdefault(venue, {})[remote.instance] = breaker
    venues = list(state.venues.names)
    venues += sorted(v for v in reported if v not in venues)
    found = []
    for venue in venues:
        by_instance = reported.get(venue)
        if not by_instance:
            found.append(BreakerView(venue=venue, instance=None, state="unknown"))
            continue
        found += [
            BreakerView(venue=venue, instance=instance, state=breaker)
            for instance, breaker in sorted(by_instance.items())
        ]
    return found


@router.get("/dead-letters", responses=documented(401, 403, 503), summary="The latest dead letters")
async def dead_letters(
    caller: OperationsReader, state: State, paging: PageParams
) -> Page[DeadLetterView]:
    """Events a service gave up on, newest first, as the deadletters service in this
    process keeps them (the latest thousand, since it started). 503 when it runs
    elsewhere: ask its health server's `GET /deadletters`."""
    for peer in state.peers():
        view = peer.admin_views().get(DEAD_LETTERS_VIEW)
        if view is not None:
            kept = view()
            break
    else:
        raise ApiError(
            503,
            "the deadletters service does not run in this process; read its health "
            "server's GET /deadletters",
        )
    chosen = kept[paging.offset : paging.offset + paging.limit + 1]
    items = [
        DeadLetterView(
            topic=d.topic, group=d.group, reason=d.reason, attempts=d.attempts,
            event_id=d.event_id, dead_letter_id=d.dead_letter_id,
            dead_lettered_at=datetime_from_ns(d.ts_ns),
        )
        for d in chosen
    ]  # fmt: skip
    return page(items, paging.limit, paging.offset)


@router.get("/audit", responses=documented(401, 403), summary="The audit log, newest first")
async def audit_log(
    caller: Annotated[Principal, Depends(require(Permission.AUDIT_READ))],
    state: State,
    paging: PageParams,
    action: Annotated[str | None, Query(pattern=r"^[a-z_.]{1,64}$")] = None,
    actor_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
) -> Page[AuditEntryView]:
    async with state.db.read() as conn:
        entries = await audit.query(
            conn, action=action, actor_id=actor_id, offset=paging.offset, limit=paging.limit + 1
        )
    items = [AuditEntryView.model_validate(e, from_attributes=True) for e in entries]
    return page(items, paging.limit, paging.offset)
