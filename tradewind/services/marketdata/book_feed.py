"""One instrument's order book kept from a venue's full snapshots, and what to publish.

The venue port yields whole books (best `depth` levels) numbered by the venue's update
id. Successive snapshots may skip ids (the venue or ccxt coalesced updates), which is
normal: each one is the whole truth. So `BookFeed` turns every snapshot into the diff
from the book it holds (`L2Book.update_to`), covering ids `last + 1..new`, and consumers
that apply those diffs to the last `OrderBookSnapshot` see exactly the venue's book.

What cannot be right is refused with `BookOutOfSync`, and the caller rebuilds the book
from `fetch_order_book` (`resync`), which publishes a fresh snapshot:

- `sequence_reset`: the venue's update id went backwards (it restarted, or the stream
  reconnected to a server behind the last one);
- `inconsistent`: the same update id with different levels;
- `crossed`: the best bid at or above the best ask (a feed that lost updates).

A venue that does not number its books (`update_id` None) is numbered here, 1, 2, ….
Pure: no I/O, no clock; `now_ns` is passed in.
"""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.events import OrderBookSnapshot, OrderBookUpdate
from tradewind.domain.l2_book import L2Book
from tradewind.domain.model import Instrument
from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.port import BookSnapshot


class BookOutOfSync(Exception):
    """The venue's book cannot follow from the one held; `reason` is a metrics label."""

    def __init__(self, instrument: Instrument, reason: str, detail: str) -> None:
        self.instrument = instrument
        self.reason = reason
        super().__init__(f"order book of {instrument.key} out of sync ({reason}): {detail}")


class BookFeed:
    """One instrument's book kept from the venue's full snapshots, each turned into the
    diff to publish; raises `BookOutOfSync` when the book must be rebuilt."""

    def __init__(self, instrument: Instrument, depth: int, snapshot_interval_ns: int) -> None:
        if depth < 1:
            raise ValueError(f"book depth must be at least 1, got {depth}")
        self.instrument = instrument
        self.depth = depth
        self._snapshot_interval_ns = snapshot_interval_ns
        self._last_snapshot_ns = 0
        self.book: L2Book | None = None
        self.ts_ns = 0  # the venue's time of the book held, ns since the epoch

    def resync(self, snapshot: BookSnapshot, now_ns: int) -> OrderBookSnapshot:
        """Start over from `snapshot` (fetched, not streamed); returns the snapshot event
        to publish, after which consumers reset their books."""
        update_id = snapshot.update_id
        if update_id is None:
            update_id = self.book.last_update_id + 1 if self.book is not None else 1
        bids, asks = snapshot.bids[: self.depth], snapshot.asks[: self.depth]
        if self.book is None:
            self.book = L2Book.from_levels(self.instrument, bids, asks, update_id)
        else:
            self.book.reset(bids, asks, update_id)
        self._last_snapshot_ns = now_ns
        self.ts_ns = snapshot.ts_ms * NS_PER_MS
        return self.book.snapshot(self.ts_ns)

    def full_snapshot(self, now_ns: int) -> OrderBookSnapshot | None:
        """The book held as a snapshot event (None before the first sync), for an
        instance that starts publishing a book it kept; the periodic snapshots count
        their interval from it."""
        if self.book is None:
            return None
        self._last_snapshot_ns = now_ns
        return self.book.snapshot(self.ts_ns)

    def on_snapshot(
        self, snapshot: BookSnapshot, now_ns: int
    ) -> list[OrderBookUpdate | OrderBookSnapshot]:
        """Follow one streamed snapshot: the diff to publish (none if nothing changed),
        then a full snapshot if one is due. Raises `BookOutOfSync`; `resync` first."""
        book = self.book
        if book is None:
            raise BookOutOfSync(self.instrument, "not_synced", "no snapshot fetched yet")
        bids, asks = snapshot.bids[: self.depth], snapshot.asks[: self.depth]
        update_id = snapshot.update_id
        if update_id is None:
            update_id = book.last_update_id + 1
        elif update_id < book.last_update_id:
            raise BookOutOfSync(
                self.instrument,
                "sequence_reset",
                f"update id {update_id} after {book.last_update_id}",
            )
        elif update_id == book.last_update_id:
            if not book.bids.changes_to(_levels(bids)) and not book.asks.changes_to(_levels(asks)):
                return self._snapshot_if_due(now_ns, self.ts_ns)  # a repeat: nothing new
            raise BookOutOfSync(
                self.instrument, "inconsistent", f"different levels under update id {update_id}"
            )
        if bids and asks and bids[0][0] >= asks[0][0]:
            raise BookOutOfSync(
                self.instrument,
                "crossed",
                f"best bid {bids[0][0]} is at or above best ask {asks[0][0]} at update "
                f"id {update_id}",
            )
        ts_ns = snapshot.ts_ms * NS_PER_MS
        events: list[OrderBookUpdate | OrderBookSnapshot] = []
        update = book.update_to(bids, asks, update_id, ts_ns)
        if update is not None:
            book.apply(update)
            self.ts_ns = ts_ns
            events.append(update)
        events += self._snapshot_if_due(now_ns, ts_ns)
        return events

    def _snapshot_if_due(
        self, now_ns: int, ts_ns: int
    ) -> list[OrderBookUpdate | OrderBookSnapshot]:
        """The full snapshot, if the interval since the last one has passed."""
        if now_ns - self._last_snapshot_ns < self._snapshot_interval_ns:
            return []
        assert self.book is not None
        self._last_snapshot_ns = now_ns
        return [self.book.snapshot(ts_ns)]


def _levels(side: tuple[tuple[Decimal, Decimal], ...]) -> dict[Decimal, Decimal]:
    return {price: quantity for price, quantity in side if quantity}
