"""`tradewind up`'s two simulated exchanges, and the Coinbase keys of the Coinbase-style
one: the keys its served API hands out (its faucet's) are accepted by the platform,
which reaches that exchange in process."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tradewind.app.exchanges import run_exchanges, run_venue, synthetic_start
from tradewind.errors import AuthenticationFailed
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.apis import APIS, DEFAULT_API
from tradewind.venues.simulated.exchange import KeyPermissions
from tradewind.venues.simulated.server.state import ServerState

COINBASE_VENUE = run_venue("coinbase")


def test_the_run_has_a_binance_style_and_a_coinbase_style_exchange_of_their_own() -> None:
    binance, coinbase = run_exchanges("synthetic", speed=1, seed=7,
                                      start_ms=time.time_ns() // 1_000_000, start="0m")  # fmt: skip
    assert (binance.venue, binance.api, coinbase.venue, coinbase.api) == (
        "sim", "binance", "sim-coinbase", "coinbase",
    )  # fmt: skip
    assert "BTC/USDT" in binance.exchange.specs and "BTC/USDT" not in coinbase.exchange.specs
    assert {s.partition("/")[2] for s in coinbase.exchange.specs} == {"USD", "USDC"}
    assert binance.exchange.engine is not coinbase.exchange.engine


def test_a_replay_date_gives_the_coinbase_style_market_its_default_past() -> None:
    run_exchanges("replay:", speed=60, seed=7, start_ms=time.time_ns() // 1_000_000,
                  start="2018-01-16")  # fmt: skip
    assert synthetic_start("2018-01-16") == synthetic_start("100w") == "2d"
    assert (synthetic_start("6h"), synthetic_start(None)) == ("6h", None)


def test_the_run_has_one_exchange_per_served_api_the_default_first() -> None:
    run = run_exchanges("synthetic", speed=1, seed=7,
                        start_ms=time.time_ns() // 1_000_000, start="0m")  # fmt: skip
    assert [one.api for one in run] == list(APIS)
    assert [one.venue for one in run] == [run_venue(api) for api in APIS]
    assert run[0].api == DEFAULT_API and run[0].venue == "sim"


def test_only_a_served_api_with_keys_of_its_own_proves_them_in_process() -> None:
    for one in run_exchanges("synthetic", speed=1, seed=7,
                             start_ms=time.time_ns() // 1_000_000, start="0m"):  # fmt: skip
        keys = ServerState(one.exchange, api=one.api).in_process_keys()
        assert (keys is None) == (one.api == DEFAULT_API)


@pytest.mark.parametrize("kind", ["cdp", "hmac"])
async def test_a_coinbase_key_of_the_served_api_trades_in_process(kind: str) -> None:
    _, coinbase = run_exchanges("synthetic", speed=1, seed=7,
                                start_ms=time.time_ns() // 1_000_000, start="0m")  # fmt: skip
    state = ServerState(coinbase.exchange, api="coinbase")
    venues = SimulatedVenues(
        coinbase.exchange,  # as `sim` too: only the venue name matters here
        {COINBASE_VENUE: coinbase.exchange},
        other_keys={COINBASE_VENUE: state.in_process_keys()},
    )
    account = coinbase.exchange.create_account({"USD": Decimal(250)})
    name, secret = state.coinbase_keys.mint(
        account.account_id,
        KeyPermissions(trade=True),
        kind=kind,  # type: ignore[arg-type]
    )
    session = venues.session(COINBASE_VENUE, name, secret)
    assert (await session.fetch_balances()).assets["USD"].free == Decimal(250)
    check = await venues.check_key(COINBASE_VENUE, name, secret)
    assert check.can_trade and not check.can_withdraw
    with pytest.raises(AuthenticationFailed):
        venues.session("sim", name, secret)  # only where the served API is Coinbase's
    other, other_secret = state.coinbase_keys.mint(account.account_id, KeyPermissions(), kind=kind)  # type: ignore[arg-type]
    with pytest.raises(AuthenticationFailed):
        venues.session(COINBASE_VENUE, name, other_secret)  # another key's secret
    assert other != name
