"""What the ticker and average price streams push each second, with a driven clock: only
what changed, every symbol of an all-market stream at first, REST's numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tradewind.domain.model import OrderType, Side
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.kline_intervals import DAY_MS, HOUR_MS, MINUTE_MS
from tradewind.venues.simulated.market import SyntheticMarket, SyntheticSpec
from tradewind.venues.simulated.server.formatting import SymbolMap
from tradewind.venues.simulated.server.rest_market_tickers import _day_ticker
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.stream_names import parse_stream
from tradewind.venues.simulated.server.stream_tickers import TickerStreams
from tradewind.venues.simulated.server.ticker_stats import average_price

BTC, ETH = "BTC/USDT", "ETH/USDT"
START_MS = 1_715_731_230_000  # 2024-05-15 00:00:30 UTC


class Venue:
    """An exchange on a clock the test moves, one trading account, the ticker streams."""

    def __init__(self) -> None:
        self.now_ms = START_MS
        prices = SyntheticMarket(
            {BTC: SyntheticSpec(Decimal(30_000)), ETH: SyntheticSpec(Decimal(2_000))},
            start_ms=START_MS,
        )
        self.exchange = SimulatedExchange(prices, clock=lambda: self.now_ms * 1_000_000)
        self.exchange.step()  # the liquidity provider quotes
        self.account = self.exchange.create_account(
            {"USDT": Decimal(1_000_000), "BTC": Decimal(10), "ETH": Decimal(100)}
        ).account_id
        self.symbols = SymbolMap(self.exchange.specs)
        self.streams = TickerStreams(self.exchange, self.symbols)

    def buy(self, symbol: str, quantity: str = "0.01") -> None:
        self.exchange.submit_order(
            self.account, symbol, Side.BUY, OrderType.MARKET, quantity=Decimal(quantity)
        )

    def push(self, *names: str) -> dict[str, Any]:
        """What each of the streams `names` pushes now, decoded, by stream name."""
        streams = [parse_stream(name, self.symbols) for name in names]
        return {name: json.loads(text) for name, text in self.streams.flush(streams, self.now_ms)}


def traded_venue() -> Venue:
    venue = Venue()
    venue.buy(BTC)
    venue.buy(ETH, "0.1")
    venue.now_ms += 1_000
    return venue


NAMES = ("!miniTicker@arr", "btcusdt@ticker", "ethusdt@ticker_1h", "btcusdt@avgPrice")


def test_the_first_push_holds_everything_then_only_changes() -> None:
    venue = traded_venue()
    first = venue.push(*NAMES)
    assert set(first) == set(NAMES)
    assert [t["s"] for t in first["!miniTicker@arr"]] == ["BTCUSDT", "ETHUSDT"]
    venue.now_ms += 1_000
    assert venue.push(*NAMES) == {}  # nothing traded, the book stood still
    venue.buy(BTC)
    venue.now_ms += 1_000
    changed = venue.push(*NAMES)
    assert set(changed) == {"!miniTicker@arr", "btcusdt@ticker", "btcusdt@avgPrice"}
    assert [t["s"] for t in changed["!miniTicker@arr"]] == ["BTCUSDT"]
    assert changed["btcusdt@ticker"]["n"] == first["btcusdt@ticker"]["n"] + 1


def test_a_newcomer_gets_the_whole_array_again() -> None:
    venue = traded_venue()
    venue.push("!miniTicker@arr")
    venue.now_ms += 1_000
    assert venue.push("!miniTicker@arr") == {}
    venue.streams.forget("!miniTicker@arr")  # a client subscribed
    again = venue.push("!miniTicker@arr")
    assert [t["s"] for t in again["!miniTicker@arr"]] == ["BTCUSDT", "ETHUSDT"]


def test_the_24_hour_ticker_says_what_rest_says() -> None:
    venue = traded_venue()
    venue.buy(BTC, "0.02")
    pushed = venue.push("btcusdt@ticker")["btcusdt@ticker"]
    rest = _day_ticker(ServerState(venue.exchange), BTC, "BTCUSDT", venue.now_ms, mini=False)
    keys = {
        "p": "priceChange", "P": "priceChangePercent", "w": "weightedAvgPrice",
        "x": "prevClosePrice", "c": "lastPrice", "Q": "lastQty", "b": "bidPrice",
        "B": "bidQty", "a": "askPrice", "A": "askQty", "o": "openPrice", "h": "highPrice",
        "l": "lowPrice", "v": "volume", "q": "quoteVolume", "O": "openTime", "C": "closeTime",
        "F": "firstId", "L": "lastId", "n": "count",
    }  # fmt: skip
    assert {short: pushed[short] for short in keys} == {
        short: rest[long] for short, long in keys.items()
    }
    assert pushed["E"] == venue.now_ms and pushed["O"] == venue.now_ms - DAY_MS


def test_a_rolling_window_opens_on_the_minute_and_lets_old_trades_go() -> None:
    venue = traded_venue()
    first = venue.push("ethusdt@ticker_1h")["ethusdt@ticker_1h"]
    assert first["e"] == "1hTicker" and first["n"] == 1
    assert first["O"] == (venue.now_ms - HOUR_MS) // MINUTE_MS * MINUTE_MS
    venue.now_ms += HOUR_MS + MINUTE_MS  # the trade is out of the window
    later = venue.push("ethusdt@ticker_1h")["ethusdt@ticker_1h"]
    assert (later["n"], later["F"], later["L"], later["v"]) == (0, -1, -1, "0.00000000")


def test_the_average_price_is_rests_five_minute_price() -> None:
    venue = traded_venue()
    pushed = venue.push("btcusdt@avgPrice")["btcusdt@avgPrice"]
    last = venue.exchange.engine.last_price(BTC)
    assert last is not None
    price, trade_ms = average_price(venue.exchange.history, BTC, venue.now_ms, last)
    assert (Decimal(pushed["w"]), pushed["T"], pushed["i"]) == (price, trade_ms, "5m")
    assert pushed["T"] == venue.exchange.history.recent_trades(BTC, 1)[-1].time_ms
