"""CoinbaseKeys: CDP JWTs and legacy HMAC signatures as ccxt's `coinbase` makes them,
and every way a token or signature can be wrong."""

from __future__ import annotations

import hashlib
import hmac
import time

import ccxt
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tradewind.venues.simulated.exchange import KeyPermissions
from tradewind.venues.simulated.server.coinbase.keys import CoinbaseAuthError, CoinbaseKeys

HOST = "127.0.0.1:8080"
PATH = "/api/v3/brokerage/accounts"
NOW = 1_800_000_000


def _ccxt(key: str, secret: str) -> ccxt.coinbase:
    return ccxt.coinbase({"apiKey": key, "secret": secret})


def _token(key: str, pem: str, *, method: str = "GET", url: str | None = None) -> str:
    token: str = _ccxt(key, pem).create_auth_token(NOW, method, url)
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def keys() -> CoinbaseKeys:
    return CoinbaseKeys()


def test_cdp_key_is_named_like_the_portal_and_its_secret_is_a_pem_ec_key(
    keys: CoinbaseKeys,
) -> None:
    name, pem = keys.mint("acct-1", KeyPermissions())
    parts = name.split("/")
    assert parts[0] == "organizations" and parts[2] == "apiKeys" and len(parts) == 4
    assert pem.startswith("-----BEGIN EC PRIVATE KEY-----")


def test_ccxt_jwt_over_plain_http_authenticates(keys: CoinbaseKeys) -> None:
    name, pem = keys.mint("acct-1", KeyPermissions())
    token = _token(name, pem, url=f"http://{HOST}{PATH}?limit=250")
    assert keys.authenticate_rest("GET", HOST, PATH, _bearer(token), b"", NOW) == "acct-1"


def test_ccxt_jwt_over_https_authenticates(keys: CoinbaseKeys) -> None:
    name, pem = keys.mint("acct-1", KeyPermissions())
    token = _token(name, pem, method="POST", url=f"https://{HOST}/api/v3/brokerage/orders")
    headers = _bearer(token)
    assert keys.authenticate_rest("POST", HOST, "/api/v3/brokerage/orders", headers, b"{}", NOW)


@pytest.mark.parametrize(
    ("method", "host", "path"),
    [
        ("POST", HOST, PATH),  # another method
        ("GET", "127.0.0.1:9999", PATH),  # another host
        ("GET", HOST, "/api/v3/brokerage/orders"),  # another path
    ],
)
def test_jwt_for_another_request_is_refused(
    keys: CoinbaseKeys, method: str, host: str, path: str
) -> None:
    name, pem = keys.mint("acct-1", KeyPermissions())
    token = _token(name, pem, url=f"http://{HOST}{PATH}")
    with pytest.raises(CoinbaseAuthError, match="uri is not this request"):
        keys.authenticate_rest(method, host, path, _bearer(token), b"", NOW)


def test_expired_jwt_is_refused(keys: CoinbaseKeys) -> None:
    name, pem = keys.mint("acct-1", KeyPermissions())
    token = _token(name, pem, url=f"http://{HOST}{PATH}")
    assert keys.authenticate_rest("GET", HOST, PATH, _bearer(token), b"", NOW + 120)
    with pytest.raises(CoinbaseAuthError, match="expired"):
        keys.authenticate_rest("GET", HOST, PATH, _bearer(token), b"", NOW + 130)


def test_jwt_not_valid_yet_is_refused(keys: CoinbaseKeys) -> None:
    name, pem = keys.mint("acct-1", KeyPermissions())
    token = _token(name, pem, url=f"http://{HOST}{PATH}")
    with pytest.raises(CoinbaseAuthError, match="not valid yet"):
        keys.authenticate_rest("GET", HOST, PATH, _bearer(token), b"", NOW - 60)


def test_tampered_jwt_is_refused(keys: CoinbaseKeys) -> None:
    name, pem = keys.mint("acct-1", KeyPermissions())
    token = _token(name, pem, url=f"http://{HOST}{PATH}")
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["uri"] = f"GET {HOST}/api/v3/brokerage/orders/historical/batch"
    forged_payload = jwt.utils.base64url_encode(jwt.api_jws.json.dumps(claims).encode()).decode()
    forged = f"{header}.{forged_payload}.{signature}"
    with pytest.raises(CoinbaseAuthError, match="signature does not verify"):
        keys.authenticate_rest(
            "GET", HOST, "/api/v3/brokerage/orders/historical/batch", _bearer(forged), b"", NOW
        )


