"""What the execution and portfolio service tests share: a real bus, a real simulated
exchange (in process, or served over HTTP), a real SQLite store holding exchange
accounts with encrypted keys, and a recorder of what a topic carried."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.memory import MemoryBus
from tradewind.cache.memory import MemoryCache
from tradewind.domain.commands import OrderIntent
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.runtime.logging import get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, Service, ServiceContext
from tradewind.runtime.service_settings import ExecutionSettings
from tradewind.runtime.settings import Settings
from tradewind.security.encryption import Encryptor
from tradewind.security.master_keys import StaticMasterKeys
from tradewind.services.execution.credentials import key_context, secret_context
from tradewind.store.accounts import add_account
from tradewind.store.database import Database
from tradewind.store.users import create_user
from tradewind.venues.port import VenueDirectory

T = TypeVar("T")

#: Quick retries and a reconciliation that never comes by itself, for tests.
FAST = ExecutionSettings(
    execution_retry_base_s=0.02,
    execution_retry_cap_s=0.2,
    execution_max_retries=30,
    execution_lookup_delay_s=0.05,
    execution_breaker_failures=3,
    execution_breaker_cool_down_s=0.3,
    execution_reconcile_interval_s=3600,
    execution_call_timeout_s=5,
)


def make_encryptor() -> Encryptor:
    key = hashlib.sha256(b"tradewind execution tests").digest()
    return Encryptor(StaticMasterKeys({"k1": key}, current_kid="k1"))


async def store_account(
    database: Database,
    encryptor: Encryptor,
    api_key: str,
    secret: str,
    *,
    venue: str = "sim",
    valuation_asset: str = "USDT",
    account_id: str | None = None,
) -> str:
    """An exchange account (and its user) with these keys, encrypted; its id."""
    account_id = account_id or uuid.uuid4().hex
    async with database.transaction() as conn:
        user = await create_user(
            conn,
            email_index=uuid.uuid4().hex,
            email_encrypted="-",
            password_hash="-",
            roles=("trader",),
        )
        await add_account(
            conn,
            user_id=user.id,
            venue=venue,
            label="test",
            api_key_masked=api_key[:4] + "…",
            api_key_encrypted=encryptor.encrypt(api_key, key_context(account_id)).to_json(),
            api_secret_encrypted=encryptor.encrypt(secret, secret_context(account_id)).to_json(),
            valuation_asset=valuation_asset,
            account_id=account_id,
        )
    return account_id


@dataclass
class Platform:
    """The shared resources of one test's services."""

    bus: MemoryBus
    venues: VenueDirectory
    database: Database | None
    encryptor: Encryptor
    cache: MemoryCache = field(default_factory=MemoryCache)
    metrics: RuntimeMetrics = field(default_factory=RuntimeMetrics)
    started: list[Service] = field(default_factory=list)

    async def start(self, service: Service) -> Service:
        log = get_logger(f"tradewind.services.{service.name}", service=service.name)
        resources = Resources(
            venues=self.venues, database=self.database, cache=self.cache, encryptor=self.encryptor
        )
        await service.start(ServiceContext(Settings(), self.bus, log, self.metrics, resources))
        self.started.append(service)
        return service

    async def stop(self, service: Service) -> None:
        self.started.remove(service)
        await service.stop()

    async def stop_all(self) -> None:
        for service in reversed(self.started[:]):
            await self.stop(service)

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


def intent(
    account_id: str,
    intent_id: str,
    side: Side = Side.BUY,
    quantity: str = "0.01",
    *,
    symbol: str = "BTC/USDT",
    price: str | None = None,
    bot_id: str = "bot-1",
    venue: str = "sim",
) -> OrderIntent:
    return OrderIntent(
        account_id=account_id,
        bot_id=bot_id,
        intent_id=intent_id,
        instrument=Instrument.parse(venue, symbol),
        side=side,
        order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
        quantity=Decimal(quantity),
        price=None if price is None else Decimal(price),
        ts_ns=time.time_ns(),
    )


def approved(order_intent: OrderIntent, trace_id: str | None = None) -> Envelope:
    return envelope(order_intent, order_intent.account_id, trace_id)


class Recorder:
    """Everything published on some topics, as one consumer group sees it."""

    def __init__(self) -> None:
        self.events: list[Envelope] = []
        self._changed = asyncio.Event()

    @classmethod
    async def on(cls, bus: MemoryBus, topics: Sequence[str]) -> Recorder:
        recorder = cls()

        async def record(batch: Sequence[Envelope]) -> None:
            recorder.events.extend(batch)
            recorder._changed.set()

        await bus.subscribe(topics, f"recorder.{uuid.uuid4().hex[:8]}", record)
        return recorder

    def payloads(self, kind: type[T]) -> list[T]:
        """The payloads of type `kind`, in the order they were published."""
        return [e.payload for e in self.events if isinstance(e.payload, kind)]

    async def wait_for(
        self, condition: Callable[[Recorder], object], timeout_s: float = 10.0, what: str = ""
    ) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                while not condition(self):
                    self._changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.1)
        except TimeoutError:
            seen = [e.type for e in self.events]
            raise AssertionError(
                f"not seen within {timeout_s} s: {what or condition}; {seen}"
            ) from None


@contextlib.asynccontextmanager
async def platform_on(venues: VenueDirectory, tmp_path: Path) -> AsyncIterator[Platform]:
    """A `Platform` on a memory bus of 4 partitions and a migrated SQLite database in
    `tmp_path`, trading on `venues`; its services stopped at the end."""
    database = Database(f"sqlite:///{tmp_path / 'tradewind.db'}")
    await database.migrate()
    bus = MemoryBus(partitions=4)
    await bus.start()
    platform = Platform(bus, venues, database, make_encryptor())
    try:
        yield platform
    finally:
        await platform.stop_all()
        await bus.close()
        await database.close()
