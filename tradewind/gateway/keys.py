"""`tradewind keys generate` and `tradewind keys rotate`.

Rotation re-wraps every stored secret's data key under the *current* master key (the
ciphertexts stay as they are) and recomputes every e-mail blind index with it, so the
old key can then be retired. It is idempotent (a second run finds nothing to do) and
runs while gateways serve: each row changes in its own short transaction, guarded on
the value it read; logins look a user up under every loaded key's index
(`Encryptor.email_index_candidates`), and both keys decrypt while both are loaded.

The order of a rotation, across any number of processes, is in
`tradewind.security.master_keys`: make the new key known everywhere, then current, then
run this, then drop the old key. Run it again after the last process has switched to
the new key: anything a straggler wrote under the old key is then picked up.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradewind.gateway.config import master_keys_from_settings
from tradewind.gateway.routes_accounts import secret_context
from tradewind.gateway.routes_auth import email_context
from tradewind.runtime.settings import Settings
from tradewind.security.encryption import Encryptor, StoredSecret
from tradewind.security.master_keys import MasterKeyProvider, generate_master_key
from tradewind.security.tokens import generate_hs256_secret
from tradewind.store import accounts, users
from tradewind.store.database import Database


@dataclass(slots=True)
class RotationReport:
    """What a rotation did: rows changed and rows that were already current."""

    current_kid: str
    emails_reindexed: int = 0
    emails_current: int = 0
    accounts_rewrapped: int = 0
    accounts_current: int = 0

    def __str__(self) -> str:
        return (
            f"master key {self.current_kid}: re-wrapped the secrets of "
            f"{self.accounts_rewrapped} exchange account(s) and re-indexed "
            f"{self.emails_reindexed} e-mail address(es); {self.accounts_current} "
            f"account(s) and {self.emails_current} address(es) were already current"
        )


def generate(kid: str | None = None, *, jwt: bool = False) -> str:
    """A new master key `kid:BASE64`, or with `jwt` a new HS256 secret."""
    return generate_hs256_secret() if jwt else generate_master_key(kid)


async def rotate(db: Database, keys: MasterKeyProvider, *, batch: int = 200) -> RotationReport:
    """Bring every stored secret and e-mail index under `keys`' current master key."""
    encryptor = Encryptor(keys)
    report = RotationReport(current_kid=keys.current_kid)
    await _rotate_emails(db, encryptor, report, batch)
    await _rotate_accounts(db, encryptor, report, batch)
    return report


async def _rotate_emails(
    db: Database, encryptor: Encryptor, report: RotationReport, batch: int
) -> None:
    prefix = f"{report.current_kid}:"
    offset = 0
    while True:
        async with db.read() as conn:
            found = await users.list_users(conn, offset=offset, limit=batch)
        for user in found:
            stored = StoredSecret.from_json(user.email_encrypted)
            if not encryptor.needs_rewrap(stored) and user.email_index.startswith(prefix):
                report.emails_current += 1
                continue
            email = encryptor.decrypt_text(stored, email_context(user.id))
            async with db.transaction() as conn:
                changed = await users.replace_email(
                    conn,
                    user.id,
                    was_encrypted=user.email_encrypted,
                    email_index=encryptor.email_index(email),
                    email_encrypted=encryptor.rewrap(stored).to_json(),
                )
            report.emails_reindexed += int(changed)
        if len(found) < batch:
            return
        offset += batch


async def _rotate_accounts(
    db: Database, encryptor: Encryptor, report: RotationReport, batch: int
) -> None:
    offset = 0
    while True:
        async with db.read() as conn:
            found = await accounts.list_accounts(conn, offset=offset, limit=batch)
        for account in found:
            key = StoredSecret.from_json(account.api_key_encrypted)
            secret = StoredSecret.from_json(account.api_secret_encrypted)
            if not (encryptor.needs_rewrap(key) or encryptor.needs_rewrap(secret)):
                report.accounts_current += 1
                continue
            # Decrypting proves each ciphertext belongs to this account before it is
            # re-wrapped (a row with a swapped-in secret fails here, loudly).
            encryptor.decrypt(key, secret_context(account.id, "api_key"))
            encryptor.decrypt(secret, secret_context(account.id, "api_secret"))
            async with db.transaction() as conn:
                await accounts.replace_secrets(
                    conn,
                    account.id,
                    api_key_encrypted=encryptor.rewrap(key).to_json(),
                    api_secret_encrypted=encryptor.rewrap(secret).to_json(),
                )
            report.accounts_rewrapped += 1
        if len(found) < batch:
            return
        offset += batch


async def rotate_from_settings(settings: Settings, *, batch: int = 200) -> RotationReport:
    """`rotate` on the database and master keys the settings name (the CLI command)."""
    keys = master_keys_from_settings(settings)
    db = Database(settings.database_url)
    try:
        await db.migrate()
        return await rotate(db, keys, batch=batch)
    finally:
        await db.close()
