"""The kill switches (`domain.kill_switches.KillSwitches`), fed the `KillSwitchChanged`
events published on risk.controls, as risk's and execution's desks feed them: which
switch halts a new order, which asks for an order being placed to be canceled, and what
the halted user reads."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.events import KillSwitchChanged
from tradewind.domain.kill_switches import KillSwitch, KillSwitches, KillSwitchScope
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.domain.orders import TrackedOrder

ENGAGED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ENGAGED_AT_NS = int(ENGAGED_AT.timestamp()) * 1_000_000_000 + 123  # sub-second is dropped
SINCE = "2026-01-02 03:04:05 UTC"


def switch(
    scope: KillSwitchScope,
    target: str = "",
    *,
    engaged: bool = True,
    reason: str = "market halt",
    actor_id: str = "ops",
    cancel_open_orders: bool = False,
    ts_ns: int = ENGAGED_AT_NS,
) -> KillSwitchChanged:
    return KillSwitchChanged(
        scope=scope,
        target=target,
        engaged=engaged,
        reason=reason,
        actor_id=actor_id,
        cancel_open_orders=cancel_open_orders,
        ts_ns=ts_ns,
    )


def released(change: KillSwitchChanged) -> KillSwitchChanged:
    return switch(change.scope, change.target, engaged=False, reason="resumed")


def an_order(account_id: str = "a1", venue: str = "sim", bot_id: str = "grid-1") -> TrackedOrder:
    return TrackedOrder(
        account_id=account_id,
        bot_id=bot_id,
        client_order_id=f"tw-{account_id}-{bot_id}-1",
        instrument=Instrument(venue, "BTC/USDT", "BTC", "USDT"),
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("0.01"),
        price=Decimal("100"),
    )


class Board:
    """`KillSwitches` asked about orders, as execution's desk asks them."""

    def __init__(self) -> None:
        self.switches = KillSwitches()

    def apply(self, change: KillSwitchChanged) -> KillSwitch | None:
        return self.switches.apply(change)

    def current(self, scope: KillSwitchScope, target: str) -> tuple[str, str, str] | None:
        return named(self.switches.current(scope, target))

    def blocking(self, account_id: str, venue: str, bot_id: str) -> tuple[str, str, str] | None:
        found = self.switches.blocking(venue=venue, account_id=account_id, bot_id=bot_id)
        return named(found)

    def blocked(self, order: TrackedOrder) -> str | None:
        return self.switches.blocked(
            venue=order.venue, account_id=order.account_id, bot_id=order.bot_id
        )

    def wants_cancel(self, order: TrackedOrder) -> str | None:
        found = self.switches.cancelling(
            venue=order.venue, account_id=order.account_id, bot_id=order.bot_id
        )
        return None if found is None else found.describe(order.account_id)


def named(switch: KillSwitch | KillSwitchChanged | None) -> tuple[str, str, str] | None:
    """A switch, or the change that engaged it, by scope, target and reason."""
    return None if switch is None else (switch.scope, switch.target, switch.reason)


def covers(change: KillSwitchChanged, account_id: str, venue: str, bot_id: str) -> bool:
    """The model of what a switch halts: its target, compared within its scope."""
    by_scope = {
        KillSwitchScope.GLOBAL: "",
        KillSwitchScope.VENUE: venue,
        KillSwitchScope.ACCOUNT: account_id,
        KillSwitchScope.BOT: bot_id,
    }
    return change.target == by_scope[change.scope]


def board_with(*changes: KillSwitchChanged) -> Board:
    board = Board()
    for change in changes:
        board.apply(change)
    return board


GLOBAL = switch(KillSwitchScope.GLOBAL)
VENUE_SIM = switch(KillSwitchScope.VENUE, "sim")
ACCOUNT_A1 = switch(KillSwitchScope.ACCOUNT, "a1")
BOT_GRID_1 = switch(KillSwitchScope.BOT, "grid-1")


# -- which switch halts which order ----------------------------------------------------


def test_an_empty_board_lets_every_order_go_and_cancels_nothing() -> None:
    board = Board()
    order = an_order()

    assert board.blocked(order) is None
    assert board.wants_cancel(order) is None
    assert board.blocking("a1", "sim", "grid-1") is None


