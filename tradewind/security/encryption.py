"""Envelope encryption of secrets at rest, and blind indexes for searching encrypted
e-mail addresses.

Each secret gets its own random 256-bit data key. The secret is encrypted with that key
under AES-256-GCM (random 96-bit nonce) with the record's *context* as associated data,
e.g. `exchange_account:42:api_secret`: a ciphertext copied into another record, or into
another field of the same record, fails to decrypt. The data key is then wrapped by the
current master key, also with AES-256-GCM, and the stored form names that master key.

Rotation never touches the ciphertext: `Encryptor.rewrap` unwraps the data key with the
old master key and wraps it again with the current one. While both keys are loaded, old
and rewrapped secrets decrypt alike, so `tradewind keys rotate` runs with no downtime.

The stored form, `StoredSecret`, is a versioned struct serialised as compact JSON with
base64 bytes, ~270 characters for a 64-character API secret:
`{"v":1,"kid":"k2","wrapped_key":"...","nonce":"...","ciphertext":"..."}`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tradewind.security.errors import DecryptionFailed, MalformedSecret
from tradewind.security.master_keys import MasterKeyProvider, derive_subkey, is_valid_kid

FORMAT_VERSION = 1
"""The `v` this code writes and the newest it reads."""

DATA_KEY_BYTES = 32
NONCE_BYTES = 12
_TAG_BYTES = 16
_WRAPPED_KEY_BYTES = NONCE_BYTES + DATA_KEY_BYTES + _TAG_BYTES  # nonce || key || tag

# Fixed prefixes keep the two uses of AES-GCM apart (a data key can never pass for a
# secret, nor the reverse); the variable part comes last, so no two inputs collide.
_SECRET_AAD_PREFIX = b"tradewind/secret/v1\x00"
_DATA_KEY_AAD_PREFIX = b"tradewind/data-key/v1\x00"
_EMAIL_INDEX_PURPOSE = "blind-index/email/v1"


class StoredSecret(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An encrypted secret as stored: format version `v`, the id `kid` of the master key
    that wrapped the data key, the wrapped data key (wrap nonce, key and tag), the nonce
    of the secret's encryption and its ciphertext (with the 16-byte GCM tag)."""

    v: int
    kid: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes

    def to_json(self) -> str:
        """The compact JSON form (bytes in standard base64), for a text column."""
        return msgspec.json.encode(self).decode("ascii")

    @classmethod
    def from_json(cls, text: str | bytes) -> StoredSecret:
        """Read the JSON form; raises `MalformedSecret` saying what is wrong with it."""
        try:
            stored = msgspec.json.decode(text, type=cls)
        except msgspec.ValidationError as exc:
            raise MalformedSecret(None, f"not a stored secret: {exc}") from None
        except msgspec.DecodeError:
            raise MalformedSecret(None, "not a stored secret: the text is not JSON") from None
        stored.check_shape()
        return stored

    def check_shape(self, context: str | None = None) -> None:
        """Raise `MalformedSecret` unless every field has a form this code can read."""
        problem = None
        if self.v > FORMAT_VERSION or self.v < 1:
            problem = f"format version {self.v} is not one this code reads (1-{FORMAT_VERSION})"
        elif not is_valid_kid(self.kid):
            problem = "the key id is not a valid key id"
        elif len(self.wrapped_key) != _WRAPPED_KEY_BYTES:
            problem = f"the wrapped key is {len(self.wrapped_key)} bytes, not {_WRAPPED_KEY_BYTES}"
        elif len(self.nonce) != NONCE_BYTES:
            problem = f"the nonce is {len(self.nonce)} bytes, not {NONCE_BYTES}"
        elif len(self.ciphertext) < _TAG_BYTES:
            problem = f"the ciphertext is shorter than the {_TAG_BYTES}-byte tag"
        if problem is not None:
            raise MalformedSecret(context, problem)

    def __repr__(self) -> str:
        return (
            f"StoredSecret(v={self.v}, kid={self.kid!r}, ciphertext=<{len(self.ciphertext)} bytes>)"
        )


