"""The venue the third-party client tests run against, and what they check with.

- `serving(mode, seed, directory)`: the simulated exchange in a thread on a free port, its
  market moving, in either market mode: `synthetic` (seeded with this run's seed),
  `replay` of candles freshly generated from that seed (written to `directory`) — both
  markets no test saw before; set TRADEWIND_THIRD_PARTY_SEED to replay a run — or
  `bundled`, a replay of the candles shipped with the venue.
- `Market`: the traded symbol's filters, read from exchangeInfo, and order sizes and
  prices derived from them.
- `Traders`: two helper accounts of the test itself (raw signed HTTP, not the client
  under test) that print a trade at a chosen price: how a stop order is made to trigger
  while the market moves on its own.
- `check_balances`: the venue's balances of an account, to the last decimal, against its
  initial funding and the fills it got (commissions recomputed from its fee rates).
"""

from __future__ import annotations

import math
import os
import random
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import httpx

from tests.integration.venues.sim_rest_support import Account, BinanceClient, open_account
from tradewind.venues.simulated.server.serve import build_state, serving_in_thread
from tradewind.venues.simulated.server.state import ServerState

D = Decimal
MODES = ("synthetic", "replay", "bundled")
SEED_VARIABLE = "TRADEWIND_THIRD_PARTY_SEED"
WAIT_S = 10.0  # every bounded wait of these tests
_REPLAY_SYMBOL = "ETHBTC"  # quoted in BTC, like the bundled candles
_SYNTHETIC_SYMBOL = "BTCUSDT"
_CANDLE_MS = 5 * 60_000
_CANDLES = 3 * 288  # three days: two of past (`start="2d"`), one to replay live


def run_seed() -> int:
    """This run's seed: TRADEWIND_THIRD_PARTY_SEED if set, else a fresh random one."""
    given = os.environ.get(SEED_VARIABLE)
    return int(given) if given else secrets.randbits(32)


SEED = run_seed()


@dataclass(frozen=True)
class Market:
    symbol: str  # Binance's, e.g. BTCUSDT
    base: str
    quote: str
    tick: Decimal
    step: Decimal
    min_notional: Decimal

    @classmethod
    def read(cls, base_url: str, symbol: str) -> Market:
        info = httpx.get(f"{base_url}/api/v3/exchangeInfo", params={"symbol": symbol}).json()
        (entry,) = info["symbols"]
        filters = {f["filterType"]: f for f in entry["filters"]}
        return cls(
            symbol=symbol,
            base=entry["baseAsset"],
            quote=entry["quoteAsset"],
            tick=D(filters["PRICE_FILTER"]["tickSize"]).normalize(),
            step=D(filters["LOT_SIZE"]["stepSize"]).normalize(),
            min_notional=D(filters["NOTIONAL"]["minNotional"]),
        )

    def price(self, value: Decimal, rounding: str = ROUND_FLOOR) -> Decimal:
        return (value / self.tick).to_integral_value(rounding) * self.tick

    def quantity(self, value: Decimal) -> Decimal:
        return (value / self.step).to_integral_value(ROUND_CEILING) * self.step

    def order_quantity(self, price: Decimal) -> Decimal:
        """A quantity worth 4 minimum notionals at `price`: still above the minimum at
        60% of it (the passive orders' prices)."""
        return self.quantity(self.min_notional * 4 / price)


def text(value: Decimal) -> str:
    """A decimal as a client sends it: plain, no exponent, no trailing zeros."""
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class Venue:
    url: str  # http://127.0.0.1:PORT
    state: ServerState
    market: Market
    mode: str
    seed: int

    @property
    def ws_url(self) -> str:  # ws://127.0.0.1:PORT
        return "ws" + self.url.removeprefix("http")

    def open_account(self, balances: Mapping[str, Decimal]) -> Account:
        return open_account(self.url, {a: text(v) for a, v in balances.items()})

    def top(self) -> tuple[Decimal, Decimal]:
        """Best bid and best ask now."""
        book = httpx.get(
            f"{self.url}/api/v3/ticker/bookTicker", params={"symbol": self.market.symbol}
        ).json()
        return D(book["bidPrice"]), D(book["askPrice"])

    def last_price(self) -> Decimal:
        ticker = httpx.get(
            f"{self.url}/api/v3/ticker/price", params={"symbol": self.market.symbol}
        ).json()
        return D(ticker["price"])

    def funding(self) -> dict[str, Decimal]:
        """What a tested account starts with: 40 order quantities of base, and quote for
        as many orders at twice the ask."""
        _, ask = self.top()
        quantity = self.market.order_quantity(ask)
        return {
            self.market.base: quantity * 40,
            self.market.quote: self.market.price(quantity * ask * 80, ROUND_CEILING),
        }


