"""Master keys kept encrypted by a KMS, against a local stand-in for the KMS API."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tradewind.security.encryption import Encryptor
from tradewind.security.errors import SecurityError, UnknownMasterKey
from tradewind.security.kms_keys import KmsMasterKeys, kms_wrap_new_master_key


class LocalKms:
    """What a KMS does, in process: AES-GCM under a named key, the context bound as
    associated data; counts decryptions."""

    def __init__(self) -> None:
        self.keys = {"tradewind": AESGCM.generate_key(bit_length=256)}
        self.decryptions = 0

    def encrypt(self, key_name: str, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(self.keys[key_name]).encrypt(nonce, plaintext, _aad(context))

    def decrypt(self, key_name: str, ciphertext: bytes, context: Mapping[str, str]) -> bytes:
        self.decryptions += 1
        return AESGCM(self.keys[key_name]).decrypt(ciphertext[:12], ciphertext[12:], _aad(context))


def _aad(context: Mapping[str, str]) -> bytes:
    return json.dumps(dict(context), sort_keys=True).encode()


def test_kms_held_keys_encrypt_and_rotate_like_local_ones() -> None:
    kms = LocalKms()
    wrapped = {kid: kms_wrap_new_master_key(kms, "tradewind", kid) for kid in ("k2", "k1")}
    old = Encryptor(KmsMasterKeys(kms, "tradewind", {"k1": wrapped["k1"]})).encrypt("s", "c")
    encryptor = Encryptor(KmsMasterKeys(kms, "tradewind", wrapped))
    assert encryptor.decrypt(old, "c") == b"s"
    assert encryptor.rewrap(old).kid == "k2"


def test_each_key_is_decrypted_by_the_kms_once() -> None:
    kms = LocalKms()
    keys = KmsMasterKeys(
        kms, "tradewind", {kid: kms_wrap_new_master_key(kms, "tradewind", kid) for kid in "ab"}
    )
    keys.preload()
    assert kms.decryptions == 2
    keys.get("a")
    keys.get("b")
    assert kms.decryptions == 2
    assert keys.current_kid == "a"
    assert keys.kids == ("a", "b")


def test_a_key_wrapped_for_another_kid_is_refused_by_the_kms() -> None:
    kms = LocalKms()
    keys = KmsMasterKeys(kms, "tradewind", {"k2": kms_wrap_new_master_key(kms, "tradewind", "k1")})
    with pytest.raises(InvalidTag):
        keys.get("k2")


def test_unknown_kid_and_wrong_length_key_are_errors() -> None:
    kms = LocalKms()
    short = kms.encrypt(
        "tradewind", b"16 bytes only!!!", {"purpose": "tradewind-master-key", "kid": "k1"}
    )
    keys = KmsMasterKeys(kms, "tradewind", {"k1": short})
    with pytest.raises(UnknownMasterKey):
        keys.get("k9")
    with pytest.raises(SecurityError, match="16 bytes, not 32"):
        keys.get("k1")
    assert "16 bytes only" not in repr(keys)
