"""Run services in this process: wire them to the bus, serve health, drain on SIGTERM.

This is the one place that builds adapters and hands them to services (like
cosmicpython's `bootstrap.py`). The order is fixed so that configuration problems are
reported before anything starts:

1. the service names are checked, the settings' servers are checked for reachability;
2. the bus is opened and started;
3. the health server listens on `health_port`, then the services start in order, and
   from then on their status goes to the shared cache every few seconds, for the
   gateways of other processes (`runtime.service_status`);
4. on SIGTERM or SIGINT `/readyz` turns 503, the services stop in reverse order
   (draining their in-flight work, within `shutdown_timeout_s`), the bus closes, and the
   health server stops. A second signal abandons the drain.

A bus consumer that stops reading on its own (`Subscription.failure`) makes the process
drain and exit 1, so that its supervisor restarts it.

SIGUSR1 writes the stack of every asyncio task to stderr (the log), for an operator
asking where a process that stopped making progress waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from tradewind.app.platform import DistributedPlatform, Platform
from tradewind.app.registry import SERVICES, create_services
from tradewind.bus.factory import open_bus
from tradewind.bus.memory import MemoryBus
from tradewind.bus.port import Bus
from tradewind.errors import BusUnavailable, ConfigError
from tradewind.runtime.collector import freeze_startup_heap, tune_collector
from tradewind.runtime.health import HealthServer, Readiness, build_health_app
from tradewind.runtime.logging import configure_logging, get_logger
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, Service, ServiceContext
from tradewind.runtime.service_status import ServiceStatuses
from tradewind.runtime.settings import (
    Settings,
    check_reachable,
    redact_url,
    served_tls,
    setting_name,
    url_scheme,
)

_SETTLE_S = 2.0
EXIT_OK = 0
EXIT_FAILED = 1
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_CONSUMERS_CHECKED_EVERY_S = 1.0

_log = get_logger("tradewind.runtime")


def run_services(
    names: Sequence[str],
    settings: Settings,
    platform: Platform | None = None,
    log_stream: TextIO | None = None,
) -> int:
    """Run the named services (see `registry.SERVICES`) until SIGTERM or SIGINT; returns
    the exit code: 0 after a clean drain, 1 if a service failed or the drain did not
    finish. Configures logging from `settings`, and uses uvloop when it is installed.

    Raises `ConfigError` for a problem the user must fix (unknown service, bad or
    unreachable server, busy port) before any service has started. `platform` builds
    the shared resources (default: `DistributedPlatform`, from settings) and may end
    the run by itself. Logs go to `log_stream` (default stderr).
    """
    configure_logging(settings.log_level, settings.log_format, log_stream)
    tune_collector()
    with asyncio.Runner(loop_factory=_uvloop_factory()) as runner:
        exit_code = runner.run(_run(names, settings, platform or DistributedPlatform()))
    _log.info("stopped", exit_code=exit_code)
    return exit_code


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _run(names: Sequence[str], settings: Settings, platform: Platform) -> int:
    services = create_services(names)
    stop = _StopSignals()
    try:
        await check_reachable(settings)
        bus = await _start_bus(settings)
        try:
            resources = await platform.open(settings, bus)
            try:
                return await _serve(services, bus, settings, stop, resources, platform)
            finally:
                await platform.close(resources)
        finally:
            await _close_bus(bus, settings.shutdown_timeout_s)
    finally:
        stop.uninstall()


async def _start_bus(settings: Settings) -> Bus:
    bus_setting = setting_name("bus_url")
    try:
        bus = open_bus(settings.bus_url, partitions=settings.partitions)
    except ValueError as exc:
        raise ConfigError(bus_setting, redact_url(str(exc))) from None
    try:
        await bus.start()
    except BusUnavailable as exc:
        raise ConfigError(bus_setting, redact_url(str(exc))) from None
    return bus


async def _close_bus(bus: Bus, timeout_s: float) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            await bus.close()
    except TimeoutError:
        _log.error("bus did not close in time", timeout_s=timeout_s)


async def _serve(
    services: list[Service],
    bus: Bus,
    settings: Settings,
    stop: _StopSignals,
    resources: Resources,
    platform: Platform,
) -> int:
    resources.services = tuple(services)
    if resources.cache is not None:
        resources.statuses = ServiceStatuses(resources.cache, tuple(SERVICES))
    metrics = RuntimeMetrics()
    metrics.watch_bus(bus)
    if settings.otel_endpoint:
        from tradewind.runtime.tracing import start_tracing

        metrics.tracing = start_tracing("+".join(s.name for s in services), settings.otel_endpoint)
    readiness = Readiness(services)
    health = HealthServer(
        build_health_app(readiness, metrics, _health_token(settings)),
        settings.health_host,
        settings.health_port,
        setting=setting_name("health_port"),
        tls=served_tls(settings, "the health port"),
    )
    metrics.watch_certificate(settings.tls_cert_file)  # served_tls checked it is readable
    await health.start()
    started: list[Service] = []
    publishing: asyncio.Task[None] | None = None
    try:
        for service in services:
            log = get_logger(f"tradewind.services.{service.name}", service=service.name)
            await service.start(ServiceContext(settings, bus, log, metrics, resources))
            started.append(service)
            metrics.service_up.labels(service.name).set(1)
        _log.info(
            "running",
            services=[s.name for s in services],
            bus=redact_url(settings.bus_url),
            health=f"{health.scheme}://{settings.health_host}:{health.port}",
        )
        _warn_if_alone_on_memory_bus(services, settings)
        if resources.statuses is not None:  # for the gateways of other processes
            publishing = asyncio.create_task(
                resources.statuses.publish_every(started), name="service-statuses"
            )
        platform.services_started(started)
        freeze_startup_heap()  # what start-up made is never scanned again
        exit_code = await _wait_for_stop(stop, health, platform.finished, bus)
        platform.stopping()
    except ConfigError:
        raise
    except Exception:
        _log.exception("service failed to start", started=[s.name for s in started])
        exit_code = EXIT_FAILED
    finally:
        readiness.draining = True
        if publishing is not None:
            publishing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publishing
        drained = await _stop_services(started, metrics, settings.shutdown_timeout_s, stop, bus)
        await health.stop()
        if metrics.tracing is not None:  # send the spans still buffered
            await asyncio.to_thread(metrics.tracing.close)
    return exit_code if drained else EXIT_FAILED


def _health_token(settings: Settings) -> str | None:
    """The operator token unlocking the health server's tenant views (`TRADEWIND_HEALTH_TOKEN`),
    None when unset or blank."""
    token = settings.health_token.get_secret_value().strip() if settings.health_token else ""
    return token or None


def _warn_if_alone_on_memory_bus(services: Sequence[Service], settings: Settings) -> None:
    missing = sorted(set(SERVICES) - {s.name for s in services})
    if url_scheme(settings.bus_url) == "memory" and missing:
        _log.warning(
            "the bus is in-process (memory://), so services in other processes cannot "
            "reach this one; set TRADEWIND_BUS_URL to redis:// or kafka:// to distribute",
            not_in_this_process=missing,
        )


async def _wait_for_stop(
    stop: _StopSignals, health: HealthServer, finished: asyncio.Event | None, bus: Bus
) -> int:
    """Wait for SIGTERM/SIGINT or the platform finishing (-> 0), or the health server
    dying or a bus consumer stopping on its own (-> 1: the supervisor restarts the
    process, which joins its groups afresh)."""
    signalled = asyncio.create_task(stop.first.wait())
    consumers = asyncio.create_task(_first_consumer_failure(bus))
    waits: set[asyncio.Future[Any]] = {signalled, health.stopped, consumers}
    ended = asyncio.create_task(finished.wait()) if finished is not None else None
    if ended is not None:
        waits.add(ended)
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in (signalled, consumers, ended):
            if waiting is not None and not waiting.done():
                waiting.cancel()
    if ended is not None and ended.done():
        _log.info("stopping", reason="the run finished")
        return EXIT_OK
    if signalled.done():
        _log.info("stopping", signal=stop.received[0])
        return EXIT_OK
    if consumers.done():
        group, reason = consumers.result()
        _log.error(
            "a bus consumer stopped reading; exiting 1 so that the process is restarted",
            group=group, reason=reason,
        )  # fmt: skip
        return EXIT_FAILED
    _log.error("health server stopped unexpectedly", error=repr(health.stopped.exception()))
    return EXIT_FAILED


async def _first_consumer_failure(bus: Bus) -> tuple[str, str]:
    """(group, reason) of the first of the bus's members that stops reading on its own."""
    while True:
        for subscription in bus.subscriptions():
            reason = subscription.failure
            if reason is not None:
                return subscription.group, reason
        await asyncio.sleep(_CONSUMERS_CHECKED_EVERY_S)


