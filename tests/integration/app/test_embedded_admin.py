"""Under `tradewind up` (the embedded platform) the gateway's admin routes report every
other service of the run."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.gateway.serving import free_port
from tests.integration.gateway.support import Api
from tradewind.app.embedded import DEFAULT_DATABASE_URL, EmbeddedOptions, EmbeddedPlatform
from tradewind.app.registry import SERVICES
from tradewind.app.runner import run_services
from tradewind.gateway.service import GatewayService
from tradewind.runtime.service import Service
from tradewind.runtime.service_status import breaker_states, this_instance
from tradewind.runtime.settings import load_settings
from tradewind.services.execution import ExecutionService


class AskingPlatform(EmbeddedPlatform):
    """`tradewind up` that, once every service runs, asks the gateway's admin routes as
    an operator and then ends the run."""

    def __init__(self, options: EmbeddedOptions, url: str) -> None:
        super().__init__(options)
        self.url = url
        self.answers: dict[str, Any] = {}
        self._asking: asyncio.Task[None] | None = None

    def services_started(self, services: Sequence[Service]) -> None:
        super().services_started(services)
        (gateway,) = [s for s in services if isinstance(s, GatewayService)]
        (execution,) = [s for s in services if isinstance(s, ExecutionService)]
        self._asking = asyncio.get_running_loop().create_task(self._ask(gateway, execution))

    async def _ask(self, gateway: GatewayService, execution: ExecutionService) -> None:
        try:
            assert self.exchange is not None
            async with httpx.AsyncClient(base_url=self.url) as client:
                operator = await Api(client, gateway.state, self.exchange).as_roles("operator")
                for route in ("health", "breakers"):
                    got = await client.get(f"/api/v1/admin/{route}", headers=operator.headers)
                    self.answers[route] = got.json()
            self.answers["execution"] = breaker_states(execution.breakers())
        finally:
            self._finished.set()


@pytest.fixture
def no_configured_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TRADEWIND_"):
            monkeypatch.delenv(name)


def test_the_gateway_of_tradewind_up_reports_every_other_service(
    tmp_path: Path, no_configured_settings: None
) -> None:
    http_port = free_port()
    settings = load_settings(
        database_url=DEFAULT_DATABASE_URL, http_port=http_port, health_port=free_port()
    )
    options = EmbeddedOptions(
        market="synthetic", speed=1, live=False, venue_port=None, data_dir=tmp_path / ".tradewind"
    )
    platform = AskingPlatform(options, f"http://127.0.0.1:{http_port}")

    assert run_services(list(SERVICES), settings, platform, io.StringIO()) == 0

    health = platform.answers["health"]
    assert [peer["name"] for peer in health] == [
        "gateway",
        *(n for n in SERVICES if n != "gateway"),
    ]
    assert {peer["status"] for peer in health} == {"ready"}
    assert {peer["instance"] for peer in health} == {this_instance()}  # all in this process
    # Each venue's breaker as the execution service of the run has it (it knows those of
    # the venues it has traded on: none yet, without bots).
    known = platform.answers["execution"]
    assert platform.answers["breakers"] == [
        {
            "venue": venue,
            "instance": this_instance() if venue in known else None,
            "state": known.get(venue, "unknown"),
        }
        for venue in ("sim", "sim-coinbase")
    ]
