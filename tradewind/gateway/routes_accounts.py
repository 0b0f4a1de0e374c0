"""Exchange accounts: connect (the key is checked with the venue first), list, show,
verify again, remove.

A key is refused (422, with the venue's reason) if it can withdraw or transfer funds,
or cannot trade; 400 if the venue does not accept it at all. The key and the secret are
stored encrypted, each bound to its account and field
(`exchange_account:<id>:api_key|api_secret`); responses only ever carry the masked key.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from tradewind.bus.envelope import envelope
from tradewind.bus.topics import BOT_COMMANDS
from tradewind.domain.bot_lifecycle import BotAction, transition
from tradewind.domain.commands import BotCommand
from tradewind.errors import AuthenticationFailed, VenueError, VenueUnavailable
from tradewind.gateway.auth import Principal
from tradewind.gateway.deps import GatewayState, PageParams, State, client_ip, require
from tradewind.gateway.errors import ApiError, documented, not_found
from tradewind.gateway.rbac import Permission
from tradewind.gateway.schemas import (
    AccountConnect,
    AccountVerification,
    AccountView,
    KeyCheckView,
    Page,
    page,
)
from tradewind.security.redaction import mask_api_key
from tradewind.store import accounts, audit, bots
from tradewind.store.accounts import ExchangeAccountRecord
from tradewind.store.outbox import enqueue
from tradewind.venues.key_check import KeyCheck

router = APIRouter(tags=["exchange accounts"])

Reader = Annotated[Principal, Depends(require(Permission.ACCOUNTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.ACCOUNTS_WRITE))]
AccountId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def secret_context(account_id: str, field: str) -> str:
    """The encryption context of an account's `api_key` or `api_secret`."""
    return f"exchange_account:{account_id}:{field}"


def account_view(account: ExchangeAccountRecord) -> AccountView:
    return AccountView(
        id=account.id,
        venue=account.venue,
        label=account.label,
        api_key=account.api_key_masked,
        valuation_asset=account.valuation_asset,
        status=account.status,
        created_at=account.created_at,
        verified_at=account.verified_at,
    )


async def owned_account(
    state: GatewayState, user_id: str, account_id: str
) -> ExchangeAccountRecord:
    """The caller's account `account_id`; 404 if it is missing *or someone else's*."""
    async with state.db.read() as conn:
        account = await accounts.get_account(conn, account_id)
    if account is None or account.user_id != user_id:
        raise not_found("exchange account")
    return account


async def check_key(
    state: GatewayState, user_id: str, venue: str, api_key: str, secret: str
) -> KeyCheck:
    """The venue's word on the key, on `user_id`'s exchange-call budget; 400 if the venue
    refuses the key, 429 when the budget is spent, 503 if the venue is unreachable."""
    state.take_exchange_call(user_id)
    try:
        return await state.venues.check_key(venue, api_key, secret)
    except AuthenticationFailed:
        raise ApiError(
            400, f"{venue} did not accept this API key and secret", code="key_rejected"
        ) from None
    except VenueUnavailable:
        raise ApiError(503, f"{venue} cannot be reached to check the key; try again") from None
    except VenueError as exc:
        raise ApiError(400, f"{venue} refused the key check: {exc}", code="key_rejected") from None


def _check_view(check: KeyCheck) -> KeyCheckView:
    return KeyCheckView(
        can_trade=check.can_trade,
        can_withdraw=check.can_withdraw,
        can_transfer=check.can_transfer,
        ip_restricted=check.ip_restricted,
        refusal=check.refusal,
    )


@router.post(
    "/accounts",
    status_code=201,
    responses=documented(400, 401, 403, 429, 503),
    summary="Connect an exchange account",
)
async def connect_account(
    body: AccountConnect, caller: Writer, state: State, request: Request
) -> AccountView:
    """Check the key with the venue, then store it encrypted. Refused (422) if the key
    can withdraw or transfer funds, or cannot trade."""
    if body.venue not in state.venues.names:
        known = ", ".join(state.venues.names)
        raise ApiError(
            422, f"venue: unknown venue {body.venue!r}; known: {known}", field="body.venue"
        )
    check = await check_key(state, caller.user_id, body.venue, body.api_key, body.api_secret)
    if check.refusal is not None:
        raise ApiError(422, f"api_key: {check.refusal}", field="body.api_key", code="key_refused")
    account_id = uuid.uuid4().hex
    encrypt = state.encryptor.encrypt
    api_key_encrypted = encrypt(body.api_key, secret_context(account_id, "api_key")).to_json()
    secret_encrypted = encrypt(body.api_secret, secret_context(account_id, "api_secret")).to_json()
    async with state.db.transaction() as conn:
        account = await accounts.add_account(
            conn,
            account_id=account_id,
            user_id=caller.user_id,
            venue=body.venue,
            label=body.label,
            api_key_masked=mask_api_key(body.api_key),
            api_key_encrypted=api_key_encrypted,
            api_secret_encrypted=secret_encrypted,
            valuation_asset=body.valuation_asset,
        )
        await accounts.mark_verified(conn, account_id)
        await audit.record(
            conn,
            "account.connected",
            actor_id=caller.user_id,
            target_type="account",
            target_id=account_id,
            source_ip=client_ip(request),
            detail={"venue": body.venue, "api_key": account.api_key_masked},
        )
        account = await accounts.get_account(conn, account_id) or account
    state.ownership.forget(caller.user_id)
    state.hub.account_added(caller.user_id, account_id)
    return account_view(account)