def test_jwt_signed_by_another_private_key_is_refused(keys: CoinbaseKeys) -> None:
    name, _ = keys.mint("acct-1", KeyPermissions())
    other = ec.generate_private_key(ec.SECP256R1())
    claims = {
        "sub": name,
        "iss": "coinbase-cloud",
        "aud": ["retail_rest_api_proxy"],
        "nbf": NOW,
        "exp": NOW + 120,
        "uri": f"GET {HOST}{PATH}",
    }
    token = jwt.encode(claims, other, algorithm="ES256", headers={"kid": name})
    with pytest.raises(CoinbaseAuthError, match="signature does not verify"):
        keys.authenticate_rest("GET", HOST, PATH, _bearer(token), b"", NOW)


def _signed(keys_pem: tuple[str, str], **changes: object) -> tuple[str, str]:
    name, pem = keys_pem
    claims: dict[str, object] = {
        "sub": name,
        "iss": "coinbase-cloud",
        "aud": ["retail_rest_api_proxy"],
        "nbf": NOW,
        "exp": NOW + 120,
        "uri": f"GET {HOST}{PATH}",
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return name, jwt.encode(claims, pem, algorithm="ES256", headers={"kid": name})


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"iss": "cdp"}, "iss must be"),
        ({"aud": ["cdp_service"]}, "aud must be"),
        ({"sub": "organizations/x/apiKeys/y"}, "sub is not its kid"),
        ({"exp": NOW + 3600}, "lives longer than 120 s"),
        ({"exp": None}, "no exp claim"),
        ({"uri": None}, "no uri claim"),
    ],
)
def test_jwt_with_wrong_claims_is_refused(
    keys: CoinbaseKeys, changes: dict[str, object], problem: str
) -> None:
    _, token = _signed(keys.mint("acct-1", KeyPermissions()), **changes)
    with pytest.raises(CoinbaseAuthError, match=problem):
        keys.authenticate_rest("GET", HOST, PATH, _bearer(token), b"", NOW)


def test_jwt_of_an_unknown_key_is_refused(keys: CoinbaseKeys) -> None:
    other = CoinbaseKeys()
    name, pem = other.mint("acct-1", KeyPermissions())
    token = _token(name, pem, url=f"http://{HOST}{PATH}")
    with pytest.raises(CoinbaseAuthError, match="unknown API key"):
        keys.authenticate_rest("GET", HOST, PATH, _bearer(token), b"", NOW)


def test_garbage_bearer_is_refused_without_echoing_it(keys: CoinbaseKeys) -> None:
    with pytest.raises(CoinbaseAuthError) as raised:
        keys.authenticate_rest("GET", HOST, PATH, _bearer("not-a-jwt-secret"), b"", NOW)
    assert "not-a-jwt-secret" not in str(raised.value)


def test_error_messages_never_hold_the_token(keys: CoinbaseKeys) -> None:
    name, pem = keys.mint("acct-1", KeyPermissions())
    token = _token(name, pem, url=f"http://{HOST}{PATH}")
    with pytest.raises(CoinbaseAuthError) as raised:
        keys.authenticate_rest("GET", HOST, PATH, _bearer(token), b"", NOW + 600)
    assert token not in str(raised.value) and pem not in str(raised.value)


def test_websocket_jwt_has_no_uri_and_authenticates(keys: CoinbaseKeys) -> None:
    name, pem = keys.mint("acct-ws", KeyPermissions())
    token = _token(name, pem)  # ccxt.pro: create_auth_token(seconds), no url
    assert keys.authenticate_ws(token, NOW) == "acct-ws"
    with pytest.raises(CoinbaseAuthError, match="expired"):
        keys.authenticate_ws(token, NOW + 300)


def test_rest_jwt_is_not_a_websocket_token(keys: CoinbaseKeys) -> None:
    name, pem = keys.mint("acct-ws", KeyPermissions())
    token = _token(name, pem, url=f"http://{HOST}{PATH}")
    with pytest.raises(CoinbaseAuthError, match="uri claim"):
        keys.authenticate_ws(token, NOW)


