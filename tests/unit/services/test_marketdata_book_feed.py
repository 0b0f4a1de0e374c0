"""`BookFeed`, fed what the marketdata service feeds it (`_stream_book`): one
`fetch_order_book` result to `resync`, then every snapshot of `watch_order_book` to
`on_snapshot`; what it returns is what goes out on md.book. The promise to check is the
consumers' side: a book started from the last `OrderBookSnapshot` and following the
`OrderBookUpdate`s is the venue's book, at the feed's depth."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.events import BookLevel, OrderBookSnapshot, OrderBookUpdate
from tradewind.domain.l2_book import L2Book
from tradewind.domain.model import Instrument
from tradewind.services.marketdata.book_feed import BookFeed, BookOutOfSync
from tradewind.venues.port import BookSnapshot

BTC = Instrument("sim", "BTC/USDT", "BTC", "USDT")
INTERVAL_NS = 30_000_000_000  # a full snapshot every 30 s
T0 = 1_000_000_000_000  # now_ns of the resync
Levels = tuple[tuple[Decimal, Decimal], ...]


def levels(*pairs: tuple[str, str]) -> Levels:
    return tuple((Decimal(price), Decimal(quantity)) for price, quantity in pairs)


def venue_book(
    bids: Levels, asks: Levels, update_id: int | None, ts_ms: int = 1_700_000_000_000
) -> BookSnapshot:
    return BookSnapshot(symbol=BTC.symbol, bids=bids, asks=asks, update_id=update_id, ts_ms=ts_ms)


BIDS = levels(("100", "1"), ("99", "2"), ("98", "3"))
ASKS = levels(("101", "1"), ("102", "2"), ("103", "3"))


def a_feed(depth: int = 10, interval_ns: int = INTERVAL_NS) -> BookFeed:
    return BookFeed(BTC, depth, interval_ns)


def synced_feed(update_id: int = 10, depth: int = 10) -> BookFeed:
    feed = a_feed(depth)
    feed.resync(venue_book(BIDS, ASKS, update_id), T0)
    return feed


def book_levels(side: tuple[BookLevel, ...]) -> Levels:
    return tuple((level.price, level.quantity) for level in side)


class Consumer:
    """What a reader of md.book does: reset on a snapshot, apply every update."""

    def __init__(self) -> None:
        self.book: L2Book | None = None

    def receive(self, events: Sequence[OrderBookUpdate | OrderBookSnapshot]) -> None:
        for event in events:
            if isinstance(event, OrderBookSnapshot):
                self.book = L2Book.from_snapshot(event)
            else:
                assert self.book is not None, "an update before any snapshot"
                assert event.first_update_id == self.book.last_update_id + 1, "ids not contiguous"
                assert self.book.apply(event), "a stale update was published"

    def sides(self) -> tuple[Levels, Levels]:
        assert self.book is not None
        bids, asks = self.book.top()
        return book_levels(bids), book_levels(asks)


# -- construction and (re)sync ---------------------------------------------------------


@pytest.mark.parametrize("depth", [0, -1])
def test_a_depth_below_one_is_refused_naming_it(depth: int) -> None:
    with pytest.raises(ValueError, match=f"book depth must be at least 1, got {depth}"):
        BookFeed(BTC, depth, INTERVAL_NS)


def test_a_streamed_snapshot_before_the_first_resync_is_out_of_sync() -> None:
    feed = a_feed()

    with pytest.raises(BookOutOfSync) as raised:
        feed.on_snapshot(venue_book(BIDS, ASKS, 1), T0)

    assert raised.value.reason == "not_synced"
    assert raised.value.instrument == BTC
    assert "sim:BTC/USDT" in str(raised.value)
    assert feed.full_snapshot(T0) is None


def test_resync_publishes_the_fetched_book_best_first_at_the_venues_id_and_time() -> None:
    feed = a_feed()

    snapshot = feed.resync(venue_book(BIDS, ASKS, 42, ts_ms=1_700_000_000_123), T0)

    assert snapshot.instrument == BTC
    assert snapshot.update_id == 42
    assert snapshot.ts_ns == 1_700_000_000_123_000_000
    assert book_levels(snapshot.bids) == BIDS
    assert book_levels(snapshot.asks) == ASKS
    assert feed.ts_ns == snapshot.ts_ns
    assert feed.full_snapshot(T0 + 1) == snapshot


def test_resync_keeps_only_the_feeds_depth() -> None:
    feed = a_feed(depth=2)

    snapshot = feed.resync(venue_book(BIDS, ASKS, 1), T0)

    assert book_levels(snapshot.bids) == BIDS[:2]
    assert book_levels(snapshot.asks) == ASKS[:2]


def test_a_venue_that_does_not_number_its_books_is_numbered_one_two_three() -> None:
    feed = a_feed()

    assert feed.resync(venue_book(BIDS, ASKS, None), T0).update_id == 1
    [update] = feed.on_snapshot(venue_book(levels(("100", "5")), ASKS, None), T0)
    assert isinstance(update, OrderBookUpdate)
    assert (update.first_update_id, update.final_update_id) == (2, 2)
    assert feed.resync(venue_book(BIDS, ASKS, None), T0).update_id == 3


def test_resync_accepts_a_venue_that_restarted_its_numbering() -> None:
    feed = synced_feed(update_id=500)

    snapshot = feed.resync(venue_book(levels(("90", "1")), levels(("91", "1")), 3), T0)

    assert snapshot.update_id == 3
    assert book_levels(snapshot.bids) == levels(("90", "1"))
    [update] = feed.on_snapshot(venue_book(levels(("90", "2")), levels(("91", "1")), 4), T0)
    assert isinstance(update, OrderBookUpdate)
    assert (update.first_update_id, update.final_update_id) == (4, 4)


# -- the diffs -------------------------------------------------------------------------


def test_a_changed_book_is_published_as_the_levels_that_changed_only() -> None:
    feed = synced_feed(update_id=10)
    bids = levels(("100", "1"), ("99", "7"), ("97", "4"))  # 99 changed, 98 gone, 97 new
    asks = ASKS  # unchanged

    [update] = feed.on_snapshot(venue_book(bids, asks, 11, ts_ms=1_700_000_001_000), T0)

    assert isinstance(update, OrderBookUpdate)
    assert update.instrument == BTC
    assert (update.first_update_id, update.final_update_id) == (11, 11)
    assert book_levels(update.bids) == levels(("99", "7"), ("98", "0"), ("97", "4"))
    assert update.asks == ()
    assert update.ts_ns == 1_700_000_001_000_000_000
    assert feed.ts_ns == update.ts_ns


def test_skipped_update_ids_are_normal_and_the_diff_covers_them() -> None:
    feed = synced_feed(update_id=10)

    [update] = feed.on_snapshot(venue_book(levels(("100", "3")), ASKS, 25), T0)

    assert isinstance(update, OrderBookUpdate)
    assert (update.first_update_id, update.final_update_id) == (11, 25)


def test_an_unchanged_book_publishes_nothing_and_the_next_diff_covers_its_id() -> None:
    feed = synced_feed(update_id=10)

    assert feed.on_snapshot(venue_book(BIDS, ASKS, 11), T0) == []
    [update] = feed.on_snapshot(venue_book(levels(("100", "3")), ASKS, 12), T0)

    assert isinstance(update, OrderBookUpdate)
    assert (update.first_update_id, update.final_update_id) == (11, 12)


def test_a_redelivered_snapshot_publishes_nothing() -> None:
    feed = synced_feed(update_id=10)
    changed = venue_book(levels(("100", "3")), ASKS, 11)
    feed.on_snapshot(changed, T0)

    assert feed.on_snapshot(changed, T0) == []


def test_levels_beyond_the_depth_are_not_followed() -> None:
    feed = synced_feed(update_id=10, depth=2)
    deeper_change = BIDS[:2] + levels(("98", "300"), ("97", "1"))

    assert feed.on_snapshot(venue_book(deeper_change, ASKS, 11), T0) == []
    [update] = feed.on_snapshot(venue_book(levels(("100", "1"), ("95", "1")), ASKS, 12), T0)
    assert isinstance(update, OrderBookUpdate)
    assert book_levels(update.bids) == levels(("99", "0"), ("95", "1"))


# -- refusals --------------------------------------------------------------------------


def out_of_sync(feed: BookFeed, snapshot: BookSnapshot) -> BookOutOfSync:
    with pytest.raises(BookOutOfSync) as raised:
        feed.on_snapshot(snapshot, T0)
    return raised.value


def test_an_update_id_going_backwards_is_a_sequence_reset() -> None:
    feed = synced_feed(update_id=10)

    error = out_of_sync(feed, venue_book(BIDS, ASKS, 9))

    assert error.reason == "sequence_reset"
    assert "update id 9 after 10" in str(error)


def test_the_same_update_id_with_other_levels_is_inconsistent() -> None:
    feed = synced_feed(update_id=10)

    error = out_of_sync(feed, venue_book(levels(("100", "9")), ASKS, 10))

    assert error.reason == "inconsistent"
    assert "update id 10" in str(error)


@pytest.mark.parametrize("best_bid", ["101", "102"], ids=["touching", "through"])
def test_a_crossed_book_is_refused(best_bid: str) -> None:
    feed = synced_feed(update_id=10)

    error = out_of_sync(feed, venue_book(levels((best_bid, "1")), ASKS, 11))

    assert error.reason == "crossed"
    assert f"best bid {best_bid} is at or above best ask 101" in str(error)


def test_a_refused_snapshot_leaves_the_book_as_it_was() -> None:
    feed = synced_feed(update_id=10)
    before = feed.full_snapshot(T0)

    for bad in (
        venue_book(levels(("200", "1")), ASKS, 11),  # crossed
        venue_book(levels(("100", "9")), ASKS, 10),  # inconsistent
        venue_book(levels(("100", "9")), ASKS, 3),  # sequence reset
    ):
        out_of_sync(feed, bad)
        assert feed.full_snapshot(T0) == before

    [update] = feed.on_snapshot(venue_book(levels(("100", "9")), ASKS, 11), T0)
    assert isinstance(update, OrderBookUpdate)
    assert update.first_update_id == 11


def test_a_one_sided_book_is_not_crossed() -> None:
    feed = synced_feed(update_id=10)

    [update] = feed.on_snapshot(venue_book(levels(("500", "1")), (), 11), T0)

    assert isinstance(update, OrderBookUpdate)
    assert book_levels(update.asks) == levels(("101", "0"), ("102", "0"), ("103", "0"))


# -- periodic full snapshots -----------------------------------------------------------


def test_a_full_snapshot_follows_the_diff_once_the_interval_since_the_resync_passed() -> None:
    feed = synced_feed(update_id=10)

    early = feed.on_snapshot(venue_book(levels(("100", "2")), ASKS, 11), T0 + INTERVAL_NS - 1)
    due = feed.on_snapshot(venue_book(levels(("100", "3")), ASKS, 12), T0 + INTERVAL_NS)
    again = feed.on_snapshot(venue_book(levels(("100", "4")), ASKS, 13), T0 + INTERVAL_NS + 1)

    assert [type(e) for e in early] == [OrderBookUpdate]
    assert [type(e) for e in due] == [OrderBookUpdate, OrderBookSnapshot]
    snapshot = due[1]
    assert isinstance(snapshot, OrderBookSnapshot)
    assert snapshot.update_id == 12  # the book after the diff it follows
    assert book_levels(snapshot.bids) == levels(("100", "3"))
    assert [type(e) for e in again] == [OrderBookUpdate]  # the interval counts from it


def test_a_due_snapshot_goes_out_even_when_the_book_did_not_change() -> None:
    feed = synced_feed(update_id=10)

    events = feed.on_snapshot(venue_book(BIDS, ASKS, 11), T0 + INTERVAL_NS)

    assert [type(e) for e in events] == [OrderBookSnapshot]


def test_a_due_snapshot_goes_out_when_the_venue_repeats_its_last_update_id() -> None:
    feed = synced_feed(update_id=10)

    events = feed.on_snapshot(venue_book(BIDS, ASKS, 10), T0 + INTERVAL_NS)

    assert [type(e) for e in events] == [OrderBookSnapshot]


def test_full_snapshot_restarts_the_interval() -> None:
    feed = synced_feed(update_id=10)

    snapshot = feed.full_snapshot(T0 + INTERVAL_NS)
    events = feed.on_snapshot(venue_book(levels(("100", "2")), ASKS, 11), T0 + INTERVAL_NS)

    assert snapshot is not None and snapshot.update_id == 10
    assert [type(e) for e in events] == [OrderBookUpdate]


# -- the consumers' promise ------------------------------------------------------------

prices = st.integers(min_value=1, max_value=30)
quantities = st.sampled_from(["0.5", "1", "2", "10"])


@st.composite
def venue_books(draw: st.DrawFn) -> tuple[Levels, Levels]:
    """A book that is not crossed: bids below 50, asks above 50, best first."""
    bid_prices = sorted(draw(st.sets(prices, max_size=8)), reverse=True)
    ask_prices = sorted(draw(st.sets(prices, max_size=8)))
    bids = tuple((Decimal(50 - p), Decimal(draw(quantities))) for p in bid_prices)
    asks = tuple((Decimal(50 + p), Decimal(draw(quantities))) for p in ask_prices)
    return tuple(sorted(bids, reverse=True)), asks


@given(
    depth=st.integers(min_value=1, max_value=5),
    first=venue_books(),
    stream=st.lists(st.tuples(venue_books(), st.integers(0, 3)), max_size=25),
    numbered=st.booleans(),
)
def test_a_consumer_following_what_is_published_holds_the_venues_book(
    depth: int,
    first: tuple[Levels, Levels],
    stream: list[tuple[tuple[Levels, Levels], int]],
    numbered: bool,
) -> None:
    """Whatever the venue streams (ids skipping ahead, unnumbered books, redeliveries:
    step 0 re-sends the last book), a consumer that applies every published event holds
    the venue's top `depth` levels, and never meets a gap or a stale update."""
    feed = BookFeed(BTC, depth, snapshot_interval_ns=5)
    consumer = Consumer()
    update_id = 100
    sent = venue_book(*first, update_id if numbered else None)
    consumer.receive([feed.resync(sent, 0)])

    for now_ns, ((bids, asks), step) in enumerate(stream, start=1):
        if step > 0:
            update_id += step
            sent = venue_book(bids, asks, update_id if numbered else None)
        consumer.receive(feed.on_snapshot(sent, now_ns))
        assert consumer.sides() == (sent.bids[:depth], sent.asks[:depth])
        assert feed.book is not None and consumer.book is not None
        assert consumer.book.last_update_id == feed.book.last_update_id
