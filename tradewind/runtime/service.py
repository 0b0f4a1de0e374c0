"""What a service is to the runtime: something it starts, asks for readiness, and stops.

The runner (`tradewind.app.runner`) hands each service a `ServiceContext` with the
settings, the bus and the service's own logger and metrics, so a service never builds
its own adapters and runs unchanged in one process (`tradewind up`) or alone
(`tradewind service NAME`).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from tradewind.bus.port import Bus
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.settings import Settings

if TYPE_CHECKING:
    from tradewind.cache.port import Cache
    from tradewind.runtime.service_status import ServiceStatuses
    from tradewind.security.encryption import Encryptor
    from tradewind.store.database import Database
    from tradewind.venues.port import VenueDirectory

#: GET path on the health server -> a function returning msgspec-encodable data.
AdminEndpoints = Mapping[str, Callable[[], Any]]


@dataclass(slots=True)
class Resources:
    """Things one process shares between its services, built once by the runtime:
    venue sessions (the in-process simulated exchange under `tradewind up`, ccxt
    otherwise), the system of record, the cache and the key encryptor. None where not
    configured. `services`: every service this process runs (the runner fills it in),
    for a service that reports on the others or shares the event loop with them;
    `statuses`: where every process's runner publishes its services' status, for
    reporting on the services other processes run (None without a cache)."""

    venues: VenueDirectory | None = None
    database: Database | None = None
    cache: Cache | None = None
    encryptor: Encryptor | None = None  # decrypts stored exchange keys (execution only)
    services: tuple[Service, ...] = ()
    statuses: ServiceStatuses | None = None


@dataclass(frozen=True, slots=True)
class ServiceContext:
    """The runtime's things a service may use; `log` is already bound to the service."""

    settings: Settings
    bus: Bus
    log: structlog.stdlib.BoundLogger
    metrics: RuntimeMetrics
    resources: Resources = field(default_factory=Resources)


class Service(abc.ABC):
    """A long-running part of the platform.

    `start` returns once the service runs (subscriptions made, state loaded); `stop`
    drains: it finishes the work in flight, acknowledges it and releases what `start`
    took. `ready` is what `/readyz` reports: True only while the service can do its job.
    """

    #: The name users type (`tradewind service NAME`) and logs and metrics carry; set it
    #: on the subclass.
    name: str

    @abc.abstractmethod
    async def start(self, ctx: ServiceContext) -> None:
        """Begin work; raise `ConfigError` for a problem the user must fix."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Drain and release; called once, after a successful `start`."""

    @property
    @abc.abstractmethod
    def ready(self) -> bool:
        """True while started and able to do its job."""

    def admin_endpoints(self) -> AdminEndpoints:
        """Read-only views the health server serves as JSON, e.g. `/deadletters`."""
        return {}
