"""One watched market (a venue's symbol) as every marketdata instance keeps it, whether
it publishes the market (active) or stands by: its book, its bars in progress, the trade
ids seen, and a short memory of what it published or would have published.

That memory is what a standby publishes on taking a market over (`service.py`), so
that consumers miss nothing of the time no instance published it (the take-over time
of the bus, docs/failover.md): the trades received in the last `replay_ns` (at most
`MAX_REPLAY_TRADES`) and the bars closed in it. Consumers drop what they saw already
(trades by trade id, bars by open time).

`trades_lock` and `book_lock` order a take-over against the market's two streams: a
stream holds its lock from taking in a venue batch to publishing it, a take-over holds
it from switching the stream on to publishing its replay, so that every batch goes out
either in the replay or after it, never in neither or before it.

No I/O, no clock: times are passed in (ns since the epoch).
"""

from __future__ import annotations

import asyncio
from collections import deque

from tradewind.domain.bars import BarBuilder
from tradewind.domain.bounded import RecentlySeen
from tradewind.domain.events import Bar, TradeTick
from tradewind.domain.model import Instrument
from tradewind.services.marketdata.book_feed import BookFeed

#: Trades replayed at most per market on a take-over. Consumers recognise a repeat by
#: trade id among the last ids they remember (strategy: 1,024 per market); an older
#: trade replayed would be taken for a new one, so a replay stays below that.
MAX_REPLAY_TRADES = 1_000
_SEEN_TRADES = 2_000  # trade ids remembered per market to drop a reconnect's repeats
_REPLAY_BARS = 64  # closed bars kept at most, whatever the window


class WatchedMarket:
    """One market's warm state, kept whether this instance publishes it or stands by: its
    book, its bars in progress, the trade ids seen and what it recently published.

    `owned`: this instance holds the market's lease (its key's partition of md.leases).
    `trades_live` / `book_live`: its trades (and bars and last price) / its book (and
    top of book) are published; switched on by a take-over once its replay is out, off
    at once when the lease is lost.
    """

    def __init__(self, feed: BookFeed, builder: BarBuilder, partition: int, replay_ns: int) -> None:
        self.instrument: Instrument = feed.instrument
        self.key = feed.instrument.key
        self.feed = feed
        self.builder = builder
        self.partition = partition
        # Outlives reconnects, whose repeats it drops.
        self.seen: RecentlySeen[str] = RecentlySeen(_SEEN_TRADES)
        self.owned = False
        self.trades_live = False
        self.book_live = False
        self.trades_lock = asyncio.Lock()
        self.book_lock = asyncio.Lock()
        self._replay_ns = replay_ns
        self._trades: deque[tuple[int, list[TradeTick]]] = deque()  # (received ns, batch)
        self._trade_count = 0
        self._bars: deque[Bar] = deque(maxlen=_REPLAY_BARS)

    def remember_trades(self, ticks: list[TradeTick], now_ns: int) -> None:
        """Keep a batch received at `now_ns`; forget those past the window."""
        trades = self._trades
        trades.append((now_ns, ticks))
        self._trade_count += len(ticks)
        horizon = now_ns - self._replay_ns
        while len(trades) > 1 and (
            trades[0][0] < horizon or self._trade_count - len(trades[0][1]) >= MAX_REPLAY_TRADES
        ):
            self._trade_count -= len(trades.popleft()[1])

    def remember_bar(self, bar: Bar) -> None:
        self._bars.append(bar)

    def recent_trades(self, now_ns: int) -> list[TradeTick]:
        """The trades received in the window before `now_ns`, oldest first, at most
        `MAX_REPLAY_TRADES`."""
        horizon = now_ns - self._replay_ns
        ticks = [tick for received, batch in self._trades if received >= horizon for tick in batch]
        return ticks[-MAX_REPLAY_TRADES:]

    def recent_bars(self, now_ns: int) -> list[Bar]:
        """The bars that closed in the window before `now_ns`, oldest first."""
        horizon = now_ns - self._replay_ns
        return [bar for bar in self._bars if bar.open_ns + bar.interval_s * 10**9 >= horizon]
