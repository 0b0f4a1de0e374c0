"""The simulated venue's history over real HTTP, read by unmodified ccxt 4.5.90 and by raw
Binance calls: a replay started inside its data and a synthetic market both serve, from
the first request, the candles and trades of their past on the wall clock, continuing
into the live ones."""

from __future__ import annotations

import itertools
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt  # type: ignore[import-untyped]
import pytest

from tests.integration.venues.sim_rest_support import BinanceClient
from tests.integration.venues.test_sim_rest_serve import TRADEWIND
from tradewind.venues.simulated.market import bundled_candles_dir, load_candles
from tradewind.venues.simulated.server.serve import build_state, serving_in_thread
from tradewind.venues.simulated.server.state import ServerState

MINUTE = 60_000
FIVE_MINUTES = 5 * MINUTE
HOUR = 60 * MINUTE
DAY = 24 * HOUR
Row = list[Any]


@dataclass
class Venue:
    url: str
    state: ServerState
    symbol: str  # unified, as ccxt names it
    wire: str  # as Binance names it

    @property
    def live_from_ms(self) -> int:
        """Where the past's candles end and the live ones begin (wall clock)."""
        past = self.state.exchange.history.past
        assert past is not None
        return past.end_ms

    def raw(self) -> BinanceClient:
        return BinanceClient(self.url)


@contextmanager
def serving(market: str, symbol: str, **options: Any) -> Iterator[Venue]:
    state = build_state(market, **options)
    with serving_in_thread(state) as url:
        yield Venue(url, state, symbol, symbol.replace("/", ""))


@pytest.fixture(scope="module", params=["replay:", "synthetic"])
def venue(request: pytest.FixtureRequest) -> Iterator[Venue]:
    symbol = "ETH/BTC" if request.param == "replay:" else "BTC/USDT"
    with serving(request.param, symbol, seed=3) as venue:
        yield venue


async def ccxt_client(url: str) -> ccxt.binance:
    exchange = ccxt.binance(
        {
            "enableRateLimit": False,
            "options": {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}},
        }
    )
    api = exchange.urls["api"]
    for key, address in list(api.items()):
        if isinstance(address, str):  # re-host every REST url, keeping its path
            api[key] = url + urlsplit(address).path
    return exchange


@pytest.fixture
async def binance(venue: Venue) -> AsyncIterator[ccxt.binance]:
    exchange = await ccxt_client(venue.url)
    try:
        yield exchange
    finally:
        await exchange.close()


def klines(venue: Venue, interval: str, **params: str | int) -> list[Row]:
    client = venue.raw()
    try:
        response = client.public("/api/v3/klines", symbol=venue.wire, interval=interval, **params)
        assert response.status_code == 200, response.text
        rows: list[Row] = response.json()
        return rows
    finally:
        client.close()


def wait_for_live_trades(venue: Venue) -> None:
    client = venue.raw()
    try:
        client.wait_for_trades(venue.wire)
    finally:
        client.close()


def assert_contiguous(opens: list[int], width: int) -> None:
    steps = {b - a for a, b in itertools.pairwise(opens)}
    assert steps <= {width}, f"gaps or overlaps: steps {sorted(steps)}"


def assert_well_formed(row: Row) -> None:
    o, h, low, c, volume = (Decimal(v) for v in row[1:6])
    assert low <= min(o, c) <= max(o, c) <= h
    assert volume > 0 and row[8] > 0
    rounding = Decimal("0.00000001") * row[8]  # quote volumes are shown to 8 decimals
    assert volume * low - rounding <= Decimal(row[7]) <= volume * h + rounding


# -- at start: 500 candles, continuing into the live ones --------------------------------


async def test_a_client_gets_500_five_minute_candles_at_start(
    venue: Venue, binance: ccxt.binance
) -> None:
    candles = await binance.fetch_ohlcv(venue.symbol, "5m", limit=500)
    assert len(candles) == 500
    opens = [c[0] for c in candles]
    assert_contiguous(opens, FIVE_MINUTES)
    assert venue.live_from_ms - FIVE_MINUTES in opens  # the last past candle
    assert opens[-1] <= venue.live_from_ms + FIVE_MINUTES
    assert len(klines(venue, "5m", limit=500)) == 500  # GET /api/v3/klines?interval=5m&limit=500


