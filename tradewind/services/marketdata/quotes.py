"""Latest prices and tops of book in the cache: the layout marketdata writes and every
other service reads.

Keys: `md:last:<venue>:<BASE/QUOTE>` holds a `LastPrice`, `md:top:<venue>:<BASE/QUOTE>`
a `TopOfBook`, msgpack-encoded. No expiry: a reader judges staleness by `ts_ns` (the
venue's time of the trade or book, ns since the epoch).

`QuoteWriter` coalesces: the hot path only overwrites the newest value per key in a
dict, and `flush` writes whatever changed since the last flush in one `put_many`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from tradewind.cache.port import Cache
from tradewind.domain.events import BookLevel
from tradewind.domain.model import Instrument
from tradewind.services.marketdata.book_feed import BookFeed


class LastPrice(msgspec.Struct, frozen=True, array_like=True):
    """The price of the latest trade, in the quote asset, at `ts_ns`."""

    price: Decimal
    ts_ns: int


class TopOfBook(msgspec.Struct, frozen=True, array_like=True):
    """Best bid and ask (None for an empty side) as of the book's `update_id`."""

    bid: BookLevel | None
    ask: BookLevel | None
    update_id: int
    ts_ns: int


def last_price_key(instrument: Instrument) -> str:
    return f"md:last:{instrument.key}"


def top_of_book_key(instrument: Instrument) -> str:
    return f"md:top:{instrument.key}"


_encode = msgspec.msgpack.Encoder().encode
_last_decoder = msgspec.msgpack.Decoder(LastPrice)
_top_decoder = msgspec.msgpack.Decoder(TopOfBook)


async def read_last_prices(
    cache: Cache, instruments: Sequence[Instrument]
) -> dict[Instrument, LastPrice]:
    """The cached last prices of `instruments` (those that have one), in one round trip."""
    values = await cache.get_many([last_price_key(i) for i in instruments])
    return {i: _last_decoder.decode(v) for i, v in zip(instruments, values, strict=True) if v}


async def read_tops_of_book(
    cache: Cache, instruments: Sequence[Instrument]
) -> dict[Instrument, TopOfBook]:
    """The cached tops of book of `instruments` (those that have one), in one round trip."""
    values = await cache.get_many([top_of_book_key(i) for i in instruments])
    return {i: _top_decoder.decode(v) for i, v in zip(instruments, values, strict=True) if v}


class QuoteWriter:
    """Collects the newest quote per key and writes them in batches; see the module."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache
        self._pending: dict[str, LastPrice | TopOfBook] = {}

    def last_price(self, instrument: Instrument, price: Decimal, ts_ns: int) -> None:
        self._pending[last_price_key(instrument)] = LastPrice(price, ts_ns)

    def top_of_book(
        self,
        instrument: Instrument,
        bid: BookLevel | None,
        ask: BookLevel | None,
        update_id: int,
        ts_ns: int,
    ) -> None:
        self._pending[top_of_book_key(instrument)] = TopOfBook(bid, ask, update_id, ts_ns)

    def book_top(self, feed: BookFeed) -> None:
        """The top of the book `feed` holds (nothing before its first sync)."""
        book = feed.book
        if book is not None:
            self.top_of_book(
                feed.instrument, book.best_bid(), book.best_ask(), book.last_update_id, feed.ts_ns
            )

    def forget(self, instrument: Instrument) -> None:
        """Drop what `instrument` has pending: another instance writes its quotes now,
        and a late flush of ours would put an older value over its newer one."""
        self._pending.pop(last_price_key(instrument), None)
        self._pending.pop(top_of_book_key(instrument), None)

    async def flush(self) -> int:
        """Write what changed since the last flush; returns how many keys. If the cache
        fails, the values are kept (unless newer ones came meanwhile) and it raises."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, {}
        try:
            await self._cache.put_many({key: _encode(value) for key, value in pending.items()})
        except BaseException:
            self._pending = pending | self._pending
            raise
        return len(pending)
