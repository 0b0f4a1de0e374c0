"""`tradewind users grant-admin EMAIL` / `revoke-admin EMAIL`: who administers the
platform is decided by someone with access to the database and the master keys (the
operator), never by whoever registers an address first.

The user must have signed up already (the address is found by its blind index, so the
master keys of `TRADEWIND_MASTER_KEYS` or `TRADEWIND_MASTER_KEY_FILE` are needed). The
change raises the user's token version, so tokens they hold stop working and their
next login carries the new roles; it is audited with no actor (the command line).
"""

from __future__ import annotations

from tradewind.errors import TradewindError
from tradewind.gateway.config import master_keys_from_settings
from tradewind.gateway.rbac import Role
from tradewind.runtime.settings import Settings
from tradewind.security.encryption import Encryptor, normalise_email
from tradewind.store import audit, users
from tradewind.store.database import Database


class NoSuchUser(TradewindError):
    """No user has signed up with that address."""


async def set_admin(db: Database, encryptor: Encryptor, email: str, *, admin: bool) -> str:
    """Give (`admin`) or take the admin role of the user with `email`; returns what
    changed, in words. Raises `NoSuchUser`."""
    address = normalise_email(email)
    async with db.transaction() as conn:
        user = await users.find_by_email_indexes(conn, encryptor.email_index_candidates(address))
        if user is None:
            raise NoSuchUser(
                f"no user has signed up with {address!r}; sign up first "
                "(POST /api/v1/auth/register), then run this again"
            )
        has = Role.ADMIN.value in user.roles
        if has == admin:
            return f"user {user.id} {'is already' if admin else 'is not'} an admin"
        roles = (
            (Role.ADMIN.value, *user.roles)
            if admin
            else tuple(r for r in user.roles if r != Role.ADMIN.value)
        )
        await users.set_roles(conn, user.id, roles)
        await users.raise_token_version(conn, user.id)
        await audit.record(
            conn,
            "user.roles_changed",
            actor_id=None,
            target_type="user",
            target_id=user.id,
            detail={"from": list(user.roles), "to": list(roles), "by": "command line"},
        )
    return f"user {user.id} {'is now' if admin else 'is no longer'} an admin"


async def set_admin_from_settings(settings: Settings, email: str, *, admin: bool) -> str:
    """`set_admin` on the database and master keys of `settings`."""
    db = Database(settings.database_url)
    try:
        await db.migrate()
        return await set_admin(
            db, Encryptor(master_keys_from_settings(settings)), email, admin=admin
        )
    finally:
        await db.close()
