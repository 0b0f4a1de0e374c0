"""Access tokens: issuing, and every way a forged or stale token must be refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from tradewind.errors import ConfigError
from tradewind.security.errors import InvalidToken
from tradewind.security.tokens import (
    AccessTokenConfig,
    decode_access_token,
    generate_hs256_secret,
    issue_access_token,
)

SECRET = b"s" * 32
NOW = 1_800_000_000


def hs256(**options: Any) -> AccessTokenConfig:
    return AccessTokenConfig.hs256(SECRET, **options)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade_token(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes | None) -> str:
    """A compact JWS built by hand, HMAC-SHA256-signed with `hmac_key` or unsigned."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = b""
    if hmac_key is not None:
        signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def valid_claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "iss": "tradewind",
        "aud": "tradewind-api",
        "sub": "user-1",
        "roles": ["trader"],
        "iat": NOW,
        "exp": NOW + 900,
        "jti": "j1",
        "sid": "s1",
        "ver": 0,
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def refused(token: str, config: AccessTokenConfig, now_s: float = NOW + 1) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        decode_access_token(token, config, now_s=now_s)
    return caught.value


def test_hs256_round_trip_carries_the_claims() -> None:
    config = hs256()
    token = issue_access_token(
        config, "user-1", ["trader", "viewer"], now_s=NOW, session_id="s1", version=0
    )
    claims = decode_access_token(token, config, now_s=NOW + 60)
    assert (claims.sub, claims.roles, claims.iss, claims.aud) == (
        "user-1",
        ("trader", "viewer"),
        "tradewind",
        "tradewind-api",
    )
    assert (claims.iat, claims.exp) == (NOW, NOW + 5 * 60)
    assert (claims.sid, claims.ver) == ("s1", 0)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "at+jwt"}


def test_every_token_has_its_own_jti() -> None:
    config = hs256()
    tokens = [
        issue_access_token(config, "u", [], now_s=NOW, session_id="s1", version=0) for _ in range(3)
    ]
    assert len({decode_access_token(t, config, now_s=NOW).jti for t in tokens}) == 3


def test_eddsa_round_trip_and_a_verify_only_service() -> None:
    private_key = Ed25519PrivateKey.generate()
    token = issue_access_token(
        AccessTokenConfig.eddsa(private_key),
        "user-2",
        ["admin"],
        now_s=NOW,
        session_id="s1",
        version=0,
    )
    verifier = AccessTokenConfig.eddsa(public_key=private_key.public_key())
    assert decode_access_token(token, verifier, now_s=NOW).roles == ("admin",)
    with pytest.raises(ValueError, match="no signing key"):
        issue_access_token(verifier, "user-2", [], session_id="s1", version=0)


def test_eddsa_key_from_pem_and_a_bad_pem() -> None:
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    config = AccessTokenConfig.eddsa_from_pem(pem, audience="other-api")
    token = issue_access_token(config, "u", [], now_s=NOW, session_id="s1", version=0)
    assert decode_access_token(token, config, now_s=NOW).aud == "other-api"
    with pytest.raises(ConfigError) as caught:
        AccessTokenConfig.eddsa_from_pem(b"-----BEGIN NOTHING-----")
    assert caught.value.setting == "TRADEWIND_JWT_PRIVATE_KEY_FILE"


def test_a_short_hs256_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="at least 32 bytes") as caught:
        AccessTokenConfig.hs256("too short")
    assert caught.value.setting == "TRADEWIND_JWT_SECRET"
    assert len(generate_hs256_secret()) == 43
    AccessTokenConfig.hs256(generate_hs256_secret())


def test_the_config_repr_hides_the_keys() -> None:
    assert "sss" not in repr(hs256())


# -- attacks ----------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_unsigned_alg_none_tokens_are_refused(alg: str) -> None:
    token = handmade_token({"alg": alg, "typ": "at+jwt"}, valid_claims(roles=["admin"]), None)
    error = refused(token, hs256())
    assert error.reason == "algorithm"
    assert "alg 'none'" in str(error)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = issue_access_token(
        AccessTokenConfig.hs256(b"x" * 32),
        "user-1",
        ["admin"],
        now_s=NOW,
        session_id="s1",
        version=0,
    )
    assert refused(token, hs256()).reason == "signature"


def test_hs256_signed_with_the_eddsa_public_key_is_refused() -> None:
    """Key confusion: the attacker HMACs with the public key, hoping the verifier treats it
    as the shared secret."""
    private_key = Ed25519PrivateKey.generate()
    public_pem = private_key.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    config = AccessTokenConfig.eddsa(private_key)
    token = handmade_token({"alg": "HS256", "typ": "at+jwt"}, valid_claims(), public_pem)
    assert refused(token, config).reason == "algorithm"


