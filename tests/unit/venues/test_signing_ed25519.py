"""Ed25519 request signing, as Binance checks it for Ed25519 API keys: base64 of the
Ed25519 signature of the payload, verified with the registered public key; anything else
is not a signature (-1022 at the server), and HMAC keys are checked as before. Also the
public keys the simulator accepts to register, and which check `verify_signed` runs for
each kind of key."""

from __future__ import annotations

import base64
from collections.abc import Callable
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tradewind.venues.simulated.exchange import ApiCredentials, KeyPermissions
from tradewind.venues.simulated.server.binance_errors import BinanceError
from tradewind.venues.simulated.server.rest_auth import Security, verify_signed
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.signing import (
    ed25519_signature_matches,
    load_ed25519_public_key,
    sign,
    sign_ed25519,
    signature_matches,
)

# RFC 8032, 7.1, TEST 2: secret key, public key, the one-byte message 0x72 and its signature.
RFC_SECRET = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
RFC_PUBLIC = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
RFC_MESSAGE = "r"
RFC_SIGNATURE = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)
# The sample Ed25519 public key of Binance's API key FAQ (faqs/api_key_types.md).
BINANCE_SAMPLE_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAgmDRTtj2FA+wzJUIlAL9ly1eovjLBu7uXUFR+jFULmg=\n"
    "-----END PUBLIC KEY-----\n"
)
# The HMAC example of Binance's REST documentation (as in test_signing.py).
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_PARAMS = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def _pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


# -- signing and verifying ---------------------------------------------------------------


def test_sign_ed25519_reproduces_the_rfc_8032_test_vector() -> None:
    key = Ed25519PrivateKey.from_private_bytes(RFC_SECRET)
    assert key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == RFC_PUBLIC
    signature = sign_ed25519(key, RFC_MESSAGE)
    assert base64.b64decode(signature, validate=True) == RFC_SIGNATURE
    assert ed25519_signature_matches(key.public_key(), RFC_MESSAGE, signature)


def test_a_valid_signature_of_the_payload_matches() -> None:
    key = Ed25519PrivateKey.generate()
    signature = sign_ed25519(key, DOC_PARAMS)
    assert len(signature) == 88 and signature.endswith("==")  # 64 bytes of base64
    assert ed25519_signature_matches(key.public_key(), DOC_PARAMS, signature)


def test_a_tampered_payload_does_not_match() -> None:
    key = Ed25519PrivateKey.generate()
    signature = sign_ed25519(key, DOC_PARAMS)
    for tampered in (DOC_PARAMS.replace("quantity=1", "quantity=2"), DOC_PARAMS + "&x=1", ""):
        assert not ed25519_signature_matches(key.public_key(), tampered, signature)


def test_another_keys_signature_does_not_match() -> None:
    signature = sign_ed25519(Ed25519PrivateKey.generate(), DOC_PARAMS)
    assert not ed25519_signature_matches(
        Ed25519PrivateKey.generate().public_key(), DOC_PARAMS, signature
    )


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: "",
        lambda s: "not base64!",
        lambda s: s.rstrip("="),  # padding dropped
        lambda s: s.replace("+", "-").replace("/", "_") + "-_",  # the URL-safe alphabet
        lambda s: s.replace("+", " "),  # a `+` read as a space (sent unencoded)
        lambda s: s[:-4],  # 61 bytes
        lambda s: s + "AAAA",  # 67 bytes
        lambda s: s.swapcase(),  # base64 is case-sensitive, unlike HMAC's hex
        lambda s: "é" * 88,
        lambda s: base64.b64encode(bytes(64)).decode(),  # well-formed, but zeros
    ],
    ids=[
        "empty", "not-base64", "unpadded", "url-safe", "plus-as-space", "short", "long",
        "case-swapped", "non-ascii", "zeros",
    ],
)  # fmt: skip
def test_anything_but_a_base64_signature_of_the_payload_does_not_match(
    mangle: Callable[[str], str],
) -> None:
    key = Ed25519PrivateKey.generate()
    signature = sign_ed25519(key, DOC_PARAMS)
    while "+" not in signature:  # so that "plus-as-space" mangles something
        key = Ed25519PrivateKey.generate()
        signature = sign_ed25519(key, DOC_PARAMS)
    mangled = mangle(signature)
    assert mangled != signature
    assert not ed25519_signature_matches(key.public_key(), DOC_PARAMS, mangled)


def test_hmac_signing_is_unchanged() -> None:
    assert sign(DOC_SECRET, DOC_PARAMS) == DOC_SIGNATURE
    assert signature_matches(DOC_SECRET, DOC_PARAMS, DOC_SIGNATURE.upper())
    ed25519 = sign_ed25519(Ed25519PrivateKey.generate(), DOC_PARAMS)
    assert not signature_matches(DOC_SECRET, DOC_PARAMS, ed25519)


