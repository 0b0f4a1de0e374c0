"""Coinbase's two kinds of API key on the simulated venue, as unmodified ccxt `coinbase`
signs with them: CDP keys (ES256 JWT per request) and legacy HMAC keys; the key's
permissions; and every credential that must not authenticate."""

from __future__ import annotations

import ccxt.async_support as ccxt  # type: ignore[import-untyped]
import httpx
import pytest

from tests.integration.venues.coinbase.support import (
    CoinbaseAccount,
    coinbase_client,
    http,
    open_account,
)
from tradewind.venues.simulated.server.state import ServerState


@pytest.mark.parametrize("key_type", ["cdp", "hmac"])
async def test_both_kinds_of_key_trade(venue_url: str, key_type: str) -> None:
    account = open_account(venue_url, {"USD": "5000"}, key_type=key_type)  # type: ignore[arg-type]
    if key_type == "cdp":
        assert account.api_key.startswith("organizations/")
        assert account.secret.startswith("-----BEGIN EC PRIVATE KEY-----")
    else:
        assert "/" not in account.api_key and not account.secret.startswith("-----")
    async with coinbase_client(venue_url, account) as exchange:
        await exchange.load_markets()
        order = await exchange.create_market_buy_order_with_cost("SOL/USD", 200)
        fetched = await exchange.fetch_order(order["id"])
        assert fetched["status"] == "closed" and fetched["filled"] > 0
        balance = await exchange.fetch_balance()  # /v2/accounts: a v2 signature
        assert 4800 <= balance["total"]["USD"] < 5000 and balance["total"]["SOL"] > 0


async def test_key_permissions_read_what_the_account_was_opened_with(venue_url: str) -> None:
    viewer = open_account(venue_url, {"USD": "100"}, permissions={"trade": False})
    async with coinbase_client(venue_url, viewer) as exchange:
        permissions = await exchange.v3PrivateGetBrokerageKeyPermissions()
        assert permissions["can_view"] is True and permissions["can_trade"] is False
        assert permissions["can_transfer"] is False
        assert permissions["portfolio_type"] == "DEFAULT" and permissions["portfolio_uuid"]
        await exchange.load_markets()
        with pytest.raises(ccxt.PermissionDenied):
            await exchange.create_market_buy_order_with_cost("BTC/USD", 10)
        assert (await exchange.fetch_balance())["total"]["USD"] == 100  # viewing is allowed


async def test_a_key_the_venue_never_issued_is_refused(venue_url: str) -> None:
    real = open_account(venue_url, {"USD": "1"})
    for kind in ("cdp", "hmac"):
        other_venue_key = _foreign_key(kind)
        async with coinbase_client(venue_url, other_venue_key) as exchange:
            with pytest.raises(ccxt.AuthenticationError):
                await exchange.fetch_balance({"v3": True})
    wrong_secret = CoinbaseAccount(real.api_key, _foreign_key("cdp").secret, real.account_id)
    async with coinbase_client(venue_url, wrong_secret) as exchange:
        with pytest.raises(ccxt.AuthenticationError):
            await exchange.fetch_balance({"v3": True})


def _foreign_key(kind: str) -> CoinbaseAccount:
    from tradewind.venues.simulated.exchange import KeyPermissions
    from tradewind.venues.simulated.server.coinbase.keys import CoinbaseKeys

    name, secret = CoinbaseKeys().mint("elsewhere", KeyPermissions(), kind=kind)  # type: ignore[arg-type]
    return CoinbaseAccount(name, secret, "elsewhere")


async def _with_token(venue_url: str, account: CoinbaseAccount, token: str) -> None:
    """Read the accounts with `token` as the bearer (ccxt's own `headers` option)."""
    async with coinbase_client(venue_url, account) as exchange:
        await exchange.load_markets()  # with the account's own key
        exchange.headers = {"Authorization": f"Bearer {token}"}
        await exchange.fetch_balance({"v3": True})


async def test_expired_tampered_and_misdirected_tokens_are_refused(
    venue_url: str, account: CoinbaseAccount
) -> None:
    async with coinbase_client(venue_url, account) as exchange:
        accounts_url = f"{venue_url}/api/v3/brokerage/accounts?limit=250"
        now = exchange.seconds()
        good = exchange.create_auth_token(now, "GET", accounts_url)
        await _with_token(venue_url, account, good)  # the control: it authenticates
        expired = exchange.create_auth_token(now - 600, "GET", accounts_url)
        other_uri = exchange.create_auth_token(now, "GET", f"{venue_url}/api/v3/brokerage/orders")
        other_method = exchange.create_auth_token(now, "POST", accounts_url)
    header, payload, signature = good.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    tampered = f"{header}.{payload}.{flipped}"
    for token in (expired, other_uri, other_method, tampered, "not.a.jwt"):
        with pytest.raises(ccxt.AuthenticationError):
            await _with_token(venue_url, account, token)


async def test_unauthorized_answers_name_the_problem_but_never_the_secret(
    venue_url: str, account: CoinbaseAccount
) -> None:
    async with coinbase_client(venue_url, account) as exchange:
        token = exchange.create_auth_token(exchange.seconds() - 600, "GET", venue_url)
    response = await http(
        "GET",
        f"{venue_url}/api/v3/brokerage/accounts",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "unauthorized" and "expired" in body["error_details"]
    assert token not in response.text and account.secret not in response.text


def test_public_routes_need_no_key_and_private_ones_do(venue_url: str) -> None:
    assert httpx.get(f"{venue_url}/api/v3/brokerage/market/products").status_code == 200
    refused = httpx.get(f"{venue_url}/api/v3/brokerage/products")
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    v2 = httpx.get(f"{venue_url}/v2/accounts")
    assert v2.status_code == 401 and v2.json()["errors"][0]["id"] == "authentication_error"


def test_sim_accounts_refuse_a_key_type_they_do_not_know(
    venue_url: str, venue_state: ServerState
) -> None:
    response = httpx.post(
        f"{venue_url}/sim/v1/accounts", json={"balances": {"USD": "1"}, "key_type": "rsa"}
    )
    assert response.status_code == 400 and "key_type" in response.json()["error"]
    assert venue_state.api == "coinbase"
