"""Candles of any whole-second width from the widths a venue serves (pure: no I/O).

A venue serves a fixed set of candle widths (`1s`, `1m`, `3m`, … on one, `1m`, `5m`, …
on another), up to some number per request; the
platform's bars may be of any number of seconds. `plan` picks the widest width that
divides the bar (a 120 s bar from `1m` candles, a 5 s bar from `1s` ones), `aggregate`
sums those candles into bars aligned on the Unix epoch like `domain.bars.BarBuilder`'s,
keeping only bars closed by `now_ms`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from tradewind.domain.exact import EXACT
from tradewind.errors import VenueError
from tradewind.venues.port import Candle

#: Candle widths most venues serve, seconds, by ccxt's timeframe names.
COMMON_WIDTHS_S: Mapping[str, int] = {
    "1s": 1, "1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600,
    "2h": 7200, "4h": 14_400, "6h": 21_600, "8h": 28_800, "12h": 43_200, "1d": 86_400,
}  # fmt: skip


@dataclass(frozen=True)
class CandlePlan:
    """Fetch candles of `width` (`width_s` seconds), `per_bar` of them to a bar."""

    width: str
    width_s: int
    per_bar: int


def plan(interval_s: int, widths: Mapping[str, int], venue: str) -> CandlePlan:
    """The widest of `widths` ({name: seconds}) that divides `interval_s`."""
    fitting = [(s, name) for name, s in widths.items() if s > 0 and interval_s % s == 0]
    if interval_s < 1 or not fitting:
        served = ", ".join(sorted(widths, key=widths.__getitem__)) or "no width"
        raise VenueError(venue, f"serves candles of {served}: none divides a bar of {interval_s} s")
    width_s, name = max(fitting)
    return CandlePlan(name, width_s, interval_s // width_s)


def aggregate(
    candles: Iterable[Candle], interval_s: int, *, count: int | None, now_ms: int
) -> list[Candle]:
    """`candles` (oldest first) summed into bars of `interval_s` aligned on the epoch:
    the last `count` bars that closed by `now_ms`, oldest first. A bar holds the candles
    that open within it: first open, highest high, lowest low, last close, summed volume.
    `count` None: every closed bar."""
    interval_ms = interval_s * 1000
    bars: list[Candle] = []
    for candle in candles:
        bar_open = candle.open_ms // interval_ms * interval_ms
        if bar_open + interval_ms > now_ms:
            break  # this bar, and every later one, is not closed yet
        last = bars[-1] if bars else None
        if last is None or last.open_ms != bar_open:
            bars.append(
                Candle(
                    open_ms=bar_open, open=candle.open, high=candle.high, low=candle.low,
                    close=candle.close, volume=candle.volume,
                )
            )  # fmt: skip
        else:
            bars[-1] = Candle(
                open_ms=bar_open,
                open=last.open,
                high=max(last.high, candle.high),
                low=min(last.low, candle.low),
                close=candle.close,
                volume=EXACT.add(last.volume, candle.volume),
            )
    if count is None:
        return bars
    return bars[-count:] if count > 0 else []


#: Candles asked for per request where the venue's profile does not say how many it
#: returns at most (`VenueProfile.candles_per_request`).
PAGE = 1000
#: Requests one history may take, newest page first.
MAX_PAGES = 20

#: One page: the newest `limit` candles of `width` opening at or before `end_ms`, oldest
#: first (a venue's "most recent klines until").
FetchPage = Callable[[str, int, int], Awaitable[list[Candle]]]


async def last_bars(
    fetch_page: FetchPage,
    candle_plan: CandlePlan,
    interval_s: int,
    count: int,
    now_ms: int,
    *,
    page_size: int = PAGE,
) -> list[Candle]:
    """The last `count` bars of `interval_s` closed by `now_ms` that the venue has
    candles for, oldest first: pages of `page_size` candles (at most what the venue
    returns per request: a shorter page means it has no older ones) fetched backwards
    from the bar still open until `count` bars are found, the venue has no older ones,
    or `MAX_PAGES`."""
    interval_ms = interval_s * 1000
    end_ms = now_ms // interval_ms * interval_ms - 1  # the closed bars' candles only
    found: list[Candle] = []
    for _ in range(MAX_PAGES):
        page = await fetch_page(candle_plan.width, end_ms, page_size)
        found = page + found
        if len(page) < page_size:
            break  # the venue has no older candles
        if len(aggregate(found, interval_s, count=None, now_ms=now_ms)) > count:
            break  # more than `count`: the oldest bar found may lack its earlier candles
        end_ms = page[0].open_ms - 1
    return aggregate(found, interval_s, count=count, now_ms=now_ms)
