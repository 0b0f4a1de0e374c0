"""The web dashboard served at `/`: its files only, cached as their names allow, under a
strict Content-Security-Policy; a clear 503 when it is not built; the API unaffected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway.support import Api
from tradewind.gateway.app import create_app
from tradewind.gateway.webapp import ASSET_CACHE, WEBAPP_POLICY

INDEX = b'<!doctype html><html><head><script type="module" src="/assets/index-abc123.js">'


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A build as `npm run build` lays it out."""
    built = tmp_path / "webapp_dist"
    (built / "assets").mkdir(parents=True)
    (built / "index.html").write_bytes(INDEX)
    (built / "assets" / "index-abc123.js").write_text("console.log('tradewind')")
    (built / "assets" / "index-def456.css").write_text("body{margin:0}")
    (built / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (built / ".env").write_text("SECRET=1")
    (tmp_path / "outside.txt").write_text("not served")
    return built


async def client_of(api: Api, dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(api.state, webapp_dist=dist))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
        yield client


@pytest.fixture
async def web(sqlite_api: Api, dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_of(sqlite_api, dist):
        yield client


def connect_src(response: httpx.Response) -> str:
    directives = dict(
        d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";")
    )
    return directives["connect-src"]


async def test_index_is_served_at_the_root_never_cached_under_the_strict_policy(
    web: httpx.AsyncClient,
) -> None:
    response = await web.get("/")
    assert response.status_code == 200
    assert response.content == INDEX
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    policy = response.headers["content-security-policy"]
    for directive in (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ):
        assert directive in policy.split("; "), directive
    assert "unsafe" not in policy
    # This origin's stream, named for browsers whose 'self' does not cover ws://.
    assert connect_src(response) == "'self' ws://127.0.0.1:8080"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_hashed_assets_are_cached_for_a_year_with_their_type(web: httpx.AsyncClient) -> None:
    script = await web.get("/assets/index-abc123.js")
    style = await web.get("/assets/index-def456.css")
    icon = await web.get("/favicon.svg")
    assert [r.status_code for r in (script, style, icon)] == [200, 200, 200]
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    assert icon.headers["content-type"] == "image/svg+xml"
    assert script.headers["cache-control"] == ASSET_CACHE
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert icon.headers["cache-control"] == "no-cache"  # not content-hashed


@pytest.mark.parametrize(
    "path",
    [
        "/assets/missing.js",
        "/assets/%2e%2e/index.html",
        "/assets/..%2f..%2foutside.txt",
        "/%2e%2e%2foutside.txt",
        "/.env",
        "/assets/.hidden",
        "/no-such-page",
        "/assets/",
    ],
)
async def test_nothing_but_the_builds_files_is_served(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code == 404, path
    assert response.json()["code"] == "not_found"
    assert b"SECRET" not in response.content and b"not served" not in response.content


async def test_the_api_and_docs_are_unaffected(web: httpx.AsyncClient) -> None:
    unknown = await web.get("/api/v1/no-such-route")
    assert unknown.status_code == 404
    assert unknown.headers["cache-control"] == "no-store"
    assert (
        unknown.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    assert (await web.get("/api/v1/me")).status_code == 401
    assert (await web.get("/openapi.json")).status_code == 200
    docs = await web.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert "/assets/" not in str((await web.get("/openapi.json")).json()["paths"])


async def test_without_a_build_the_root_says_how_to_build_it(
    sqlite_api: Api, tmp_path: Path
) -> None:
    async for client in client_of(sqlite_api, tmp_path / "never-built"):
        response = await client.get("/")
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/plain")
        assert "./dev up" in response.text
        assert "npm run build" in response.text
        assert (await client.get("/assets/index-abc123.js")).status_code == 404
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_a_host_header_cannot_write_into_the_policy(web: httpx.AsyncClient) -> None:
    response = await web.get("/", headers={"Host": "evil; script-src *"})
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == WEBAPP_POLICY