def write_candles(directory: Path, seed: int) -> None:
    """5-minute candles for ETH-BTC and BTC-USDT, a random walk from `seed`."""
    rng = random.Random(seed)
    start_ms = (1_600_000_000_000 + rng.randrange(0, 10**11)) // _CANDLE_MS * _CANDLE_MS
    for name, price in (("ETH-BTC", 0.02 + rng.random() * 0.06), ("BTC-USDT", 20_000.0)):
        rows = ["timestamp_ms,open,high,low,close,volume"]
        for i in range(_CANDLES):
            close = price * math.exp(rng.gauss(0, 0.0015))
            high = max(price, close) * (1 + abs(rng.gauss(0, 0.0005)))
            low = min(price, close) * (1 - abs(rng.gauss(0, 0.0005)))
            volume = 10 + rng.random() * 90
            rows.append(
                f"{start_ms + i * _CANDLE_MS},{price:.8f},{high:.8f},{low:.8f},"
                f"{close:.8f},{volume:.4f}"
            )
            price = close
        (directory / f"{name}.csv").write_text("\n".join(rows) + "\n")


@contextmanager
def serving(mode: str, seed: int, directory: Path) -> Iterator[Venue]:
    """The venue in `mode` on fresh prices from `seed`, once its book is quoted and a live
    trade printed."""
    if mode == "synthetic":
        state, symbol = build_state("synthetic", seed=seed), _SYNTHETIC_SYMBOL
    elif mode == "bundled":  # the candles shipped with the venue (January 2018)
        state, symbol = build_state("replay:", seed=seed), _REPLAY_SYMBOL
    else:
        write_candles(directory, seed)
        state, symbol = build_state(f"replay:{directory}", seed=seed, start="2d"), _REPLAY_SYMBOL
    print(f"third-party venue: market {mode}, seed {seed} ({SEED_VARIABLE}={seed} to rerun)")
    with serving_in_thread(state) as url:
        market = Market.read(url, symbol)
        client = BinanceClient(url)
        try:
            since = client.public("/api/v3/time").json()["serverTime"]  # live trades only
            live = {"symbol": symbol, "interval": "1s", "startTime": since, "limit": 1}
            for _ in range(int(WAIT_S / 0.05)):
                if (
                    client.public("/api/v3/klines", **live).json()
                    and client.public("/api/v3/depth", symbol=symbol, limit=5).json()["asks"]
                ):
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"the venue neither quoted nor traded in {WAIT_S:g} s")
        finally:
            client.close()
        yield Venue(url, state, market, mode, seed)


# -- helper accounts that print trades ---------------------------------------------------


class Traders:
    """A maker and a taker account, funded without limit, trading with raw signed HTTP
    (not the client under test)."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        market = venue.market
        _, ask = venue.top()
        lots = market.order_quantity(ask) * 10_000
        funds = {market.base: lots, market.quote: market.price(lots * ask * 4, ROUND_CEILING)}
        self.maker = BinanceClient(venue.url, venue.open_account(funds))
        self.taker = BinanceClient(venue.url, venue.open_account(funds))

    def close(self) -> None:
        self.maker.close()
        self.taker.close()

    def print_through(self, price: Decimal, *, up: bool) -> None:
        """Make the market print a trade at `price`: the maker rests an order there and
        the taker's IOC order takes everything up to it (`up`: asks up to `price`, a
        trade at or above it; else bids down to it, a trade at or below it)."""
        market = self.venue.market
        depth = self.taker.public("/api/v3/depth", symbol=market.symbol, limit=1000).json()
        levels = depth["asks"] if up else depth["bids"]
        reached = [D(q) for p, q in levels if (D(p) <= price if up else D(p) >= price)]
        own = market.order_quantity(price)
        maker_side, taker_side = ("SELL", "BUY") if up else ("BUY", "SELL")
        common = {"symbol": market.symbol, "type": "LIMIT", "price": text(price)}
        made = self.maker.order(**common, side=maker_side, timeInForce="GTC", quantity=text(own))
        assert made.status_code == 200, made.text
        taken = self.taker.order(
            **common, side=taker_side, timeInForce="IOC", quantity=text(sum(reached, own))
        )
        assert taken.status_code == 200, taken.text
        cancel = self.maker.signed("DELETE", "/api/v3/openOrders", {"symbol": market.symbol})
        assert cancel.status_code == 200 or cancel.json()["code"] == -2011, cancel.text


def stop_price(venue: Venue, *, up: bool) -> Decimal:
    """A stop price the last trade has not reached (`up`: above it), near the middle of
    the book, where `Traders.print_through` reaches it with little sweeping."""
    market = venue.market
    bid, ask = venue.top()
    last = venue.last_price()
    middle = market.price((bid + ask) / 2)
    if up:
        return max(middle, last + market.tick * 2)
    return min(middle, last - market.tick * 2)


# -- balances ----------------------------------------------------------------------------


def venue_balances(base_url: str, account_id: str) -> dict[str, tuple[Decimal, Decimal]]:
    """The venue's own record of the account: (free, locked) in full precision."""
    held = httpx.get(f"{base_url}/sim/v1/accounts/{account_id}/balances").json()
    return {a: (D(b["free"]), D(b["locked"])) for a, b in held.items()}