def test_past_candles_continue_into_the_live_ones_without_gap_or_overlap(venue: Venue) -> None:
    wait_for_live_trades(venue)
    start = venue.live_from_ms
    rows = klines(venue, "5m", limit=1000)
    opens = [row[0] for row in rows]
    assert_contiguous(opens, FIVE_MINUTES)
    assert opens[0] == start - 2 * DAY and len([o for o in opens if o < start]) == 576
    last_past, first_live = rows[opens.index(start - FIVE_MINUTES)], rows[opens.index(start)]
    assert last_past[6] + 1 == first_live[0]
    past_close, live_open = Decimal(last_past[4]), Decimal(first_live[1])
    assert abs(live_open - past_close) / past_close < Decimal("0.01")
    minutes = klines(venue, "1m", limit=1000)  # finer than the past: from its trades
    assert len(minutes) == 1000 and minutes[0][0] < start <= minutes[-1][0]
    assert_contiguous([row[0] for row in minutes], MINUTE)  # a quiet minute has its kline
    for earlier, later in itertools.pairwise(minutes):
        if later[8] == 0:  # nothing traded: flat at the last price, as on Binance
            assert later[1] == later[2] == later[3] == later[4] == earlier[4]
            assert Decimal(later[5]) == Decimal(later[7]) == 0


def test_the_candle_the_start_falls_in_holds_its_past_and_live_parts(venue: Venue) -> None:
    wait_for_live_trades(venue)
    start = venue.live_from_ms
    for _ in range(50):  # until no trade printed between the day and its parts
        (day,) = klines(venue, "1d", startTime=start, limit=1)
        parts = klines(venue, "5m", startTime=day[0], endTime=day[6], limit=1000)
        if klines(venue, "1d", startTime=start, limit=1) == [day]:
            break
    else:
        raise AssertionError("the market never paused for three requests")
    assert any(row[0] < start for row in parts) or day[0] == start
    assert any(row[0] >= start for row in parts)
    assert day[8] == sum(row[8] for row in parts)
    assert Decimal(day[5]) == sum(Decimal(row[5]) for row in parts)


# -- the past: aggregated, aligned, and queried by time ---------------------------------


@pytest.mark.parametrize(("interval", "width", "candles"), [("1h", HOUR, 12), ("1d", DAY, 288)])
def test_a_past_kline_sums_its_five_minute_candles(
    venue: Venue, interval: str, width: int, candles: int
) -> None:
    start = venue.live_from_ms
    opened = start - start % width - width  # the last one wholly in the past
    (kline,) = klines(venue, interval, startTime=opened, limit=1)
    assert kline[0] == opened and kline[6] == opened + width - 1
    parts = klines(venue, "5m", startTime=opened, endTime=opened + width - 1, limit=1000)
    assert len(parts) == candles
    assert Decimal(kline[1]) == Decimal(parts[0][1])
    assert Decimal(kline[2]) == max(Decimal(p[2]) for p in parts)
    assert Decimal(kline[3]) == min(Decimal(p[3]) for p in parts)
    assert Decimal(kline[4]) == Decimal(parts[-1][4])
    for column in (5, 7, 9, 10):  # volume, quote volume, taker-buy volume and quote volume
        assert Decimal(kline[column]) == sum(Decimal(p[column]) for p in parts)
    assert kline[8] == sum(p[8] for p in parts) == 4 * candles
    assert abs(Decimal(kline[9]) * 2 - Decimal(kline[5])) <= candles * Decimal("1e-8")


@pytest.mark.parametrize("interval", ["1h", "1d", "1w"])
def test_past_klines_open_on_their_interval_boundaries(venue: Venue, interval: str) -> None:
    rows = klines(venue, interval, startTime=0, limit=1000)
    assert rows[0][0] <= venue.live_from_ms - 2 * DAY
    for row in rows:
        assert_well_formed(row)
        opened = datetime.fromtimestamp(row[0] / 1000, UTC)
        if interval == "1w":
            assert opened.weekday() == 0 and (opened.hour, opened.minute) == (0, 0)
        elif interval == "1d":
            assert (opened.hour, opened.minute) == (0, 0)
        else:
            assert opened.minute == 0 and opened.second == 0


async def test_start_and_end_times_reach_into_the_past(venue: Venue, binance: ccxt.binance) -> None:
    start = venue.live_from_ms
    since = start - 30 * HOUR - (start - 30 * HOUR) % HOUR  # ccxt drops candles before it
    hours = await binance.fetch_ohlcv(venue.symbol, "1h", since=since, limit=3)
    assert [h[0] for h in hours] == [since, since + HOUR, since + 2 * HOUR]
    inside = klines(venue, "1h", startTime=since + 7, limit=1)
    assert inside[0][0] == since  # the kline holding startTime
    window = klines(venue, "5m", startTime=start - DAY, endTime=start - DAY + HOUR - 1)
    assert [row[0] for row in window] == [start - DAY + i * FIVE_MINUTES for i in range(12)]
    assert klines(venue, "5m", endTime=start - 2 * DAY - 1) == []


# -- trades -----------------------------------------------------------------------------


