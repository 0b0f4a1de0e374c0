"""The gateway's browser-hardening headers, and `/docs` served without a CDN."""

from __future__ import annotations

import base64
import hashlib
import re
import ssl
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway.serving import gateway_settings, serving
from tests.integration.gateway.support import PASSWORD, Api
from tests.integration.gateway.test_service import self_signed
from tradewind.venues.simulated.exchange import SimulatedExchange

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=63072000; includeSubDomains"


def assert_hardened(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def assert_api_response_hardened(response: httpx.Response) -> None:
    assert_hardened(response)
    assert response.headers["content-security-policy"] == API_POLICY
    assert response.headers["cache-control"] == "no-store"


async def test_api_responses_are_hardened_and_never_cached(sqlite_api: Api) -> None:
    user = await sqlite_api.sign_up()
    client = sqlite_api.client
    me = await client.get("/api/v1/me", headers=user.headers)
    refused = await client.get("/api/v1/me")
    unknown = await client.get("/api/v1/no-such-route")
    too_large = await client.post("/api/v1/auth/login", content=b"x" * (65 * 1024))
    statuses = [r.status_code for r in (me, refused, unknown, too_large)]
    assert statuses == [200, 401, 404, 413]
    for response in (me, refused, unknown, too_large):
        assert_api_response_hardened(response)
        assert "strict-transport-security" not in response.headers  # plain HTTP


async def test_token_responses_are_never_cached(sqlite_api: Api) -> None:
    user = await sqlite_api.sign_up()
    client = sqlite_api.client
    login = await client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    assert login.status_code == 200
    assert "access_token" in login.json()
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
    )
    assert refresh.status_code == 200
    for response in (login, refresh):
        assert_api_response_hardened(response)


async def test_the_docs_page_loads_its_scripts_and_styles_from_this_origin_only(
    sqlite_api: Api,
) -> None:
    client = sqlite_api.client
    page = await client.get("/docs")
    assert page.status_code == 200
    assert_hardened(page)
    assets = re.findall(r'<(?:script|link)[^>]* (?:src|href)="([^"]*)"', page.text)
    assert len(assets) == 3  # the bundle, the stylesheet, the icon
    for url in assets:
        assert url.startswith("/docs/assets/"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0
    assert not re.search(r"https?://|//[a-z]", page.text.replace("window.location.origin", ""))

    policy = dict(
        directive.strip().split(" ", 1)
        for directive in page.headers["content-security-policy"].split(";")
    )
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    digests = [base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in inline]
    assert len(digests) == 1  # Swagger UI's start-up script, admitted by its hash
    assert policy["script-src"] == f"'self' 'sha256-{digests[0]}'"
    assert policy["style-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert policy["connect-src"] == "'self'"
    assert "http" not in page.headers["content-security-policy"]


async def test_over_https_browsers_are_told_to_keep_to_https(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    cert, key = self_signed(tmp_path)
    settings = gateway_settings(tmp_path, tls_cert_file=str(cert), tls_key_file=str(key))
    async with serving(settings, exchange) as server:
        trusted = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(base_url=server.url, verify=trusted) as client:
            api = Api(client, server.state, exchange)
            user = await api.sign_up()
            login = await client.post(
                "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
            )
            docs = await client.get("/docs")
    assert login.status_code == 200
    assert_api_response_hardened(login)
    for response in (login, docs):
        assert response.headers["strict-transport-security"] == HSTS


@pytest.mark.parametrize("path", ["/api/v1/me", "/docs"])
async def test_without_tls_no_hsts_is_sent(sqlite_api: Api, path: str) -> None:
    response = await sqlite_api.client.get(path)
    assert "strict-transport-security" not in response.headers
