"""Files that hold secrets are the owner's only: the SQLite database (password hashes,
encrypted exchange keys) with its -wal and -shm files, the run's master key, and the
`.tradewind` directory they live in; whatever the process's umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradewind.app.embedded import DEFAULT_DATABASE_URL, EmbeddedOptions, EmbeddedPlatform
from tradewind.bus.memory import MemoryBus
from tradewind.runtime.settings import load_settings
from tradewind.store.database import Database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The common default umask, under which new files are readable by every user."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def no_configured_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TRADEWIND_"):
            monkeypatch.delenv(name)


async def test_a_new_sqlite_database_and_its_wal_files_are_mode_0600(
    tmp_path: Path, permissive_umask: None
) -> None:
    path = tmp_path / "tradewind.db"
    database = Database(f"sqlite:///{path}")
    try:
        await database.migrate()
        companions = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        assert all(p.exists() for p in companions)  # migrated in WAL mode; still open
        assert {p.name: mode(p) for p in (path, *companions)} == {
            p.name: 0o600 for p in (path, *companions)
        }
    finally:
        await database.close()


async def test_tradewind_up_keeps_its_directory_database_and_master_key_private(
    tmp_path: Path, permissive_umask: None, no_configured_secrets: None
) -> None:
    data_dir = tmp_path / ".tradewind"
    data_dir.mkdir(mode=0o755)  # left by an older version
    platform = EmbeddedPlatform(
        EmbeddedOptions(market="synthetic", speed=1, live=False, venue_port=None, data_dir=data_dir)
    )
    settings = load_settings(database_url=DEFAULT_DATABASE_URL)
    resources = await platform.open(settings, MemoryBus())
    try:
        made = {p.name: mode(p) for p in data_dir.iterdir()}
    finally:
        await platform.close(resources)

    assert mode(data_dir) == 0o700
    assert made == {
        "embedded.db": 0o600,
        "embedded.db-wal": 0o600,
        "embedded.db-shm": 0o600,
        "master.key": 0o600,
    }
