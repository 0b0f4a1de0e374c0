"""The simulator's market history: candles carry taker-buy volumes and trade ids, and
aggregate into every Binance interval."""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.model import Side
from tradewind.venues.simulated.history import MarketHistory
from tradewind.venues.simulated.instruments import spec_for
from tradewind.venues.simulated.kline_intervals import DAY_MS, HOUR_MS, MINUTE_MS
from tradewind.venues.simulated.matching import MatchingEngine, Trade

BTC = "BTC/USDT"
T0_MS = 1_715_731_200_000  # 2024-05-15 00:00 UTC, a Wednesday


class Market:
    """A matching engine with one maker and one taker account, to print real trades."""

    def __init__(self) -> None:
        self.spec = spec_for("sim", BTC, Decimal("30000"))
        self.engine = MatchingEngine()
        self.engine.add_instrument(self.spec)
        for account in ("maker", "taker"):
            self.engine.deposit(account, "USDT", Decimal("1000000"))
            self.engine.deposit(account, "BTC", Decimal("100"))

    def trade(self, taker_side: Side, price: str, quantity: str, at_ms: int) -> Trade:
        """One trade at `price`, the taker on `taker_side`, printed at `at_ms`."""
        maker_side = Side.SELL if taker_side is Side.BUY else Side.BUY
        ts_ns = at_ms * 1_000_000
        qty = Decimal(quantity)
        self.engine.submit_limit("maker", BTC, maker_side, qty, Decimal(price), ts_ns=ts_ns)
        result = self.engine.submit_market("taker", BTC, taker_side, quantity=qty, ts_ns=ts_ns)
        (trade,) = result.trades
        return trade


def history_of(trades: list[Trade]) -> MarketHistory:
    history = MarketHistory({BTC: Market().spec})
    history.record_trades(BTC, trades)
    return history


def test_a_minute_counts_the_taker_buys_and_its_first_and_last_trade() -> None:
    market = Market()
    trades = [
        market.trade(Side.BUY, "30000", "0.5", T0_MS + 1_000),
        market.trade(Side.SELL, "29990", "0.25", T0_MS + 2_000),
        market.trade(Side.BUY, "30010", "0.125", T0_MS + 59_999),
    ]
    (minute,) = history_of(trades).klines(BTC, "1m")
    assert (minute.open, minute.high, minute.low, minute.close) == (
        Decimal("30000"),
        Decimal("30010"),
        Decimal("29990"),
        Decimal("30010"),
    )
    assert minute.volume == Decimal("0.875") and minute.trades == 3
    assert minute.taker_buy_volume == Decimal("0.625")
    assert minute.taker_buy_quote_volume == Decimal("15000") + Decimal("3751.25")
    assert (minute.first_trade_id, minute.last_trade_id) == (
        trades[0].trade_id,
        trades[-1].trade_id,
    )


def test_second_candles_serve_the_1s_interval() -> None:
    market = Market()
    trades = [
        market.trade(Side.BUY, "30000", "0.5", T0_MS + 1_200),
        market.trade(Side.BUY, "30001", "0.5", T0_MS + 1_900),
        market.trade(Side.SELL, "29999", "0.5", T0_MS + 3_100),
    ]
    seconds = history_of(trades).klines(BTC, "1s")
    assert [(k.open_ms, k.close_ms, k.trades) for k in seconds] == [
        (T0_MS + 1_000, T0_MS + 1_999, 2),
        (T0_MS + 2_000, T0_MS + 2_999, 0),  # quiet
        (T0_MS + 3_000, T0_MS + 3_999, 1),
    ]


def test_a_period_without_a_trade_is_a_flat_candle_at_the_last_price() -> None:
    """Binance generates a kline even if nothing traded; none before the first trade
    served or after the last."""
    market = Market()
    trades = [
        market.trade(Side.BUY, "30000", "0.5", T0_MS + 10_000),
        market.trade(Side.SELL, "29990", "0.5", T0_MS + 20_000),
        market.trade(Side.BUY, "30050", "0.5", T0_MS + 4 * MINUTE_MS + 1),
    ]
    minutes = history_of(trades).klines(BTC, "1m")
    assert [k.open_ms - T0_MS for k in minutes] == [m * MINUTE_MS for m in range(5)]
    for quiet in minutes[1:4]:
        assert (quiet.open, quiet.high, quiet.low, quiet.close) == (Decimal("29990"),) * 4
        assert quiet.volume == quiet.quote_volume == quiet.taker_buy_volume == 0
        assert (quiet.trades, quiet.first_trade_id, quiet.last_trade_id) == (0, -1, -1)
        assert quiet.closed
    assert minutes[4].close == Decimal("30050")


