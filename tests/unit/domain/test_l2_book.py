"""The L2 book: built from a snapshot, kept by diffs, a gap refused loudly and stale
diffs ignored; and the property that diffs computed between random book states, sent
over the wire, rebuild each state exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.bus.envelope import decode, encode, envelope
from tradewind.domain.events import BookLevel, OrderBookUpdate
from tradewind.domain.l2_book import L2Book, SequenceGap
from tradewind.domain.model import Instrument

D = Decimal
BTC = Instrument.parse("sim", "BTC/USDT")
ETH = Instrument.parse("sim", "ETH/USDT")


def levels(*pairs: tuple[str, str]) -> tuple[BookLevel, ...]:
    return tuple(BookLevel(D(p), D(q)) for p, q in pairs)


def a_book(update_id: int = 100) -> L2Book:
    """Bids 99 x 1, 98 x 2; asks 101 x 1.5, 102 x 3; as of `update_id`."""
    return L2Book.from_levels(
        BTC,
        bids=[(D(99), D(1)), (D(98), D(2))],
        asks=[(D(101), D("1.5")), (D(102), D(3))],
        update_id=update_id,
    )


def diff(
    first: int, final: int, bids: tuple[BookLevel, ...] = (), asks: tuple[BookLevel, ...] = ()
) -> OrderBookUpdate:
    return OrderBookUpdate(
        instrument=BTC, bids=bids, asks=asks, first_update_id=first, final_update_id=final, ts_ns=1
    )


def test_a_snapshot_gives_best_bid_and_ask_and_the_top_levels_best_first() -> None:
    book = a_book()
    assert book.best_bid() == BookLevel(D(99), D(1))
    assert book.best_ask() == BookLevel(D(101), D("1.5"))
    assert book.top(1) == (levels(("99", "1")), levels(("101", "1.5")))
    assert book.top() == (
        levels(("99", "1"), ("98", "2")),
        levels(("101", "1.5"), ("102", "3")),
    )
    assert book.top(0) == ((), ())
    assert book.last_update_id == 100


def test_a_diff_sets_changes_adds_and_removes_levels() -> None:
    book = a_book()
    applied = book.apply(
        diff(101, 103, bids=levels(("99", "0"), ("97.5", "4")), asks=levels(("101", "2")))
    )
    assert applied
    assert book.top() == (
        levels(("98", "2"), ("97.5", "4")),
        levels(("101", "2"), ("102", "3")),
    )
    assert book.last_update_id == 103


def test_a_diff_that_overlaps_the_snapshot_applies() -> None:
    book = a_book(update_id=100)
    assert book.apply(diff(95, 105, asks=levels(("100.5", "1"))))
    assert book.best_ask() == BookLevel(D("100.5"), D(1))
    assert book.last_update_id == 105


def test_a_stale_diff_is_ignored() -> None:
    book = a_book(update_id=100)
    assert not book.apply(diff(90, 100, bids=levels(("99", "7"))))
    assert book.best_bid() == BookLevel(D(99), D(1))
    assert book.last_update_id == 100


def test_a_gap_raises_naming_the_instrument_and_ids_and_leaves_the_book_alone() -> None:
    book = a_book(update_id=100)
    with pytest.raises(SequenceGap) as raised:
        book.apply(diff(103, 104, bids=levels(("99", "0"))))
    assert raised.value.instrument == BTC
    assert (raised.value.last_update_id, raised.value.first_update_id) == (100, 103)
    assert "sim:BTC/USDT" in str(raised.value)
    assert "101..102 are missing" in str(raised.value)
    assert book.best_bid() == BookLevel(D(99), D(1))
    assert book.last_update_id == 100


def test_another_instruments_diff_or_reversed_ids_are_refused() -> None:
    book = a_book()
    other = OrderBookUpdate(
        instrument=ETH, bids=(), asks=(), first_update_id=101, final_update_id=101, ts_ns=1
    )
    with pytest.raises(ValueError, match="sim:ETH/USDT"):
        book.apply(other)
    with pytest.raises(ValueError, match="reversed"):
        book.apply(diff(105, 101))


def test_a_reset_replaces_everything_even_with_an_older_update_id() -> None:
    book = a_book(update_id=100)
    book.reset(levels(("50", "1")), [], update_id=7)
    assert book.top() == (levels(("50", "1")), ())
    assert book.best_ask() is None
    assert book.last_update_id == 7


def test_update_to_names_only_what_changed_and_nothing_when_nothing_did() -> None:
    book = a_book(update_id=100)
    update = book.update_to(
        bids=[(D(99), D(1)), (D(98), D("2.5"))],
        asks=[(D(101), D("1.5")), (D("101.5"), D(1))],
        update_id=110,
        ts_ns=5,
    )
    assert update == OrderBookUpdate(
        instrument=BTC,
        bids=levels(("98", "2.5")),
        asks=levels(("101.5", "1"), ("102", "0")),
        first_update_id=101,
        final_update_id=110,
        ts_ns=5,
    )
    assert book.last_update_id == 100  # computing a diff changes nothing
    same = book.update_to(book.bids.top(), book.asks.top(), update_id=111, ts_ns=6)
    assert same is None
    with pytest.raises(ValueError, match="not after"):
        book.update_to([], [], update_id=100, ts_ns=7)


def test_a_crossed_book_is_flagged() -> None:
    book = a_book()
    assert not book.crossed
    book.apply(diff(101, 101, bids=levels(("101", "1"))))
    assert book.crossed


def test_a_snapshot_event_round_trips_into_the_same_book() -> None:
    book = a_book()
    snapshot = book.snapshot(ts_ns=9, depth=1)
    assert snapshot.bids == levels(("99", "1"))
    assert snapshot.update_id == 100
    assert L2Book.from_snapshot(book.snapshot(ts_ns=9)).top() == book.top()


# -- the property -----------------------------------------------------------------------

prices = st.integers(min_value=1, max_value=400).map(lambda ticks: D(ticks).scaleb(-2))
quantities = st.integers(min_value=1, max_value=10**9).map(lambda units: D(units).scaleb(-6))
sides = st.dictionaries(prices, quantities, max_size=12)
states = st.tuples(sides, sides)


@given(
    sequence=st.lists(states, min_size=1, max_size=12),
    id_steps=st.lists(st.integers(min_value=1, max_value=5), min_size=12, max_size=12),
)
def test_diffs_between_random_states_reproduce_each_state_exactly(
    sequence: list[tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]],
    id_steps: list[int],
) -> None:
    first_bids, first_asks = sequence[0]
    publisher = L2Book.from_levels(BTC, first_bids.items(), first_asks.items(), update_id=1)
    follower = L2Book.from_snapshot(publisher.snapshot(ts_ns=0))
    update_id = 1
    for (bids, asks), step in zip(sequence[1:], id_steps, strict=False):
        update_id += step
        update = publisher.update_to(bids.items(), asks.items(), update_id, ts_ns=update_id)
        if update is None:
            assert (publisher.bids.as_dict(), publisher.asks.as_dict()) == (bids, asks)
            continue
        assert publisher.apply(update)
        wire = decode(encode(envelope(update, BTC.key))).payload
        assert isinstance(wire, OrderBookUpdate)
        assert follower.apply(wire)
        assert follower.bids.as_dict() == bids
        assert follower.asks.as_dict() == asks
        assert follower.top() == publisher.top()
        assert follower.last_update_id == update_id