async def test_recent_trades_come_from_the_last_past_candles_then_the_live_ones(
    venue: Venue, binance: ccxt.binance
) -> None:
    wait_for_live_trades(venue)
    client = venue.raw()
    try:
        trades = client.public("/api/v3/trades", symbol=venue.wire, limit=1000).json()
    finally:
        client.close()
    ids = [t["id"] for t in trades]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    first_live = venue.state.exchange.history.next_trade_id(venue.symbol)
    past = [t for t in trades if t["id"] < first_live]
    assert past and all(t["time"] < venue.live_from_ms for t in past)
    assert any(t["id"] >= first_live for t in trades)
    (last_past,) = klines(venue, "5m", startTime=venue.live_from_ms - FIVE_MINUTES, limit=1)
    in_last = [t for t in past if t["time"] >= last_past[0]]
    assert len(in_last) == last_past[8] == 4
    assert Decimal(in_last[-1]["price"]) == Decimal(last_past[4])  # the close prints last
    fetched = await binance.fetch_trades(venue.symbol, limit=500)
    assert len(fetched) == 500 and fetched[-1]["timestamp"] >= last_past[0]


# -- the replay's past is its data; the synthetic past is its seed's ---------------------


def test_the_replay_serves_its_data_before_the_start_point_moved_onto_the_clock() -> None:
    data = load_candles(bundled_candles_dir())["ETH/BTC"]
    with serving("replay:", "ETH/BTC", start="2018-01-16T12:00") as venue:
        start = venue.live_from_ms
        from_ms = 1_516_104_000_000  # 2018-01-16 12:00 UTC
        before = [c for c in data if c.open_ms < from_ms]
        rows = klines(venue, "5m", startTime=0, limit=1000)
        assert rows[0][0] == start - (from_ms - data[0].open_ms)
        last = klines(venue, "5m", endTime=start - 1, limit=3)
        for row, candle in zip(last, before[-3:], strict=True):
            assert row[0] - candle.open_ms == start - from_ms
            assert [Decimal(v) for v in row[1:6]] == [
                candle.open, candle.high, candle.low, candle.close, candle.volume,
            ]  # fmt: skip
        assert venue.state.exchange.history.next_trade_id("ETH/BTC") == 4 * len(before) + 1


def past_rows(venue: Venue) -> list[Row]:
    return [row for row in klines(venue, "5m", limit=1000) if row[0] < venue.live_from_ms]


def past_values(venue: Venue) -> list[Row]:
    """The past's 5-minute klines without their times."""
    return [row[1:6] + row[7:] for row in past_rows(venue)]


def test_the_same_seed_serves_the_same_synthetic_history() -> None:
    with serving("synthetic", "BTC/USDT", seed=21) as venue:
        first = past_values(venue)
    with serving("synthetic", "BTC/USDT", seed=21) as venue:
        again = past_values(venue)
    with serving("synthetic", "BTC/USDT", seed=22) as venue:
        other = past_values(venue)
    assert len(first) == 576 and first == again
    assert first != other


async def test_a_fresh_seed_serves_a_well_formed_history() -> None:
    seed = secrets.randbelow(2**31)
    with serving("synthetic", "BTC/USDT", seed=seed, start="1d") as venue:
        exchange = await ccxt_client(venue.url)
        try:
            candles = await exchange.fetch_ohlcv("BTC/USDT", "5m", limit=500)
            hours = await exchange.fetch_ohlcv("BTC/USDT", "1h", limit=500)
        finally:
            await exchange.close()
        rows = past_rows(venue)
    assert len(rows) == 288, f"seed {seed}"
    assert_contiguous([row[0] for row in rows], FIVE_MINUTES)
    for row in rows:
        assert_well_formed(row)
    assert Decimal(rows[-1][4]) == 30000, f"seed {seed}: the past closes at the start price"
    assert len(candles) >= 288 and candles[-1][0] >= rows[-1][0]
    assert 24 <= len(hours) <= 26 and all(h[0] % HOUR == 0 for h in hours)


# -- --start on the command line --------------------------------------------------------


@pytest.mark.parametrize(
    ("market", "start", "message"),
    [
        (
            "replay:",
            "2019-01-01",
            "tradewind: error: --start: 2019-01-01 is outside the data, which runs from "
            "2018-01-10 04:55 to 2018-01-30 04:50 UTC (offsets 0m to 19d23h55m)",
        ),
        ("replay:", "soon", "tradewind: error: --start: expected a date"),
        ("synthetic", "2018-01-15", "tradewind: error: --start: a synthetic market starts now"),
        ("synthetic", "45d", "tradewind: error: --start: a synthetic market generates at most"),
    ],
)
def test_venue_serve_explains_a_bad_start_and_exits_2(
    market: str, start: str, message: str
) -> None:
    result = subprocess.run(
        [TRADEWIND, "venue", "serve", "--market", market, "--start", start],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
