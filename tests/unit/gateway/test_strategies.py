"""The gateway's view of the strategy plug-ins."""

from __future__ import annotations

from typing import Any

import pytest

from tradewind.gateway.errors import ApiError
from tradewind.gateway.strategies import InstalledStrategies


def refusal(params: dict[str, Any], strategy: str = "dca") -> ApiError:
    with pytest.raises(ApiError) as refused:
        InstalledStrategies().validate(strategy, params)
    assert refused.value.status == 422
    return refused.value


def test_params_are_completed_with_defaults_as_json_ready_data() -> None:
    params = InstalledStrategies().validate("dca", {"symbol": "BTC/USDT", "quote_amount": 10})
    assert params["quote_amount"] == "10" and params["interval_s"] == 86_400


def test_refusals_name_the_field() -> None:
    assert refusal({"symbol": "BTC/USDT"}).field == "params.quote_amount"
    assert refusal({"symbol": "BTCUSDT", "quote_amount": "1"}).field == "params.symbol"
    assert refusal({"symbol": "BTC/USDT", "quote_amount": "1", "x": 1}).field == "params.x"
    assert refusal({}, strategy="nope").field == "strategy"


def test_text_the_database_would_choke_on_is_refused_before_the_strategy_sees_it() -> None:
    assert refusal({"symbol": "BTC/USDT\x00", "quote_amount": "1"}).field == "params.symbol"
    assert refusal({"symbol": "\ud800", "quote_amount": "1"}).field == "params.symbol"
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(20):
        node["a"] = {}
        node = node["a"]
    assert "deeply" in refusal({"symbol": "BTC/USDT", "quote_amount": "1", "x": deep}).detail
