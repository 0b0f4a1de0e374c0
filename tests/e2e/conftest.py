from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tradewind.bus.tansu import free_port, port_open


@pytest.fixture
def venue_url(tmp_path: Path) -> Iterator[str]:
    """`tradewind venue serve` on a free port, publishing no rate limits."""
    port = free_port()
    log = (tmp_path / "venue.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradewind.cli", "venue", "serve", "--port", str(port),
         "--market", "synthetic", "--seed", "3", "--unlimited"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port, 0.2):
            assert proc.poll() is None and time.monotonic() < deadline, "venue did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


@pytest.fixture
async def database_url(postgres_url: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for the run (the services share it)."""
    name = f"tw_e2e_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_url, timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