def test_a_token_in_another_algorithm_than_configured_is_refused() -> None:
    attacker = AccessTokenConfig.eddsa(Ed25519PrivateKey.generate())
    token = issue_access_token(attacker, "user-1", ["admin"], now_s=NOW, session_id="s1", version=0)
    error = refused(token, hs256())
    assert error.reason == "algorithm"
    assert "'EdDSA' is not the configured HS256" in str(error)


def test_a_tampered_payload_is_refused() -> None:
    token = issue_access_token(hs256(), "user-1", ["viewer"], now_s=NOW, session_id="s1", version=0)
    header, _, signature = token.split(".")
    forged_claims = _b64(json.dumps(valid_claims(roles=["admin"])).encode())
    assert refused(f"{header}.{forged_claims}.{signature}", hs256()).reason == "signature"


def test_another_audience_or_issuer_is_refused() -> None:
    token = issue_access_token(
        hs256(audience="admin-api"), "user-1", [], now_s=NOW, session_id="s1", version=0
    )
    assert refused(token, hs256()).reason == "audience"
    token = issue_access_token(
        hs256(issuer="elsewhere"), "user-1", [], now_s=NOW, session_id="s1", version=0
    )
    assert refused(token, hs256()).reason == "issuer"
    listed = handmade_token({"alg": "HS256", "typ": "at+jwt"}, valid_claims(aud=["x"]), SECRET)
    assert refused(listed, hs256()).reason == "audience"


def test_expiry_with_30_seconds_of_leeway() -> None:
    token = issue_access_token(hs256(), "user-1", [], now_s=NOW, session_id="s1", version=0)
    decode_access_token(token, hs256(), now_s=NOW + 300 + 30)
    error = refused(token, hs256(), now_s=NOW + 300 + 31)
    assert error.reason == "expired"
    assert "expired 31 s ago" in str(error)


def test_a_token_issued_in_the_future_or_not_yet_valid_is_refused() -> None:
    token = issue_access_token(hs256(), "user-1", [], now_s=NOW + 120, session_id="s1", version=0)
    assert refused(token, hs256(), now_s=NOW).reason == "not_yet_valid"
    later = handmade_token({"alg": "HS256", "typ": "at+jwt"}, valid_claims(nbf=NOW + 600), SECRET)
    assert refused(later, hs256(), now_s=NOW).reason == "not_yet_valid"


@pytest.mark.parametrize("claim", ["iss", "aud", "sub", "roles", "iat", "exp", "jti"])
def test_a_missing_claim_is_refused(claim: str) -> None:
    claims = valid_claims(**{claim: None})
    token = handmade_token({"alg": "HS256", "typ": "at+jwt"}, claims, SECRET)
    error = refused(token, hs256())
    assert error.reason == "missing_claim"
    assert f"`{claim}`" in str(error)


@pytest.mark.parametrize(
    "changes",
    [{"roles": "admin"}, {"roles": [1]}, {"exp": "later"}, {"iat": 1.5}, {"sub": ""}],
)
def test_an_ill_typed_claim_is_refused(changes: dict[str, Any]) -> None:
    token = handmade_token({"alg": "HS256", "typ": "at+jwt"}, valid_claims(**changes), SECRET)
    assert refused(token, hs256()).reason == "invalid_claim"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"alg": "HS256"}, "type"),
        ({"alg": "HS256", "typ": "JWT"}, "type"),
        ({"alg": "HS256", "typ": "at+jwt", "crit": ["exp"]}, "malformed"),
        ({"alg": "HS256", "typ": "at+jwt", "b64": False, "crit": ["b64"]}, "malformed"),
        ({"alg": "HS256", "typ": "at+jwt", "jku": "https://evil.example/jwks"}, "malformed"),
        ({"typ": "at+jwt"}, "malformed"),
    ],
)
def test_unexpected_headers_are_refused(header: dict[str, Any], reason: str) -> None:
    assert refused(handmade_token(header, valid_claims(), SECRET), hs256()).reason == reason


def test_the_rfc_9068_media_type_form_of_typ_is_accepted() -> None:
    token = handmade_token({"alg": "HS256", "typ": "application/at+jwt"}, valid_claims(), SECRET)
    assert decode_access_token(token, hs256(), now_s=NOW).sub == "user-1"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 10_000, "e30.e30.e30"])
def test_garbage_is_malformed(token: str) -> None:
    assert refused(token, hs256()).reason == "malformed"