def test_quiet_periods_count_against_the_limit_from_either_end() -> None:
    market = Market()
    first = market.trade(Side.BUY, "30000", "0.5", T0_MS)
    last = market.trade(Side.BUY, "30100", "0.5", T0_MS + HOUR_MS)  # an hour of quiet
    history = history_of([first, last])
    newest = history.klines(BTC, "1s", limit=3)
    assert [k.open_ms - T0_MS for k in newest] == [HOUR_MS - 2_000, HOUR_MS - 1_000, HOUR_MS]
    assert [k.trades for k in newest] == [0, 0, 1]
    oldest = history.klines(BTC, "1s", start_ms=T0_MS, limit=3)
    assert [k.open_ms - T0_MS for k in oldest] == [0, 1_000, 2_000]
    assert [k.trades for k in oldest] == [1, 0, 0]
    everything = history.klines(BTC, "1m", limit=1000)
    assert len(everything) == 61 and everything[-1].close == Decimal("30100")


def test_quiet_months_follow_the_calendar() -> None:
    market = Market()
    january, april = 1_704_067_200_000, 1_711_929_600_000  # 2024-01-01, 2024-04-01
    history = history_of(
        [market.trade(Side.BUY, "30000", "1", january), market.trade(Side.BUY, "30000", "1", april)]
    )
    months = history.klines(BTC, "1M")
    assert [k.interval_ms // DAY_MS for k in months] == [31, 29, 31, 30]
    assert [k.trades for k in months] == [1, 0, 0, 1]


def test_wider_candles_sum_their_minutes_and_keep_the_outer_trade_ids() -> None:
    market = Market()
    trades = [
        market.trade(Side.BUY, "30000", "1", T0_MS + 5 * MINUTE_MS),
        market.trade(Side.SELL, "29000", "2", T0_MS + 7 * HOUR_MS),
        market.trade(Side.BUY, "31000", "3", T0_MS + 13 * HOUR_MS),
    ]
    history = history_of(trades)
    (six_hours_a, six_hours_b, six_hours_c) = history.klines(BTC, "6h")
    assert [k.open_ms for k in (six_hours_a, six_hours_b, six_hours_c)] == [
        T0_MS,
        T0_MS + 6 * HOUR_MS,
        T0_MS + 12 * HOUR_MS,
    ]
    (day,) = history.klines(BTC, "1d")
    assert (day.open, day.high, day.low, day.close) == (
        Decimal("30000"),
        Decimal("31000"),
        Decimal("29000"),
        Decimal("31000"),
    )
    assert day.volume == 6 and day.taker_buy_volume == 4
    assert (day.first_trade_id, day.last_trade_id) == (trades[0].trade_id, trades[2].trade_id)


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    market = Market()
    history = history_of([market.trade(Side.BUY, "30000", "1", T0_MS + HOUR_MS)])
    (week,) = history.klines(BTC, "1w")
    assert week.open_ms == T0_MS - 2 * DAY_MS  # Monday 2024-05-13
    assert week.close_ms == week.open_ms + 7 * DAY_MS - 1
    (month,) = history.klines(BTC, "1M")
    assert month.open_ms == T0_MS - 14 * DAY_MS  # 2024-05-01
    assert month.close_ms == month.open_ms + 31 * DAY_MS - 1
    (local_day,) = history.klines(BTC, "1d", offset_ms=-2 * HOUR_MS)
    assert local_day.open_ms == T0_MS - 22 * HOUR_MS  # 2024-05-14 00:00 at UTC-2


def test_start_and_end_times_select_whole_candles_by_their_open() -> None:
    market = Market()
    trades = [market.trade(Side.BUY, "30000", "1", T0_MS + i * MINUTE_MS + 10) for i in range(7)]
    history = history_of(trades)
    chosen = history.klines(BTC, "1m", start_ms=T0_MS + 2 * MINUTE_MS + 30_000, limit=2)
    assert [k.open_ms for k in chosen] == [T0_MS + 2 * MINUTE_MS, T0_MS + 3 * MINUTE_MS]
    until = history.klines(BTC, "3m", end_ms=T0_MS + 3 * MINUTE_MS)
    assert [(k.open_ms, k.trades) for k in until] == [(T0_MS, 3), (T0_MS + 3 * MINUTE_MS, 3)]


def test_trades_from_an_id_come_oldest_first() -> None:
    market = Market()
    trades = [market.trade(Side.BUY, "30000", "1", T0_MS + i) for i in range(5)]
    history = history_of(trades)
    first = trades[0].trade_id
    assert [t.trade_id for t in history.trades_from(BTC, first + 2, 2)] == [first + 2, first + 3]
    assert history.trades_from(BTC, first + 10, 5) == []
