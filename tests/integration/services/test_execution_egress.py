"""TRADEWIND_EGRESS on the simulated exchange over HTTP: execution's calls for each
account leave from that account's address of the pool (loopback aliases here), so the
exchange, which counts request weight per client address as Binance does, counts each
address apart, and nothing leaves from the default route."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.services.execution_support import (
    FAST,
    Platform,
    Recorder,
    approved,
    intent,
    platform_on,
    store_account,
)
from tests.integration.venues.sim_rest_support import running_venue
from tradewind.bus.topics import ORDERS_APPROVED, ORDERS_EVENTS
from tradewind.domain.events import BalanceUpdate, OrderFilled
from tradewind.services.execution import ExecutionService
from tradewind.venues.directory import CcxtVenues
from tradewind.venues.egress import egress_for
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.weights import Refusal

POOL = ("127.0.0.2", "127.0.0.3")


@pytest.fixture(scope="module")
def venue() -> Iterator[tuple[str, ServerState]]:
    with running_venue() as served:
        yield served


@pytest.fixture
def callers(venue: tuple[str, ServerState], monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Request weight the exchange counted, per client address (its own counting,
    recorded as it admits each request)."""
    _, state = venue
    counted: dict[str, int] = defaultdict(int)
    admit = state.ip_limiter.admit

    def recording(ip: str, weight: int, now_ms: int) -> Refusal | None:
        counted[ip] += weight
        return admit(ip, weight, now_ms)

    monkeypatch.setattr(state.ip_limiter, "admit", recording)
    return counted


@pytest.fixture
async def platform(
    venue: tuple[str, ServerState], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Platform]:
    monkeypatch.setenv("TRADEWIND_EGRESS", ",".join(POOL))
    url, _ = venue
    async with platform_on(CcxtVenues({"sim": url}), tmp_path) as platform:
        yield platform


async def test_each_accounts_calls_leave_from_its_address_and_are_counted_there(
    venue: tuple[str, ServerState], platform: Platform, callers: dict[str, int]
) -> None:
    _, state = venue
    assert platform.database is not None
    accounts: dict[str, str] = {}  # account -> its address
    while set(accounts.values()) != set(POOL):  # one account on each address at least
        creds = state.exchange.create_account({"USDT": Decimal("10000")})
        account_id = await store_account(
            platform.database, platform.encryptor, creds.api_key, creds.secret
        )
        address = egress_for(account_id, POOL)
        assert address is not None
        accounts[account_id] = address
    events = await Recorder.on(platform.bus, [ORDERS_EVENTS])
    await platform.start(ExecutionService(FAST))
    await events.wait_for(
        lambda r: {e.account_id for e in r.payloads(BalanceUpdate)} >= set(accounts),
        what="every session's balances",
    )
    for n, account_id in enumerate(accounts):
        await platform.bus.publish(
            ORDERS_APPROVED, approved(intent(account_id, f"e-{n}", quantity="0.001"))
        )
    await events.wait_for(
        lambda r: {e.account_id for e in r.payloads(OrderFilled)} >= set(accounts),
        timeout_s=20,
        what="every account's order filled",
    )
    # Every request came from the pool, and each address carried its accounts' calls.
    assert set(callers) == set(POOL), dict(callers)
    assert all(callers[address] > 0 for address in POOL)
