from __future__ import annotations

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
