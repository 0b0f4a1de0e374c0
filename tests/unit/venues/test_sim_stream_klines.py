"""What the kline streams push, with a driven clock: the candle being built while it
trades, each candle once more closed after it ends, where Binance's intervals start."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tradewind.domain.model import Side
from tradewind.venues.simulated.history import Kline, MarketHistory
from tradewind.venues.simulated.instruments import spec_for
from tradewind.venues.simulated.kline_intervals import DAY_MS, HOUR_MS, MINUTE_MS
from tradewind.venues.simulated.matching import MatchingEngine, Trade
from tradewind.venues.simulated.server.formatting import SymbolMap
from tradewind.venues.simulated.server.stream_klines import KlineStreams
from tradewind.venues.simulated.server.stream_names import parse_stream

BTC = "BTC/USDT"
SYMBOLS = SymbolMap([BTC])


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp() * 1000)


T0 = ms(2024, 5, 15)  # a Wednesday


class Market:
    """A one-symbol history printing real trades (a maker and a taker account) and the
    kline streams that follow it; the test says what time it is."""

    def __init__(self) -> None:
        spec = spec_for("sim", BTC, Decimal(30_000))
        self.engine = MatchingEngine()
        self.engine.add_instrument(spec)
        for account in ("maker", "taker"):
            self.engine.deposit(account, "USDT", Decimal(10_000_000))
            self.engine.deposit(account, "BTC", Decimal(100))
        self.history = MarketHistory({BTC: spec})
        self.streams = KlineStreams(self.history)
        self.last_trade_id = -1

    def trade(self, at_ms: int, taker: Side = Side.BUY, quantity: str = "0.5") -> Trade:
        maker_side = Side.SELL if taker is Side.BUY else Side.BUY
        qty, ts_ns = Decimal(quantity), at_ms * 1_000_000
        self.engine.submit_limit("maker", BTC, maker_side, qty, Decimal(30_000), ts_ns=ts_ns)
        (trade,) = self.engine.submit_market("taker", BTC, taker, quantity=qty, ts_ns=ts_ns).trades
        self.history.record_trades(BTC, [trade])
        self.last_trade_id = trade.trade_id
        return trade

    def push(self, name: str, now_ms: int) -> list[tuple[int, int, bool]]:
        """(open ms, trades, closed) of what stream `name` pushes at `now_ms`."""
        pushed = self.streams.flush(parse_stream(name, SYMBOLS), now_ms, self.last_trade_id)
        return [(k.open_ms, k.trades, closed) for k, closed in pushed]

    def candles(self, name: str, now_ms: int) -> list[tuple[Kline, bool]]:
        return self.streams.flush(parse_stream(name, SYMBOLS), now_ms, self.last_trade_id)


def test_a_minute_is_pushed_while_it_trades_and_once_closed() -> None:
    market = Market()
    market.trade(T0 + 10_000)
    assert market.push("btcusdt@kline_1m", T0 + 12_000) == [(T0, 1, False)]
    assert market.push("btcusdt@kline_1m", T0 + 14_000) == []  # nothing new
    market.trade(T0 + 30_000)
    assert market.push("btcusdt@kline_1m", T0 + 32_000) == [(T0, 2, False)]
    market.trade(T0 + MINUTE_MS + 500)
    assert market.push("btcusdt@kline_1m", T0 + MINUTE_MS + 1_000) == [
        (T0, 2, True),
        (T0 + MINUTE_MS, 1, False),
    ]


def test_an_hour_closes_at_its_end_even_when_nothing_trades_after() -> None:
    market = Market()
    market.trade(T0 + 5 * MINUTE_MS)
    assert market.push("btcusdt@kline_1h", T0 + 6 * MINUTE_MS) == [(T0, 1, False)]
    assert market.push("btcusdt@kline_1h", T0 + HOUR_MS - 1) == []
    assert market.push("btcusdt@kline_1h", T0 + HOUR_MS + 1_000) == [(T0, 1, True)]
    assert market.push("btcusdt@kline_1h", T0 + HOUR_MS + 3_000) == []


def test_one_second_candles_close_each_second_even_unseen_ones() -> None:
    market = Market()
    second = T0 + 7_000
    assert market.push("btcusdt@kline_1s", second + 50) == []  # nothing traded yet
    market.trade(second + 100)
    market.trade(second + 900)
    # the second traded between two pushes, never pushed live: it is pushed closed
    assert market.push("btcusdt@kline_1s", second + 1_050) == [(second, 2, True)]
    market.trade(second + 1_500)
    assert market.push("btcusdt@kline_1s", second + 1_600) == [(second + 1_000, 1, False)]
    assert market.push("btcusdt@kline_1s", second + 2_600) == [(second + 1_000, 1, True)]


def test_a_week_starts_on_monday() -> None:
    market = Market()
    sunday, monday = ms(2024, 5, 19, 23, 59, 59), ms(2024, 5, 20, 0, 0, 1)
    market.trade(sunday)
    ((week, closed),) = market.candles("btcusdt@kline_1w", sunday + 500)
    assert (week.open_ms, week.close_ms, closed) == (ms(2024, 5, 13), ms(2024, 5, 20) - 1, False)
    market.trade(monday)
    pushed = market.push("btcusdt@kline_1w", monday + 500)
    assert pushed == [(ms(2024, 5, 13), 1, True), (ms(2024, 5, 20), 1, False)]


def test_a_month_starts_on_the_first() -> None:
    market = Market()
    market.trade(ms(2024, 2, 29, 23, 59))
    ((february, _),) = market.candles("btcusdt@kline_1M", ms(2024, 2, 29, 23, 59, 30))
    assert (february.open_ms, february.close_ms) == (ms(2024, 2, 1), ms(2024, 3, 1) - 1)
    market.trade(ms(2024, 3, 1, 0, 0, 30))
    pushed = market.push("btcusdt@kline_1M", ms(2024, 3, 1, 0, 1))
    assert pushed == [(ms(2024, 2, 1), 1, True), (ms(2024, 3, 1), 1, False)]


def test_utc_plus_eight_days_start_at_sixteen_hundred_utc() -> None:
    market = Market()
    market.trade(ms(2024, 5, 15, 15, 59))
    market.trade(ms(2024, 5, 15, 16, 1))
    # the newcomer's first push: the day (in UTC+8) now holds only the second trade
    pushed = market.push("btcusdt@kline_1d@+08:00", ms(2024, 5, 15, 16, 2))
    assert pushed == [(ms(2024, 5, 15, 16), 1, False)]
    pushed = market.push("btcusdt@kline_1d@+08:00", ms(2024, 5, 15, 16) + DAY_MS)
    assert pushed == [(ms(2024, 5, 15, 16), 1, True)]


def test_a_newcomer_gets_the_current_candle_at_once() -> None:
    market = Market()
    market.trade(T0 + 1_000)
    assert market.push("btcusdt@kline_1m", T0 + 2_000) == [(T0, 1, False)]
    assert market.push("btcusdt@kline_1m", T0 + 4_000) == []
    market.streams.welcome("btcusdt@kline_1m", T0 + 5_000)  # a client subscribed
    assert market.push("btcusdt@kline_1m", T0 + 6_000) == [(T0, 1, False)]


def test_a_newcomer_does_not_cost_the_others_a_closed_candle() -> None:
    market = Market()
    market.trade(T0 + 1_000)
    assert market.push("btcusdt@kline_1m", T0 + 58_000) == [(T0, 1, False)]
    market.streams.welcome("btcusdt@kline_1m", T0 + 59_000)  # just before the minute ends
    market.trade(T0 + MINUTE_MS + 500)
    assert market.push("btcusdt@kline_1m", T0 + MINUTE_MS + 1_000) == [
        (T0, 1, True),
        (T0 + MINUTE_MS, 1, False),
    ]


def test_a_candle_traded_after_subscribing_is_pushed_closed_if_it_ends_before_a_push() -> None:
    market = Market()
    market.streams.welcome("btcusdt@kline_1m", T0 + 59_000)  # the first client subscribes
    market.trade(T0 + 59_500)  # the minute ends before the stream's first push
    assert market.push("btcusdt@kline_1m", T0 + MINUTE_MS + 1_000) == [(T0, 1, True)]


def test_a_forgotten_stream_starts_afresh() -> None:
    market = Market()
    market.trade(T0 + 1_000)
    assert market.push("btcusdt@kline_1m", T0 + 2_000) == [(T0, 1, False)]
    market.streams.forget("btcusdt@kline_1m")  # nobody listened; now someone does
    assert market.push("btcusdt@kline_1m", T0 + 3_000) == [(T0, 1, False)]


def test_candles_carry_trade_ids_and_taker_buy_volumes() -> None:
    market = Market()
    first = market.trade(T0 + 1_000, Side.BUY, "0.5")
    last = market.trade(T0 + 2_000, Side.SELL, "0.25")
    ((kline, _),) = market.candles("btcusdt@kline_1m", T0 + 3_000)
    assert (kline.first_trade_id, kline.last_trade_id) == (first.trade_id, last.trade_id)
    assert kline.taker_buy_volume == Decimal("0.5") and kline.volume == Decimal("0.75")
    assert kline.taker_buy_quote_volume == Decimal(15_000)
