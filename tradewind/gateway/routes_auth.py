"""Sign-up, login, token refresh, logout, and who am I.

Nothing here tells an outsider whether an address is registered:
- sign-up answers the same 202 whether the address is new or taken, after the same
  argon2 work and a database write either way (a taken address is audited, not
  re-created);
- login answers the same "wrong e-mail or password" whether or not the address exists,
  does the same argon2 work either way, and counts failures per (address, source) for
  unknown addresses exactly as for known ones, so the throttling answers alike too.

Failed logins are counted per address *and* source address (`store/login_failures`):
after `max_failures` in a row a source waits 1, 2, 4 … seconds (at most `lockout_s`)
before it may try that address again, across every gateway instance. A guesser slows
down only themselves: the owner logging in from elsewhere is never locked out, and an
administrator can clear the delays (`POST /admin/users/{id}/unlock`). Attempts, and
token refreshes, are also throttled per source (429 with `Retry-After`). Every outcome
is audited, without the address or the password.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from tradewind.gateway.auth import Principal, unauthenticated
from tradewind.gateway.deps import GatewayState, State, client_ip, require, too_many
from tradewind.gateway.errors import ApiError, documented
from tradewind.gateway.rbac import DEFAULT_ROLES, Permission
from tradewind.gateway.schemas import (
    Credentials,
    RefreshRequest,
    RegistrationAccepted,
    TokenPair,
    UserView,
)
from tradewind.runtime.logging import get_logger
from tradewind.security.encryption import normalise_email
from tradewind.security.errors import InvalidPasswordHash, RefreshTokenRejected, SecurityError
from tradewind.security.passwords import PasswordCheck, password_problems
from tradewind.security.refresh_tokens import hash_refresh_token
from tradewind.security.tokens import issue_access_token
from tradewind.store import audit, login_failures, users

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


async def _hash_password(state: GatewayState, password: str) -> str:
    async with state.password_slots:
        return await asyncio.to_thread(state.hasher.hash, password)


async def _verify_password(state: GatewayState, stored: str | None, password: str) -> PasswordCheck:
    async with state.password_slots:
        return await asyncio.to_thread(state.hasher.verify, stored, password)


def _access_token(state: GatewayState, user: users.UserRecord, session_id: str) -> str:
    """An access token for `user` in `session_id`, at their current token version."""
    return issue_access_token(
        state.authenticator.config,
        user.id,
        user.roles,
        session_id=session_id,
        version=user.token_version,
    )


async def _token_pair(state: GatewayState, user: users.UserRecord) -> TokenPair:
    refresh = await state.refresh_tokens.issue(user.id)
    return TokenPair(
        access_token=_access_token(state, user, refresh.family_id),
        expires_in=state.authenticator.config.ttl_s,
        refresh_token=refresh.token,
        refresh_expires_at=datetime.fromtimestamp(refresh.expires_at_s, UTC),
    )


_REGISTERED = RegistrationAccepted(
    detail="if this address was not registered yet, the account now exists: log in with it"
)


@router.post("/auth/register", status_code=202, responses=documented(422, 429), summary="Sign up")
async def register(body: Credentials, request: Request, state: State) -> RegistrationAccepted:
    """Create a user with the `trader` role. The password must have 12+ characters of
    two kinds and must not contain the address. The answer is the same whether or not
    the address was registered already (so it tells no one who has an account): log in
    to continue. Administrators are made with `tradewind users grant-admin EMAIL`."""
    ip = client_ip(request)
    too_many(state.ip_limiter, f"register:{ip}", "sign-ups from your address")
    email = normalise_email(body.email)
    problems = password_problems(body.password, personal=[email])
    if problems:
        raise ApiError(422, "password: " + "; ".join(problems), field="body.password")
    encryptor = state.encryptor
    # The hash comes first, whether or not the address is taken: the answer's timing
    # must not tell the two apart.
    password_hash = await _hash_password(state, body.password)
    user_id = uuid.uuid4().hex
    async with state.db.transaction() as conn:
        existing = await users.find_by_email_indexes(conn, encryptor.email_index_candidates(email))
        if existing is None:
            try:
                await users.create_user(
                    conn,
                    user_id=user_id,
                    email_index=encryptor.email_index(email),
                    email_encrypted=encryptor.encrypt(email, email_context(user_id)).to_json(),
                    password_hash=password_hash,
                    roles=tuple(DEFAULT_ROLES),
                )
            except users.DuplicateUser:  # registered concurrently
                existing = await users.find_by_email_indexes(
                    conn, encryptor.email_index_candidates(email)
                )
        if existing is None:
            action, target = "user.registered", user_id
        else:
            action, target = "user.register_existing", existing.id
        await audit.record(
            conn,
            action,
            actor_id=target if existing is None else None,
            target_type="user",
            target_id=target,
            detail={"roles": list(DEFAULT_ROLES)} if existing is None else {},
            source_ip=ip,
        )
    return _REGISTERED


@router.post("/auth/login", responses=documented(401, 403, 429), summary="Log in")
async def login(body: Credentials, request: Request, state: State) -> TokenPair:
    """Exchange e-mail and password for an access token and a refresh token."""
    ip = client_ip(request)
    too_many(state.ip_limiter, f"login:{ip}", "login attempts from your address")
    email = normalise_email(body.email)
    index = state.encryptor.email_index(email)
    too_many(state.account_limiter, f"{index}:{ip}", "login attempts")
    async with state.db.read() as conn:
        user = await users.find_by_email_indexes(
            conn, state.encryptor.email_index_candidates(email)
        )
        blocked_until = await login_failures.blocked_until(conn, index, ip)
    now = datetime.now(UTC)
    if blocked_until is not None and blocked_until > now:
        wait_s = max(1, math.ceil((blocked_until - now).total_seconds()))
        async with state.db.transaction() as conn:
            await audit.record(
                conn,
                "login.throttled",
                actor_id=user.id if user else None,
                target_type="user" if user else "",
                target_id=user.id if user else "",
                source_ip=ip,
            )
        raise ApiError(
            429,
            f"too many failed logins; try again in {wait_s} s",
            headers={"Retry-After": str(wait_s)},
        )
    try:
        check = await _verify_password(state, user.password_hash if user else None, body.password)
    except InvalidPasswordHash:
        _log.error("stored password hash is corrupt", user_id=user.id if user else None)
        check = PasswordCheck(ok=False)
    if user is None or not check.ok:
        await _record_failed_login(state, user, index, ip, now)
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
        await login_failures.clear(conn, index, ip)
        if new_hash is not None:
            await users.set_password_hash(conn, user.id, new_hash)
        await audit.record(
            conn, "login", actor_id=user.id, target_type="user", target_id=user.id, source_ip=ip
        )
    return await _token_pair(state, user)


async def _record_failed_login(
    state: GatewayState, user: users.UserRecord | None, index: str, ip: str, now: datetime
) -> None:
    """Count the failure for (address, source), known address or not, and audit it."""
    async with state.db.transaction() as conn:
        failures, blocked_until = await login_failures.record_failure(
            conn, index, ip, now, state.login_policy.delays
        )
        detail: dict[str, object] = {"failures_from_source": failures}
        if blocked_until is not None:
            detail["blocked_s"] = int((blocked_until - now).total_seconds())
        if user is not None:
            await users.record_login_failure(conn, user.id, blocked_until=blocked_until)
        else:
            detail["known_user"] = False
        await audit.record(
            conn,
            "login.failed",
            actor_id=user.id if user else None,
            target_type="user" if user else "",
            target_id=user.id if user else "",
            detail=detail,
            source_ip=ip,
        )


@router.post("/auth/refresh", responses=documented(401, 429), summary="Refresh the tokens")
async def refresh(body: RefreshRequest, request: Request, state: State) -> TokenPair:
    """Exchange a refresh token for a new pair. Each refresh token works once: showing
    a used one again revokes its whole session (someone else has a copy). Refreshes are
    throttled per source address (429 with `Retry-After`; the token stays unused)."""
    ip = client_ip(request)
    # Before the rotation, so a refused refresh leaves the presented token valid.
    too_many(state.refresh_limiter, ip, "token refreshes from your address")
    try:
        issued = await state.refresh_tokens.rotate(body.refresh_token)
    except RefreshTokenRejected as exc:
        if exc.reason == "reused":
            family = await state.refresh_store.find_by_token_hash(
                hash_refresh_token(body.refresh_token)
            )
            if family is not None:
                state.authenticator.revocations.end_session(family.family_id)
            async with state.db.transaction() as conn:
                await audit.record(
                    conn,
                    "session.reuse_revoked",
                    actor_id=family.subject if family else None,
                    target_type="session",
                    target_id=family.family_id if family else "",
                    source_ip=ip,
                )
        raise unauthenticated(str(exc), f"refresh_{exc.reason}") from None
    async with state.db.read() as conn:
        user = await users.get_user(conn, issued.subject)
    if user is None or user.disabled:
        await state.refresh_tokens.revoke(issued.token, "admin")
        state.authenticator.revocations.end_session(issued.family_id)
        raise unauthenticated("this account no longer exists or is disabled", "refresh_revoked")
    return TokenPair(
        access_token=_access_token(state, user, issued.family_id),
        expires_in=state.authenticator.config.ttl_s,
        refresh_token=issued.token,
        refresh_expires_at=datetime.fromtimestamp(issued.expires_at_s, UTC),
    )


@router.post("/auth/logout", status_code=204, summary="Log out")
async def logout(body: RefreshRequest, request: Request, state: State) -> Response:
    """End the session the refresh token belongs to: its refresh and access tokens stop
    working at once (on other gateway instances within a second). Answers 204 whether
    or not the token was known."""
    family = None
    if body.refresh_token.startswith("twr_"):
        family = await state.refresh_store.find_by_token_hash(
            hash_refresh_token(body.refresh_token)
        )
    if family is not None and not family.revoked:
        await state.refresh_tokens.revoke(body.refresh_token, "logout")
        state.authenticator.revocations.end_session(family.family_id)
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
