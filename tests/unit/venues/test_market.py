from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest

from tradewind.errors import ConfigError
from tradewind.venues.simulated.market import (
    Candle,
    CandleReplay,
    SyntheticMarket,
    bundled_candles_dir,
    load_candles,
)


def test_the_synthetic_market_is_reproducible_from_its_seed() -> None:
    a, b = SyntheticMarket(seed=42, start_ms=0), SyntheticMarket(seed=42, start_ms=0)
    path_a = [a.price("BTC/USDT", t) for t in range(0, 600_000, 1000)]
    path_b = [b.price("BTC/USDT", t) for t in range(0, 600_000, 1000)]
    assert path_a == path_b
    assert len(set(path_a)) > 100, "the price should move"
    assert all(isinstance(p, Decimal) and p > 0 for p in path_a)


def test_different_seeds_give_different_paths() -> None:
    a, b = SyntheticMarket(seed=1, start_ms=0), SyntheticMarket(seed=2, start_ms=0)
    assert a.price("ETH/USDT", 3_600_000) != b.price("ETH/USDT", 3_600_000)


def test_synthetic_prices_stay_near_the_start_over_an_hour() -> None:
    market = SyntheticMarket(seed=3, start_ms=0)
    price = market.price("BTC/USDT", 3_600_000)
    assert Decimal("25000") < price < Decimal("36000")


def _candle(open_ms: int, o: str, h: str, low: str, c: str) -> Candle:
    return Candle(open_ms, Decimal(o), Decimal(h), Decimal(low), Decimal(c), Decimal("1"))


def test_replay_walks_through_a_rising_candle_open_low_high_close() -> None:
    candles = {
        "ETH/BTC": [_candle(0, "10", "13", "9", "12"), _candle(300_000, "12", "12", "12", "12")]
    }
    replay = CandleReplay(candles, speed=1.0, start_ms=1_000)
    assert replay.price("ETH/BTC", 1_000) == Decimal("10")
    assert replay.price("ETH/BTC", 1_000 + 100_000) == Decimal("9")
    assert replay.price("ETH/BTC", 1_000 + 200_000) == Decimal("13")
    assert replay.price("ETH/BTC", 1_000 + 300_000) == Decimal("12")


def test_replay_speed_compresses_time() -> None:
    candles = {"ETH/BTC": [_candle(0, "1", "1", "1", "1"), _candle(300_000, "2", "2", "2", "2")]}
    replay = CandleReplay(candles, speed=300.0, start_ms=0)
    assert replay.price("ETH/BTC", 1_000) == Decimal("2")  # 1 s at 300x = 5 minutes
    assert replay.finished(2_000)


def test_the_bundled_january_2018_candles_load_with_exact_prices() -> None:
    candles = load_candles(bundled_candles_dir())
    assert set(candles) == {
        "DASH/BTC",
        "ETC/BTC",
        "ETH/BTC",
        "LTC/BTC",
        "XLM/BTC",
        "XMR/BTC",
        "ZEC/BTC",
    }
    eth = candles["ETH/BTC"]
    assert len(eth) > 5_000
    assert eth[0].open == Decimal("0.0984")
    assert [c.open_ms for c in eth] == sorted(c.open_ms for c in eth)


def test_a_bad_candle_row_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "ETH-BTC.csv").write_text(
        "timestamp_ms,open,high,low,close,volume\n1,1,1,1,1,1\n2,1,oops,1,1,1\n"
    )
    with pytest.raises(ConfigError, match=r"ETH-BTC\.csv line 3"):
        load_candles(tmp_path)


def test_a_badly_named_candle_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ETHBTC.csv").write_text("1,1,1,1,1,1\n")
    with pytest.raises(ConfigError, match=r"BASE-QUOTE\.csv"):
        load_candles(tmp_path)


def test_an_empty_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no \*\.csv"):
        load_candles(tmp_path)


# -- the past: candles before the venue started ------------------------------------------

FIVE_MINUTES = 300_000


def _replay_data(count: int) -> dict[str, list[Candle]]:
    """`count` 5-minute candles from 2018-01-15 00:00 UTC, each opening at the last close."""
    t0 = 1_515_974_400_000
    candles = [
        Candle(
            t0 + i * FIVE_MINUTES,
            Decimal(100 + i),
            Decimal(102 + i),
            Decimal(99 + i),
            Decimal(101 + i),
            Decimal(1),
        )
        for i in range(count)
    ]
    return {"ETH/BTC": candles}


def test_a_replay_started_inside_its_data_plays_on_from_there_and_has_the_rest_as_past() -> None:
    data = _replay_data(10)
    eth = data["ETH/BTC"]
    now_ms = 1_715_731_412_345  # 2024-05-15 00:03:32.345 UTC
    replay = CandleReplay(data, speed=1.0, start_ms=now_ms, from_ms=eth[4].open_ms + 1)
    assert replay.from_ms == eth[4].open_ms  # rounded down to the candle grid
    assert replay.price("ETH/BTC", now_ms) == eth[4].open == eth[3].close
    past = replay.past_candles()
    assert past is not None and past.interval_ms == FIVE_MINUTES
    assert past.end_ms == 1_715_731_200_000  # the 5-minute boundary at or before now
    assert list(past.by_symbol["ETH/BTC"]) == eth[:4]
    assert all(a is b for a, b in zip(past.by_symbol["ETH/BTC"], eth[:4], strict=True))
    assert eth[3].open_ms + past.shift_ms == past.end_ms - FIVE_MINUTES


def test_a_replay_from_its_first_candle_has_no_past() -> None:
    assert CandleReplay(_replay_data(3), speed=60.0, start_ms=0).past_candles() is None


def test_a_replay_start_outside_its_data_is_refused() -> None:
    data = _replay_data(3)
    with pytest.raises(ValueError, match="outside the data"):
        CandleReplay(data, speed=1.0, start_ms=0, from_ms=data["ETH/BTC"][-1].open_ms + 1)


def _synthetic_past(seed: int, history_ms: int = 86_400_000) -> dict[str, list[Candle]]:
    market = SyntheticMarket(seed=seed, start_ms=1_715_731_412_345, history_ms=history_ms)
    past = market.past_candles()
    assert past is not None
    return {symbol: list(candles) for symbol, candles in past.by_symbol.items()}


def test_a_synthetic_past_is_the_same_for_the_same_seed_and_differs_by_seed() -> None:
    assert _synthetic_past(5) == _synthetic_past(5)
    assert _synthetic_past(5)["BTC/USDT"] != _synthetic_past(6)["BTC/USDT"]


def test_a_synthetic_past_ends_at_the_start_prices_on_five_minute_boundaries() -> None:
    market = SyntheticMarket(seed=8, start_ms=1_715_731_412_345, history_ms=86_400_000 + 1)
    past = market.past_candles()
    assert past is not None and past.shift_ms == 0 and past.end_ms == 1_715_731_200_000
    for symbol, candles in past.by_symbol.items():
        assert len(candles) == 288
        assert candles[-1].close == market.price(symbol, 1_715_731_412_345)
        assert [c.open_ms for c in candles] == [
            past.end_ms - (288 - i) * FIVE_MINUTES for i in range(288)
        ]
        assert all(a.close == b.open for a, b in itertools.pairwise(candles))
        assert all(c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high for c in candles)
        assert all(c.volume > 0 for c in candles)


def test_a_synthetic_market_without_history_has_no_past() -> None:
    assert SyntheticMarket(seed=1, start_ms=0).past_candles() is None
    with pytest.raises(ValueError, match="start_ms"):
        SyntheticMarket(seed=1, history_ms=86_400_000)
