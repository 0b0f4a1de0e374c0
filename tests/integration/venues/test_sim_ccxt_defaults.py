"""Unmodified ccxt `binance` (4.5.90) with its default options, only its URLs re-hosted,
against the simulated venue: `load_markets()` succeeds with the calls it makes by
default (futures exchangeInfo, wallet coins, margin pairs), markets carry real maxima,
and the further endpoints answer through ccxt's own signing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt  # type: ignore[import-untyped]
import pytest

from tests.integration.venues.sim_rest_support import Account, open_account, running_venue

LOAD_MARKETS_CALLS = {
    "/api/v3/exchangeInfo",
    "/fapi/v1/exchangeInfo",
    "/dapi/v1/exchangeInfo",
    "/sapi/v1/capital/config/getall",
    "/sapi/v1/margin/allPairs",
    "/sapi/v1/margin/isolated/allPairs",
}


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    with running_venue() as (url, _):
        yield url


class Recorded:
    """A default ccxt binance re-hosted on the venue, recording the paths it calls."""

    def __init__(self, venue_url: str, account: Account | None) -> None:
        keys = {"apiKey": account.api_key, "secret": account.secret} if account else {}
        self.exchange = ccxt.binance({**keys, "enableRateLimit": False})
        api = self.exchange.urls["api"]
        for key, url in list(api.items()):
            if isinstance(url, str):  # re-host every REST url, keeping its path
                api[key] = venue_url + urlsplit(url).path
        self.paths: list[str] = []
        fetch = self.exchange.fetch

        async def recording_fetch(
            url: str, method: str = "GET", headers: Any = None, body: Any = None
        ) -> Any:
            self.paths.append(urlsplit(url).path)
            return await fetch(url, method, headers, body)

        self.exchange.fetch = recording_fetch


@pytest.fixture
async def with_keys(venue_url: str) -> AsyncIterator[Recorded]:
    recorded = Recorded(venue_url, open_account(venue_url, {"USDT": "1000", "BTC": "0.1"}))
    try:
        yield recorded
    finally:
        await recorded.exchange.close()


async def test_default_load_markets_succeeds_with_real_limits(with_keys: Recorded) -> None:
    markets = await with_keys.exchange.load_markets()
    assert set(with_keys.paths) == LOAD_MARKETS_CALLS
    btc = markets["BTC/USDT"]
    assert btc["spot"] and btc["active"] and btc["margin"] is False
    assert btc["limits"]["price"]["max"] == 1_000_000
    assert btc["limits"]["cost"]["max"] == 9_000_000
    assert all(m["limits"]["price"]["max"] > 0 for m in markets.values())
    assert all(m["limits"]["cost"]["max"] > 0 for m in markets.values())
    usdt = with_keys.exchange.currencies["USDT"]
    assert set(usdt["networks"]) == {"ERC20", "TRC20", "BEP20"}
    assert usdt["networks"]["ERC20"]["withdraw"] is False


async def test_default_load_markets_without_keys_skips_the_private_calls(venue_url: str) -> None:
    recorded = Recorded(venue_url, None)
    try:
        markets = await recorded.exchange.load_markets()
    finally:
        await recorded.exchange.close()
    assert set(recorded.paths) == {
        "/api/v3/exchangeInfo",
        "/fapi/v1/exchangeInfo",
        "/dapi/v1/exchangeInfo",
    }
    assert markets["ETH/USDT"]["limits"]["cost"]["max"] == 9_000_000


@pytest.mark.parametrize("timeframe", ["1s", "6h", "8h", "12h", "3d", "1w", "1M"])
async def test_fetch_ohlcv_takes_every_binance_timeframe(
    with_keys: Recorded, timeframe: str
) -> None:
    candles = await with_keys.exchange.fetch_ohlcv("BTC/USDT", timeframe)
    assert candles and all(len(c) == 6 for c in candles)
    opened = datetime.fromtimestamp(candles[-1][0] / 1000, UTC)
    if timeframe == "1w":
        assert opened.weekday() == 0 and opened.hour == 0
    if timeframe == "1M":
        assert opened.day == 1 and opened.hour == 0


async def test_further_endpoints_answer_through_ccxt_signing(with_keys: Recorded) -> None:
    exchange = with_keys.exchange
    old = await exchange.public_get_historicaltrades({"symbol": "BTCUSDT", "limit": 5})
    assert 1 <= len(old) <= 5
    average = await exchange.public_get_avgprice({"symbol": "BTCUSDT"})
    assert average["mins"] == 5
    rolling = await exchange.public_get_ticker({"symbol": "BTCUSDT", "windowSize": "1h"})
    assert rolling["symbol"] == "BTCUSDT"
    day = await exchange.public_get_ticker_tradingday({"symbol": "BTCUSDT", "timeZone": "8"})
    assert day["closeTime"] - day["openTime"] == 86_400_000 - 1
    ui = await exchange.public_get_uiklines({"symbol": "BTCUSDT", "interval": "1M"})
    assert ui
    rates = await exchange.private_get_account_commission({"symbol": "BTCUSDT"})
    assert rates["standardCommission"]["taker"] == "0.00100000"
    counts = await exchange.private_get_ratelimit_order()
    assert [c["interval"] for c in counts] == ["SECOND", "DAY"]
    status = await exchange.sapi_get_account_apitradingstatus()
    assert status["data"]["isLocked"] is False


async def test_an_unknown_route_is_a_bad_request_to_ccxt(with_keys: Recorded) -> None:
    with pytest.raises(ccxt.BadRequest, match="This operation is not supported"):
        await with_keys.exchange.sapi_get_asset_tradefee()
