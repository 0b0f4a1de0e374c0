"""Ed25519 API keys on the simulated venue, as Binance serves them, against the real
server with raw signed requests: an account opened by registering a public key (no
secret issued), orders placed, queried and cancelled over REST and the WebSocket API
(per-request signatures and `session.logon`), the -1022 refusals of anything that is not
the key's signature, and the simulator API's 400s for keys it cannot take."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric import ed448, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.integration.venues.sim_ed25519_support import (
    Ed25519Account,
    Ed25519RestClient,
    WsApiConnection,
    now_ms,
    open_ed25519_account,
    private_pem,
    public_pem,
    register_public_key,
    ws_signed,
)
from tests.integration.venues.sim_rest_support import (
    BinanceClient,
    binance_error,
    open_account,
    running_venue,
)
from tradewind.venues.simulated.server.signing import sign, sign_ed25519

BAD_SIGNATURE = (400, -1022, "Signature for this request is not valid.")
RESTING_BUY = {
    "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
    "quantity": "0.001", "price": "20000",
}  # fmt: skip


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    with running_venue() as (url, _):
        yield url


@pytest.fixture
def account(venue_url: str) -> Ed25519Account:
    return open_ed25519_account(venue_url, {"USDT": "1000", "BTC": "0.1"})


@pytest.fixture
def client(venue_url: str, account: Ed25519Account) -> Iterator[Ed25519RestClient]:
    client = Ed25519RestClient(venue_url, account)
    yield client
    client.close()


# -- REST --------------------------------------------------------------------------------


def test_ed25519_key_reads_the_account_places_and_cancels_an_order(
    client: Ed25519RestClient,
) -> None:
    account = client.signed("GET", "/api/v3/account")
    assert account.status_code == 200, account.text
    held = {b["asset"]: b["free"] for b in account.json()["balances"]}
    assert held["USDT"] == "1000.00000000" and account.json()["canTrade"] is True

    placed = client.signed("POST", "/api/v3/order", RESTING_BUY)  # signed form body
    assert placed.status_code == 200, placed.text
    order_id = placed.json()["orderId"]
    queried = client.signed("GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": order_id})
    assert queried.json()["status"] == "NEW"
    also = client.signed("POST", "/api/v3/order", RESTING_BUY, in_body=False)  # in the query
    assert also.status_code == 200, also.text

    cancelled = client.signed("DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": order_id})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELED"
    rest = client.signed("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
    assert [o["orderId"] for o in rest.json()] == [also.json()["orderId"]]


def test_signature_covers_query_string_followed_by_body(client: Ed25519RestClient) -> None:
    query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    body = f"quantity=0.001&price=20000&timestamp={now_ms()}"
    signature = sign_ed25519(client.account.private_key, query + body)
    response = client.http.post(
        f"/api/v3/order?{query}",
        content=f"{body}&signature={quote(signature, safe='')}",
        headers={
            "X-MBX-APIKEY": client.account.api_key,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "NEW"


def test_anything_but_the_keys_signature_of_the_payload_is_refused(
    client: Ed25519RestClient,
) -> None:
    account = client.account
    other_payload = f"recvWindow=5000&timestamp={now_ms()}"  # never the one sent
    right = sign_ed25519(account.private_key, other_payload)
    forgeries: dict[str, dict[str, Any]] = {
        "another key's": {"signed_by": Ed25519PrivateKey.generate()},
        "of another payload": {"signature": right},
        "an HMAC hex": {"signature": sign("secret", other_payload)},
        "not base64": {"signature": "not*base64"},
        "truncated": {"signature": right[:40]},
        "lower-cased": {"signature": right.lower()},
    }
    for what, forged in forgeries.items():
        response = client.signed("GET", "/api/v3/account", **forged)
        assert binance_error(response) == BAD_SIGNATURE, what


def test_a_signature_sent_without_url_encoding_loses_its_plus_signs(
    client: Ed25519RestClient,
) -> None:
    """`+` in a query string reads as a space, so a base64 signature with a `+` must be
    URL-encoded, as Binance documents; sent as it is, it no longer verifies."""
    for window in range(5000, 5100):  # a payload whose signature has a `+`
        params = {"recvWindow": window}
        timestamp = now_ms()
        if "+" in sign_ed25519(
            client.account.private_key, f"recvWindow={window}&timestamp={timestamp}"
        ):
            break
    else:
        raise AssertionError("no signature with a '+' among 100")
    raw = client.signed("GET", "/api/v3/account", params, timestamp_ms=timestamp, url_encoded=False)
    assert binance_error(raw) == BAD_SIGNATURE
    encoded = client.signed("GET", "/api/v3/account", params, timestamp_ms=timestamp)
    assert encoded.status_code == 200, encoded.text


def test_checks_keep_binances_order_for_ed25519_keys(
    venue_url: str, client: Ed25519RestClient
) -> None:
    """Missing parameters first, then the signature, then the timestamp's age, then the
    key's trade permission: as for HMAC keys."""
    headers = {"X-MBX-APIKEY": client.account.api_key}
    unsigned = client.http.get(f"/api/v3/account?timestamp={now_ms()}", headers=headers)
    assert binance_error(unsigned)[:2] == (400, -1102)
    no_timestamp = client.http.get("/api/v3/account?signature=abc%3D", headers=headers)
    assert binance_error(no_timestamp)[:2] == (400, -1102)
    stale_and_forged = client.signed(
        "GET", "/api/v3/account", timestamp_ms=now_ms() - 60_000, signature="Zm9yZ2Vk"
    )
    assert binance_error(stale_and_forged) == BAD_SIGNATURE
    stale = client.signed("GET", "/api/v3/account", timestamp_ms=now_ms() - 60_000)
    assert binance_error(stale)[:2] == (400, -1021)

    reader = Ed25519RestClient(
        venue_url, open_ed25519_account(venue_url, {"USDT": "100"}, trade=False)
    )
    try:
        assert reader.signed("GET", "/api/v3/account").json()["canTrade"] is False
        refused = reader.signed("POST", "/api/v3/order", RESTING_BUY)
        assert binance_error(refused) == (
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        )
    finally:
        reader.close()