def venue_trade_ids(base_url: str, account_id: str) -> set[int]:
    trades = httpx.get(f"{base_url}/sim/v1/accounts/{account_id}/trades").json()
    return {int(t["trade_id"]) for t in trades}


def _fee(amount: Decimal, rate: Decimal) -> Decimal:
    """Binance's commission: a whole 10**-8 of the asset received, rounded down."""
    return (amount * rate).quantize(D("0.00000001"), ROUND_DOWN)


def expected_balances(
    market: Market,
    initial: Mapping[str, Decimal],
    my_trades: list[dict[str, Any]],
    *,
    maker_rate: Decimal,
    taker_rate: Decimal,
) -> dict[str, Decimal]:
    """The account's balances implied by its initial funding and its trades (myTrades
    rows), checking each trade's quote quantity and commission on the way."""
    held = {market.base: initial[market.base], market.quote: initial[market.quote]}
    for trade in my_trades:
        price, quantity = D(trade["price"]), D(trade["qty"])
        # Binance's quoteQty: price * quantity rounded down to a whole 10**-8.
        quote_quantity = (price * quantity).quantize(D("0.00000001"), ROUND_DOWN)
        assert D(trade["quoteQty"]) == quote_quantity, trade
        rate = maker_rate if trade["isMaker"] else taker_rate
        commission = D(trade["commission"])
        if trade["isBuyer"]:
            assert trade["commissionAsset"] == market.base, trade
            assert commission == _fee(quantity, rate), (trade, rate)
            held[market.base] += quantity - commission
            held[market.quote] -= quote_quantity
        else:
            assert trade["commissionAsset"] == market.quote, trade
            assert commission == _fee(quote_quantity, rate), (trade, rate)
            held[market.base] -= quantity
            held[market.quote] += quote_quantity - commission
    return held


def check_balances(
    venue: Venue,
    account: Account,
    initial: Mapping[str, Decimal],
    my_trades: list[dict[str, Any]],
    account_info: dict[str, Any],
    commission: dict[str, Any],
    fill_ids: set[int],
) -> dict[str, Decimal]:
    """With nothing left open: the venue's balances (full precision) equal what the
    trades imply, to the last decimal; the client's account endpoint shows them rounded
    down to 8 decimals; the client's myTrades are the venue's trades of the account and
    include every fill the client was told of (`fill_ids`)."""
    market = venue.market
    rates = commission["standardCommission"]
    expected = expected_balances(
        market,
        initial,
        my_trades,
        maker_rate=D(rates["maker"]),
        taker_rate=D(rates["taker"]),
    )
    ids = {int(t["id"]) for t in my_trades}
    assert len(ids) == len(my_trades)
    assert ids == venue_trade_ids(venue.url, account.account_id)
    assert fill_ids <= ids, fill_ids - ids
    held = venue_balances(venue.url, account.account_id)
    for asset, amount in expected.items():
        assert held[asset] == (amount, D(0)), (asset, held[asset], amount)
    shown = {b["asset"]: b for b in account_info["balances"]}
    for asset, amount in expected.items():
        assert D(shown[asset]["free"]) == amount.quantize(D("0.00000001"), ROUND_DOWN)
        assert D(shown[asset]["locked"]) == 0
    return expected