# -- registering a public key ------------------------------------------------------------


def test_binances_sample_public_key_loads() -> None:
    key = load_ed25519_public_key(BINANCE_SAMPLE_PEM)
    der = base64.b64decode(BINANCE_SAMPLE_PEM.splitlines()[1])
    assert key.public_bytes(Encoding.Raw, PublicFormat.Raw) == der[-32:]  # SPKI ends with it


def test_a_generated_key_round_trips_through_pem() -> None:
    key = Ed25519PrivateKey.generate()
    loaded = load_ed25519_public_key("  " + _pem(key) + "\n\n")  # surrounding blanks are fine
    assert loaded == key.public_key()
    assert ed25519_signature_matches(loaded, "a=1", sign_ed25519(key, "a=1"))


PRIVATE_PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----"


def _other_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.mark.parametrize(
    ("pem", "problem"),
    [
        ("", "is not a PEM public key"),
        (BINANCE_SAMPLE_PEM.splitlines()[1], "is not a PEM public key"),  # no armour
        (BINANCE_SAMPLE_PEM.replace("MCow", "MCox"), "is not a PEM public key"),  # corrupt
        (_other_pem(rsa.generate_private_key(65537, 2048)), "Ed25519 public key (it is RSA)"),
        (_other_pem(ec.generate_private_key(ec.SECP256R1())), "(it is EC)"),
        (PRIVATE_PEM, "is a private key"),
    ],
    ids=["empty", "bare-base64", "corrupt", "rsa", "ecdsa", "private-key"],
)  # fmt: skip
def test_a_key_that_is_not_an_ed25519_public_key_is_refused_saying_what_it_is(
    pem: str, problem: str
) -> None:
    with pytest.raises(ValueError) as refused:
        load_ed25519_public_key(pem)
    assert problem in str(refused.value)


# -- which check verify_signed runs ------------------------------------------------------

NOW_MS = 1_700_000_000_000


def _credentials(public_key: Ed25519PrivateKey | None, *, trade: bool = True) -> ApiCredentials:
    return ApiCredentials(
        api_key="k" * 64,
        secret=DOC_SECRET,
        account_id="acct-1",
        permissions=KeyPermissions(trade=trade),
        created_ms=0,
        public_key=public_key.public_key() if public_key is not None else None,
    )


def _params(payload: str, signature: str) -> Params:
    """The query string a client sends: the signature URL-encoded last."""
    return Params(f"{payload}&signature={quote(signature, safe='')}", "")


def _refusal(
    creds: ApiCredentials, payload: str, signature: str, security: Security = Security.USER_DATA
) -> tuple[int, str] | None:
    try:
        verify_signed(creds, _params(payload, signature), security, payload, NOW_MS)
    except BinanceError as error:
        return error.code, error.msg
    return None


def test_an_ed25519_key_is_checked_with_its_public_key_only() -> None:
    key = Ed25519PrivateKey.generate()
    creds = _credentials(key)
    payload = f"timestamp={NOW_MS}"
    ed25519 = base64.b64encode(key.sign(payload.encode())).decode()
    assert _refusal(creds, payload, ed25519) is None
    bad = (-1022, "Signature for this request is not valid.")
    assert _refusal(creds, payload, sign(DOC_SECRET, payload)) == bad  # its secret signs nothing
    assert _refusal(_credentials(None), payload, ed25519) == bad  # an HMAC key: the secret only
    assert _refusal(_credentials(None), payload, sign(DOC_SECRET, payload)) is None


def test_an_ed25519_key_keeps_the_order_of_the_checks() -> None:
    key = Ed25519PrivateKey.generate()
    stale = f"timestamp={NOW_MS - 60_000}"
    forged = sign_ed25519(Ed25519PrivateKey.generate(), stale)
    assert _refusal(_credentials(key), stale, forged) == (
        -1022,
        "Signature for this request is not valid.",
    )  # the signature before the timestamp
    signed = sign_ed25519(key, stale)
    refusal = _refusal(_credentials(key), stale, signed)
    assert refusal is not None and refusal[0] == -1021
    payload = f"timestamp={NOW_MS}"
    read_only = _credentials(key, trade=False)
    good = sign_ed25519(key, payload)
    assert _refusal(read_only, payload, good) is None
    assert _refusal(read_only, payload, good, Security.TRADE) == (
        -2015,
        "Invalid API-key, IP, or permissions for action.",
    )


def test_credentials_show_neither_secret_nor_key_in_their_repr() -> None:
    creds = _credentials(Ed25519PrivateKey.generate())
    assert DOC_SECRET not in repr(creds) and "Ed25519" not in repr(creds)
