"""What surrounds the services of one run: the shared resources they get, whether the
run ends by itself, and what happens after they drained.

`DistributedPlatform` (for `tradewind service NAME`) builds resources from settings:
the database (`TRADEWIND_DATABASE_URL`), the cache (`TRADEWIND_CACHE_URL`), venues over
ccxt (`TRADEWIND_VENUE_URLS`, `TRADEWIND_VENUES`) and the key encryptor (master keys). The embedded
platform of `tradewind up` lives in `embedded.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from tradewind.bus.port import Bus
from tradewind.cache.factory import open_cache
from tradewind.runtime.service import Resources, Service
from tradewind.runtime.settings import Settings
from tradewind.security.encryption import Encryptor
from tradewind.store.database import Database
from tradewind.venues.directory import CcxtVenues


class Platform(Protocol):
    async def open(self, settings: Settings, bus: Bus) -> Resources:
        """Build what the services share; runs after the bus started, before services."""
        ...

    @property
    def finished(self) -> asyncio.Event | None:
        """Set when the run should end by itself (e.g. `--for SECONDS`); None: never."""
        ...

    def services_started(self, services: Sequence[Service]) -> None:
        """Every service runs (e.g. to read their admin views)."""
        ...

    def stopping(self) -> None:
        """The run is about to drain its services."""
        ...

    async def close(self, resources: Resources) -> None:
        """Runs after the services drained, before the bus closes."""
        ...


def encryptor_from_settings(settings: Settings) -> Encryptor | None:
    """The key encryptor if master keys are configured, else None."""
    from tradewind.security.master_keys import load_master_keys

    keys = settings.master_keys.get_secret_value() if settings.master_keys else None
    key = settings.master_key.get_secret_value() if settings.master_key else None
    if not (keys or key or settings.master_key_file):
        return None
    return Encryptor(load_master_keys(keys=keys, key=key, key_file=settings.master_key_file))


class DistributedPlatform:
    """Resources from settings, for one service in its own process."""

    def __init__(self) -> None:
        self._finished: asyncio.Event | None = None

    @property
    def finished(self) -> asyncio.Event | None:
        return self._finished

    async def open(self, settings: Settings, bus: Bus) -> Resources:
        database = Database(settings.database_url)
        await database.migrate()
        cache = open_cache(settings.cache_url)
        await cache.start()
        venues = CcxtVenues.declared(
            settings.venue_urls, settings.venues, ca_file=settings.venue_ca_file
        )
        return Resources(
            venues=venues,
            database=database,
            cache=cache,
            encryptor=encryptor_from_settings(settings),
        )

    def services_started(self, services: Sequence[Service]) -> None:
        return None

    def stopping(self) -> None:
        return None

    async def close(self, resources: Resources) -> None:
        if resources.cache is not None:
            await resources.cache.close()
        if resources.database is not None:
            await resources.database.close()