@pytest.mark.parametrize(
    ("engaged", "halted", "free"),
    [
        (GLOBAL, [an_order(), an_order("a2", "binance", "dca-9")], []),
        (VENUE_SIM, [an_order(), an_order("a2", "sim", "dca-9")], [an_order(venue="binance")]),
        (ACCOUNT_A1, [an_order(), an_order("a1", "binance", "dca-9")], [an_order("a2")]),
        (BOT_GRID_1, [an_order(), an_order("a1", "binance")], [an_order(bot_id="grid-2")]),
    ],
    ids=["global", "venue", "account", "bot"],
)
def test_a_switch_halts_exactly_the_orders_of_its_scope_and_target(
    engaged: KillSwitchChanged, halted: list[TrackedOrder], free: list[TrackedOrder]
) -> None:
    board = board_with(engaged)

    for order in halted:
        assert board.blocked(order) is not None, f"{order.client_order_id} on {order.venue}"
        assert board.blocking(order.account_id, order.venue, order.bot_id) == named(engaged)
    for order in free:
        assert board.blocked(order) is None, f"{order.client_order_id} on {order.venue}"


def test_a_venue_switch_does_not_halt_an_account_or_bot_that_shares_its_name() -> None:
    # targets are compared within their scope only: a venue called "a1" is not account a1
    board = board_with(switch(KillSwitchScope.VENUE, "a1"), switch(KillSwitchScope.BOT, "sim"))

    assert board.blocked(an_order(account_id="a1", venue="binance", bot_id="grid-1")) is None
    assert board.blocked(an_order(account_id="sim", venue="binance", bot_id="grid-1")) is None


def test_the_broadest_engaged_switch_is_the_one_named() -> None:
    ordered = [GLOBAL, VENUE_SIM, ACCOUNT_A1, BOT_GRID_1]
    board = board_with(*reversed(ordered))  # the order they arrived in does not matter

    for broadest in ordered:
        assert board.blocking("a1", "sim", "grid-1") == named(broadest)
        board.apply(released(broadest))
    assert board.blocking("a1", "sim", "grid-1") is None


def test_releasing_a_narrow_switch_leaves_the_broader_one_halting() -> None:
    board = board_with(VENUE_SIM, BOT_GRID_1)

    board.apply(released(BOT_GRID_1))

    assert board.blocking("a1", "sim", "grid-1") == named(VENUE_SIM)
    assert board.current(KillSwitchScope.BOT, "grid-1") is None


def test_releasing_a_broad_switch_leaves_a_narrower_one_halting() -> None:
    board = board_with(GLOBAL, ACCOUNT_A1)

    board.apply(released(GLOBAL))

    assert board.blocked(an_order("a2")) is None
    assert board.blocking("a1", "sim", "grid-1") == named(ACCOUNT_A1)


# -- what the halted user reads --------------------------------------------------------


@pytest.mark.parametrize(
    ("engaged", "what"),
    [
        (GLOBAL, "all trading"),
        (VENUE_SIM, "venue sim"),
        (ACCOUNT_A1, "account a1"),
        (BOT_GRID_1, "bot grid-1 of account a1"),
    ],
    ids=["global", "venue", "account", "bot"],
)
def test_a_blocked_order_reads_what_is_halted_by_whom_when_and_why(
    engaged: KillSwitchChanged, what: str
) -> None:
    board = board_with(engaged)

    assert board.blocked(an_order()) == (
        f"{what} is halted by a kill switch engaged by ops at {SINCE}: market halt"
    )


def test_a_switch_without_an_actor_is_said_to_be_engaged_by_an_operator() -> None:
    board = board_with(switch(KillSwitchScope.GLOBAL, actor_id="", reason="drill"))

    assert board.blocked(an_order()) == (
        f"all trading is halted by a kill switch engaged by an operator at {SINCE}: drill"
    )


def test_a_switch_without_a_reason_still_engages_and_says_so() -> None:
    # refusing it would leave trading on
    board = board_with(switch(KillSwitchScope.ACCOUNT, "a1", reason="  ", actor_id="bob"))

    assert board.blocked(an_order()) == (
        f"account a1 is halted by a kill switch engaged by bob at {SINCE}: "
        "engaged by bob, no reason given"
    )