def test_hmac_keys_still_sign_with_their_secret_and_not_with_ed25519(venue_url: str) -> None:
    hmac_account = open_account(venue_url, {"USDT": "100"})
    hmac_client = BinanceClient(venue_url, hmac_account)
    try:
        assert hmac_client.signed("GET", "/api/v3/account").status_code == 200
        payload = f"timestamp={now_ms()}"
        ed25519 = quote(sign_ed25519(Ed25519PrivateKey.generate(), payload), safe="")
        response = hmac_client.http.get(
            f"/api/v3/account?{payload}&signature={ed25519}",
            headers={"X-MBX-APIKEY": hmac_account.api_key},
        )
        assert binance_error(response) == BAD_SIGNATURE
    finally:
        hmac_client.close()


# -- the simulator's account API ---------------------------------------------------------


def test_an_ed25519_account_is_issued_a_key_and_no_secret(venue_url: str) -> None:
    key = Ed25519PrivateKey.generate()
    response = register_public_key(
        venue_url, {"balances": {"USDT": "5"}, "ed25519_public_key": public_pem(key)}
    )
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"api_key", "account_id"}
    hmac = register_public_key(venue_url, {"balances": {"USDT": "5"}})
    assert set(hmac.json()) == {"api_key", "api_secret", "account_id"}  # unchanged


# The body of the sample Ed25519 key of Binance's API key FAQ, without its PEM armour.
BINANCE_SAMPLE_KEY_BODY = "MCowBQYDK2VwAyEAgmDRTtj2FA+wzJUIlAL9ly1eovjLBu7uXUFR+jFULmg="


