"""Bad input of every kind is a 4xx that says what was wrong, in one JSON shape; an
unexpected failure is a bare 500 whose log line carries no value from the request."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest
import structlog

from tests.integration.gateway.support import Api
from tradewind.gateway.app import create_app
from tradewind.runtime.logging import configure_logging


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    yield stream
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 422, "body.1"),
        (b"[" * 20_000 + b"]" * 20_000, 400, None),
        (b'{"a":' * 20_000 + b"1" + b"}" * 20_000, 413, None),
        (b'{"account_id": "x", "strategy": "dca", "params": {}, "extra": 1}', 422, "body.extra"),
        (b'{"account_id": "../etc", "strategy": "dca"}', 422, "body.account_id"),
        (b'{"account_id": "a", "strategy": "DCA!"}', 422, "body.strategy"),
    ],
)
async def test_malformed_bodies_are_4xx_naming_the_field(
    sqlite_api: Api, body: bytes, status: int, field: str | None
) -> None:
    user = await sqlite_api.sign_up()
    response = await sqlite_api.client.post(
        "/api/v1/bots",
        content=body,
        headers={**user.headers, "content-type": "application/json"},
    )
    assert response.status_code == status, response.text
    error = response.json()
    assert error["detail"] and error["code"]
    if field is not None:
        assert error["errors"][0]["field"] == field


async def test_a_secret_sent_in_a_bad_request_is_never_echoed(sqlite_api: Api) -> None:
    user = await sqlite_api.sign_up()
    secret = "S3cret-" + "x" * 600  # too long: refused by validation
    response = await sqlite_api.client.post(
        "/api/v1/accounts",
        json={"venue": "sim", "api_key": "k" * 20, "api_secret": secret},
        headers=user.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "body.api_secret", "message": "String should have at most 512 characters"}
    ]
    assert "S3cret" not in response.text


@pytest.mark.parametrize(
    ("method", "path", "params", "status"),
    [
        ("GET", "/api/v1/nowhere", {}, 404),
        ("PATCH", "/api/v1/bots", {}, 405),
        ("GET", "/api/v1/bots", {"limit": 0}, 422),
        ("GET", "/api/v1/bots", {"limit": 501}, 422),
        ("GET", "/api/v1/bots", {"offset": -1}, 422),
        ("GET", "/api/v1/orders", {"account_id": "x\x00y"}, 422),
        ("GET", "/api/v1/admin/audit", {"action": "DROP TABLE"}, 403),
    ],
)
async def test_bad_paths_methods_and_queries_are_4xx_in_the_same_shape(
    sqlite_api: Api, method: str, path: str, params: dict[str, str | int], status: int
) -> None:
    user = await sqlite_api.sign_up()
    response = await sqlite_api.client.request(method, path, params=params, headers=user.headers)
    assert response.status_code == status
    assert set(response.json()) == {"detail", "code", "errors"}


async def test_an_unexpected_failure_is_a_bare_500_logged_without_the_request_values(
    sqlite_api: Api, log_stream: io.StringIO
) -> None:
    app = create_app(sqlite_api.state)

    async def fails(secret: str) -> None:
        raise RuntimeError(f"broke while holding {secret}")

    app.add_api_route("/boom", fails, methods=["GET"])
    transport = httpx.ASGITransport(app=app)  # raises if the exception escaped the app
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        response = await client.get("/boom", params={"secret": "hunter2-canary"})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error", "code": "internal_error", "errors": []}
    logged = log_stream.getvalue()
    assert "RuntimeError" in logged and "hunter2-canary" not in logged