def test_hmac_key_looks_legacy_to_ccxt(keys: CoinbaseKeys) -> None:
    name, secret = keys.mint("acct-h", KeyPermissions(), kind="hmac")
    assert "organizations/" not in name
    assert not secret.startswith("-----BEGIN") and len(secret) != 88
    assert not secret.endswith("=")


def _ccxt_hmac_headers(name: str, secret: str, method: str, path: str, body: str) -> dict[str, str]:
    exchange = _ccxt(name, secret)
    exchange.urls["api"]["rest"] = f"http://{HOST}"
    params = {} if not body else {"product_id": "BTC-USD"}
    signed: dict[str, dict[str, str]] = exchange.sign(path, ["v3", "private"], method, params)
    return signed["headers"]


def test_ccxt_hmac_signature_authenticates(keys: CoinbaseKeys) -> None:
    name, secret = keys.mint("acct-h", KeyPermissions(), kind="hmac")
    headers = _ccxt_hmac_headers(name, secret, "POST", "brokerage/orders", "x")
    body = b'{"product_id":"BTC-USD"}'
    now = time.time()  # ccxt stamps with its own clock
    assert (
        keys.authenticate_rest("POST", HOST, "/api/v3/brokerage/orders", headers, body, now)
        == "acct-h"
    )
    with pytest.raises(CoinbaseAuthError, match="does not sign"):
        keys.authenticate_rest("POST", HOST, "/api/v3/brokerage/orders", headers, b"{}", now)


def test_hmac_timestamp_outside_30_seconds_is_refused(keys: CoinbaseKeys) -> None:
    name, secret = keys.mint("acct-h", KeyPermissions(), kind="hmac")
    ts = str(NOW)
    sign = hmac.new(secret.encode(), (ts + "GET" + PATH).encode(), hashlib.sha256).hexdigest()
    headers = {"CB-ACCESS-KEY": name, "CB-ACCESS-SIGN": sign, "CB-ACCESS-TIMESTAMP": ts}
    assert keys.authenticate_rest("GET", HOST, PATH, headers, b"", NOW + 30) == "acct-h"
    with pytest.raises(CoinbaseAuthError, match="timestamp expired"):
        keys.authenticate_rest("GET", HOST, PATH, headers, b"", NOW + 31)


def test_hmac_key_with_a_wrong_secret_is_refused(keys: CoinbaseKeys) -> None:
    name, _ = keys.mint("acct-h", KeyPermissions(), kind="hmac")
    ts = str(NOW)
    sign = hmac.new(b"wrong", (ts + "GET" + PATH).encode(), hashlib.sha256).hexdigest()
    headers = {"CB-ACCESS-KEY": name, "CB-ACCESS-SIGN": sign, "CB-ACCESS-TIMESTAMP": ts}
    with pytest.raises(CoinbaseAuthError, match="does not sign"):
        keys.authenticate_rest("GET", HOST, PATH, headers, b"", NOW)


def test_a_cdp_key_cannot_sign_with_hmac(keys: CoinbaseKeys) -> None:
    name, _pem = keys.mint("acct-1", KeyPermissions())
    headers = {"CB-ACCESS-KEY": name, "CB-ACCESS-SIGN": "00", "CB-ACCESS-TIMESTAMP": str(NOW)}
    with pytest.raises(CoinbaseAuthError, match="unknown API key"):
        keys.authenticate_rest("GET", HOST, PATH, headers, b"", NOW)


def test_no_credentials_names_both_ways_to_sign(keys: CoinbaseKeys) -> None:
    with pytest.raises(CoinbaseAuthError, match=r"Bearer .* CB-ACCESS-KEY"):
        keys.authenticate_rest("GET", HOST, PATH, {}, b"", NOW)


def test_permissions_map_to_coinbase_scopes(keys: CoinbaseKeys) -> None:
    view_only, _ = keys.mint("acct-1", KeyPermissions(trade=False))
    trader, _ = keys.mint("acct-1", KeyPermissions(trade=True, transfer=True), kind="hmac")
    assert keys.permissions(view_only).can_view and not keys.permissions(view_only).can_trade
    assert keys.permissions(trader).can_trade and keys.permissions(trader).can_transfer
    # One account, one default portfolio, whichever key reads it.
    assert keys.permissions(view_only).portfolio_uuid == keys.permissions(trader).portfolio_uuid
