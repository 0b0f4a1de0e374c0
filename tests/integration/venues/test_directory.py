"""Venue directories: sessions for accounts, and the key check that refuses keys able to
move funds — in process and over HTTP with ccxt."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.integration.venues.sim_rest_support import running_venue
from tradewind.errors import AuthenticationFailed, ConfigError
from tradewind.venues.directory import CcxtVenues, SimulatedVenues, parse_venue_urls
from tradewind.venues.simulated.exchange import KeyPermissions, SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket


async def test_in_process_sessions_trade_for_the_key_owner_only() -> None:
    exchange = SimulatedExchange(SyntheticMarket(seed=1))
    exchange.step()
    creds = exchange.create_account({"USDT": Decimal("100")})
    venues = SimulatedVenues(exchange)
    session = venues.session("sim", creds.api_key, creds.secret)
    assert (await session.fetch_balances()).assets["USDT"].free == Decimal("100")
    with pytest.raises(AuthenticationFailed):
        venues.session("sim", creds.api_key, "wrong-secret")


@pytest.mark.parametrize("over_http", [False, True], ids=["in-process", "ccxt-http"])
async def test_a_key_that_can_withdraw_is_refused_with_a_reason(over_http: bool) -> None:
    with running_venue() as (url, state):
        exchange = state.exchange
        safe = exchange.create_account({"USDT": Decimal("1")})
        risky = exchange.create_account(
            {"USDT": Decimal("1")}, KeyPermissions(trade=True, withdraw=True)
        )
        venues = CcxtVenues({"sim": url}) if over_http else SimulatedVenues(exchange)
        assert (await venues.check_key("sim", safe.api_key, safe.secret)).refusal is None
        refused = await venues.check_key("sim", risky.api_key, risky.secret)
        assert refused.refusal is not None and "withdraw" in refused.refusal
        with pytest.raises(AuthenticationFailed):
            await venues.check_key("sim", safe.api_key, "not-the-secret")


def test_venue_urls_are_parsed_or_refused_naming_the_setting() -> None:
    assert parse_venue_urls("sim=http://127.0.0.1:8765/") == {"sim": "http://127.0.0.1:8765"}
    with pytest.raises(ConfigError, match="TRADEWIND_VENUE_URLS"):
        parse_venue_urls("sim:8765")


def test_a_simulated_venue_serving_coinbases_api_is_declared_with_a_coinbase_prefix() -> None:
    """`TRADEWIND_VENUE_URLS=cb=coinbase+http://…`: a `tradewind venue serve --api
    coinbase` venue, reached through ccxt's `coinbase` with the simulator's Coinbase
    profile; without the prefix, Binance's API as before."""
    from tradewind.venues.simulated import profile

    venues = CcxtVenues.declared("sim=http://127.0.0.1:8765,cb=coinbase+http://127.0.0.1:8766", "")
    assert venues is not None and venues.names == ("sim", "cb")
    assert venues.profile("sim") is profile.OVER_HTTP
    assert venues.profile("cb") is profile.COINBASE_OVER_HTTP
    session = venues.session("cb", "", "")
    assert session.exchange.id == "coinbase"  # type: ignore[attr-defined]
    assert session.exchange.urls["api"] == {  # type: ignore[attr-defined]
        "rest": "http://127.0.0.1:8766",
        "ws": "ws://127.0.0.1:8766/advanced-trade-ws",
    }
    with pytest.raises(ConfigError, match="coinbase\\+https://"):
        parse_venue_urls("cb=coinbase+ftp://127.0.0.1:8766")


async def test_simulated_venues_keep_each_exchanges_accounts_apart() -> None:
    """`tradewind up`'s two exchanges: each venue name reaches its own exchange, and a
    key of one is not accepted on the other."""
    binance_style = SimulatedExchange(SyntheticMarket(seed=1))
    coinbase_style = SimulatedExchange(SyntheticMarket(seed=2))
    venues = SimulatedVenues(binance_style, {"sim-coinbase": coinbase_style})
    assert venues.names == ("sim", "sim-coinbase")
    mine = coinbase_style.create_account({"USD": Decimal(100)})
    session = venues.session("sim-coinbase", mine.api_key, mine.secret)
    assert session.name == "sim-coinbase"
    assert (await session.fetch_balances()).assets["USD"].free == Decimal(100)
    with pytest.raises(AuthenticationFailed):
        venues.session("sim", mine.api_key, mine.secret)
    assert (await venues.check_key("sim-coinbase", mine.api_key, mine.secret)).can_trade
