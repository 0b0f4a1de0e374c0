"""Sign-up, login, token refresh, logout, and who am I.

Login answers the same "wrong e-mail or password" whether or not the address exists,
and does the same argon2 work either way. Attempts are throttled per client IP and per
account (429 with `Retry-After`); `max_failures` wrong passwords in a row lock the
account for `lockout_s` seconds, across every gateway instance. Every outcome is
audited, without the address or the password.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from tradewind.gateway.auth import Principal, unauthenticated
from tradewind.gateway.deps import GatewayState, State, client_ip, require
from tradewind.gateway.errors import ApiError, documented
from tradewind.gateway.queries import find_user_by_email_indexes
from tradewind.gateway.rate_limits import RateLimiter
from tradewind.gateway.rbac import DEFAULT_ROLES, Permission, Role
from tradewind.gateway.schemas import Credentials, RefreshRequest, TokenPair, UserView
from tradewind.runtime.logging import get_logger
from tradewind.security.envelope import normalise_email
from tradewind.security.errors import InvalidPasswordHash, RefreshTokenRejected, SecurityError
from tradewind.security.passwords import PasswordCheck, password_problems
from tradewind.security.refresh_tokens import hash_refresh_token
from tradewind.security.tokens import issue_access_token
from tradewind.store import audit, users

router = APIRouter(tags=["auth"])
_log = get_logger("tradewind.gateway")
_WRONG_CREDENTIALS = "wrong e-mail or password"


def email_context(user_id: str) -> str:
    """The encryption context of a user's e-mail address."""
    return f"user:{user_id}:email"