async def _stop_services(
    started: Sequence[Service],
    metrics: RuntimeMetrics,
    timeout_s: float,
    stop: _StopSignals,
    bus: Bus,
) -> bool:
    """Stop `started` in reverse order; True if every one drained in time without error,
    False on an error, after `timeout_s` seconds, or on a second signal."""

    async def stop_each() -> bool:
        clean = True
        for service in reversed(started):
            try:
                await service.stop()
            except Exception:
                _log.exception("service failed to stop", service=service.name)
                clean = False
            metrics.service_up.labels(service.name).set(0)
            if isinstance(bus, MemoryBus):
                # In one process, let what this service published on its way out reach
                # the services still running (fills reach portfolio, say).
                await bus.wait_until_idle(_SETTLE_S)
        return clean

    draining = asyncio.create_task(stop_each())
    forced = asyncio.create_task(stop.second.wait())
    await asyncio.wait({draining, forced}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    forced.cancel()
    if draining.done():
        return draining.result()
    draining.cancel()
    reason = "second signal" if stop.second.is_set() else f"timeout after {timeout_s:g} s"
    _log.error("drain abandoned", reason=reason)
    return False


class _StopSignals:
    """SIGTERM and SIGINT as events: `first` asks for a drain, `second` abandons it."""

    def __init__(self) -> None:
        self.first = asyncio.Event()
        self.second = asyncio.Event()
        self.received: list[str] = []
        self._loop = asyncio.get_running_loop()
        for sig in _STOP_SIGNALS:
            self._loop.add_signal_handler(sig, self._on_signal, sig)
        self._loop.add_signal_handler(signal.SIGUSR1, dump_tasks)

    def _on_signal(self, sig: signal.Signals) -> None:
        self.received.append(sig.name)
        (self.second if self.first.is_set() else self.first).set()

    def uninstall(self) -> None:
        for sig in (*_STOP_SIGNALS, signal.SIGUSR1):
            self._loop.remove_signal_handler(sig)


def dump_tasks(file: TextIO | None = None) -> None:
    """Write every asyncio task of this loop and the chain of awaits it waits in, down
    to the future (or the tasks of a gather) at its end (SIGUSR1)."""
    out = file or sys.stderr
    tasks = asyncio.all_tasks()
    print(f"--- {len(tasks)} asyncio tasks ---", file=out)
    for task in tasks:
        print(f"{task.get_name()}:", file=out)
        for line in _awaiting(task.get_coro()):
            print(f"    {line}", file=out)
    print("--- end of tasks ---", file=out, flush=True)


def _awaiting(awaitable: object) -> list[str]:
    """Where a coroutine waits: one line per frame of its await chain, then what the
    innermost one awaits."""
    lines = []
    while awaitable is not None:
        frame = _first_of(awaitable, ("cr_frame", "ag_frame", "gi_frame"))
        if frame is None:  # a future, a task, a gather of tasks
            children = getattr(awaitable, "_children", None)
            if children:
                names = ", ".join(_name(child) for child in children)
                lines.append(f"gather of {names}")
            else:
                lines.append(repr(awaitable)[:200])
            break
        lines.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        awaitable = _first_of(awaitable, ("cr_await", "ag_await", "gi_yieldfrom"))
    return lines


def _first_of(obj: object, attributes: tuple[str, ...]) -> Any:
    """The first of `attributes` that `obj` has and is not None (coroutines, async
    generators and generators name their frame and what they await differently)."""
    return next((v for a in attributes if (v := getattr(obj, a, None)) is not None), None)


def _name(awaitable: object) -> str:
    return awaitable.get_name() if isinstance(awaitable, asyncio.Task) else repr(awaitable)[:80]
