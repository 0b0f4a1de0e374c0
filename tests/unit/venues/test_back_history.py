"""The venue's back-history: a price source's past candles on the wall clock, aggregated
into every interval they can build, the trades synthesised from them, and how they join
the live candles at the start."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

from tradewind.domain.model import Side
from tradewind.venues.simulated.back_history import BackHistory
from tradewind.venues.simulated.history import MarketHistory
from tradewind.venues.simulated.instruments import spec_for
from tradewind.venues.simulated.kline_intervals import DAY_MS, HOUR_MS, MINUTE_MS
from tradewind.venues.simulated.market import Candle, PastCandles
from tradewind.venues.simulated.matching import MatchingEngine, Trade

ETH = "ETH/BTC"
SPEC = spec_for("sim", ETH, Decimal("0.1"))  # tick 0.0000001, lot step 0.00001
FIVE_MINUTES = 5 * MINUTE_MS
DATA_T0 = 1_515_974_400_000  # 2018-01-15 00:00 UTC: the data's own time
WALL_T0 = 1_715_731_200_000  # 2024-05-15 00:00 UTC, a Wednesday: where the past is moved


def candle(open_ms: int, o: str, h: str, low: str, c: str, volume: str = "4") -> Candle:
    return Candle(open_ms, Decimal(o), Decimal(h), Decimal(low), Decimal(c), Decimal(volume))


def rising(open_ms: int, volume: str = "4") -> Candle:
    return candle(open_ms, "0.1", "0.13", "0.09", "0.12", volume)


def past_of(candles: list[Candle], *, end_ms: int) -> PastCandles:
    """`candles` (data time) moved so that the one after the last would open at `end_ms`."""
    data_end = candles[-1].open_ms + FIVE_MINUTES
    return PastCandles(FIVE_MINUTES, end_ms - data_end, end_ms, {ETH: candles})


def hours_of_candles(hours: int) -> list[Candle]:
    """`hours` of rising 5-minute candles from DATA_T0, volume 4 each."""
    return [rising(DATA_T0 + i * FIVE_MINUTES) for i in range(hours * 12)]


def test_a_past_candle_is_a_kline_of_four_trades_half_bought_by_takers() -> None:
    past = BackHistory(past_of([rising(DATA_T0)], end_ms=WALL_T0), {ETH: SPEC})
    (kline,) = past.klines(ETH, "5m", first_open=None, end_ms=None, limit=500)
    assert (kline.open_ms, kline.close_ms) == (WALL_T0 - FIVE_MINUTES, WALL_T0 - 1)
    assert (kline.open, kline.high, kline.low, kline.close) == (
        Decimal("0.1"),
        Decimal("0.13"),
        Decimal("0.09"),
        Decimal("0.12"),
    )
    assert kline.volume == 4 and kline.trades == 4
    assert kline.quote_volume == Decimal("0.1") + Decimal("0.13") + Decimal("0.09") + Decimal(
        "0.12"
    )
    assert kline.taker_buy_volume == 2
    assert kline.taker_buy_quote_volume == Decimal("0.1") + Decimal("0.13")  # open and high
    assert (kline.first_trade_id, kline.last_trade_id) == (1, 4)


def test_the_trades_of_a_candle_walk_it_and_agree_with_its_kline() -> None:
    candles = [rising(DATA_T0), candle(DATA_T0 + FIVE_MINUTES, "0.12", "0.125", "0.1", "0.11")]
    past = BackHistory(past_of(candles, end_ms=WALL_T0), {ETH: SPEC})
    trades = past.trades(ETH, 8)
    assert [t.trade_id for t in trades] == list(range(1, 9))
    assert [t.price for t in trades] == [
        Decimal(p)
        for p in (
            *("0.1", "0.09", "0.13", "0.12"),  # rose: open, low, high, close
            *("0.12", "0.125", "0.1", "0.11"),  # fell: open, high, low, close
        )
    ]
    takers_bought = [not t.is_buyer_maker for t in trades]
    assert takers_bought == [True, False, True, False, False, True, False, True]
    opened = WALL_T0 - 2 * FIVE_MINUTES
    assert [t.time_ms - opened for t in trades[:4]] == [37_500, 112_500, 187_500, 262_500]
    klines = past.klines(ETH, "5m", first_open=None, end_ms=None, limit=500)
    for kline, of_candle in zip(klines, (trades[:4], trades[4:]), strict=True):
        bought = [t for t in of_candle if not t.is_buyer_maker]
        assert kline.trades == len(of_candle)
        assert kline.volume == sum(t.quantity for t in of_candle)
        assert kline.quote_volume == sum(t.quote_quantity for t in of_candle)
        assert kline.taker_buy_volume == sum(t.quantity for t in bought)
        assert kline.taker_buy_quote_volume == sum(t.quote_quantity for t in bought)
    assert past.next_trade_id(ETH) == 9
    assert past.trades(ETH, 3) == trades[-3:]


def test_coarser_klines_sum_their_candles_on_interval_boundaries() -> None:
    candles = [
        candle(DATA_T0 + i * FIVE_MINUTES, "0.1", f"0.11{i:02d}", f"0.0{99 - i}", "0.1005", "1.5")
        for i in range(24)
    ]
    past = BackHistory(past_of(candles, end_ms=WALL_T0 + 2 * HOUR_MS), {ETH: SPEC})
    hours = past.klines(ETH, "1h", first_open=None, end_ms=None, limit=500)
    assert [k.open_ms for k in hours] == [WALL_T0, WALL_T0 + HOUR_MS]
    first = hours[0]
    assert (first.open, first.high, first.low, first.close) == (
        Decimal("0.1"),
        Decimal("0.1111"),
        Decimal("0.088"),
        Decimal("0.1005"),
    )
    assert first.volume == Decimal("18") and first.trades == 48
    assert first.taker_buy_volume == 9
    fives = past.klines(ETH, "5m", first_open=WALL_T0, end_ms=WALL_T0 + HOUR_MS - 1, limit=500)
    assert len(fives) == 12
    assert first.quote_volume == sum(k.quote_volume for k in fives)
    assert (first.first_trade_id, first.last_trade_id) == (1, 48)
    (day,) = past.klines(ETH, "1d", first_open=None, end_ms=None, limit=500)
    assert day.open_ms == WALL_T0 and day.trades == 96
    (week,) = past.klines(ETH, "1w", first_open=None, end_ms=None, limit=500)
    assert week.open_ms == WALL_T0 - 2 * DAY_MS  # Monday 2024-05-13
    (month,) = past.klines(ETH, "1M", first_open=None, end_ms=None, limit=500)
    assert month.open_ms == WALL_T0 - 14 * DAY_MS  # 2024-05-01
    (local_day,) = past.klines(ETH, "1d", first_open=None, end_ms=None, limit=5, offset_ms=HOUR_MS)
    assert local_day.open_ms == WALL_T0 - HOUR_MS and local_day.trades == 96


def test_intervals_finer_than_the_past_candles_are_not_built_from_them() -> None:
    past = BackHistory(past_of(hours_of_candles(1), end_ms=WALL_T0), {ETH: SPEC})
    covered = {i for i in ("1s", "1m", "3m", "5m", "15m", "1h", "3d", "1w", "1M") if past.covers(i)}
    assert covered == {"5m", "15m", "1h", "3d", "1w", "1M"}


def test_finer_klines_are_built_from_the_past_trades_one_per_period_with_a_trade() -> None:
    past = BackHistory(past_of([rising(DATA_T0)], end_ms=WALL_T0), {ETH: SPEC})
    opened = WALL_T0 - FIVE_MINUTES
    minutes = past.fine_klines(ETH, "1m", first_open=None, end_ms=None, limit=500)
    # Trades at 1/8, 3/8, 5/8, 7/8 of the candle: minutes 0, 1, 3 and 4 (none in 2).
    assert [k.open_ms - opened for k in minutes] == [0, MINUTE_MS, 3 * MINUTE_MS, 4 * MINUTE_MS]
    assert [k.close for k in minutes] == [Decimal(p) for p in ("0.1", "0.09", "0.13", "0.12")]
    assert [(k.trades, k.first_trade_id) for k in minutes] == [(1, 1), (1, 2), (1, 3), (1, 4)]
    assert all(k.closed for k in minutes)
    seconds = past.fine_klines(ETH, "1s", first_open=None, end_ms=None, limit=2)
    assert [k.open_ms - opened for k in seconds] == [187_000, 262_000]  # 187.5 s, 262.5 s
    assert past.fine_klines(ETH, "1m", first_open=None, end_ms=opened - 1, limit=500) == []


def test_finer_klines_across_candle_boundaries_agree_with_the_trades() -> None:
    past = BackHistory(past_of(hours_of_candles(1), end_ms=WALL_T0), {ETH: SPEC})
    threes = past.fine_klines(ETH, "3m", first_open=None, end_ms=None, limit=500)
    assert len(threes) == 20 and sum(k.trades for k in threes) == 48
    trades = past.trades(ETH, 48)
    for kline in threes:  # a 3-minute kline may hold trades of two 5-minute candles
        inside = [t for t in trades if kline.open_ms <= t.time_ms <= kline.close_ms]
        assert (kline.open, kline.close) == (inside[0].price, inside[-1].price)
        assert kline.volume == sum(t.quantity for t in inside)
        assert (kline.first_trade_id, kline.last_trade_id) == (
            inside[0].trade_id,
            inside[-1].trade_id,
        )
    # The last N and the N from a start are whole klines, the same as in the full list.
    assert past.fine_klines(ETH, "3m", first_open=None, end_ms=None, limit=7) == threes[-7:]
    start = threes[5].open_ms
    assert past.fine_klines(ETH, "3m", first_open=start, end_ms=None, limit=3) == threes[5:8]
    until = past.fine_klines(ETH, "3m", first_open=None, end_ms=threes[9].open_ms + 1, limit=2)
    assert until == threes[8:10]


def test_the_last_klines_count_whole_klines_across_gaps_in_the_data() -> None:
    candles = [c for c in hours_of_candles(3) if c.open_ms != DATA_T0 + 30 * FIVE_MINUTES]
    past = BackHistory(past_of(candles, end_ms=WALL_T0), {ETH: SPEC})
    last = past.klines(ETH, "5m", first_open=None, end_ms=None, limit=10)
    assert len(last) == 10 and last[-1].open_ms == WALL_T0 - FIVE_MINUTES
    around_gap = past.klines(ETH, "5m", first_open=None, end_ms=WALL_T0 - 5 * FIVE_MINUTES, limit=2)
    assert [k.open_ms for k in around_gap] == [
        WALL_T0 - 7 * FIVE_MINUTES,
        WALL_T0 - 5 * FIVE_MINUTES,
    ]
    quarters = past.klines(ETH, "15m", first_open=None, end_ms=None, limit=2)
    assert [k.trades for k in quarters] == [8, 12]  # the first lacks a candle


def test_start_and_end_times_pick_past_klines_by_their_open() -> None:
    past = BackHistory(past_of(hours_of_candles(4), end_ms=WALL_T0), {ETH: SPEC})
    start = WALL_T0 - 4 * HOUR_MS
    from_start = past.klines(ETH, "1h", first_open=start + HOUR_MS, end_ms=None, limit=2)
    assert [k.open_ms for k in from_start] == [start + HOUR_MS, start + 2 * HOUR_MS]
    until = past.klines(ETH, "1h", first_open=start, end_ms=start + HOUR_MS, limit=500)
    assert [(k.open_ms, k.trades) for k in until] == [(start, 48), (start + HOUR_MS, 48)]
    assert past.klines(ETH, "1h", first_open=None, end_ms=start - 1, limit=500) == []
    assert past.klines(ETH, "1h", first_open=WALL_T0, end_ms=None, limit=500) == []


def test_a_window_starting_inside_a_past_candle_takes_its_later_trades() -> None:
    past = BackHistory(past_of(hours_of_candles(1), end_ms=WALL_T0), {ETH: SPEC})
    since = WALL_T0 - 2 * FIVE_MINUTES + 150_000  # after the candle's first two trades
    (part, whole) = past.traded_since(ETH, since)
    assert part.open_ms == WALL_T0 - 2 * FIVE_MINUTES and part.trades == 2
    assert (part.open, part.close) == (Decimal("0.13"), Decimal("0.12"))  # high, then close
    assert (part.first_trade_id, part.last_trade_id) == (43, 44)
    assert whole.open_ms == WALL_T0 - FIVE_MINUTES and whole.trades == 4


# -- joined to the live market ----------------------------------------------------------


class Market:
    """A matching engine whose trade ids continue the past's, to print live trades."""

    def __init__(self, first_trade_id: int) -> None:
        self.engine = MatchingEngine()
        self.engine.add_instrument(SPEC)
        self.engine._book(ETH).next_trade_id = first_trade_id
        for account in ("maker", "taker"):
            self.engine.deposit(account, "BTC", Decimal("1000"))
            self.engine.deposit(account, "ETH", Decimal("10000"))

    def trade(self, price: str, at_ms: int) -> Trade:
        ts_ns, qty = at_ms * 1_000_000, Decimal("1")
        self.engine.submit_limit("maker", ETH, Side.SELL, qty, Decimal(price), ts_ns=ts_ns)
        (trade,) = self.engine.submit_market(
            "taker", ETH, Side.BUY, quantity=qty, ts_ns=ts_ns
        ).trades
        return trade