def mask_email(email: str) -> str:
    """`a***@example.org`: enough for a person to recognise their own address."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def masked_email(state: GatewayState, user: users.UserRecord) -> str:
    """The user's address, masked; `***` if it cannot be decrypted (its master key is
    not loaded here), which must not make a user list fail."""
    try:
        email = state.encryptor.decrypt_text(user.email_encrypted, email_context(user.id))
    except SecurityError:
        _log.error("cannot decrypt a user's e-mail", user_id=user.id)
        return "***"
    return mask_email(email)


def user_view(state: GatewayState, user: users.UserRecord) -> UserView:
    return UserView(
        id=user.id,
        email=masked_email(state, user),
        roles=list(user.roles),
        created_at=user.created_at,
    )


def _throttle(limiter: RateLimiter, key: str, what: str) -> None:
    wait_s = limiter.try_acquire(key)
    if wait_s is not None:
        raise ApiError(
            429,
            f"too many {what}; try again in {wait_s:.0f} s",
            headers={"Retry-After": f"{wait_s:.0f}"},
        )


async def _hash_password(state: GatewayState, password: str) -> str:
    async with state.password_slots:
        return await asyncio.to_thread(state.hasher.hash, password)


async def _verify_password(state: GatewayState, stored: str | None, password: str) -> PasswordCheck:
    async with state.password_slots:
        return await asyncio.to_thread(state.hasher.verify, stored, password)


async def _token_pair(state: GatewayState, user: users.UserRecord) -> TokenPair:
    config = state.authenticator.config
    refresh = await state.refresh_tokens.issue(user.id)
    return TokenPair(
        access_token=issue_access_token(config, user.id, user.roles),
        expires_in=config.ttl_s,
        refresh_token=refresh.token,
        refresh_expires_at=datetime.fromtimestamp(refresh.expires_at_s, UTC),
    )


@router.post("/auth/register", status_code=201, responses=documented(409, 429), summary="Sign up")
async def register(body: Credentials, request: Request, state: State) -> UserView:
    """Create a user with the `trader` role. The password must have 12+ characters of
    two kinds and must not contain the address."""
    ip = client_ip(request)
    _throttle(state.ip_limiter, f"register:{ip}", "sign-ups from your address")
    email = normalise_email(body.email)
    problems = password_problems(body.password, personal=[email])
    if problems:
        raise ApiError(422, "password: " + "; ".join(problems), field="body.password")
    encryptor = state.encryptor
    async with state.db.read() as conn:
        if await find_user_by_email_indexes(conn, encryptor.email_index_candidates(email)):
            raise ApiError(409, "this e-mail address is already registered")
    password_hash = await _hash_password(state, body.password)
    roles: tuple[str, ...] = tuple(DEFAULT_ROLES)
    if state.bootstrap_admin_email and email == normalise_email(state.bootstrap_admin_email):
        roles = (Role.ADMIN, *roles)
    user_id = uuid.uuid4().hex
    try:
        async with state.db.transaction() as conn:
            user = await users.create_user(
                conn,
                user_id=user_id,
                email_index=encryptor.email_index(email),
                email_encrypted=encryptor.encrypt(email, email_context(user_id)).to_json(),
                password_hash=password_hash,
                roles=roles,
            )
            await audit.record(
                conn,
                "user.registered",
                actor_id=user.id,
                target_type="user",
                target_id=user.id,
                detail={"roles": list(roles)},
                source_ip=ip,
            )
    except users.DuplicateUser:
        raise ApiError(409, "this e-mail address is already registered") from None
    return user_view(state, user)


@router.post("/auth/login", responses=documented(401, 403, 429), summary="Log in")
async def login(body: Credentials, request: Request, state: State) -> TokenPair:
    """Exchange e-mail and password for an access token and a refresh token."""
    ip = client_ip(request)
    _throttle(state.ip_limiter, f"login:{ip}", "login attempts from your address")
    email = normalise_email(body.email)
    _throttle(state.account_limiter, state.encryptor.email_index(email), "login attempts")
    async with state.db.read() as conn:
        user = await find_user_by_email_indexes(conn, state.encryptor.email_index_candidates(email))
    now = datetime.now(UTC)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        wait_s = max(1, int((user.locked_until - now).total_seconds()))
        async with state.db.transaction() as conn:
            await audit.record(
                conn,
                "login.locked",
                actor_id=user.id,
                target_type="user",
                target_id=user.id,
                source_ip=ip,
            )
        raise ApiError(
            429,
            f"too many login attempts; try again in {wait_s} s",
            headers={"Retry-After": str(wait_s)},
        )
    try:
        check = await _verify_password(state, user.password_hash if user else None, body.password)
    except InvalidPasswordHash:
        _log.error("stored password hash is corrupt", user_id=user.id if user else None)
        check = PasswordCheck(ok=False)
    if user is None or not check.ok:
        await _record_failed_login(state, user, ip, now)
        raise unauthenticated(_WRONG_CREDENTIALS, "wrong_credentials")
    if user.disabled:
        async with state.db.transaction() as conn:
            await audit.record(
                conn,
                "login.disabled",
                actor_id=user.id,
                target_type="user",
                target_id=user.id,
                source_ip=ip,
            )
        raise ApiError(403, "this account is disabled; ask an administrator")
    new_hash = await _hash_password(state, body.password) if check.needs_rehash else None
    async with state.db.transaction() as conn:
        await users.record_login_success(conn, user.id)
        if new_hash is not None:
            await users.set_password_hash(conn, user.id, new_hash)
        await audit.record(
            conn, "login", actor_id=user.id, target_type="user", target_id=user.id, source_ip=ip
        )
    return await _token_pair(state, user)


async def _record_failed_login(
    state: GatewayState, user: users.UserRecord | None, ip: str, now: datetime
) -> None:
    policy = state.login_policy
    async with state.db.transaction() as conn:
        if user is None:
            await audit.record(
                conn, "login.failed", actor_id=None, source_ip=ip, detail={"known_user": False}
            )
            return
        failures = await users.record_login_failure(
            conn,
            user.id,
            lock_after=policy.max_failures,
            lock_until=now + timedelta(seconds=policy.lockout_s),
        )
        locked = failures >= policy.max_failures
        await audit.record(
            conn,
            "login.failed",
            actor_id=user.id,
            target_type="user",
            target_id=user.id,
            detail={"failures": failures, "locked": locked},
            source_ip=ip,
        )


@router.post("/auth/refresh", responses=documented(401), summary="Refresh the tokens")
async def refresh(body: RefreshRequest, request: Request, state: State) -> TokenPair:
    """Exchange a refresh token for a new pair. Each refresh token works once: showing
    a used one again revokes its whole session (someone else has a copy)."""
    try:
        issued = await state.refresh_tokens.rotate(body.refresh_token)
    except RefreshTokenRejected as exc:
        if exc.reason == "reused":
            family = await state.refresh_store.find_by_token_hash(
                hash_refresh_token(body.refresh_token)
            )
            async with state.db.transaction() as conn:
                await audit.record(
                    conn,
                    "session.reuse_revoked",
                    actor_id=family.subject if family else None,
                    target_type="session",
                    target_id=family.family_id if family else "",
                    source_ip=client_ip(request),
                )
        raise unauthenticated(str(exc), f"refresh_{exc.reason}") from None
    async with state.db.read() as conn:
        user = await users.get_user(conn, issued.subject)
    if user is None or user.disabled:
        await state.refresh_tokens.revoke(issued.token, "admin")
        raise unauthenticated("this account no longer exists or is disabled", "refresh_revoked")
    config = state.authenticator.config
    return TokenPair(
        access_token=issue_access_token(config, user.id, user.roles),
        expires_in=config.ttl_s,
        refresh_token=issued.token,
        refresh_expires_at=datetime.fromtimestamp(issued.expires_at_s, UTC),
    )


@router.post("/auth/logout", status_code=204, summary="Log out")
async def logout(body: RefreshRequest, request: Request, state: State) -> Response:
    """End the session the refresh token belongs to (its access tokens lapse within
    their lifetime). Answers 204 whether or not the token was known."""
    family = None
    if body.refresh_token.startswith("twr_"):
        family = await state.refresh_store.find_by_token_hash(
            hash_refresh_token(body.refresh_token)
        )
    if family is not None and not family.revoked:
        await state.refresh_tokens.revoke(body.refresh_token, "logout")
        async with state.db.transaction() as conn:
            await audit.record(
                conn,
                "logout",
                actor_id=family.subject,
                target_type="session",
                target_id=family.family_id,
                source_ip=client_ip(request),
            )
    return Response(status_code=204)


Caller = Annotated[Principal, Depends(require(Permission.SELF_READ))]


@router.get("/me", responses=documented(401, 403, 404), summary="Who am I")
async def me(caller: Caller, state: State) -> UserView:
    async with state.db.read() as conn:
        user = await users.get_user(conn, caller.user_id)
    if user is None:
        raise ApiError(404, "your user no longer exists")
    return user_view(state, user)