class Encryptor:
    """Encrypts and decrypts secrets with the master keys of `keys`.

    Thread-safe and cheap to share: it holds no state but a cache of derived index keys.
    """

    def __init__(self, keys: MasterKeyProvider) -> None:
        self._keys = keys
        self._index_keys: dict[str, bytes] = {}

    def encrypt(self, plaintext: bytes | str, context: str) -> StoredSecret:
        """`plaintext` (text is encoded as UTF-8) encrypted for the record `context`, its
        fresh data key wrapped by the current master key."""
        _check_context(context)
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else bytes(plaintext)
        data_key = AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(nonce, data, _secret_aad(context))
        kid = self._keys.current_kid
        return StoredSecret(
            v=FORMAT_VERSION,
            kid=kid,
            wrapped_key=self._wrap(data_key, kid),
            nonce=nonce,
            ciphertext=ciphertext,
        )

    def decrypt(self, stored: StoredSecret | str | bytes, context: str) -> bytes:
        """The plaintext of `stored` (a struct or its JSON form), which must have been
        encrypted for the same `context`. Raises `DecryptionFailed` (never saying which
        part was wrong), `MalformedSecret`, or `UnknownMasterKey` when its master key is
        not loaded."""
        _check_context(context)
        if not isinstance(stored, StoredSecret):
            stored = StoredSecret.from_json(stored)
        stored.check_shape(context)
        data_key = self._unwrap(stored, context)
        try:
            return AESGCM(data_key).decrypt(stored.nonce, stored.ciphertext, _secret_aad(context))
        except InvalidTag:
            raise DecryptionFailed(context) from None

    def decrypt_text(self, stored: StoredSecret | str | bytes, context: str) -> str:
        """`decrypt` for a secret that was given as text."""
        try:
            return self.decrypt(stored, context).decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionFailed(context, "the secret is not UTF-8 text") from None

    def needs_rewrap(self, stored: StoredSecret) -> bool:
        """Whether `stored` is wrapped by another master key than the current one."""
        return stored.kid != self._keys.current_kid

    def rewrap(self, stored: StoredSecret) -> StoredSecret:
        """`stored` with its data key wrapped by the current master key; the nonce and the
        ciphertext are unchanged. Returns `stored` itself when it already is under the
        current key, so a rotation run can skip writing it. Raises `DecryptionFailed`
        if the wrapped key was tampered with, `UnknownMasterKey` if its key is gone."""
        stored.check_shape()
        current = self._keys.current_kid
        if stored.kid == current:
            return stored
        data_key = self._unwrap(stored, None)
        return msgspec.structs.replace(
            stored, kid=current, wrapped_key=self._wrap(data_key, current)
        )

    def email_index(self, email: str) -> str:
        """The blind index of `email` under the current master key, `kid:INDEX`, to store
        next to the encrypted address (unique) and look it up by."""
        kid = self._keys.current_kid
        return f"{kid}:{blind_index(email, self._index_key(kid))}"

    def email_index_candidates(self, email: str) -> tuple[str, ...]:
        """The blind index of `email` under every loaded master key, current first: look
        a user up with `WHERE email_index IN (...)` so a login works while a rotation is
        re-indexing (`tradewind keys rotate` stores `email_index` anew with each rewrap)."""
        return tuple(f"{kid}:{blind_index(email, self._index_key(kid))}" for kid in self._keys.kids)

    def _index_key(self, kid: str) -> bytes:
        key = self._index_keys.get(kid)
        if key is None:
            key = email_index_key(self._keys.get(kid))
            self._index_keys[kid] = key
        return key

    def _wrap(self, data_key: bytes, kid: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        master = AESGCM(self._keys.get(kid))
        return nonce + master.encrypt(nonce, data_key, _DATA_KEY_AAD_PREFIX + kid.encode())

    def _unwrap(self, stored: StoredSecret, context: str | None) -> bytes:
        master = AESGCM(self._keys.get(stored.kid))
        nonce, sealed = stored.wrapped_key[:NONCE_BYTES], stored.wrapped_key[NONCE_BYTES:]
        try:
            return master.decrypt(nonce, sealed, _DATA_KEY_AAD_PREFIX + stored.kid.encode())
        except InvalidTag:
            raise DecryptionFailed(context) from None


def _check_context(context: str) -> None:
    if not isinstance(context, str) or not context:
        raise ValueError("the record context must be a non-empty string")


def _secret_aad(context: str) -> bytes:
    return _SECRET_AAD_PREFIX + context.encode("utf-8")


# -- blind index ------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    """`email` as compared for identity: Unicode NFKC, surrounding white space removed,
    lower case (mail providers treat the local part case-insensitively in practice)."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def email_index_key(master_key: bytes) -> bytes:
    """The 32-byte HMAC key for e-mail blind indexes, derived from `master_key` by HKDF."""
    return derive_subkey(master_key, _EMAIL_INDEX_PURPOSE)


def blind_index(value: str, key: bytes) -> str:
    """A deterministic, keyed, one-way index of the e-mail address `value`: URL-safe
    base64 (43 characters, no padding) of HMAC-SHA256 under `key` of the normalised
    address. Equal addresses give equal indexes; without the key nothing can be learnt
    or tested from one."""
    digest = hmac.new(key, normalise_email(value).encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
