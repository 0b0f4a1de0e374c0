"""Where execution gets an account's venue and API keys: a `CredentialsSource`.

`StoredCredentials` reads the exchange account from the system of record and decrypts
its key and secret with the runtime's `Encryptor` (contexts
`exchange_account:<id>:api_key` and `:api_secret`, as the gateway encrypted them).
The plaintexts exist only in memory, in an `AccountCredentials` (whose repr hides them)
and in the venue session built from it; nothing here logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from tradewind.errors import TradewindError
from tradewind.security.encryption import Encryptor
from tradewind.security.errors import SecurityError
from tradewind.store.accounts import get_account
from tradewind.store.database import Database


class AccountUnavailable(TradewindError):
    """Execution cannot trade for `account_id`: `reason` says why, for the user."""

    def __init__(self, account_id: str, reason: str) -> None:
        self.account_id = account_id
        self.reason = reason
        super().__init__(f"account {account_id}: {reason}")


@dataclass(frozen=True, slots=True)
class AccountCredentials:
    """An account's venue and its API key and secret, in plaintext: keep it in memory."""

    venue: str
    api_key: str = field(repr=False)
    secret: str = field(repr=False)


class CredentialsSource(Protocol):
    async def credentials(self, account_id: str) -> AccountCredentials:
        """The account's venue and keys; `AccountUnavailable` if it has none usable."""
        ...


def key_context(account_id: str) -> str:
    return f"exchange_account:{account_id}:api_key"


def secret_context(account_id: str) -> str:
    return f"exchange_account:{account_id}:api_secret"


class StoredCredentials:
    """Credentials from the `exchange_accounts` table, decrypted on demand."""

    def __init__(self, database: Database, encryptor: Encryptor) -> None:
        self._database = database
        self._encryptor = encryptor

    async def credentials(self, account_id: str) -> AccountCredentials:
        async with self._database.read() as conn:
            account = await get_account(conn, account_id)
        if account is None:
            raise AccountUnavailable(account_id, "no such exchange account")
        try:
            api_key = self._encryptor.decrypt_text(
                account.api_key_encrypted, key_context(account_id)
            )
            secret = self._encryptor.decrypt_text(
                account.api_secret_encrypted, secret_context(account_id)
            )
        except SecurityError as exc:
            # The error names the context and the key id, never the secret.
            raise AccountUnavailable(account_id, f"its API keys cannot be read: {exc}") from None
        return AccountCredentials(account.venue, api_key, secret)
