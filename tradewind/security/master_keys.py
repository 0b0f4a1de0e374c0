"""Master keys: where they come from, how they are named, and how new ones are made.

A master key is 32 random bytes (AES-256) named by a key id (`kid`). It never encrypts a
secret itself: it wraps the per-secret data keys (see `encryption.py`) and, through HKDF,
yields sub-keys for other purposes (the e-mail blind index). Every stored secret records
the kid that wrapped its data key, which is what makes rotation possible without
downtime.

Text form of a key, used by the environment, key files and `tradewind keys generate`:
`kid:BASE64` where BASE64 is the standard or URL-safe base64 of exactly 32 bytes and kid
is 1-64 of `A-Z a-z 0-9 _ . -` (starting with a letter or digit). A bare `BASE64` is
accepted too; its kid is then derived from the key (`fp` + 12 hex digits), so two
different bare keys can never be mistaken for one another.

Where keys are loaded from (exactly one of them):

- `TRADEWIND_MASTER_KEYS="k2:...,k1:..."`: comma- (or newline-) separated keys. **The
  first one is the current key**, which wraps every new or rewrapped secret; the others
  only decrypt. Rotation with no downtime, even across many processes: generate `k3`;
  deploy `"k2:...,k3:..."` everywhere (k3 known, not yet used); then `"k3:...,k2:..."`
  (k3 current); run `tradewind keys rotate` (rewraps every secret and recomputes every
  e-mail blind index under k3); then deploy `"k3:..."` alone. The first step matters
  during a rolling deploy: no process may meet a secret under a key it does not hold.
- `TRADEWIND_MASTER_KEY="k1:..."`: a single key, the simple case.
- `TRADEWIND_MASTER_KEY_FILE=/path`: a file only its owner can read (mode 0600 or 0400;
  anything readable or writable by group or others is refused, as ssh does). Either one
  key per line, current first, `#` comments allowed, or JSON:
  `{"current": "k2", "keys": {"k2": "BASE64", "k1": "BASE64"}}`. On Kubernetes mount the
  secret with `defaultMode: 0400`.
- A KMS or Vault transit engine: see `kms_keys.py`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tradewind.errors import ConfigError
from tradewind.security.errors import InsecureKeyFile, UnknownMasterKey

KEY_BYTES = 32
"""Length of a master key in bytes (AES-256)."""

MASTER_KEYS_VARIABLE = "TRADEWIND_MASTER_KEYS"
MASTER_KEY_VARIABLE = "TRADEWIND_MASTER_KEY"
MASTER_KEY_FILE_VARIABLE = "TRADEWIND_MASTER_KEY_FILE"

_KID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_MAX_KEY_FILE_BYTES = 64 * 1024
_HOW_TO_GENERATE = "generate one with `tradewind keys generate`"


class MasterKeyProvider(Protocol):
    """Where the envelope finds master keys by id."""

    @property
    def current_kid(self) -> str:
        """The id of the key that wraps every new or rewrapped data key."""
        ...

    @property
    def kids(self) -> tuple[str, ...]:
        """Every loaded key id, the current one first."""
        ...

    def get(self, kid: str) -> bytes:
        """The 32-byte key named `kid`; raises `UnknownMasterKey` if it is not loaded."""
        ...


def is_valid_kid(kid: str) -> bool:
    """Whether `kid` is a well-formed key id (1-64 of `A-Za-z0-9_.-`, no leading symbol)."""
    return _KID.fullmatch(kid) is not None


def fingerprint_kid(key: bytes) -> str:
    """The key id given to a key written without one: `fp` + 12 hex digits of a
    domain-separated SHA-256 of the key (one-way; reveals nothing usable)."""
    return "fp" + hashlib.sha256(b"tradewind/master-key-id\x00" + key).hexdigest()[:12]


def generate_master_key(kid: str | None = None) -> str:
    """A new master key in text form `kid:BASE64` (32 random bytes), for `tradewind keys
    generate`. The default kid is `kYYYYMMDD-xxxx` (UTC date + 4 random hex digits), so
    key ids sort by age and two keys made the same day still differ."""
    if kid is None:
        kid = f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(2)}"
    if not is_valid_kid(kid):
        raise ValueError(f"key id {kid!r} must be 1-64 of A-Z a-z 0-9 _ . - (no leading symbol)")
    return f"{kid}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode('ascii')}"


def derive_subkey(master_key: bytes, purpose: str, length: int = 32) -> bytes:
    """A `length`-byte key for `purpose` (e.g. `blind-index/email`) derived from
    `master_key` with HKDF-SHA256; different purposes give independent keys."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=length,
        salt=None,
        info=b"tradewind/" + purpose.encode("utf-8"),
    )
    return hkdf.derive(master_key)


