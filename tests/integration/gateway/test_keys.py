"""`tradewind keys rotate`: every secret and e-mail index moves to the current master key,
idempotently, while the API keeps working; `tradewind keys generate`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from tests.integration.gateway.support import Api, api_on, gateway_state
from tests.unit.security.factories import key_text, master_keys
from tradewind.gateway.keys import rotate
from tradewind.security.encryption import StoredSecret
from tradewind.security.master_keys import parse_master_keys
from tradewind.store.database import Database
from tradewind.store.schema import exchange_accounts, users
from tradewind.venues.simulated.exchange import SimulatedExchange

TRADEWIND = str(Path(sys.executable).with_name("tradewind"))


async def stored_kids(db: Database) -> set[str]:
    async with db.read() as conn:
        people = (await conn.execute(select(users))).mappings().all()
        accounts = (await conn.execute(select(exchange_accounts))).mappings().all()
    kids = {StoredSecret.from_json(u["email_encrypted"]).kid for u in people}
    kids |= {u["email_index"].partition(":")[0] for u in people}
    for a in accounts:
        kids |= {
            StoredSecret.from_json(a[c]).kid for c in ("api_key_encrypted", "api_secret_encrypted")
        }
    return kids


async def test_rotation_moves_everything_to_the_current_key_and_is_idempotent(
    db: Database, exchange: SimulatedExchange
) -> None:
    async with api_on(gateway_state(db, exchange, keys=master_keys("k1")), exchange) as old:
        user = await old.sign_up()
        account = await old.connect_account(user)
    assert await stored_kids(db) == {"k1"}

    report = await rotate(db, master_keys("k2", "k1"), batch=1)
    assert (report.emails_reindexed, report.accounts_rewrapped) == (1, 1)
    assert await stored_kids(db) == {"k2"}
    again = await rotate(db, master_keys("k2", "k1"))
    assert (again.emails_reindexed, again.accounts_rewrapped) == (0, 0)
    assert (again.emails_current, again.accounts_current) == (1, 1)

    async with api_on(gateway_state(db, exchange, keys=master_keys("k2")), exchange) as new:
        relogged = await new.log_in(user.email)
        verified = await new.client.post(
            f"/api/v1/accounts/{account['id']}/verify", headers=relogged.headers
        )
        assert verified.status_code == 200, verified.text


async def test_logins_keep_working_while_a_rotation_runs(
    sqlite_db: Database, exchange: SimulatedExchange
) -> None:
    async with api_on(gateway_state(sqlite_db, exchange, keys=master_keys("k1")), exchange) as old:
        people = [await old.sign_up() for _ in range(30)]
    both = master_keys("k2", "k1")  # the deployment step before rotating: k2 current
    async with api_on(gateway_state(sqlite_db, exchange, keys=both), exchange) as api:

        async def log_everyone_in(client: Api) -> None:
            for person in people:
                await client.log_in(person.email)

        report, _ = await asyncio.gather(rotate(sqlite_db, both, batch=5), log_everyone_in(api))
    assert report.emails_reindexed == 30
    assert await stored_kids(sqlite_db) == {"k2"}


def test_the_cli_rotates_the_database_of_the_settings(tmp_path: Path) -> None:
    database = tmp_path / "tradewind.db"

    async def seed() -> None:
        db = Database(f"sqlite:///{database}")
        await db.migrate()
        from tests.integration.gateway.support import new_exchange

        exchange = new_exchange()
        async with api_on(gateway_state(db, exchange, keys=master_keys("k1")), exchange) as api:
            user: Api = api
            await user.connect_account(await user.sign_up())
        await db.close()

    asyncio.run(seed())
    env = {
        **os.environ,
        "TRADEWIND_DATABASE_URL": f"sqlite:///{database}",
        "TRADEWIND_MASTER_KEYS": f"{key_text('k2')},{key_text('k1')}",
    }
    result = subprocess.run(
        [TRADEWIND, "keys", "rotate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "re-wrapped the secrets of 1 exchange account(s)" in result.stdout
    assert "re-indexed 1 e-mail" in result.stdout

    generated = subprocess.run(
        [TRADEWIND, "keys", "generate", "--kid", "k9"], capture_output=True, text=True, timeout=60
    )
    assert parse_master_keys(generated.stdout).current_kid == "k9"
