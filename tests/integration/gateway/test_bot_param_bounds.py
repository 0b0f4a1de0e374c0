"""A bot's parameters must be values its strategy can use: bounded numbers, finite
decimals, symbols of the form BASE/QUOTE that the account's venue lists. Refusals are
422s in the API's error shape, naming the field and the bound, never the value sent."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.gateway.support import Api, User

HUGE = "1E+999999999"


async def create_bot(
    api: Api, user: User, account_id: str, strategy: str, params: dict[str, Any]
) -> httpx.Response:
    return await api.client.post(
        "/api/v1/bots",
        json={"account_id": account_id, "strategy": strategy, "params": params},
        headers=user.headers,
    )


def assert_refused(response: httpx.Response, field: str, says: str, *, hidden: str) -> None:
    """A 422 in the gateway's shape naming `field`, saying `says`, not echoing `hidden`."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"detail", "code", "errors"}
    assert body["code"] == "invalid_request"
    assert body["errors"] == [{"field": field, "message": body["detail"]}]
    assert says in body["detail"]
    assert hidden not in response.text


@pytest.fixture
async def owner(sqlite_api: Api) -> tuple[User, str]:
    user = await sqlite_api.sign_up()
    account = await sqlite_api.connect_account(user)
    return user, account["id"]


@pytest.mark.parametrize(
    ("strategy", "params", "field", "says", "hidden"),
    [
        ("dca", {"symbol": "BTC/USDT", "quote_amount": HUGE}, "quote_amount",
         "at most 1000000000000", "999999999"),
        ("dca", {"symbol": "BTC/USDT", "quote_amount": "NaN"}, "quote_amount",
         "finite", "NaN"),
        ("dca", {"symbol": "BTC/USDT", "quote_amount": "-Infinity"}, "quote_amount",
         "finite", "Infinity"),
        ("dca", {"symbol": "BTC/USDT", "quote_amount": "sNaN"}, "quote_amount",
         "finite", "sNaN"),
        ("dca", {"symbol": "BTC/USDT", "quote_amount": "0." + "0" * 18 + "7"}, "quote_amount",
         "at most 18 decimal places", "00007"),
        ("dca", {"symbol": "BTC/USDT", "quote_amount": "10", "interval_s": 2**63}, "interval_s",
         "<= 2592000", str(2**63)),
        ("dca", {"symbol": "BTC/USDT", "quote_amount": "10", "dip_multiplier": HUGE},
         "dip_multiplier", "at most 100", "999999999"),
        ("dca", {"symbol": "<script>any text</script>", "quote_amount": "10"}, "symbol",
         "BASE/QUOTE", "script"),
        ("grid", {"symbol": "BTC/USDT", "lower": "1", "upper": "1E+13", "order_value": "10"},
         "upper", "at most 1000000000000", "1E+13"),
        ("momentum", {"symbol": "BTC/USDT", "buy_fraction": "1.5"}, "buy_fraction",
         "at most 1", "1.5"),
        ("rebalance", {"basket": ["BTC/USDT"], "min_trade_value": HUGE}, "min_trade_value",
         "at most 1000000000000", "999999999"),
        ("rebalance", {"basket": ["BTC/USDT"], "weights": {"BTC/USDT": "Infinity"}},
         "weights.BTC/USDT", "finite", "Infinity"),
        ("rebalance", {"basket": ["BTC/USDT"], "rebalance_interval_s": 2**63},
         "rebalance_interval_s", "<= 31622400", str(2**63)),
        ("grid", {"symbol": "BTC/USDT", "lower": "1", "upper": "2", "order_value": "10",
                  "spacing": "sideways"}, "spacing", "one of the values", "sideways"),
    ],
)  # fmt: skip
async def test_out_of_bounds_params_are_refused_naming_field_and_bound(
    sqlite_api: Api,
    owner: tuple[User, str],
    strategy: str,
    params: dict[str, Any],
    field: str,
    says: str,
    hidden: str,
) -> None:
    user, account_id = owner
    response = await create_bot(sqlite_api, user, account_id, strategy, params)
    assert_refused(response, f"params.{field}", says, hidden=hidden)


async def test_a_json_number_too_large_for_a_float_is_refused_as_not_finite(
    sqlite_api: Api, owner: tuple[User, str]
) -> None:
    user, account_id = owner
    raw = (
        f'{{"account_id": {json.dumps(account_id)}, "strategy": "dca", '
        '"params": {"symbol": "BTC/USDT", "quote_amount": 1e999999999}}'
    )
    response = await sqlite_api.client.post(
        "/api/v1/bots",
        content=raw,
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert_refused(response, "params.quote_amount", "finite", hidden="999999999")


@pytest.mark.parametrize(
    ("strategy", "params", "field"),
    [
        ("dca", {"symbol": "DOGE/USDT", "quote_amount": "10"}, "params.symbol"),
        ("rebalance", {"basket": ["BTC/USDT", "ETH/USDT", "PEPE/USDT"]}, "params.basket[2]"),
    ],
)
async def test_a_symbol_the_accounts_venue_does_not_list_is_refused(
    api: Api, strategy: str, params: dict[str, Any], field: str
) -> None:
    user = await api.sign_up()
    account = await api.connect_account(user)

    response = await create_bot(api, user, account["id"], strategy, params)

    assert_refused(response, field, "must be a symbol sim lists", hidden="USDT")
    listed = await create_bot(api, user, account["id"], "dca", {"symbol": "ETH/USDT",
                                                                "quote_amount": "10"})  # fmt: skip
    assert listed.status_code == 201, listed.text


async def test_the_strategy_schemas_show_every_bound(
    sqlite_api: Api, owner: tuple[User, str]
) -> None:
    user, _ = owner
    response = await sqlite_api.client.get("/api/v1/strategies", headers=user.headers)
    schemas = {s["name"]: s["params_schema"] for s in response.json()}

    def properties(strategy: str) -> dict[str, Any]:
        schema = schemas[strategy]
        found: dict[str, Any] = schema["$defs"][schema["$ref"].split("/")[-1]]["properties"]
        return found

    dca = properties("dca")
    assert dca["quote_amount"]["exclusiveMinimum"] == 0
    assert dca["quote_amount"]["maximum"] == 10**12
    assert dca["quote_amount"]["x-decimal-places"] == 18
    assert (dca["interval_s"]["minimum"], dca["interval_s"]["maximum"]) == (1, 30 * 86_400)
    assert dca["symbol"]["pattern"].startswith("^")
    for strategy in schemas:
        for name, field in properties(strategy).items():
            values = field.get("additionalProperties")
            for schema in (field, *field.get("anyOf", ()), *([values] if values else [])):
                numeric = schema.get("type") == "integer" or schema.get("format") == "decimal"
                if numeric:
                    assert "maximum" in schema, f"{strategy}.{name} has no maximum"
                    assert {"minimum", "exclusiveMinimum"} & set(schema), f"{strategy}.{name}"