def live_after(past: PastCandles, *offsets_ms: int) -> MarketHistory:
    """A history with `past`, then one live trade at each of `past.end_ms + offset`."""
    history = MarketHistory({ETH: SPEC}, past)
    market = Market(history.next_trade_id(ETH))
    trades = [market.trade("0.12", past.end_ms + offset) for offset in offsets_ms]
    history.record_trades(ETH, trades)
    return history


def test_live_klines_continue_the_past_without_gap_or_overlap() -> None:
    start = WALL_T0 + 10 * MINUTE_MS  # inside the hour 00:00-01:00
    history = live_after(past_of(hours_of_candles(2), end_ms=start), 30_000, 6 * MINUTE_MS)
    fives = history.klines(ETH, "5m", limit=4)
    assert [k.open_ms for k in fives] == [start + i * FIVE_MINUTES for i in range(-2, 2)]
    assert [k.trades for k in fives] == [4, 4, 1, 1]
    hour = history.klines(ETH, "1h", limit=1)[0]
    assert hour.open_ms == WALL_T0 and hour.trades == 2 * 4 + 2  # two past candles, two live
    assert (hour.first_trade_id, hour.last_trade_id) == (24 * 4 - 7, 24 * 4 + 2)
    minutes = history.klines(ETH, "1m", limit=12)  # the past's from its trades, then live
    assert [(k.open_ms - start) // MINUTE_MS for k in minutes] == list(range(-5, 7))
    assert [k.trades for k in minutes] == [1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1]  # 0: quiet
    recent = history.recent_trades(ETH, 6)
    assert [t.trade_id for t in recent] == list(range(24 * 4 - 3, 24 * 4 + 3))


def test_a_start_with_no_trade_in_its_first_candle_leaves_no_gap() -> None:
    # The venue started at the very end of a five-minute period: its market's first step
    # (no time elapsed, so no flow) was the only one inside it.
    start = WALL_T0
    history = live_after(past_of(hours_of_candles(1), end_ms=start), FIVE_MINUTES + 100)
    fives = history.klines(ETH, "5m", limit=3)
    assert [k.open_ms - start for k in fives] == [-FIVE_MINUTES, 0, FIVE_MINUTES]
    quiet, past_close = fives[1], fives[0].close
    assert (quiet.trades, quiet.volume) == (0, 0) and quiet.open == quiet.close == past_close


def test_start_and_end_times_span_the_past_and_the_live_market() -> None:
    start = WALL_T0
    history = live_after(past_of(hours_of_candles(1), end_ms=start), 1_000, 2_000)
    both = history.klines(ETH, "5m", start_ms=start - 2 * FIVE_MINUTES + 7, limit=500)
    assert [(k.open_ms, k.trades) for k in both] == [
        (start - 2 * FIVE_MINUTES, 4),
        (start - FIVE_MINUTES, 4),
        (start, 2),
    ]
    assert [k.open_ms for k in history.klines(ETH, "5m", start_ms=0, limit=2)] == [
        start - HOUR_MS,
        start - HOUR_MS + FIVE_MINUTES,
    ]
    past_only = history.klines(ETH, "5m", end_ms=start - 1, limit=500)
    assert len(past_only) == 12 and past_only[-1].open_ms == start - FIVE_MINUTES


def test_a_day_window_counts_the_past_trades_in_it() -> None:
    history = live_after(past_of(hours_of_candles(30), end_ms=WALL_T0), 1_000)
    window = history.traded_since(ETH, WALL_T0 - DAY_MS)
    assert sum(k.trades for k in window) == 24 * 12 * 4 + 1
    assert window[0].first_trade_id == 6 * 12 * 4 + 1 and window[-1].last_trade_id == 30 * 48 + 1


def test_kept_live_trades_and_minutes_never_drop_the_past_candles() -> None:
    past = past_of(hours_of_candles(48), end_ms=WALL_T0)
    history = live_after(past, *(i * MINUTE_MS for i in range(3000)))  # > 2 days of minutes
    assert len(history.klines(ETH, "1m", limit=1000, start_ms=0)) == 1000
    first_minute = history.klines(ETH, "1m", start_ms=0, limit=1)[0]
    assert first_minute.open_ms == WALL_T0 - 48 * HOUR_MS and first_minute.first_trade_id == 1
    live_minutes = history.klines(ETH, "1m", start_ms=WALL_T0, limit=1)
    assert live_minutes[0].open_ms > WALL_T0  # the first live minutes were dropped
    first_past = history.klines(ETH, "5m", start_ms=0, limit=1)[0]
    assert first_past.open_ms == WALL_T0 - 48 * HOUR_MS and first_past.trades == 4
    hours = history.klines(ETH, "1h", start_ms=0, limit=1000)
    # the past's, two flat ones where the minutes kept no more, then the live minutes'
    assert len(hours) == 48 + 2 + 48
    assert [k.trades for k in hours[48:50]] == [0, 0]


def test_trades_and_klines_agree_whatever_the_callers_decimal_rounding() -> None:
    # ccxt's decimal_to_precision sets its thread's context to half-up: trades synthesised
    # there and klines built in the server's thread disagreed by a tick on a half.
    halfway = candle(DATA_T0, "0.10000005", "0.13", "0.09", "0.12")  # 1000000.5 ticks
    past = BackHistory(past_of([halfway], end_ms=WALL_T0), {ETH: SPEC})
    with localcontext() as context:
        context.rounding = ROUND_HALF_UP
        first = past.trades(ETH, 4)[0]
    (minute, *_) = past.fine_klines(ETH, "1m", first_open=None, end_ms=None, limit=4)
    assert first.price == minute.open == Decimal("0.1000000")  # half-even, both
