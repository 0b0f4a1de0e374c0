"""The gateway's security settings: access tokens stay short-lived (5 minutes unless
set, never over an hour), and the refresh budget refuses values it cannot use."""

from __future__ import annotations

import os

import pytest

from tradewind.errors import ConfigError
from tradewind.runtime.settings import load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees no TRADEWIND_* variable but the ones it sets."""
    for name in list(os.environ):
        if name.upper().startswith("TRADEWIND_"):
            monkeypatch.delenv(name)


def test_an_access_token_lives_five_minutes_unless_set() -> None:
    assert load_settings().access_token_ttl_s == 300


def test_an_access_token_may_live_an_hour_and_no_longer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWIND_ACCESS_TOKEN_TTL_S", "3600")
    assert load_settings().access_token_ttl_s == 3600
    monkeypatch.setenv("TRADEWIND_ACCESS_TOKEN_TTL_S", "3601")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert refused.value.setting == "TRADEWIND_ACCESS_TOKEN_TTL_S"
    assert "TRADEWIND_ACCESS_TOKEN_TTL_S" in str(refused.value)
    assert refused.value.problem.startswith("Input should be less than or equal to 3600")


def test_the_refresh_budget_is_a_whole_number_of_refreshes_per_minute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().refresh_rate_per_ip == 60
    monkeypatch.setenv("TRADEWIND_REFRESH_RATE_PER_IP", "120")
    assert load_settings().refresh_rate_per_ip == 120
    for bad, problem in [
        ("0", "Input should be greater than or equal to 1"),
        ("lots", "Input should be a valid integer"),
    ]:
        monkeypatch.setenv("TRADEWIND_REFRESH_RATE_PER_IP", bad)
        with pytest.raises(ConfigError) as refused:
            load_settings()
        assert refused.value.setting == "TRADEWIND_REFRESH_RATE_PER_IP"
        assert refused.value.problem.startswith(problem), refused.value.problem
