"""The simulated venue's further account endpoints over real HTTP: commission rates, the
unfilled-order count, the `/sapi/v1` answers of a spot-only account (trading status,
coins and networks, no margin pairs), their signatures and weights, and balances and
commissions carried with Binance's 8 decimals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.venues.sim_rest_support import (
    BinanceClient,
    binance_error,
    open_account,
    running_venue,
)

EIGHT_DECIMALS = re.compile(r"[0-9]+\.[0-9]{8}")


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    with running_venue() as (url, _):
        yield url


@pytest.fixture
def client(venue_url: str) -> Iterator[BinanceClient]:
    account = open_account(venue_url, {"USDT": "10000.12345678", "BTC": "0.5"})
    client = BinanceClient(venue_url, account)
    yield client
    client.close()


def key_only(client: BinanceClient) -> dict[str, str]:
    """The account's API key header, without a signature."""
    assert client.account is not None
    return {"X-MBX-APIKEY": client.account.api_key}


def charged(before: Any, after: Any, header: str, weight: int) -> bool:
    """Whether `after` cost `weight` more than `before` (or started a new minute)."""
    used_before, used_after = int(before.headers[header]), int(after.headers[header])
    return used_after - used_before == weight or used_after == weight


def signed_json(client: BinanceClient, path: str, **params: str | int) -> Any:
    response = client.signed("GET", path, params)
    assert response.status_code == 200, response.text
    return response.json()


def test_commission_rates_are_the_account_fees(client: BinanceClient) -> None:
    rates = signed_json(client, "/api/v3/account/commission", symbol="BTCUSDT")
    zero = {
        "maker": "0.00000000",
        "taker": "0.00000000",
        "buyer": "0.00000000",
        "seller": "0.00000000",
    }
    assert rates == {
        "symbol": "BTCUSDT",
        "standardCommission": {**zero, "maker": "0.00100000", "taker": "0.00100000"},
        "specialCommission": zero,
        "taxCommission": zero,
        "discount": {
            "enabledForAccount": False,
            "enabledForSymbol": False,
            "discountAsset": "BNB",
            "discount": "0.00000000",
        },
    }
    missing = client.signed("GET", "/api/v3/account/commission")
    assert binance_error(missing) == (
        400,
        -1102,
        "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
    )
    unsigned = client.http.get(
        "/api/v3/account/commission",
        params={"symbol": "BTCUSDT"},
        headers=key_only(client),
    )
    assert binance_error(unsigned)[:2] == (400, -1102)  # no signature
    forged = client.signed(
        "GET", "/api/v3/account/commission", {"symbol": "BTCUSDT"}, secret="not-the-secret"
    )
    assert binance_error(forged) == (400, -1022, "Signature for this request is not valid.")


def test_unfilled_order_count_counts_this_accounts_new_orders(client: BinanceClient) -> None:
    counts = signed_json(client, "/api/v3/rateLimit/order")
    assert [(c["rateLimitType"], c["interval"], c["intervalNum"], c["count"]) for c in counts] == [
        ("ORDERS", "SECOND", 10, 0),
        ("ORDERS", "DAY", 1, 0),
    ]
    placed = client.order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
    assert placed.status_code == 200, placed.text
    after = client.signed("GET", "/api/v3/rateLimit/order")
    assert [c["count"] for c in after.json()][1] == 1
    again = client.signed("GET", "/api/v3/rateLimit/order")
    assert charged(after, again, "X-MBX-USED-WEIGHT-1M", 40)


def test_api_trading_status_is_never_locked(client: BinanceClient) -> None:
    status = signed_json(client, "/sapi/v1/account/apiTradingStatus")
    data = status["data"]
    assert set(data) == {"isLocked", "plannedRecoverTime", "triggerCondition", "updateTime"}
    assert data["isLocked"] is False and data["plannedRecoverTime"] == 0
    assert data["triggerCondition"] == {"GCR": 150, "IFER": 150, "UFR": 300}
    anonymous = client.http.get("/sapi/v1/account/apiTradingStatus")
    assert binance_error(anonymous) == (401, -2014, "API-key format invalid.")


