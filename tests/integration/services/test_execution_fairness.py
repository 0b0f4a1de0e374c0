"""Fairness across the accounts behind one address, at a hundred accounts: the execution
service against the simulated exchange served over HTTP, through unmodified ccxt.

Execution has no scheduler of its own: each account's placement worker sends that
account's orders one at a time (it waits for each call's answer), and a call the
address's weight window refuses sleeps until the next window opens. So when the window
is spent, every account waiting shares the next one, and an account with a long queue
re-enters the line only after its call is answered: by then the accounts that woke with
it have taken the window. The bound this gives: while others wait, the busy account
places at most one order per window, so the 99 others, one order each, are all placed
within ceil(99 / (W - 1)) windows after the one they arrive in (W: the window's limit),
with at most that many (+ 1) of the busy account's orders among them."""

from __future__ import annotations

import dataclasses
import math
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
from tests.waiting import wait_until
from tradewind.bus.topics import ORDERS_APPROVED, ORDERS_EVENTS
from tradewind.domain.events import BalanceUpdate, OrderFilled, OrderRejected
from tradewind.domain.rate_limits import RateWindow
from tradewind.services.execution import ExecutionService
from tradewind.venues.directory import CcxtVenues
from tradewind.venues.profile import Call, RateRules, VenueProfile
from tradewind.venues.simulated.server.state import ServerState

D = Decimal
OTHERS = 99
BUSY_ORDERS = 80
WINDOW = 34  # orders a 2-second window of the address admits
#: Only orders count against the address's window: the hundred sessions open (balances,
#: order streams, reconciliation) without waiting for it, and the windows the orders
#: share are theirs alone.
RULES = RateRules(
    per_address=(RateWindow("orders 2s", WINDOW, 2),),
    per_account=(RateWindow("account 10s", 1_000, 10),),
    costs={call: 0 for call in Call if call is not Call.PLACE_ORDER},
)
SETTINGS = FAST.model_copy(update={"execution_order_deadline_s": 120.0})


class PacedVenues(CcxtVenues):
    """The simulated venue over HTTP, its profile's published limits replaced by RULES."""

    def profile(self, venue: str) -> VenueProfile:
        return dataclasses.replace(super().profile(venue), limits=RULES)


@pytest.fixture(scope="module")
def venue() -> Iterator[tuple[str, ServerState]]:
    with running_venue() as served:
        yield served


@pytest.fixture
async def platform(venue: tuple[str, ServerState], tmp_path: Path) -> AsyncIterator[Platform]:
    url, _ = venue
    async with platform_on(PacedVenues({"sim": url}), tmp_path) as platform:
        yield platform


@pytest.mark.timeout(180)
async def test_a_busy_account_does_not_starve_99_others_at_a_spent_address(
    venue: tuple[str, ServerState], platform: Platform
) -> None:
    _, state = venue
    assert platform.database is not None
    accounts: list[tuple[str, str]] = []  # (platform account id, venue account id)
    for _ in range(1 + OTHERS):
        creds = state.exchange.create_account({"USDT": D("10000")})
        stored = await store_account(
            platform.database, platform.encryptor, creds.api_key, creds.secret
        )
        accounts.append((stored, creds.account_id))
    events = await Recorder.on(platform.bus, [ORDERS_EVENTS])
    await platform.start(ExecutionService(SETTINGS))
    await events.wait_for(
        lambda r: len({b.account_id for b in r.payloads(BalanceUpdate)}) == len(accounts),
        timeout_s=60,
        what="every session's balances",
    )
    (busy, _), others = accounts[0], accounts[1:]
    venue_accounts = {venue_account: account for account, venue_account in accounts}

    def arrivals() -> list[str]:
        """The platform accounts of the orders the venue received, in arrival order."""
        orders = [
            order
            for venue_account in venue_accounts
            for order in state.exchange.engine.all_orders(venue_account)
        ]
        return [venue_accounts[o.account_id] for o in sorted(orders, key=lambda o: o.order_id)]

    # The busy account's long queue goes first and spends the address's window.
    for n in range(BUSY_ORDERS):
        await platform.bus.publish(
            ORDERS_APPROVED, approved(intent(busy, f"busy-{n}", quantity="0.001"))
        )
    await wait_until(lambda: len(arrivals()) >= WINDOW // 2, timeout_s=30)
    for account, _ in others:
        await platform.bus.publish(
            ORDERS_APPROVED, approved(intent(account, "one", quantity="0.001"))
        )
    await events.wait_for(
        lambda r: len(r.payloads(OrderFilled)) == BUSY_ORDERS + OTHERS,
        timeout_s=150,
        what="every order filled",
    )
    assert not events.payloads(OrderRejected)

    seen = arrivals()
    assert len(seen) == BUSY_ORDERS + OTHERS  # each placed once
    other_ids = {account for account, _ in others}
    positions = [i for i, account in enumerate(seen) if account in other_ids]
    assert len(positions) == OTHERS
    busy_among_others = sum(1 for account in seen[positions[0] : positions[-1]] if account == busy)
    bound = math.ceil(OTHERS / (WINDOW - 1)) + 1
    pattern = "".join("B" if account == busy else "o" for account in seen)  # for a failure
    # Every one of the 99 is placed long before the busy account's queue drains ...
    assert seen[-1] == busy and seen.count(busy) == BUSY_ORDERS
    # ... with at most one of the busy account's orders per window between them.
    assert busy_among_others <= bound, (busy_among_others, bound, pattern)
    # And the venue refused none of it: the windows held.
    assert not platform.metric(
        "tradewind_execution_venue_calls_total",
        venue="sim",
        call="place_order",
        outcome="rate_limited",
    )