def test_engaged_switches_are_listed_broadest_first_then_oldest_first() -> None:
    board = board_with(
        switch(KillSwitchScope.BOT, "grid-1", ts_ns=1),
        switch(KillSwitchScope.VENUE, "sim", ts_ns=3),
        switch(KillSwitchScope.VENUE, "binance", ts_ns=2),
        switch(KillSwitchScope.GLOBAL, ts_ns=4),
    )

    listed = [(s.scope, s.target, s.halted()) for s in board.switches.engaged()]

    assert listed == [
        (KillSwitchScope.GLOBAL, "", "all trading"),
        (KillSwitchScope.VENUE, "binance", "venue binance"),
        (KillSwitchScope.VENUE, "sim", "venue sim"),
        (KillSwitchScope.BOT, "grid-1", "bot grid-1"),
    ]


def test_a_bot_switch_does_not_cover_orders_of_no_bot_in_particular() -> None:
    bot = board_with(BOT_GRID_1).switches.current(KillSwitchScope.BOT, "grid-1")
    venue = board_with(VENUE_SIM).switches.current(KillSwitchScope.VENUE, "sim")

    assert bot is not None and venue is not None
    assert not bot.covers(venue="sim", account_id="a1", bot_id=None)
    assert venue.covers(venue="sim", account_id="a1", bot_id=None)


def test_applying_a_change_returns_the_switch_it_engaged_and_none_for_a_release() -> None:
    board = Board()

    engaged = board.apply(VENUE_SIM)

    assert engaged is board.switches.current(KillSwitchScope.VENUE, "sim")
    assert board.apply(released(VENUE_SIM)) is None


# -- cancel_open_orders ----------------------------------------------------------------


def test_only_a_switch_engaged_with_cancel_open_orders_wants_an_order_canceled() -> None:
    calm = board_with(VENUE_SIM)
    sweeping = board_with(switch(KillSwitchScope.VENUE, "sim", cancel_open_orders=True))

    assert calm.wants_cancel(an_order()) is None
    assert sweeping.wants_cancel(an_order()) == sweeping.blocked(an_order())
    assert sweeping.wants_cancel(an_order(venue="binance")) is None


def test_a_broader_switch_that_cancels_wants_the_order_canceled_over_a_narrower_one() -> None:
    board = board_with(BOT_GRID_1, switch(KillSwitchScope.ACCOUNT, "a1", cancel_open_orders=True))

    reason = board.wants_cancel(an_order())

    assert reason is not None and reason.startswith("account a1 is halted")


def test_a_narrow_switch_that_cancels_is_not_hidden_by_a_broader_one_that_does_not() -> None:
    board = board_with(GLOBAL, switch(KillSwitchScope.BOT, "grid-1", cancel_open_orders=True))

    assert board.wants_cancel(an_order()) is not None


# -- engage, release, redelivery -------------------------------------------------------


def test_current_is_the_change_that_engaged_the_switch_until_it_is_released() -> None:
    board = Board()
    assert board.current(KillSwitchScope.VENUE, "sim") is None

    board.apply(VENUE_SIM)
    assert board.current(KillSwitchScope.VENUE, "sim") == named(VENUE_SIM)
    assert board.current(KillSwitchScope.VENUE, "binance") is None
    assert board.current(KillSwitchScope.ACCOUNT, "sim") is None

    board.apply(released(VENUE_SIM))
    assert board.current(KillSwitchScope.VENUE, "sim") is None
    assert board.blocked(an_order()) is None


def test_engaging_an_engaged_switch_again_replaces_its_reason_and_cancel_request() -> None:
    # desk.on_controls sweeps a change only if it is still `current` after its batch
    first = switch(KillSwitchScope.ACCOUNT, "a1", reason="first", cancel_open_orders=True)
    second = switch(KillSwitchScope.ACCOUNT, "a1", reason="second")
    board = board_with(first, second)

    assert board.current(KillSwitchScope.ACCOUNT, "a1") == named(second)
    assert board.wants_cancel(an_order()) is None
    blocked = board.blocked(an_order())
    assert blocked is not None and blocked.endswith(": second")


