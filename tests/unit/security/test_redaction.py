"""Masks for API keys and secret-named fields."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.security.redaction import (
    MASK,
    is_secret_field,
    mask_api_key,
    redact_mapping,
    redact_secret_fields,
)

BINANCE_STYLE_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


def test_long_keys_show_four_leading_and_four_trailing_characters() -> None:
    assert mask_api_key(BINANCE_STYLE_KEY) == "vmPU…Eh8A"
    assert mask_api_key(f"  {BINANCE_STYLE_KEY}\n") == "vmPU…Eh8A"


@pytest.mark.parametrize(
    ("key", "mask"),
    [
        ("abcdefghijklmnopqrst", "abcd…qrst"),
        ("abcdefghijklmnopqrs", "…pqrs"),
        ("abcdefghijkl", "…ijkl"),
        ("abcdefghijk", MASK),
        ("abc", MASK),
        ("", MASK),
        (None, MASK),
    ],
)
def test_shorter_keys_reveal_less_and_short_ones_nothing(key: str | None, mask: str) -> None:
    assert mask_api_key(key) == mask


@given(st.text(alphabet=st.characters(codec="ascii", categories=["L", "N"]), max_size=200))
def test_a_mask_never_reveals_more_than_eight_characters_or_half_the_key(key: str) -> None:
    shown = mask_api_key(key).replace("…", "").replace(MASK, "")
    assert len(shown) <= 8
    assert len(shown) <= len(key) * 0.4


def test_secret_named_fields_are_masked_at_any_depth() -> None:
    event = {
        "event": "connected",
        "account_id": 42,
        "api_key": BINANCE_STYLE_KEY,
        "apiSecret": "hunter2-hunter2",
        "request": {"headers": {"Authorization": "Bearer abc", "Accept": "json"}},
        "attempts": [{"password": "pw", "user": "bob"}],
        "refresh_token": None,
        "access_token_ttl_s": 900,
    }
    assert redact_mapping(event) == {
        "event": "connected",
        "account_id": 42,
        "api_key": "vmPU…Eh8A",
        "apiSecret": MASK,
        "request": {"headers": {"Authorization": MASK, "Accept": "json"}},
        "attempts": [{"password": MASK, "user": "bob"}],
        "refresh_token": None,
        "access_token_ttl_s": 900,
    }


def test_the_structlog_processor_masks_the_event_dict() -> None:
    processed = redact_secret_fields(None, "info", {"event": "x", "master_key": "k1:AAAA"})
    assert processed == {"event": "x", "master_key": MASK}


@pytest.mark.parametrize("name", ["secret", "API_KEY", "private_key", "passphrase", "cookie"])
def test_secret_field_names(name: str) -> None:
    assert is_secret_field(name)


@pytest.mark.parametrize("name", ["event", "account_id", "symbol", "key", "price"])
def test_ordinary_field_names(name: str) -> None:
    assert not is_secret_field(name)