def _pem(public_key: rsa.RSAPublicKey | ed448.Ed448PublicKey) -> str:
    return public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.mark.parametrize(
    ("given", "error"),
    [
        (BINANCE_SAMPLE_KEY_BODY, "is not a PEM public key"),
        (_pem(rsa.generate_private_key(65537, 2048).public_key()), "(it is RSA)"),
        (_pem(ed448.Ed448PrivateKey.generate().public_key()), "(it is Ed448)"),
        (private_pem(Ed25519PrivateKey.generate()), "is a private key"),
        (42, "must be a string"),
    ],
    ids=["bare-base64", "rsa", "ed448", "private-key", "number"],
)
def test_a_key_that_is_not_an_ed25519_public_key_is_a_400_naming_the_problem(
    venue_url: str, given: object, error: str
) -> None:
    response = register_public_key(venue_url, {"ed25519_public_key": given})
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith("ed25519_public_key") and error in message, message


# -- WebSocket API -----------------------------------------------------------------------


async def test_ws_api_requests_signed_with_an_ed25519_key(
    venue_url: str, account: Ed25519Account
) -> None:
    async with WsApiConnection.connect(venue_url) as api:
        status = await api.call("account.status", ws_signed(account))
        assert status["status"] == 200, status
        placed = await api.call("order.place", ws_signed(account, RESTING_BUY))
        assert placed["status"] == 200 and placed["result"]["status"] == "NEW", placed
        order = {"symbol": "BTCUSDT", "orderId": placed["result"]["orderId"]}
        cancelled = await api.call("order.cancel", ws_signed(account, order))
        assert cancelled["result"]["status"] == "CANCELED", cancelled

        forged = await api.call(
            "account.status", ws_signed(account, signed_by=Ed25519PrivateKey.generate())
        )
        assert (forged["status"], forged["error"]["code"]) == (400, -1022)
        tampered = ws_signed(account, {"symbol": "BTCUSDT"})
        tampered["symbol"] = "ETHUSDT"
        refused = await api.call("openOrders.status", tampered)
        assert (refused["status"], refused["error"]["code"]) == (400, -1022)


async def test_session_logon_with_an_ed25519_key_lets_later_requests_go_unsigned(
    venue_url: str, account: Ed25519Account
) -> None:
    async with WsApiConnection.connect(venue_url) as api:
        forged = await api.call(
            "session.logon", ws_signed(account, signed_by=Ed25519PrivateKey.generate())
        )
        assert (forged["status"], forged["error"]["code"]) == (400, -1022)
        assert (await api.call("session.status"))["result"]["apiKey"] is None

        logon = await api.call("session.logon", ws_signed(account))
        assert logon["status"] == 200, logon
        assert logon["result"]["apiKey"] == account.api_key
        placed = await api.call("order.place", {**RESTING_BUY, "timestamp": now_ms()})
        assert placed["status"] == 200 and placed["result"]["status"] == "NEW", placed
        order = {"symbol": "BTCUSDT", "orderId": placed["result"]["orderId"], "timestamp": now_ms()}
        cancelled = await api.call("order.cancel", order)
        assert cancelled["result"]["status"] == "CANCELED", cancelled

        subscribed = await api.call("userDataStream.subscribe")
        assert subscribed["result"] == {"subscriptionId": 0}
        await api.call("order.place", {**RESTING_BUY, "timestamp": now_ms()})
        event = await api.event()
        assert event["event"]["e"] in ("executionReport", "outboundAccountPosition")

        await api.call("session.logout")
        refused = await api.call("account.status", {"timestamp": now_ms()})
        assert (refused["status"], refused["error"]["code"]) == (400, -1102)


async def test_user_data_subscription_by_ed25519_signature(
    venue_url: str, account: Ed25519Account
) -> None:
    async with WsApiConnection.connect(venue_url) as api:
        reply = await api.call("userDataStream.subscribe.signature", ws_signed(account))
        assert reply["result"] == {"subscriptionId": 0}, reply
        placed = await api.call("order.place", ws_signed(account, RESTING_BUY))
        assert placed["status"] == 200, placed
        event = await api.event()
        assert event["subscriptionId"] == 0
