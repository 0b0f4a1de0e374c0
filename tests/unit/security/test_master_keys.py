"""Master keys from text, the environment and key files; generation and derivation."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from tests.unit.security.factories import key_bytes, key_text
from tradewind.errors import ConfigError
from tradewind.security.encryption import Encryptor
from tradewind.security.errors import InsecureKeyFile, UnknownMasterKey
from tradewind.security.master_keys import (
    derive_subkey,
    fingerprint_kid,
    generate_master_key,
    load_master_keys,
    parse_master_keys,
    read_master_key_file,
)


def test_the_first_of_several_keys_is_current() -> None:
    keys = parse_master_keys(f"{key_text('k2')}, {key_text('k1')}")
    assert keys.current_kid == "k2"
    assert keys.kids == ("k2", "k1")
    assert keys.get("k1") == key_bytes("k1")


def test_a_bare_key_gets_a_kid_derived_from_it() -> None:
    bare = base64.b64encode(key_bytes("x")).decode()
    keys = parse_master_keys(bare)
    assert keys.current_kid == fingerprint_kid(key_bytes("x"))
    assert keys.current_kid.startswith("fp") and len(keys.current_kid) == 14
    assert parse_master_keys(bare).current_kid == keys.current_kid


def test_url_safe_base64_without_padding_is_accepted() -> None:
    encoded = base64.urlsafe_b64encode(key_bytes("k1")).decode().rstrip("=")
    assert parse_master_keys(f"k1:{encoded}").get("k1") == key_bytes("k1")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("k1:" + base64.b64encode(b"short").decode(), r"key 1 \('k1'\) is not the base64 of 32"),
        ("k1:not*base64", "is not the base64"),
        ("-bad:" + base64.b64encode(bytes(32)).decode(), "key id must be"),
        (f"{key_text('k1')},{key_text('k1')}", "'k1' appears twice"),
        (" , ", "holds no key"),
    ],
)
def test_bad_key_text_is_a_config_error_naming_the_setting(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        parse_master_keys(text, "TRADEWIND_MASTER_KEYS")
    assert caught.value.setting == "TRADEWIND_MASTER_KEYS"


def test_unknown_kid_names_the_loaded_keys() -> None:
    with pytest.raises(UnknownMasterKey, match=r"'k0' is not loaded \(loaded: k2, k1\)"):
        parse_master_keys(f"{key_text('k2')},{key_text('k1')}").get("k0")


def test_exactly_one_source_of_keys_must_be_set() -> None:
    with pytest.raises(ConfigError, match="no master key is configured") as caught:
        load_master_keys()
    assert caught.value.setting == "TRADEWIND_MASTER_KEYS"
    with pytest.raises(ConfigError, match="set only one of"):
        load_master_keys(keys=key_text("k1"), key=key_text("k2"))
    with pytest.raises(ConfigError, match="one key only") as caught:
        load_master_keys(key=f"{key_text('k1')},{key_text('k2')}")
    assert caught.value.setting == "TRADEWIND_MASTER_KEY"


def test_one_key_or_several_current_first() -> None:
    assert load_master_keys(key=key_text("k7")).current_kid == "k7"
    assert load_master_keys(keys=f"{key_text('k2')},{key_text('k1')}").kids == ("k2", "k1")


def _key_file(path: Path, text: str, mode: int) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_key_file_with_one_key_per_line_and_comments(tmp_path: Path) -> None:
    text = f"# rotated 2026-01\n{key_text('k2')}\n\n{key_text('k1')}\n"
    keys = read_master_key_file(_key_file(tmp_path / "keys", text, 0o600))
    assert keys.kids == ("k2", "k1")


def test_key_file_in_json_names_its_current_key(tmp_path: Path) -> None:
    document = {
        "current": "k2",
        "keys": {kid: key_text(kid).partition(":")[2] for kid in ("k1", "k2")},
    }
    keys = read_master_key_file(_key_file(tmp_path / "keys.json", json.dumps(document), 0o400))
    assert keys.kids == ("k2", "k1")
    assert keys.get("k1") == key_bytes("k1")


def test_key_file_in_json_with_several_keys_must_say_which_is_current(tmp_path: Path) -> None:
    document = {"keys": {kid: key_text(kid).partition(":")[2] for kid in ("k1", "k2")}}
    with pytest.raises(ConfigError, match='"current"'):
        read_master_key_file(_key_file(tmp_path / "keys.json", json.dumps(document), 0o600))


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660])
def test_key_file_that_others_can_access_is_refused(tmp_path: Path, mode: int) -> None:
    path = _key_file(tmp_path / "keys", key_text("k1"), mode)
    with pytest.raises(InsecureKeyFile, match=f"mode {mode:04o}.*chmod 600") as caught:
        read_master_key_file(path)
    assert caught.value.setting == "TRADEWIND_MASTER_KEY_FILE"
    assert isinstance(caught.value, ConfigError)


def test_key_file_that_is_missing_or_a_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot open"):
        read_master_key_file(tmp_path / "absent")
    with pytest.raises(ConfigError, match="not a regular file"):
        read_master_key_file(tmp_path)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo", 0o600)
        with pytest.raises(ConfigError, match="not a regular file"):
            read_master_key_file(tmp_path / "fifo")


def test_key_file_larger_than_64_kib_is_refused(tmp_path: Path) -> None:
    path = _key_file(tmp_path / "keys", key_text("k1") + "\n#" + "x" * 70_000, 0o600)
    with pytest.raises(ConfigError, match="larger than"):
        read_master_key_file(path)


def test_key_file_through_load_master_keys(tmp_path: Path) -> None:
    path = _key_file(tmp_path / "keys", key_text("k1"), 0o600)
    assert load_master_keys(key_file=path).current_kid == "k1"


def test_generated_keys_parse_back_and_differ() -> None:
    first, second = generate_master_key(), generate_master_key()
    assert first != second
    keys = parse_master_keys(first)
    assert keys.current_kid == first.partition(":")[0]
    assert keys.current_kid.startswith("k") and len(keys.get(keys.current_kid)) == 32
    assert generate_master_key("prod-2026").startswith("prod-2026:")
    with pytest.raises(ValueError, match="key id"):
        generate_master_key("bad kid")
    encryptor = Encryptor(keys)
    assert encryptor.decrypt(encryptor.encrypt("x", "c"), "c") == b"x"


def test_derived_subkeys_are_deterministic_and_separate_by_purpose() -> None:
    master = key_bytes("k1")
    assert derive_subkey(master, "a") == derive_subkey(master, "a")
    assert derive_subkey(master, "a") != derive_subkey(master, "b")
    assert derive_subkey(master, "a") != master
    assert len(derive_subkey(master, "a", length=16)) == 16
