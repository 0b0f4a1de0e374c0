"""Canaries: a recognisable secret goes in, and must come out of no stored form, repr,
exception message or traceback — in clear or in base64."""

from __future__ import annotations

import base64
import traceback
from collections.abc import Callable

import msgspec
import pytest

from tests.unit.security.factories import key_bytes, master_keys
from tradewind.errors import ConfigError
from tradewind.security.encryption import Encryptor, StoredSecret
from tradewind.security.errors import (
    DecryptionFailed,
    InvalidToken,
    RefreshTokenRejected,
    SecurityError,
    WeakPassword,
)
from tradewind.security.master_keys import parse_master_keys
from tradewind.security.passwords import check_password_policy
from tradewind.security.refresh_tokens import InMemoryRefreshTokenStore, RefreshTokenIssuer
from tradewind.security.tokens import AccessTokenConfig, decode_access_token, issue_access_token

CANARY = "CANARY-api-secret-7f3a9c2e41d8b6a0"
CONTEXT = "exchange_account:7:api_secret"


def leaks(secret: str | bytes, *texts: str) -> list[str]:
    """The texts holding `secret`, verbatim or base64-encoded (at every alignment)."""
    raw = secret.encode() if isinstance(secret, str) else secret
    needles = {raw.decode("latin-1")}
    for shift in range(3):
        encoded = base64.b64encode(raw[shift:]).decode()
        needles.add(encoded[4:-4])  # the stable middle, whatever precedes it
        needles.add(base64.urlsafe_b64encode(raw[shift:]).decode()[4:-4])
    return [text for text in texts for needle in needles if needle in text]


def everything_about(error: BaseException) -> list[str]:
    """What a log of `error` shows: its message, repr and args, and those of every
    exception chained to it (the traceback's source lines are the test's own, left out)."""
    texts = []
    seen: BaseException | None = error
    while seen is not None:
        texts += [str(seen), repr(seen), repr(seen.args)]
        texts += traceback.format_exception_only(type(seen), seen)
        seen = seen.__cause__ or seen.__context__
    return texts


def raised_by(action: Callable[[], object]) -> BaseException:
    with pytest.raises((SecurityError, ConfigError, ValueError)) as caught:
        action()
    return caught.value


def test_no_stored_form_of_a_secret_contains_it() -> None:
    stored = Encryptor(master_keys("k1")).encrypt(CANARY, CONTEXT)
    forms = [
        stored.to_json(),
        repr(stored),
        str(stored),
        msgspec.json.encode(stored).decode(),
        msgspec.msgpack.encode(stored).decode("latin-1"),
        repr(msgspec.structs.asdict(stored)),
    ]
    assert leaks(CANARY, *forms) == []
    assert leaks(key_bytes("k1"), *forms) == []


def test_no_decryption_error_contains_the_secret_or_a_key() -> None:
    encryptor = Encryptor(master_keys("k1"))
    stored = encryptor.encrypt(CANARY, CONTEXT)
    flipped = bytearray(stored.ciphertext)
    flipped[0] ^= 1
    errors = [
        raised_by(lambda: encryptor.decrypt(stored, "exchange_account:8:api_secret")),
        raised_by(
            lambda: encryptor.decrypt(
                msgspec.structs.replace(stored, ciphertext=bytes(flipped)), CONTEXT
            )
        ),
        raised_by(lambda: Encryptor(master_keys("k2")).decrypt(stored, CONTEXT)),
        raised_by(lambda: StoredSecret.from_json(f'{{"v":1,"kid":"{CANARY * 3}"}}')),
        raised_by(lambda: StoredSecret.from_json(CANARY)),
    ]
    assert isinstance(errors[0], DecryptionFailed)
    texts = [text for error in errors for text in everything_about(error)]
    assert leaks(CANARY, *texts) == []
    assert leaks(key_bytes("k1"), *texts) == []


def test_no_master_key_error_or_repr_contains_key_material() -> None:
    bad_key = base64.b64encode(b"31 bytes of almost-right key!!!").decode()
    texts = everything_about(raised_by(lambda: parse_master_keys(f"k1:{bad_key}")))
    texts += everything_about(raised_by(lambda: parse_master_keys(f"k1:{bad_key}!")))
    texts.append(repr(master_keys("k1", "k2")))
    assert leaks(bad_key.encode(), *texts) == []
    assert leaks(key_bytes("k1"), *texts) == []


def test_no_password_error_contains_the_password() -> None:
    error = raised_by(lambda: check_password_policy("CANARYCANARY"))
    assert isinstance(error, WeakPassword)
    assert leaks("CANARYCANARY", *everything_about(error), *error.problems) == []


def test_no_token_error_contains_the_token_or_the_signing_secret() -> None:
    secret = b"CANARY-jwt-secret-" + b"x" * 20
    config = AccessTokenConfig.hs256(secret)
    token = issue_access_token(
        config, "user-1", ["admin"], now_s=1_800_000_000, session_id="s1", version=0
    )
    errors = [
        raised_by(lambda: decode_access_token(token, config, now_s=1_900_000_000)),
        raised_by(lambda: decode_access_token(token + "x", config, now_s=1_800_000_000)),
        raised_by(lambda: decode_access_token(token, AccessTokenConfig.hs256(b"y" * 32))),
        raised_by(lambda: AccessTokenConfig.hs256(b"CANARY-short")),
    ]
    assert all(isinstance(error, InvalidToken | ConfigError) for error in errors)
    texts = [text for error in errors for text in everything_about(error)] + [repr(config)]
    assert leaks(token.split(".")[2], *texts) == []
    assert leaks(secret, *texts) == []
    assert leaks(b"CANARY-short", *texts) == []


async def test_no_refresh_error_contains_the_refresh_token() -> None:
    issuer = RefreshTokenIssuer(InMemoryRefreshTokenStore())
    issued = await issuer.issue("user-1")
    await issuer.rotate(issued.token)
    with pytest.raises(RefreshTokenRejected) as caught:
        await issuer.rotate(issued.token)
    assert leaks(issued.token, *everything_about(caught.value), repr(issued)) == []
