"""The gateway over HTTPS speaks TLS 1.2 or later with forward-secret AEAD suites only
(`tradewind.security.tls_server`), and tells browsers to keep to HTTPS (HSTS) on every
response; over plain HTTP it sends no HSTS. Real uvicorn, real TLS clients."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway.serving import Serving, gateway_settings, serving
from tests.integration.tls_handshakes import client_context, handshake, permissive_server
from tests.tls import CertificateAuthority, Issued
from tradewind.venues.simulated.exchange import SimulatedExchange

HSTS = "max-age=63072000; includeSubDomains"
REFUSED = (ssl.SSLError, ConnectionError)


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path / "pki")


@pytest.fixture
def certificate(ca: CertificateAuthority) -> Issued:
    return ca.server()


@pytest.fixture
async def https_gateway(
    tmp_path: Path, certificate: Issued, exchange: SimulatedExchange
) -> AsyncIterator[Serving]:
    settings = gateway_settings(
        tmp_path, tls_cert_file=str(certificate.cert), tls_key_file=str(certificate.key)
    )
    async with serving(settings, exchange) as server:
        yield server


async def test_every_https_response_carries_hsts_and_no_http_response_does(
    tmp_path: Path, ca: CertificateAuthority, https_gateway: Serving, exchange: SimulatedExchange
) -> None:
    paths = ("/openapi.json", "/docs", "/api/v1/me", "/api/v1/no-such-route")
    async with httpx.AsyncClient(base_url=https_gateway.url, verify=client_context(ca.cert)) as c:
        over_https = [await c.get(path) for path in paths]
    assert [r.status_code for r in over_https] == [200, 200, 401, 404]
    for response in over_https:
        assert response.headers["strict-transport-security"] == HSTS, response.url

    (tmp_path / "plain").mkdir()
    async with (
        serving(gateway_settings(tmp_path / "plain"), exchange) as plain,
        httpx.AsyncClient(base_url=plain.url) as c,
    ):
        over_http = [await c.get(path) for path in paths]
    assert [r.status_code for r in over_http] == [200, 200, 401, 404]
    for response in over_http:
        assert "strict-transport-security" not in response.headers, response.url


async def test_a_tls_1_2_client_with_a_modern_suite_is_served(
    ca: CertificateAuthority, https_gateway: Serving
) -> None:
    port = https_gateway.settings.http_port
    tls_1_2 = client_context(ca.cert, maximum=ssl.TLSVersion.TLSv1_2)
    version, cipher = await asyncio.to_thread(handshake, port, tls_1_2)
    assert version == "TLSv1.2"
    assert cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher), cipher
    assert (await asyncio.to_thread(handshake, port, client_context(ca.cert)))[0] == "TLSv1.3"
    async with httpx.AsyncClient(base_url=https_gateway.url, verify=tls_1_2) as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["strict-transport-security"] == HSTS


async def test_a_client_offering_only_tls_1_1_is_refused(
    ca: CertificateAuthority, certificate: Issued, https_gateway: Serving
) -> None:
    tls_1_1 = client_context(ca.cert, maximum=ssl.TLSVersion.TLSv1_1)
    try:  # the control: this OpenSSL can speak TLS 1.1 at all
        with permissive_server(certificate) as port:
            version, _ = await asyncio.to_thread(handshake, port, tls_1_1)
    except REFUSED as exc:
        pytest.skip(f"this OpenSSL cannot make a TLS 1.1 client ({exc})")
    assert version == "TLSv1.1"
    with pytest.raises(REFUSED):
        await asyncio.to_thread(handshake, https_gateway.settings.http_port, tls_1_1)


@pytest.mark.parametrize(
    "cipher",
    [
        "ECDHE-ECDSA-AES128-SHA256",  # CBC, forward secret
        "ECDHE-ECDSA-AES256-SHA",  # CBC with SHA-1, uvicorn's old "TLSv1" default admits it
    ],
)
async def test_tls_1_2_suites_without_aead_are_refused(
    ca: CertificateAuthority, certificate: Issued, https_gateway: Serving, cipher: str
) -> None:
    legacy = client_context(ca.cert, maximum=ssl.TLSVersion.TLSv1_2, ciphers=cipher)
    with permissive_server(certificate) as port:  # the control: the client offers it
        assert await asyncio.to_thread(handshake, port, legacy) == ("TLSv1.2", cipher)
    with pytest.raises(REFUSED):
        await asyncio.to_thread(handshake, https_gateway.settings.http_port, legacy)