def test_all_coins_lists_the_assets_with_networks_and_the_balance(
    client: BinanceClient,
) -> None:
    response = client.signed("GET", "/sapi/v1/capital/config/getall")
    coins = {c["coin"]: c for c in response.json()}
    assert {"BTC", "ETH", "SOL", "BNB", "XRP", "USDT"} <= set(coins)
    usdt = coins["USDT"]
    assert usdt["free"] == "10000.12345678" and usdt["locked"] == "0"
    assert usdt["trading"] is True and usdt["isLegalMoney"] is False
    networks = usdt["networkList"]
    assert [n["network"] for n in networks] == ["ETH", "TRX", "BSC"]
    assert [n["isDefault"] for n in networks] == [True, False, False]
    assert all(n["coin"] == "USDT" for n in networks)
    assert not any(n["depositEnable"] or n["withdrawEnable"] for n in networks)
    assert coins["BTC"]["networkList"][0]["name"] == "Bitcoin"


def test_a_spot_only_account_has_no_margin_pairs(client: BinanceClient) -> None:
    assert signed_json(client, "/sapi/v1/margin/allPairs") == []
    assert signed_json(client, "/sapi/v1/margin/isolated/allPairs") == []
    keyed_only = client.http.get(
        "/sapi/v1/margin/allPairs",
        headers=key_only(client),
    )
    assert keyed_only.json() == []  # MARKET_DATA: the key suffices
    without_timestamp = client.http.get(
        "/sapi/v1/margin/isolated/allPairs",
        headers=key_only(client),
    )
    assert binance_error(without_timestamp)[:2] == (400, -1102)
    assert binance_error(client.http.get("/sapi/v1/margin/allPairs")) == (
        401,
        -2014,
        "API-key format invalid.",
    )
    unknown = client.signed("GET", "/sapi/v1/margin/allPairs", {"symbol": "NOPEUSDT"})
    assert binance_error(unknown)[:2] == (400, -1121)


def test_sapi_weight_is_counted_per_endpoint(client: BinanceClient) -> None:
    first = client.signed("GET", "/sapi/v1/account/apiRestrictions")
    second = client.signed("GET", "/sapi/v1/account/apiRestrictions")
    assert charged(first, second, "X-SAPI-USED-IP-WEIGHT-1M", 1)
    coins = client.signed("GET", "/sapi/v1/capital/config/getall")
    assert int(coins.headers["X-SAPI-USED-IP-WEIGHT-1M"]) % 10 == 0  # its own count, 10 a call
    assert "X-MBX-USED-WEIGHT-1M" not in second.headers


def test_balances_and_commissions_carry_eight_decimals(client: BinanceClient) -> None:
    for side, quantity in (("BUY", "0.00123"), ("SELL", "0.00077")):
        placed = client.order(
            symbol="BTCUSDT",
            side=side,
            type="MARKET",
            quantity=quantity,
            newOrderRespType="FULL",
        )
        assert placed.status_code == 200, placed.text
        assert all(EIGHT_DECIMALS.fullmatch(f["commission"]) for f in placed.json()["fills"])
    resting = client.order(
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.00123",
        price="20000.01",
    )
    assert resting.status_code == 200, resting.text
    account = signed_json(client, "/api/v3/account")
    balances = {b["asset"]: b for b in account["balances"]}
    assert all(
        EIGHT_DECIMALS.fullmatch(b["free"]) and EIGHT_DECIMALS.fullmatch(b["locked"])
        for b in account["balances"]
    )
    assert balances["USDT"]["locked"] == "24.60001230"
    assert balances["USDT"]["free"].startswith("99")  # 10000.12345678 less what was spent
    trades = signed_json(client, "/api/v3/myTrades", symbol="BTCUSDT")
    assert trades and all(EIGHT_DECIMALS.fullmatch(t["commission"]) for t in trades)
