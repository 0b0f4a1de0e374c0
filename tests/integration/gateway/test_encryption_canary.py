"""Canary secrets (an exchange API secret and key, an e-mail address, a password) go in
through the API; then the database's bytes (the SQLite files; a PostgreSQL dump and
every text, JSON and bytea value), every log line and every API response are searched
for them: not one plaintext occurrence may be found."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import text

from tests.integration.gateway.support import PG_SCHEMAS, Api, gateway_state
from tests.servers import POSTGRES_HOST, POSTGRES_PORT
from tests.unit.security.factories import master_keys
from tradewind.bus.memory import MemoryBus
from tradewind.gateway.app import create_app
from tradewind.gateway.keys import rotate
from tradewind.runtime.logging import configure_logging
from tradewind.store.database import Database
from tradewind.store.outbox import OutboxRelay
from tradewind.venues.simulated.exchange import KeyPermissions, SimulatedExchange

EMAIL = "canary.mail.5d1e0b@example.org"
PASSWORD = "Canary-Passw0rd-91b2c"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("debug", "json", stream=stream)
    yield stream
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


class Recorder:
    """Keeps every response's status line, headers and body."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        self.seen.append(f"{response.status_code} {dict(response.headers)} {response.text}")


async def exercise_the_api(api: Api, exchange: SimulatedExchange) -> list[str]:
    """Every route that touches a secret, the happy and the unhappy way; returns the
    secrets the venue made (to search for)."""
    client = api.client
    registered = await client.post(
        "/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD}
    )
    assert registered.status_code == 202
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": EMAIL, "password": "x" + PASSWORD}
    )
    assert wrong.status_code == 401
    user = await api.log_in(EMAIL, PASSWORD)
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
    )
    assert refreshed.status_code == 200
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}

    good = exchange.create_account({"USDT": 100})  # type: ignore[dict-item]
    risky = exchange.create_account({"USDT": 1}, KeyPermissions(withdraw=True))  # type: ignore[dict-item]
    attempts: list[dict[str, Any]] = [
        {"venue": "sim", "api_key": risky.api_key, "api_secret": risky.secret},  # refused
        {"venue": "sim", "api_key": good.api_key, "api_secret": good.secret[::-1]},  # rejected
        {"venue": "sim", "api_key": good.api_key, "api_secret": good.secret + "\x00"},  # 422
        {"venue": "nowhere", "api_key": good.api_key, "api_secret": good.secret},  # 422
        {"venue": "sim", "api_key": good.api_key, "api_secret": good.secret, "extra": 1},
    ]
    for body in attempts:
        assert (await client.post("/api/v1/accounts", json=body, headers=headers)).is_client_error
    connected = await client.post(
        "/api/v1/accounts",
        json={"venue": "sim", "api_key": good.api_key, "api_secret": good.secret},
        headers=headers,
    )
    assert connected.status_code == 201
    account_id = connected.json()["id"]
    await client.post(f"/api/v1/accounts/{account_id}/verify", headers=headers)
    await client.get("/api/v1/accounts", headers=headers)
    await client.get("/api/v1/me", headers=headers)
    bot = await api.create_bot(user, account_id)
    for action in ("start", "pause", "stop"):
        await client.post(f"/api/v1/bots/{bot['id']}/{action}", headers=headers)
    await client.get("/api/v1/portfolio", headers=headers)
    admin = await api.as_roles("admin")
    await client.get("/api/v1/admin/users", headers=admin.headers)
    await client.get("/api/v1/admin/audit", params={"limit": 500}, headers=admin.headers)
    await client.post(
        "/api/v1/auth/logout", json={"refresh_token": refreshed.json()["refresh_token"]}
    )
    return [good.secret, good.api_key, risky.secret, risky.api_key]


def database_files(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.glob("tradewind.db*")))


async def postgres_values(db: Database) -> bytes:
    """Every text, JSON and bytea value in the test's schema, as bytes."""
    schema = PG_SCHEMAS[id(db)]
    found = io.BytesIO()
    async with db.read() as conn:
        columns = (
            await conn.execute(
                text(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = :schema AND data_type IN "
                    "('text', 'character varying', 'json', 'jsonb', 'bytea')"
                ),
                {"schema": schema},
            )
        ).all()
        for table, column in columns:
            rows = await conn.execute(text(f'SELECT "{column}" FROM "{schema}"."{table}"'))
            for (value,) in rows:
                if value is not None:
                    found.write(value if isinstance(value, bytes) else str(value).encode())
                    found.write(b"\n")
    return found.getvalue()


def postgres_dump(db: Database) -> bytes:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return b""
    result = subprocess.run(
        [
            pg_dump,
            "-h",
            POSTGRES_HOST,
            "-p",
            str(POSTGRES_PORT),
            "-U",
            "postgres",
            "--data-only",
            f"--schema={PG_SCHEMAS[id(db)]}",
            "test",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert b"COPY" in result.stdout
    return result.stdout


async def test_no_canary_secret_appears_in_the_database_the_logs_or_the_responses(
    db: Database, exchange: SimulatedExchange, tmp_path: Path, captured_logs: io.StringIO
) -> None:
    recorder = Recorder()
    state = gateway_state(db, exchange, keys=master_keys("k1"))
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway.test", event_hooks={"response": [recorder]}
    ) as client:
        venue_secrets = await exercise_the_api(Api(client, state, exchange), exchange)
    bus = MemoryBus()
    await bus.start()
    assert await OutboxRelay(db, bus).relay_once() > 0
    await bus.close()
    await rotate(db, master_keys("k2", "k1"))

    canaries = [EMAIL, PASSWORD, *venue_secrets]
    places = {
        "responses": "\n".join(recorder.seen).encode(),
        "logs": captured_logs.getvalue().encode(),
    }
    if db.dialect == "sqlite":
        places["sqlite files"] = database_files(tmp_path)
    else:
        places["postgresql values"] = await postgres_values(db)
        places["pg_dump"] = postgres_dump(db)
    assert all(places.values()), "every place must have been searched through something"
    found = [
        f"{canary[:6]}… in {where}"
        for canary in canaries
        for where, haystack in places.items()
        if canary.encode() in haystack or canary.lower().encode() in haystack.lower()
    ]
    assert not found, found
