"""Who becomes an administrator: nobody by registering an address (the attack of the
security review, item 6); an operator with the database and the master keys, through
`tradewind users grant-admin EMAIL` / `revoke-admin EMAIL`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.integration.gateway.serving import gateway_settings, serving
from tests.integration.gateway.support import PASSWORD, api_on, gateway_state, new_exchange
from tests.unit.security.factories import key_text, master_keys
from tradewind.store import audit, users
from tradewind.store.database import Database
from tradewind.venues.simulated.exchange import SimulatedExchange

TRADEWIND = str(Path(sys.executable).with_name("tradewind"))
BOSS = "Boss@Example.org"


def _tradewind(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TRADEWIND_DATABASE_URL": f"sqlite:///{database}",
        "TRADEWIND_MASTER_KEYS": key_text("k1"),
        # The old bootstrap setting no longer means anything: registering grants nothing.
        "TRADEWIND_BOOTSTRAP_ADMIN_EMAIL": BOSS,
    }
    return subprocess.run(
        [TRADEWIND, "users", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_registering_grants_nothing_and_the_command_line_makes_an_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "tradewind.db"
    # Set where the sign-up happens too: whatever reads it there must not honour it.
    monkeypatch.setenv("TRADEWIND_BOOTSTRAP_ADMIN_EMAIL", BOSS)

    async def roles_after(sign_up: bool) -> tuple[str, ...]:
        db = Database(f"sqlite:///{database}")
        await db.migrate()
        exchange = new_exchange()
        async with api_on(gateway_state(db, exchange, keys=master_keys("k1")), exchange) as api:
            if sign_up:
                await api.client.post(
                    "/api/v1/auth/register", json={"email": BOSS.lower(), "password": PASSWORD}
                )
            user = await api.log_in(BOSS.lower())
            me = await api.client.get("/api/v1/me", headers=user.headers)
        await db.close()
        return tuple(me.json()["roles"])

    signed_up = asyncio.run(roles_after(sign_up=True))
    assert "admin" not in signed_up
    assert signed_up == ("trader",)

    unknown = _tradewind(database, "grant-admin", "nobody@example.org")
    assert unknown.returncode == 1 and "sign up first" in unknown.stderr

    granted = _tradewind(database, "grant-admin", BOSS)
    assert granted.returncode == 0, granted.stderr
    assert "is now an admin" in granted.stdout
    assert asyncio.run(roles_after(sign_up=False)) == ("admin", "trader")
    assert "is already an admin" in _tradewind(database, "grant-admin", BOSS).stdout

    revoked = _tradewind(database, "revoke-admin", BOSS)
    assert revoked.returncode == 0 and "is no longer an admin" in revoked.stdout
    assert asyncio.run(roles_after(sign_up=False)) == ("trader",)

    async def audited() -> list[str]:
        db = Database(f"sqlite:///{database}")
        async with db.read() as conn:
            entries = await audit.query(conn, action="user.roles_changed")
            everyone = await users.list_users(conn)
        await db.close()
        assert all(u.token_version == 2 for u in everyone)  # each change ended old tokens
        return [str(e.detail["to"]) for e in entries]

    assert asyncio.run(audited()) == ["['trader']", "['admin', 'trader']"]


async def test_the_gateway_warns_at_start_that_the_bootstrap_address_is_ignored(
    tmp_path: Path, exchange: SimulatedExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    with capture_logs() as quiet:
        async with serving(gateway_settings(tmp_path), exchange):
            pass
    assert not [e for e in quiet if "BOOTSTRAP" in e["event"]]

    monkeypatch.setenv("TRADEWIND_BOOTSTRAP_ADMIN_EMAIL", BOSS)
    with capture_logs() as logs:
        async with serving(gateway_settings(tmp_path), exchange):
            pass
    [warning] = [e for e in logs if "TRADEWIND_BOOTSTRAP_ADMIN_EMAIL" in e["event"]]
    assert warning["log_level"] == "warning"
    assert "no longer honoured" in warning["event"]
    assert "tradewind users grant-admin" in warning["event"]
    assert BOSS.lower() not in str(logs).lower()  # the address is personal data