@router.get("/accounts", responses=documented(401, 403), summary="Your exchange accounts")
async def list_accounts(caller: Reader, state: State, paging: PageParams) -> Page[AccountView]:
    async with state.db.read() as conn:
        found = await accounts.list_accounts(
            conn, user_id=caller.user_id, offset=paging.offset, limit=paging.limit + 1
        )
    return page([account_view(a) for a in found], paging.limit, paging.offset)


@router.get("/accounts/{account_id}", responses=documented(401, 403, 404))
async def get_account(account_id: AccountId, caller: Reader, state: State) -> AccountView:
    return account_view(await owned_account(state, caller.user_id, account_id))


@router.post(
    "/accounts/{account_id}/verify",
    responses=documented(400, 401, 403, 404, 429, 503),
    summary="Check the stored key with the venue again",
)
async def verify_account(
    account_id: AccountId, caller: Writer, state: State, request: Request
) -> AccountVerification:
    """A read-only call with the stored key; the account's status becomes `verified`,
    or `refused` if the key can now move funds (a bot will not trade with it)."""
    account = await owned_account(state, caller.user_id, account_id)
    decrypt = state.encryptor.decrypt_text
    api_key = decrypt(account.api_key_encrypted, secret_context(account.id, "api_key"))
    secret = decrypt(account.api_secret_encrypted, secret_context(account.id, "api_secret"))
    try:
        check = await check_key(state, caller.user_id, account.venue, api_key, secret)
    except ApiError as exc:
        if exc.status != 400:
            raise
        check = None
    status = "rejected" if check is None else "refused" if check.refusal else "verified"
    async with state.db.transaction() as conn:
        await accounts.mark_verified(conn, account.id, status)
        await audit.record(
            conn,
            "account.verified",
            actor_id=caller.user_id,
            target_type="account",
            target_id=account.id,
            detail={"status": status},
            source_ip=client_ip(request),
        )
        account = await accounts.get_account(conn, account.id) or account
    if check is None:
        raise ApiError(400, f"{account.venue} no longer accepts this key", code="key_rejected")
    return AccountVerification(account=account_view(account), check=_check_view(check))


@router.delete(
    "/accounts/{account_id}",
    status_code=204,
    responses=documented(401, 403, 404),
    summary="Remove an exchange account and its bots",
)
async def remove_account(
    account_id: AccountId, caller: Writer, state: State, request: Request
) -> Response:
    """Stop the account's bots, then forget the account and its encrypted key."""
    account = await owned_account(state, caller.user_id, account_id)
    async with state.db.transaction() as conn:
        live = [
            b
            for b in await bots.list_bots(conn, account_id=account.id, limit=10_000)
            if transition(b.state, BotAction.STOP).changes
        ]
        commands = [
            envelope(
                BotCommand(
                    account_id=account.id,
                    bot_id=b.id,
                    action=BotAction.STOP,
                    issued_by=caller.user_id,
                    ts_ns=_now_ns(),
                ),
                account.id,
            )
            for b in live
        ]
        await enqueue(conn, BOT_COMMANDS, commands)
        if not await accounts.remove_account(conn, account.id):
            raise not_found("exchange account")
        await audit.record(
            conn,
            "account.removed",
            actor_id=caller.user_id,
            target_type="account",
            target_id=account.id,
            source_ip=client_ip(request),
            detail={
                "venue": account.venue,
                "api_key": account.api_key_masked,
                "bots_stopped": len(live),
            },
        )
    if commands:
        state.outbox_written()
    state.ownership.forget(caller.user_id)
    state.hub.account_removed(account.id)
    state.portfolios.forget(account.id)
    return Response(status_code=204)


def _now_ns() -> int:
    return time.time_ns()
