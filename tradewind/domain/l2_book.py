"""An L2 (price-aggregated) order book of one instrument, kept from a snapshot and diffs.

The book starts from a snapshot as of an update id and follows diffs that cover update
ids `first_update_id..final_update_id` (a diff's first and last
update id, as venues number them), each level carrying its new
total quantity (0 removes it):

- a diff ending at or before the book's update id is stale (a redelivery) and ignored;
- a diff starting after the next expected id means updates were lost: `SequenceGap` is
  raised and the book is left as it was, to be rebuilt from a new snapshot. The book is
  never silently wrong;
- a diff that overlaps the book's update id (the first diff after a snapshot usually
  does) is applied: levels are totals, so applying one twice changes nothing.

`L2Book.update_to` is the other direction: the diff that turns this book into a given
state, which is how a service that receives full snapshots publishes small updates.

Pure: no I/O, no clock. Prices and quantities are `Decimal`, compared exactly.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from decimal import Decimal

from tradewind.domain.events import BookLevel, OrderBookSnapshot, OrderBookUpdate
from tradewind.domain.model import Instrument
from tradewind.errors import TradewindError

#: A level as venues and events give it: (price, quantity) or a `BookLevel`.
LevelLike = tuple[Decimal, Decimal] | BookLevel
_ZERO = Decimal(0)


class SequenceGap(TradewindError):
    """Book updates were lost between the book's update id and a diff's first id; the
    book must be rebuilt from a fresh snapshot."""

    def __init__(self, instrument: Instrument, last_update_id: int, first_update_id: int) -> None:
        self.instrument = instrument
        self.last_update_id = last_update_id
        self.first_update_id = first_update_id
        super().__init__(
            f"order book of {instrument.key}: an update starting at id {first_update_id} "
            f"follows update {last_update_id}, so updates {last_update_id + 1}.."
            f"{first_update_id - 1} are missing; rebuild the book from a snapshot"
        )


class L2BookSide:
    """One side of a book: price -> total quantity, kept sorted for best-first reads."""

    __slots__ = ("_descending", "_prices", "_quantities")

    def __init__(self, descending: bool) -> None:
        """`descending` for bids (best is the highest price), else asks."""
        self._descending = descending
        self._quantities: dict[Decimal, Decimal] = {}
        self._prices: list[Decimal] = []  # ascending

    def __len__(self) -> int:
        return len(self._prices)

    def set(self, price: Decimal, quantity: Decimal) -> None:
        """Make the level at `price` hold `quantity`; 0 removes it."""
        if quantity == _ZERO:
            if self._quantities.pop(price, None) is not None:
                del self._prices[bisect_left(self._prices, price)]
            return
        if price not in self._quantities:
            self._prices.insert(bisect_left(self._prices, price), price)
        self._quantities[price] = quantity

    def clear(self) -> None:
        self._quantities.clear()
        self._prices.clear()

    def quantity(self, price: Decimal) -> Decimal:
        """The quantity at `price`, 0 if there is no level there."""
        return self._quantities.get(price, _ZERO)

    def best(self) -> BookLevel | None:
        if not self._prices:
            return None
        price = self._prices[-1] if self._descending else self._prices[0]
        return BookLevel(price, self._quantities[price])

    def top(self, n: int | None = None) -> tuple[BookLevel, ...]:
        """The best `n` levels (all when None), best first."""
        prices = self._prices
        if self._descending:
            chosen = prices[::-1] if n is None else prices[: -n - 1 : -1] if n > 0 else []
        else:
            chosen = prices if n is None else prices[: max(n, 0)]
        quantities = self._quantities
        return tuple(BookLevel(p, quantities[p]) for p in chosen)

    def as_dict(self) -> dict[Decimal, Decimal]:
        """A copy: price -> quantity."""
        return dict(self._quantities)

    def changes_to(self, target: Mapping[Decimal, Decimal]) -> tuple[BookLevel, ...]:
        """The levels that turn this side into `target`, best first: new or changed
        levels with their target quantity, vanished ones with quantity 0."""
        current = self._quantities
        changed = [
            BookLevel(price, quantity)
            for price, quantity in target.items()
            if current.get(price) != quantity
        ]
        changed += [BookLevel(price, _ZERO) for price in current if price not in target]
        changed.sort(key=_price, reverse=self._descending)
        return tuple(changed)


class L2Book:
    """The price-aggregated book of `instrument` as of `last_update_id`: started from a
    snapshot, following the diffs that continue it."""

    __slots__ = ("asks", "bids", "instrument", "last_update_id")

    def __init__(self, instrument: Instrument, update_id: int = 0) -> None:
        """An empty book as of `update_id`."""
        self.instrument = instrument
        self.last_update_id = update_id
        self.bids = L2BookSide(descending=True)
        self.asks = L2BookSide(descending=False)

    @classmethod
    def from_levels(
        cls,
        instrument: Instrument,
        bids: Iterable[LevelLike],
        asks: Iterable[LevelLike],
        update_id: int,
    ) -> L2Book:
        book = cls(instrument)
        book.reset(bids, asks, update_id)
        return book

    @classmethod
    def from_snapshot(cls, snapshot: OrderBookSnapshot) -> L2Book:
        return cls.from_levels(
            snapshot.instrument, snapshot.bids, snapshot.asks, snapshot.update_id
        )

    def reset(self, bids: Iterable[LevelLike], asks: Iterable[LevelLike], update_id: int) -> None:
        """Replace the whole book with these levels as of `update_id` (a snapshot, which
        may be older than the book: venues restart their sequences)."""
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            side.clear()
            for price, quantity in _pairs(levels):
                side.set(price, quantity)
        self.last_update_id = update_id

    def apply(self, update: OrderBookUpdate) -> bool:
        """Apply a diff; False if it was stale and ignored. Raises `SequenceGap` (book
        unchanged) if updates are missing before it, `ValueError` if it is another
        instrument's or its ids are reversed."""
        if update.instrument != self.instrument:
            raise ValueError(
                f"an update of {update.instrument.key} cannot apply to the book of "
                f"{self.instrument.key}"
            )
        return self.apply_levels(
            update.bids, update.asks, update.first_update_id, update.final_update_id
        )

    def apply_levels(
        self,
        bids: Iterable[LevelLike],
        asks: Iterable[LevelLike],
        first_update_id: int,
        final_update_id: int,
    ) -> bool:
        """`apply` for levels that did not come as an `OrderBookUpdate`."""
        if final_update_id < first_update_id:
            raise ValueError(
                f"order book of {self.instrument.key}: update ids {first_update_id}.."
                f"{final_update_id} are reversed"
            )
        if final_update_id <= self.last_update_id:
            return False
        if first_update_id > self.last_update_id + 1:
            raise SequenceGap(self.instrument, self.last_update_id, first_update_id)
        for price, quantity in _pairs(bids):
            self.bids.set(price, quantity)
        for price, quantity in _pairs(asks):
            self.asks.set(price, quantity)
        self.last_update_id = final_update_id
        return True

    def update_to(
        self,
        bids: Iterable[LevelLike],
        asks: Iterable[LevelLike],
        update_id: int,
        ts_ns: int,
    ) -> OrderBookUpdate | None:
        """The diff from this book to the state `bids`/`asks` as of `update_id` (which
        must be later than the book's), covering ids `last_update_id + 1..update_id`;
        None if no level differs. The book itself is not changed: `apply` the diff."""
        if update_id <= self.last_update_id:
            raise ValueError(
                f"order book of {self.instrument.key}: update id {update_id} is not after "
                f"the book's {self.last_update_id}"
            )
        bid_changes = self.bids.changes_to(_as_mapping(bids))
        ask_changes = self.asks.changes_to(_as_mapping(asks))
        if not bid_changes and not ask_changes:
            return None
        return OrderBookUpdate(
            instrument=self.instrument,
            bids=bid_changes,
            asks=ask_changes,
            first_update_id=self.last_update_id + 1,
            final_update_id=update_id,
            ts_ns=ts_ns,
        )

    def best_bid(self) -> BookLevel | None:
        return self.bids.best()

    def best_ask(self) -> BookLevel | None:
        return self.asks.best()

    @property
    def crossed(self) -> bool:
        """True if the best bid is at or above the best ask: no real book looks like
        that, so the data behind it is wrong."""
        bid, ask = self.bids.best(), self.asks.best()
        return bid is not None and ask is not None and bid.price >= ask.price

    def top(self, n: int | None = None) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]]:
        """(bids, asks): the best `n` levels per side (all when None), best first."""
        return self.bids.top(n), self.asks.top(n)

    def snapshot(self, ts_ns: int, depth: int | None = None) -> OrderBookSnapshot:
        """The book as an event (the best `depth` levels per side, all when None)."""
        bids, asks = self.top(depth)
        return OrderBookSnapshot(
            instrument=self.instrument,
            bids=bids,
            asks=asks,
            update_id=self.last_update_id,
            ts_ns=ts_ns,
        )


def _as_mapping(levels: Iterable[LevelLike]) -> dict[Decimal, Decimal]:
    """price -> quantity; a level of quantity 0 in a full state means no level."""
    return {price: quantity for price, quantity in _pairs(levels) if quantity != _ZERO}


def _pairs(levels: Iterable[LevelLike]) -> list[tuple[Decimal, Decimal]]:
    return [
        (level.price, level.quantity) if isinstance(level, BookLevel) else level for level in levels
    ]


def _price(level: BookLevel) -> Decimal:
    return level.price
