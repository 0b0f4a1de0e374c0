"""A simulated venue whose market stands still once quoted, for the stop / OCO / cancel-
replace tests: the book changes only through the tests' own orders, so trigger prices
can be chosen from it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from tradewind.domain.model import OrderType, Side
from tradewind.venues.simulated.matching import DepthSnapshot
from tradewind.venues.simulated.server.serve import build_state, serving_in_thread
from tradewind.venues.simulated.server.state import ServerState


@contextmanager
def still_venue() -> Iterator[tuple[str, ServerState]]:
    """A venue quoted once, with one trade printed, then served without steps."""
    state = build_state("synthetic", seed=3)
    exchange = state.exchange
    exchange.step()
    setup = exchange.create_account({"USDT": Decimal(100_000)})
    exchange.submit_order(
        setup.account_id, "BTC/USDT", Side.BUY, OrderType.MARKET, quantity=Decimal("0.001")
    )
    with serving_in_thread(state, step_interval_s=None) as url:
        yield url, state


def book(state: ServerState) -> DepthSnapshot:
    return state.exchange.engine.depth("BTC/USDT", 20)


def last_price(state: ServerState) -> Decimal:
    price = state.exchange.engine.last_price("BTC/USDT")
    assert price is not None
    return price