class StaticMasterKeys:
    """Master keys held in process memory, loaded once (environment or key file)."""

    def __init__(self, keys: Mapping[str, bytes], current_kid: str) -> None:
        """`keys` maps kid to its 32-byte key; `current_kid` must be one of them."""
        if current_kid not in keys:
            raise ValueError(f"current key id {current_kid!r} is not among the keys")
        for kid, key in keys.items():
            if not is_valid_kid(kid) or len(key) != KEY_BYTES:
                raise ValueError(f"key {kid!r}: needs a valid id and exactly {KEY_BYTES} bytes")
        self._keys = dict(keys)
        self._current_kid = current_kid

    @property
    def current_kid(self) -> str:
        """The id of the key that wraps every new or rewrapped data key."""
        return self._current_kid

    @property
    def kids(self) -> tuple[str, ...]:
        """Every loaded key id, the current one first."""
        return (self._current_kid, *(kid for kid in self._keys if kid != self._current_kid))

    def get(self, kid: str) -> bytes:
        """The 32-byte key named `kid`; raises `UnknownMasterKey` if it is not loaded."""
        try:
            return self._keys[kid]
        except KeyError:
            raise UnknownMasterKey(kid, self.kids) from None

    def __repr__(self) -> str:
        return f"StaticMasterKeys(current_kid={self._current_kid!r}, kids={self.kids!r})"


def parse_master_keys(text: str, setting: str = MASTER_KEYS_VARIABLE) -> StaticMasterKeys:
    """Keys in text form separated by commas or newlines, the first being current; blank
    entries and `#` comment lines are skipped. Raises `ConfigError` naming `setting` and
    the entry's position or kid, never the key itself."""
    entries = [
        entry.strip()
        for line in text.splitlines()
        if not line.strip().startswith("#")
        for entry in line.split(",")
        if entry.strip()
    ]
    return _keys_from_entries(((None, entry) for entry in entries), setting)


def load_master_keys(
    *, keys: str | None = None, key: str | None = None, key_file: str | Path | None = None
) -> StaticMasterKeys:
    """The master keys from exactly one of the three settings (`TRADEWIND_MASTER_KEYS`,
    `TRADEWIND_MASTER_KEY`, `TRADEWIND_MASTER_KEY_FILE`); raises `ConfigError` if none or
    several are given, or the one given is wrong."""
    given = [
        name
        for name, value in (
            (MASTER_KEYS_VARIABLE, keys),
            (MASTER_KEY_VARIABLE, key),
            (MASTER_KEY_FILE_VARIABLE, key_file),
        )
        if value
    ]
    if not given:
        raise ConfigError(
            MASTER_KEYS_VARIABLE,
            f"no master key is configured; {_HOW_TO_GENERATE} and set {MASTER_KEYS_VARIABLE}, "
            f"{MASTER_KEY_VARIABLE} or {MASTER_KEY_FILE_VARIABLE}",
        )
    if len(given) > 1:
        raise ConfigError(given[0], f"set only one of {', '.join(given)}")
    if keys:
        return parse_master_keys(keys, MASTER_KEYS_VARIABLE)
    if key:
        if "," in key or "\n" in key.strip():
            raise ConfigError(
                MASTER_KEY_VARIABLE, f"holds one key only; use {MASTER_KEYS_VARIABLE} for several"
            )
        return parse_master_keys(key, MASTER_KEY_VARIABLE)
    assert key_file
    return read_master_key_file(key_file)


class _KeyFileJson(msgspec.Struct, forbid_unknown_fields=True):
    keys: dict[str, str]
    current: str | None = None


