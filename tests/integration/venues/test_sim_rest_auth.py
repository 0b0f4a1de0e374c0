"""Binance's authentication on the simulated venue: API key, HMAC signature, timestamp
and recvWindow, key permissions, and the simulator's account API that issues keys."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest

from tests.integration.venues.sim_rest_support import (
    Account,
    BinanceClient,
    binance_error,
    open_account,
    running_venue,
)
from tradewind.venues.simulated.server.signing import sign

INVALID_KEY = (401, -2015, "Invalid API-key, IP, or permissions for action.")
BAD_SIGNATURE = (400, -1022, "Signature for this request is not valid.")


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    with running_venue() as (url, _):
        yield url


@pytest.fixture
def account(venue_url: str) -> Account:
    return open_account(venue_url, {"USDT": "1000", "BTC": "0.1"})


@pytest.fixture
def client(venue_url: str, account: Account) -> Iterator[BinanceClient]:
    client = BinanceClient(venue_url, account)
    yield client
    client.close()


def test_signed_request_with_valid_key_signature_and_timestamp_is_served(
    client: BinanceClient,
) -> None:
    response = client.signed("GET", "/api/v3/account")
    assert response.status_code == 200
    assert response.json()["canTrade"] is True


def test_signature_covers_query_string_followed_by_body(client: BinanceClient) -> None:
    """Binance's totalParams: parameters split between query and body, signed together."""
    assert client.account is not None
    query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    body = f"quantity=0.001&price=20000&timestamp={time.time_ns() // 1_000_000}"
    signature = sign(client.account.secret, query + body)
    response = client.http.post(
        f"/api/v3/order?{query}",
        content=f"{body}&signature={signature}",
        headers={
            "X-MBX-APIKEY": client.account.api_key,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "NEW"


def test_wrong_secret_is_a_bad_signature(client: BinanceClient) -> None:
    response = client.signed("GET", "/api/v3/account", secret="not-the-secret")
    assert binance_error(response) == BAD_SIGNATURE


def test_tampered_parameters_are_a_bad_signature(client: BinanceClient) -> None:
    assert client.account is not None
    response = client.signed("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
    assert response.status_code == 200
    tampered = str(response.request.url).replace("BTCUSDT", "ETHUSDT")
    again = client.http.get(tampered, headers={"X-MBX-APIKEY": client.account.api_key})
    assert binance_error(again) == BAD_SIGNATURE


def test_missing_or_malformed_api_key_is_a_format_error(client: BinanceClient) -> None:
    response = client.signed("GET", "/api/v3/account", api_key="")
    assert binance_error(response) == (401, -2014, "API-key format invalid.")
    response = client.signed("GET", "/api/v3/account", api_key="bad key!")
    assert binance_error(response) == (401, -2014, "API-key format invalid.")


def test_unknown_api_key_is_rejected(client: BinanceClient) -> None:
    response = client.signed("GET", "/api/v3/account", api_key="A" * 64)
    assert binance_error(response) == INVALID_KEY


def test_stale_timestamp_is_outside_the_recv_window(client: BinanceClient) -> None:
    stale = time.time_ns() // 1_000_000 - 6_000
    response = client.signed("GET", "/api/v3/account", timestamp_ms=stale)
    assert binance_error(response) == (
        400,
        -1021,
        "Timestamp for this request is outside of the recvWindow.",
    )
    wider = client.signed("GET", "/api/v3/account", timestamp_ms=stale, recv_window="10000")
    assert wider.status_code == 200


def test_timestamp_a_second_ahead_of_the_server_is_refused(client: BinanceClient) -> None:
    ahead = time.time_ns() // 1_000_000 + 5_000
    response = client.signed("GET", "/api/v3/account", timestamp_ms=ahead)
    assert binance_error(response) == (
        400,
        -1021,
        "Timestamp for this request was 1000ms ahead of the server's time.",
    )


def test_recv_window_above_60000_is_refused(client: BinanceClient) -> None:
    response = client.signed("GET", "/api/v3/account", recv_window="60001")
    assert binance_error(response) == (400, -1131, "recvWindow must be less than 60000.")


def test_missing_timestamp_or_signature_is_a_missing_mandatory_parameter(
    client: BinanceClient,
) -> None:
    assert client.account is not None
    headers = {"X-MBX-APIKEY": client.account.api_key}
    no_signature = client.http.get("/api/v3/account?timestamp=1", headers=headers)
    assert binance_error(no_signature) == (
        400,
        -1102,
        "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
    )
    no_timestamp = client.http.get("/api/v3/account?signature=00", headers=headers)
    assert binance_error(no_timestamp)[1:] == (
        -1102,
        "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
    )


def test_key_without_trade_permission_reads_but_cannot_trade(venue_url: str) -> None:
    reader = BinanceClient(venue_url, open_account(venue_url, {"USDT": "100"}, trade=False))
    try:
        account = reader.signed("GET", "/api/v3/account").json()
        assert account["canTrade"] is False
        order = reader.order(
            symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001",
            price="1000",
        )  # fmt: skip
        assert binance_error(order) == INVALID_KEY
    finally:
        reader.close()


def test_api_restrictions_report_the_keys_permissions(venue_url: str) -> None:
    account = open_account(venue_url, {"USDT": "1"}, trade=False, ip_restrict=True)
    client = BinanceClient(venue_url, account)
    try:
        restrictions = client.signed("GET", "/sapi/v1/account/apiRestrictions").json()
    finally:
        client.close()
    assert restrictions["ipRestrict"] is True
    assert restrictions["enableReading"] is True
    assert restrictions["enableSpotAndMarginTrading"] is False
    assert restrictions["enableWithdrawals"] is False
    assert {"createTime", "enableInternalTransfer", "enableMargin", "enableFutures",
            "permitsUniversalTransfer", "enableVanillaOptions"} <= set(restrictions)  # fmt: skip


def test_no_error_echoes_the_secret_or_the_signature(client: BinanceClient) -> None:
    assert client.account is not None
    responses = [
        client.signed("GET", "/api/v3/account", secret="wrong"),
        client.signed("GET", "/api/v3/account", timestamp_ms=1),
        client.signed("POST", "/api/v3/order", {"symbol": "BTCUSDT"}),
    ]
    for response in responses:
        request = response.request
        sent = parse_qs(f"{request.url.query.decode()}&{request.content.decode()}")
        assert response.status_code >= 400
        assert client.account.secret not in response.text
        assert sent["signature"][0] not in response.text


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"balances": {"USDT": "-1"}}, "balances.USDT: amount must be a decimal string >= 0"),
        ({"balances": {"USDT": 10.5}}, "balances.USDT: amount must be a decimal string >= 0"),
        ({"balances": {"usdt": "1"}}, "asset 'usdt' must be 1-20 of A-Z, 0-9"),
        ({"balances": {"USDT": "1.123456789"}}, "balances.USDT: at most 8 decimals, got 9"),
        ({"balances": ["USDT"]}, "balances must be an object"),
        ({"permissions": {"trade": "yes"}}, "permissions.trade must be true or false"),
        ({"permissions": {"margin": True}}, "permissions: unknown margin"),
        ({"ip_restrict": 1}, "ip_restrict must be true or false"),
        ({"balance": {}}, "unknown field(s) balance"),
    ],
)
def test_account_api_explains_every_malformed_field(
    venue_url: str, body: object, problem: str
) -> None:
    response = httpx.post(f"{venue_url}/sim/v1/accounts", json=body)
    assert response.status_code == 400
    assert problem in response.json()["error"]


def test_account_api_funds_the_account_it_opens(venue_url: str) -> None:
    account = open_account(venue_url, {"USDT": "10000", "BTC": "0.5"})
    client = BinanceClient(venue_url, account)
    try:
        balances = client.signed("GET", "/api/v3/account").json()["balances"]
    finally:
        client.close()
    by_asset = {b["asset"]: b for b in balances}
    assert by_asset["USDT"] == {"asset": "USDT", "free": "10000.00000000", "locked": "0.00000000"}
    assert by_asset["BTC"]["free"] == "0.50000000"
