"""Envelope encryption: round trips, tampering, record binding, rotation, blind index."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.security.factories import key_bytes, master_keys
from tradewind.security.encryption import (
    Encryptor,
    StoredSecret,
    blind_index,
    email_index_key,
    normalise_email,
)
from tradewind.security.errors import DecryptionFailed, MalformedSecret, UnknownMasterKey
from tradewind.security.master_keys import derive_subkey

CONTEXT = "exchange_account:42:api_secret"


def test_bytes_and_text_round_trip() -> None:
    encryptor = Encryptor(master_keys("k1"))
    assert encryptor.decrypt(encryptor.encrypt(b"\x00\xffbinary", CONTEXT), CONTEXT) == (
        b"\x00\xffbinary"
    )
    assert encryptor.decrypt_text(encryptor.encrypt("sécret ✓", CONTEXT), CONTEXT) == "sécret ✓"
    assert encryptor.decrypt(encryptor.encrypt(b"", CONTEXT), CONTEXT) == b""


@given(plaintext=st.binary(max_size=512), context=st.text(min_size=1, max_size=64))
def test_any_plaintext_round_trips_through_the_json_form(plaintext: bytes, context: str) -> None:
    encryptor = Encryptor(master_keys("k1"))
    stored_json = encryptor.encrypt(plaintext, context).to_json()
    assert encryptor.decrypt(stored_json, context) == plaintext
    assert encryptor.decrypt(StoredSecret.from_json(stored_json), context) == plaintext


def test_stored_form_is_versioned_compact_json_with_base64_fields() -> None:
    stored = Encryptor(master_keys("k1")).encrypt("x" * 64, CONTEXT)
    document = json.loads(stored.to_json())
    assert set(document) == {"v", "kid", "wrapped_key", "nonce", "ciphertext"}
    assert document["v"] == 1
    assert document["kid"] == "k1"
    assert len(base64.b64decode(document["nonce"])) == 12
    assert len(base64.b64decode(document["wrapped_key"])) == 12 + 32 + 16
    assert len(base64.b64decode(document["ciphertext"])) == 64 + 16
    assert len(stored.to_json()) < 300


def test_each_encryption_uses_a_fresh_data_key_and_nonce() -> None:
    encryptor = Encryptor(master_keys("k1"))
    first, second = encryptor.encrypt("same", CONTEXT), encryptor.encrypt("same", CONTEXT)
    assert first.nonce != second.nonce
    assert first.wrapped_key != second.wrapped_key
    assert first.ciphertext != second.ciphertext


def test_a_ciphertext_does_not_decrypt_for_another_record_or_field() -> None:
    encryptor = Encryptor(master_keys("k1"))
    stored = encryptor.encrypt("secret", "exchange_account:42:api_secret")
    for other in ("exchange_account:43:api_secret", "exchange_account:42:api_key", ""):
        with pytest.raises((DecryptionFailed, ValueError)):
            encryptor.decrypt(stored, other)


@pytest.mark.parametrize("field", ["wrapped_key", "nonce", "ciphertext"])
@given(data=st.data())
def test_flipping_any_bit_of_any_field_fails_to_decrypt(field: str, data: st.DataObject) -> None:
    encryptor = Encryptor(master_keys("k1"))
    stored = encryptor.encrypt("api secret value", CONTEXT)
    original: bytes = getattr(stored, field)
    bit = data.draw(st.integers(0, len(original) * 8 - 1))
    flipped = bytearray(original)
    flipped[bit // 8] ^= 1 << (bit % 8)
    tampered = msgspec.structs.replace(stored, **{field: bytes(flipped)})
    with pytest.raises(DecryptionFailed) as caught:
        encryptor.decrypt(tampered, CONTEXT)
    assert not isinstance(caught.value, MalformedSecret)


def test_a_changed_kid_or_version_fails() -> None:
    encryptor = Encryptor(master_keys("k1", "k2"))
    stored = encryptor.encrypt("secret", CONTEXT)
    with pytest.raises(DecryptionFailed):
        encryptor.decrypt(msgspec.structs.replace(stored, kid="k2"), CONTEXT)
    with pytest.raises(UnknownMasterKey):
        encryptor.decrypt(msgspec.structs.replace(stored, kid="k9"), CONTEXT)
    with pytest.raises(MalformedSecret, match="format version 2"):
        encryptor.decrypt(msgspec.structs.replace(stored, v=2), CONTEXT)


def test_swapping_wrapped_keys_between_records_fails() -> None:
    encryptor = Encryptor(master_keys("k1"))
    first, second = encryptor.encrypt("one", CONTEXT), encryptor.encrypt("two", CONTEXT)
    mixed = msgspec.structs.replace(first, wrapped_key=second.wrapped_key)
    with pytest.raises(DecryptionFailed):
        encryptor.decrypt(mixed, CONTEXT)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "not JSON"),
        ('{"v":1}', "missing required field"),
        ('{"v":1,"kid":"k1","wrapped_key":"","nonce":"","ciphertext":"","x":1}', "unknown"),
        ('{"v":1,"kid":"k1","wrapped_key":"!!","nonce":"","ciphertext":""}', "base64"),
        ('{"v":1,"kid":"k1","wrapped_key":"","nonce":"","ciphertext":""}', "wrapped key"),
        ('{"v":1,"kid":"../etc","wrapped_key":"","nonce":"","ciphertext":""}', "key id"),
    ],
)
def test_malformed_stored_forms_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(MalformedSecret, match=problem):
        Encryptor(master_keys("k1")).decrypt(text, CONTEXT)


def test_rotation_keeps_old_secrets_readable_until_rewrapped_then_needs_only_the_new_key() -> None:
    before = Encryptor(master_keys("k1"))
    old = before.encrypt("exchange secret", CONTEXT)

    during = Encryptor(master_keys("k2", "k1"))  # k2 current, k1 still loaded
    assert during.decrypt(old, CONTEXT) == b"exchange secret"
    assert during.needs_rewrap(old)
    rewrapped = during.rewrap(old)
    assert rewrapped.kid == "k2"
    assert (rewrapped.nonce, rewrapped.ciphertext) == (old.nonce, old.ciphertext)
    assert not during.needs_rewrap(rewrapped)
    assert during.decrypt(rewrapped, CONTEXT) == b"exchange secret"
    assert during.encrypt("new", CONTEXT).kid == "k2"

    after = Encryptor(master_keys("k2"))  # k1 retired
    assert after.decrypt(rewrapped, CONTEXT) == b"exchange secret"
    with pytest.raises(UnknownMasterKey, match="'k1' is not loaded"):
        after.decrypt(old, CONTEXT)


def test_rewrap_under_the_current_key_returns_the_same_secret() -> None:
    encryptor = Encryptor(master_keys("k1"))
    stored = encryptor.encrypt("secret", CONTEXT)
    assert encryptor.rewrap(stored) is stored


def test_rewrap_refuses_a_tampered_wrapped_key() -> None:
    stored = Encryptor(master_keys("k1")).encrypt("secret", CONTEXT)
    broken = bytearray(stored.wrapped_key)
    broken[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        Encryptor(master_keys("k2", "k1")).rewrap(
            msgspec.structs.replace(stored, wrapped_key=bytes(broken))
        )


# -- blind index ------------------------------------------------------------------------


def test_blind_index_is_hmac_sha256_of_the_normalised_address_under_an_hkdf_key() -> None:
    key = email_index_key(key_bytes("k1"))
    assert key == derive_subkey(key_bytes("k1"), "blind-index/email/v1")
    expected = hmac.new(key, b"alice@example.com", hashlib.sha256).digest()
    assert blind_index("  Alice@Example.COM ", key) == (
        base64.urlsafe_b64encode(expected).rstrip(b"=").decode()
    )


def test_blind_index_is_deterministic_and_keyed() -> None:
    key1, key2 = email_index_key(key_bytes("k1")), email_index_key(key_bytes("k2"))
    assert blind_index("bob@example.com", key1) == blind_index("BOB@example.com", key1)
    assert blind_index("bob@example.com", key1) != blind_index("bob@example.org", key1)
    assert blind_index("bob@example.com", key1) != blind_index("bob@example.com", key2)
    assert len(blind_index("bob@example.com", key1)) == 43


def test_normalise_email_folds_compatibility_forms_and_case() -> None:
    assert normalise_email("\t\uff21lice@Example.com\n") == "alice@example.com"


def test_email_index_names_its_key_and_candidates_cover_every_loaded_key() -> None:
    indexed_under_k1 = Encryptor(master_keys("k1")).email_index("carol@example.com")
    assert indexed_under_k1.startswith("k1:")
    rotating = Encryptor(master_keys("k2", "k1"))
    candidates = rotating.email_index_candidates("Carol@example.com")
    assert candidates[0] == rotating.email_index("carol@example.com")
    assert candidates[0].startswith("k2:")
    assert indexed_under_k1 in candidates