def read_master_key_file(
    path: str | Path, setting: str = MASTER_KEY_FILE_VARIABLE
) -> StaticMasterKeys:
    """The keys in the file at `path` (one per line, current first, or the JSON form in
    this module's docstring). Refuses, with `InsecureKeyFile`, a file that group or
    others may read or write, or that belongs to another user than us or root."""
    path = Path(path)
    text = _read_private_file(path, setting)
    if not text.lstrip().startswith("{"):
        return parse_master_keys(text, setting)
    try:
        document = msgspec.json.decode(text, type=_KeyFileJson)
    except msgspec.ValidationError as exc:
        raise ConfigError(setting, f"{path}: {exc}") from None
    except msgspec.DecodeError:
        raise ConfigError(setting, f"{path} is not valid JSON") from None
    current = document.current
    if current is None:
        if len(document.keys) != 1:
            raise ConfigError(setting, f'{path}: say which key is current with "current"')
        current = next(iter(document.keys))
    if current not in document.keys:
        raise ConfigError(setting, f'{path}: current key {current!r} is not in "keys"')
    ordered = [(current, document.keys[current])]
    ordered += [(kid, value) for kid, value in document.keys.items() if kid != current]
    return _keys_from_entries(ordered, setting)


def _read_private_file(path: Path, setting: str) -> str:
    # O_NONBLOCK: opening a FIFO put in the key's place must fail below, not hang here.
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ConfigError(setting, f"cannot open {path}: {exc.strerror}") from None
    try:
        _check_private(os.fstat(fd), path, setting)  # the opened file: no race on the path
        data = b""
        while len(data) <= _MAX_KEY_FILE_BYTES:
            chunk = os.read(fd, _MAX_KEY_FILE_BYTES + 1 - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise ConfigError(setting, f"{path} is larger than {_MAX_KEY_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(setting, f"{path} is not UTF-8 text") from None


def _check_private(info: os.stat_result, path: Path, setting: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(setting, f"{path} is not a regular file")
    if os.name != "posix":
        return
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise InsecureKeyFile(
            setting,
            f"{path} has mode {mode:04o}: group or others can access it; run "
            f"`chmod 600 {path}` (on Kubernetes, mount the secret with defaultMode 0400)",
        )
    if info.st_uid not in (os.geteuid(), 0):
        raise InsecureKeyFile(
            setting, f"{path} belongs to uid {info.st_uid}, not to this user or root"
        )


def _keys_from_entries(entries: Iterable[tuple[str | None, str]], setting: str) -> StaticMasterKeys:
    """Entries are (kid, BASE64) pairs or (None, `kid:BASE64` or bare BASE64) text."""
    keys: dict[str, bytes] = {}
    for position, (given_kid, value) in enumerate(entries, start=1):
        kid, encoded = (given_kid, value) if given_kid is not None else _split_entry(value)
        where = f"key {position}" + (f" ({kid!r})" if kid else "")
        if kid is not None and not is_valid_kid(kid):
            raise ConfigError(
                setting,
                f"{where}: the key id must be 1-64 of A-Z a-z 0-9 _ . - (no leading symbol)",
            )
        key = _decode_key(encoded.strip())
        if key is None:
            raise ConfigError(
                setting, f"{where} is not the base64 of {KEY_BYTES} bytes; {_HOW_TO_GENERATE}"
            )
        kid = kid or fingerprint_kid(key)
        if kid in keys:
            raise ConfigError(setting, f"key id {kid!r} appears twice")
        keys[kid] = key
    if not keys:
        raise ConfigError(setting, f"holds no key; {_HOW_TO_GENERATE}")
    return StaticMasterKeys(keys, current_kid=next(iter(keys)))


def _split_entry(entry: str) -> tuple[str | None, str]:
    kid, separator, encoded = entry.partition(":")
    return (kid.strip(), encoded) if separator else (None, entry)


def _decode_key(encoded: str) -> bytes | None:
    standard = encoded.replace("-", "+").replace("_", "/")  # URL-safe alphabet too
    try:
        key = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == KEY_BYTES else None
