"""What the kline streams (`<symbol>@kline_<interval>[@+08:00]`) push: the candle being
built while it trades, and every candle once more, closed (`x` true), after it ends.

Binance pushes them every 2000 ms, `1s` klines every 1000 ms (web-socket-streams.md).
Candles start where `kline_intervals.candle_bounds` says (weeks on Monday, months on the
1st, in the stream's time zone) and hold what `MarketHistory.klines` holds, so a stream
and GET /klines show the same candles. As there, a candle nothing traded in is not
shown. Pure: the caller passes the time and sends what `flush` returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradewind.venues.simulated.history import Kline, MarketHistory
from tradewind.venues.simulated.server.stream_names import MarketStream

# more candles than a stream can end between two pushes (1s klines pushed every 1 s)
_MOST_CANDLES = 100


@dataclass
class _Followed:
    """Where one kline stream is. `live_open_ms` is the open of the candle last pushed
    as not closed (None if none is), `live_trade_id` that candle's last trade then."""

    flushed_ms: int | None = None  # the last push's time; None: not pushed yet
    seen_trade_id: int = -1  # the symbol's last trade at the last push
    newcomer: bool = True  # a client subscribed since: push the live candle as it is
    live_open_ms: int | None = None
    live_end_ms: int = 0  # first ms after the live candle
    live_trade_id: int = -1


class KlineStreams:
    """The pushes of the kline streams, remembering per stream the candle it follows."""

    def __init__(self, history: MarketHistory) -> None:
        self._history = history
        self._followed: dict[str, _Followed] = {}

    def welcome(self, name: str, now_ms: int) -> None:
        """A client subscribed to stream `name` at `now_ms`: its next push holds the
        current candle (the others' closed candles still follow). The first subscriber's
        stream follows from then on: a candle that trades after it subscribed and ends
        before the first push is pushed closed, as Binance would."""
        followed = self._followed.get(name)
        if followed is None:
            self._followed[name] = _Followed(flushed_ms=now_ms)
        else:
            followed.newcomer = True

    def forget(self, name: str) -> None:
        """Nobody listens to stream `name` any more."""
        self._followed.pop(name, None)

    def flush(
        self, stream: MarketStream, now_ms: int, last_trade_id: int
    ) -> list[tuple[Kline, bool]]:
        """(candle, closed) pairs `stream` pushes at `now_ms`, oldest first, given the
        id of the symbol's last trade (-1 if none)."""
        followed = self._followed.setdefault(stream.name, _Followed())
        since, newcomer = followed.flushed_ms, followed.newcomer
        ended = followed.live_open_ms is not None and now_ms >= followed.live_end_ms
        traded = last_trade_id != followed.seen_trade_id
        followed.flushed_ms, followed.seen_trade_id = now_ms, last_trade_id
        followed.newcomer = False
        if not (newcomer or ended or traded):
            return []
        # Trades since the last push are in the candle that push fell in or later ones;
        # the live candle is that one too (it had not ended then).
        start_ms = now_ms if since is None else since
        if followed.live_open_ms is not None:
            start_ms = min(start_ms, followed.live_open_ms)
        candles = self._history.klines(
            stream.symbol, stream.interval, start_ms=start_ms, limit=_MOST_CANDLES,
            offset_ms=stream.offset_ms,
        )  # fmt: skip
        pushes: list[tuple[Kline, bool]] = []
        live: Kline | None = None
        for candle in candles:
            if candle.close_ms < now_ms:
                pushes.append((candle, True))
            else:
                live = candle
        if live is None:
            followed.live_open_ms = None
        elif newcomer or (live.open_ms, live.last_trade_id) != (
            followed.live_open_ms,
            followed.live_trade_id,
        ):
            pushes.append((live, False))
            followed.live_open_ms, followed.live_trade_id = live.open_ms, live.last_trade_id
            followed.live_end_ms = live.open_ms + live.interval_ms
        return pushes
