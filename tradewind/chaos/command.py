"""`tradewind chaos`: one chaos run per bus asked for, its result printed as Markdown and,
with `record`, appended to a file (docs/reliability.md). Needs the dev extras (the Tansu
broker, moto's S3 server, httpx) and the servers' binaries (redis-server; PostgreSQL's
for a failover; `ip` and root for zones)."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from tradewind.chaos.report import markdown
from tradewind.chaos.run import Bus, ChaosResult, Plan, run
from tradewind.errors import ConfigError


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str, keep: bool) -> AsyncIterator[str]:
    """A new, empty database on the PostgreSQL server of `admin_url`; dropped afterwards
    unless `keep`."""
    import asyncpg  # type: ignore[import-untyped]

    name = f"tw_chaos_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(admin_url, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise ConfigError("--database-url", f"cannot connect to {admin_url}: {exc}") from None
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield admin_url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            if not keep:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def run_plans(
    plans: list[Plan], admin_url: str, logs: Path | None, keep: bool
) -> list[ChaosResult]:
    results = []
    for plan in plans:
        directory = logs or Path(tempfile.mkdtemp(prefix="tradewind-chaos-"))
        directory = directory / plan.bus
        print(f"chaos on the {plan.bus} bus: logs in {directory}", file=sys.stderr)

        def progress(line: str) -> None:
            print(f"  {line}", file=sys.stderr, flush=True)

        if plan.ha or plan.zones:  # the run starts a PostgreSQL of its own
            results.append(await run(plan, directory, None, progress))
            continue
        async with fresh_database(admin_url, keep) as database_url:
            results.append(await run(plan, directory, database_url, progress))
    return results


def main(
    *,
    buses: list[Bus],
    minutes: float,
    bots: int,
    kills: int,
    seed: int,
    table: bool,
    zones: bool,
    ha: bool,
    admin_url: str,
    logs: Path | None,
    record: Path | None,
    keep: bool,
    argv: list[str],
) -> int:
    plans = [
        Plan(
            bus=bus,
            minutes=minutes,
            bots=bots,
            kills=kills,
            seed=seed,
            table=table,
            zones=zones,
            ha=ha,
        )
        for bus in buses
    ]
    results = asyncio.run(run_plans(plans, admin_url, logs, keep))
    command = "tradewind " + shlex.join(argv)
    text = "\n".join(markdown(result, command) for result in results)
    print(text)
    if record is not None:
        with record.open("a") as file:
            file.write("\n" + text)
    return 0 if all(not r.failures for r in results) else 1
