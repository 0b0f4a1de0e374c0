"""The services this build can run, by the name users type."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from tradewind.errors import ConfigError
from tradewind.gateway.service import GatewayService
from tradewind.runtime.service import Service
from tradewind.services.analytics import AnalyticsService
from tradewind.services.deadletters import DeadLettersService
from tradewind.services.execution import ExecutionService
from tradewind.services.marketdata import MarketDataService
from tradewind.services.portfolio import PortfolioService
from tradewind.services.risk import RiskService
from tradewind.services.strategy import StrategyService

#: Service name -> a factory making a fresh, unstarted instance. `tradewind up` starts
#: them in this order and stops them in reverse: producers of orders stop before the
#: services that carry orders to the venue and account for their fills.
SERVICES: Mapping[str, Callable[[], Service]] = MappingProxyType(
    {
        DeadLettersService.name: DeadLettersService,
        PortfolioService.name: PortfolioService,
        AnalyticsService.name: AnalyticsService,
        ExecutionService.name: ExecutionService,
        RiskService.name: RiskService,
        MarketDataService.name: MarketDataService,
        StrategyService.name: StrategyService,
        GatewayService.name: GatewayService,
    }
)


def check_service_names(names: Sequence[str]) -> None:
    """Raise `ConfigError` (setting `NAME`, the CLI argument) for an unknown or repeated
    name, listing the known services."""
    for name in names:
        if name not in SERVICES:
            raise ConfigError(
                "NAME", f"unknown service {name!r}; known services: {', '.join(SERVICES)}"
            )
    if len(set(names)) != len(names):
        raise ConfigError("NAME", f"a service is named twice in {', '.join(names)}")


def create_services(names: Sequence[str]) -> list[Service]:
    """Fresh instances of the named services, in the given order (their start order)."""
    check_service_names(names)
    return [SERVICES[name]() for name in names]
