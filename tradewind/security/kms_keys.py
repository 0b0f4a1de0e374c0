"""Master keys kept encrypted by a KMS (AWS KMS, GCP KMS, Vault transit …).

The master keys themselves are stored encrypted by a KMS key (in a file, a secret store
or the environment, as the wiring chooses); `KmsMasterKeys` asks the KMS to decrypt each
one once and then serves it from memory like any `MasterKeyProvider`. So the KMS is
called at start-up only, not once per secret, and revoking the process's access to the
KMS key stops every new process from reading any secret. `kms_wrap_new_master_key` makes
a new master key that only ever exists in the clear inside this process.

No network code lives here: the wiring supplies a `KmsClient` for its KMS.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from typing import Protocol

from tradewind.security.errors import SecurityError, UnknownMasterKey
from tradewind.security.master_keys import KEY_BYTES, is_valid_kid


class KmsClient(Protocol):
    """The two calls Tradewind needs from a KMS (AWS/GCP KMS, Vault transit): encrypt and
    decrypt a small blob under a named KMS key, bound to an encryption `context` (AWS
    "encryption context", Vault "context"). Implementations do the network I/O and raise
    their own errors; a refused decryption must raise, never return garbage."""

    def encrypt(self, key_name: str, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        """`plaintext` encrypted under the KMS key `key_name`, bound to `context`."""
        ...

    def decrypt(self, key_name: str, ciphertext: bytes, context: Mapping[str, str]) -> bytes:
        """The plaintext of `ciphertext`; raises if the key or the context differ."""
        ...


def _kms_context(kid: str) -> dict[str, str]:
    return {"purpose": "tradewind-master-key", "kid": kid}


def kms_wrap_new_master_key(client: KmsClient, key_name: str, kid: str) -> bytes:
    """A fresh 32-byte master key named `kid`, returned encrypted by the KMS key
    `key_name` (what `KmsMasterKeys` loads); the plaintext never leaves this function."""
    if not is_valid_kid(kid):
        raise ValueError(f"key id {kid!r} must be 1-64 of A-Z a-z 0-9 _ . - (no leading symbol)")
    return client.encrypt(key_name, secrets.token_bytes(KEY_BYTES), _kms_context(kid))


class KmsMasterKeys:
    """Master keys stored encrypted by a KMS key and decrypted through `client` the first
    time each is needed, then kept in memory.

    `wrapped` maps kid to the KMS ciphertext of that master key, the current one first
    unless `current_kid` says otherwise. The client's calls block; call `preload()` at
    start-up, off the event loop, so that `get` never does I/O afterwards.
    """

    def __init__(
        self,
        client: KmsClient,
        key_name: str,
        wrapped: Mapping[str, bytes],
        current_kid: str | None = None,
    ) -> None:
        if not wrapped:
            raise ValueError("no wrapped master key given")
        self._client = client
        self._key_name = key_name
        self._wrapped = dict(wrapped)
        self._current_kid = current_kid or next(iter(self._wrapped))
        if self._current_kid not in self._wrapped:
            raise ValueError(f"current key id {self._current_kid!r} is not among the keys")
        self._plain: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @property
    def current_kid(self) -> str:
        """The id of the key that wraps every new or rewrapped data key."""
        return self._current_kid

    @property
    def kids(self) -> tuple[str, ...]:
        """Every known key id, the current one first."""
        return (self._current_kid, *(kid for kid in self._wrapped if kid != self._current_kid))

    def get(self, kid: str) -> bytes:
        """The 32-byte key named `kid`, decrypted by the KMS on first use; raises
        `UnknownMasterKey` if no wrapped key has that id, `SecurityError` if the KMS
        returns something that is not a 32-byte key."""
        with self._lock:
            if kid in self._plain:
                return self._plain[kid]
            if kid not in self._wrapped:
                raise UnknownMasterKey(kid, self.kids)
            key = self._client.decrypt(self._key_name, self._wrapped[kid], _kms_context(kid))
            if len(key) != KEY_BYTES:
                raise SecurityError(
                    f"the KMS key {self._key_name!r} decrypted master key {kid!r} to "
                    f"{len(key)} bytes, not {KEY_BYTES}"
                )
            self._plain[kid] = key
            return key

    def preload(self) -> None:
        """Decrypt every master key now, so later `get` calls do no I/O."""
        for kid in self.kids:
            self.get(kid)

    def __repr__(self) -> str:
        return f"KmsMasterKeys(key_name={self._key_name!r}, kids={self.kids!r})"