def test_an_engage_then_release_in_one_batch_leaves_nothing_to_sweep() -> None:
    engage = switch(KillSwitchScope.GLOBAL, cancel_open_orders=True)
    board = board_with(engage, released(engage))

    assert board.current(KillSwitchScope.GLOBAL, "") is None
    assert board.wants_cancel(an_order()) is None


def test_a_redelivered_change_changes_nothing() -> None:
    board = board_with(VENUE_SIM, VENUE_SIM)
    assert board.current(KillSwitchScope.VENUE, "sim") == named(VENUE_SIM)

    board.apply(released(VENUE_SIM))
    board.apply(released(VENUE_SIM))
    assert board.blocked(an_order()) is None


def test_releasing_a_switch_that_was_never_engaged_is_harmless() -> None:
    board = board_with(ACCOUNT_A1)

    board.apply(released(VENUE_SIM))
    board.apply(released(BOT_GRID_1))

    assert board.blocking("a1", "sim", "grid-1") == named(ACCOUNT_A1)


# -- invariants over any sequence of changes -------------------------------------------

ACCOUNTS, VENUES, BOTS = ["a1", "a2"], ["sim", "binance"], ["grid-1", "grid-2"]
SCOPE_ORDER = [
    KillSwitchScope.GLOBAL,
    KillSwitchScope.VENUE,
    KillSwitchScope.ACCOUNT,
    KillSwitchScope.BOT,
]
TARGETS = {
    KillSwitchScope.GLOBAL: [""],
    KillSwitchScope.VENUE: VENUES,
    KillSwitchScope.ACCOUNT: ACCOUNTS,
    KillSwitchScope.BOT: BOTS,
}

changes = st.sampled_from(SCOPE_ORDER).flatmap(
    lambda scope: st.builds(
        switch,
        st.just(scope),
        st.sampled_from(TARGETS[scope]),
        engaged=st.booleans(),
        cancel_open_orders=st.booleans(),
        reason=st.sampled_from(["r1", "r2"]),
    )
)
orders = st.builds(
    an_order, st.sampled_from(ACCOUNTS), st.sampled_from(VENUES), st.sampled_from(BOTS)
)


def expected_blocking(
    history: list[KillSwitchChanged], order: TrackedOrder
) -> KillSwitchChanged | None:
    """The model: the last change of each switch decides it; the broadest engaged one
    that covers the order is named."""
    last: dict[tuple[KillSwitchScope, str], KillSwitchChanged] = {}
    for change in history:
        last[(change.scope, change.target)] = change
    engaged = [c for c in last.values() if c.engaged]
    covering = [c for c in engaged if covers(c, order.account_id, order.venue, order.bot_id)]
    covering.sort(key=lambda c: SCOPE_ORDER.index(c.scope))
    return covering[0] if covering else None


@given(st.lists(changes, max_size=30), orders)
def test_the_board_names_the_broadest_covering_switch_after_any_history(
    history: list[KillSwitchChanged], order: TrackedOrder
) -> None:
    board = board_with(*history)

    assert board.blocking(order.account_id, order.venue, order.bot_id) == named(
        expected_blocking(history, order)
    )
    # the registry and `KillSwitch.covers` (which the sweeps use) agree on what halts
    halted = any(
        c.engaged and covers(c, order.account_id, order.venue, order.bot_id)
        for c in {(c.scope, c.target): c for c in history}.values()
    )
    assert (board.blocked(order) is not None) == halted
    assert halted == any(
        s.covers(venue=order.venue, account_id=order.account_id, bot_id=order.bot_id)
        for s in board.switches.engaged()
    )


@given(st.lists(changes, max_size=30), orders)
def test_a_batch_redelivered_in_order_leaves_the_board_as_it_was(
    history: list[KillSwitchChanged], order: TrackedOrder
) -> None:
    once, twice = board_with(*history), board_with(*history, *history)

    assert once.blocked(order) == twice.blocked(order)
    assert once.wants_cancel(order) == twice.wants_cancel(order)
    for scope, targets in TARGETS.items():
        for target in targets:
            assert once.current(scope, target) == twice.current(scope, target)
