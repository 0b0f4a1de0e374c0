"""A bounded schemathesis run over every operation of `/openapi.json`, against the
gateway really serving (SQLite), with an admin-and-trader token: whatever it sends, the
API answers 4xx with a reason, never 5xx."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import allow_header_conformance, positive_data_acceptance

from tests.integration.gateway.serving import gateway_settings, serving
from tests.integration.gateway.support import Api, new_exchange
from tradewind.gateway.app import create_app
from tradewind.gateway.deps import GatewayState
from tradewind.services.deadletters import DeadLettersService

MAX_EXAMPLES = 12


class FuzzTarget:
    """A gateway in its own thread and event loop (schemathesis calls are blocking),
    with a user that owns an account and a bot, so id-taking routes get real ids."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self.url = ""
        self.headers: dict[str, str] = {}
        self._thread = threading.Thread(target=self._run, name="fuzz-gateway", daemon=True)

    def __enter__(self) -> FuzzTarget:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        exchange = new_exchange()
        # A deadletters service in the process, as under `tradewind up` (without one,
        # `/admin/dead-letters` rightly answers 503).
        peers = [DeadLettersService()]
        # Budgets out of the way: past them every route answers 429 (documented), and
        # the operations fuzzed last would be tested for nothing else.
        settings = gateway_settings(
            self._directory, rate_per_user=1_000_000, exchange_calls_per_user=10_000
        )
        async with serving(settings, exchange, peers=peers) as server:
            async with httpx.AsyncClient(base_url=server.url) as client:
                api = Api(client, server.state, exchange)
                user = await api.as_roles("admin", "trader")
                account = await api.connect_account(user)
                await api.create_bot(user, account["id"])
            self.url, self.headers = server.url, user.headers
            self._ready.set()
            await self._stop.wait()


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    with FuzzTarget(tmp_path_factory.mktemp("fuzz")) as target:
        yield target


# The document the served app publishes at /openapi.json: it depends on the routes
# only, so it is read here, at collection, from an app without state (schemathesis's
# lazy `from_fixture` loader does not work with pytest 9).
schema = schemathesis.openapi.from_dict(create_app(cast(GatewayState, None)).openapi())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_makes_the_api_fail_with_a_5xx(case: Any, fuzz_target: FuzzTarget) -> None:
    """Beyond "no 5xx", schemathesis's default checks hold too (documented statuses,
    response bodies matching their schemas, invalid input refused), except two:
    `positive_data_acceptance` (the schema cannot say everything: a password policy, a
    strategy's own rules, a venue's word on a key make schema-valid input a 422) and
    `allow_header_conformance` (Starlette's 405 names the methods of the first route
    whose path matched, not of all)."""
    case.call_and_validate(
        base_url=fuzz_target.url,
        headers=fuzz_target.headers,
        timeout=10,
        excluded_checks=[positive_data_acceptance, allow_header_conformance],
    )
