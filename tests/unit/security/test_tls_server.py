"""The TLS options Tradewind's servers share: the certificate and key checked before
serving, and the uvicorn context they give (TLS 1.2 or later, ECDHE with AEAD only)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization

from tests.tls import CertificateAuthority, Issued
from tradewind.errors import ConfigError
from tradewind.security.tls_server import ServerTls, server_tls, uvicorn_tls_options

OPTIONS = {"cert_option": "--tls-cert", "key_option": "--tls-key"}


@pytest.fixture
def issued(tmp_path: Path) -> Issued:
    return CertificateAuthority(tmp_path).server()


async def app(scope: object, receive: object, send: object) -> None:
    """An ASGI app that is never called: uvicorn.Config needs one."""


def test_neither_file_means_plain_http() -> None:
    assert server_tls(None, None, **OPTIONS) is None
    assert server_tls("", "", **OPTIONS) is None


def test_a_readable_matching_pair_is_taken(issued: Issued) -> None:
    tls = server_tls(str(issued.cert), str(issued.key), **OPTIONS)
    assert tls == ServerTls(str(issued.cert), str(issued.key))


@pytest.mark.parametrize(("give_cert", "missing"), [(True, "--tls-key"), (False, "--tls-cert")])
def test_one_file_without_the_other_names_the_missing_option(
    issued: Issued, give_cert: bool, missing: str
) -> None:
    cert, key = (str(issued.cert), None) if give_cert else (None, str(issued.key))
    with pytest.raises(ConfigError) as refused:
        server_tls(cert, key, **OPTIONS)
    assert refused.value.setting == missing
    assert "give both, or neither" in str(refused.value)


def test_an_unreadable_file_is_named(issued: Issued, tmp_path: Path) -> None:
    absent = tmp_path / "absent.key"
    with pytest.raises(ConfigError) as refused:
        server_tls(str(issued.cert), str(absent), **OPTIONS)
    assert refused.value.setting == "--tls-key"
    assert f"cannot read {absent}" in str(refused.value)


def test_a_key_of_another_certificate_is_refused(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    first, second = ca.server(), ca.server()
    with pytest.raises(ConfigError) as refused:
        server_tls(str(first.cert), str(second.key), **OPTIONS)
    assert refused.value.setting == "--tls-key"
    assert refused.value.problem == f"{second.key} is not the private key of {first.cert}"


@pytest.mark.parametrize(
    ("wrong", "setting", "problem"),
    [
        ("cert", "--tls-cert", "holds no PEM certificate"),
        ("key", "--tls-key", "holds no PEM private key"),
        ("cert is a key", "--tls-cert", "holds no PEM certificate"),
    ],
)
def test_a_file_that_is_not_pem_is_named(
    issued: Issued, tmp_path: Path, wrong: str, setting: str, problem: str
) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate, not a key")
    cert, key = {
        "cert": (garbage, issued.key),
        "key": (issued.cert, garbage),
        "cert is a key": (issued.key, issued.key),
    }[wrong]
    with pytest.raises(ConfigError) as refused:
        server_tls(str(cert), str(key), **OPTIONS)
    assert refused.value.setting == setting
    assert refused.value.problem.endswith(problem)


def test_an_encrypted_key_is_refused_rather_than_prompted_for(
    issued: Issued, tmp_path: Path
) -> None:
    key = serialization.load_pem_private_key(issued.key.read_bytes(), None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    with pytest.raises(ConfigError) as refused:
        server_tls(str(issued.cert), str(encrypted), **OPTIONS)
    assert refused.value.setting == "--tls-key"
    assert refused.value.problem.startswith(f"{encrypted} is encrypted")


def test_uvicorn_serves_tls_1_2_or_later_with_ecdhe_aead_suites_only(issued: Issued) -> None:
    config = uvicorn.Config(app, **uvicorn_tls_options(str(issued.cert), str(issued.key)))
    config.load()
    context = config.ssl
    assert isinstance(context, ssl.SSLContext)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    tls_1_2_suites = [c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls_1_2_suites
    for name in tls_1_2_suites:
        assert name.startswith("ECDHE-") and ("-GCM-" in name or "CHACHA20" in name), name
