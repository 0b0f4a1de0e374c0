"""Real exchanges declared in TRADEWIND_VENUES, configured end to end without a network:
the settings, the directory's sessions and key checks, and the runtime and gateway that
build them. Any call that would leave this machine hits the suite's network guard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.gateway.serving import gateway_settings, serving
from tests.integration.gateway.support import api_on
from tests.network_guard import NetworkGuardError
from tradewind.app.platform import DistributedPlatform
from tradewind.bus.memory import MemoryBus
from tradewind.errors import ConfigError
from tradewind.runtime.settings import load_settings
from tradewind.venues.catalog import parse_venues
from tradewind.venues.ccxt_venue import CcxtVenue
from tradewind.venues.directory import CcxtVenues
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket

DECLARED = "bn=binance,bt=binance-testnet,cb=coinbase,kr=ccxt:kraken"


def directory() -> CcxtVenues:
    venues = CcxtVenues.declared("sim=http://127.0.0.1:8765", DECLARED)
    assert venues is not None
    return venues


def test_the_directory_lists_simulated_then_declared_venues() -> None:
    assert directory().names == ("sim", "bn", "bt", "cb", "kr")
    only_real = CcxtVenues.declared("", "kr=ccxt:kraken")
    assert only_real is not None and only_real.names == ("kr",)
    assert CcxtVenues.declared("", "") is None


def test_a_name_declared_twice_across_both_settings_is_refused() -> None:
    with pytest.raises(ConfigError, match="TRADEWIND_VENUES: venue name 'sim' is also in"):
        CcxtVenues.declared("sim=http://127.0.0.1:8765", "sim=binance")
    with pytest.raises(ConfigError, match="sim: declared twice"):
        CcxtVenues({"sim": "http://127.0.0.1:8765"}, parse_venues("sim=binance"))


@pytest.mark.parametrize(
    ("venue", "ccxt_id", "sandbox"),
    [("bn", "binance", False), ("bt", "binance", True), ("cb", "coinbase", False),
     ("kr", "kraken", False)],
)  # fmt: skip
async def test_a_real_venues_session_is_its_ccxt_client_with_ccxts_limiter_on(
    venue: str, ccxt_id: str, sandbox: bool
) -> None:
    session = directory().session(venue, "key", "secret")
    assert isinstance(session, CcxtVenue) and session.name == venue
    exchange = session.exchange
    assert (exchange.id, bool(exchange.isSandboxModeEnabled)) == (ccxt_id, sandbox)
    assert exchange.enableRateLimit is True
    assert exchange.apiKey == "key"
    await session.close()


async def test_a_simulated_venues_session_keeps_ccxts_limiter_off() -> None:
    session = directory().session("sim", "key", "secret")
    assert isinstance(session, CcxtVenue)
    assert session.exchange.enableRateLimit is False
    assert session.exchange.urls["api"]["public"] == "http://127.0.0.1:8765/api/v3"
    await session.close()


@pytest.mark.parametrize(
    ("venue", "host"),
    [("bn", "api.binance.com"), ("bt", "testnet.binance.vision"), ("cb", "api.coinbase.com")],
)
async def test_a_key_check_on_a_real_venue_would_call_it_and_hits_the_guard(
    venue: str, host: str
) -> None:
    # bt: the testnet's check is GET /api/v3/account there (ccxt refuses /sapi in
    # sandbox mode before any request: that would be NotSupported, not the guard).
    named = f"tests must not reach real exchanges: resolving {host!r}"
    with pytest.raises(NetworkGuardError, match=re.escape(named)):
        await directory().check_key(venue, "key", "secret")


async def test_a_key_check_on_a_generic_venue_refuses_without_a_call() -> None:
    check = await directory().check_key("kr", "key", "secret")
    assert check.refusal is not None and "cannot check what an API key may do on kr" in (
        check.refusal
    )


# -- settings and wiring ---------------------------------------------------------------


def test_the_setting_is_validated_at_start() -> None:
    assert load_settings(venues=DECLARED).venues == DECLARED
    for text, problem in [
        ("x=coinbase-sandbox", "has no sandbox URLs"),
        ("x=ccxt:nosuch", "has no exchange 'nosuch'"),
        ("x=binance,x=coinbase", "'x' is declared twice"),
        ("X!=binance", "venue name 'X!'"),
        ("x=huobi-sandbox", "unknown adapter 'huobi-sandbox'"),
    ]:
        with pytest.raises(ConfigError) as caught:
            load_settings(venues=text)
        assert caught.value.setting == "TRADEWIND_VENUES"
        assert problem in caught.value.problem
    with pytest.raises(ConfigError, match="'sim' is also in TRADEWIND_VENUE_URLS"):
        load_settings(venue_urls="sim=http://127.0.0.1:8765", venues="sim=binance")


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWIND_VENUES", "cb=coinbase")
    assert load_settings().venues == "cb=coinbase"
    monkeypatch.setenv("TRADEWIND_VENUES", "cb=coinbase-sandbox")
    with pytest.raises(ConfigError, match="TRADEWIND_VENUES: 'cb=coinbase-sandbox'"):
        load_settings()


async def test_a_distributed_platform_with_only_real_venues_builds_them(tmp_path: Path) -> None:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'tradewind.db'}", venues="bn=binance,cb=coinbase"
    )
    platform = DistributedPlatform()
    bus = MemoryBus(partitions=1)
    resources = await platform.open(settings, bus)
    try:
        assert isinstance(resources.venues, CcxtVenues)
        assert resources.venues.names == ("bn", "cb")
    finally:
        await platform.close(resources)


async def test_a_gateway_with_only_real_venues_refuses_a_generic_venues_key(
    tmp_path: Path,
) -> None:
    settings = gateway_settings(tmp_path, venues="kr=ccxt:kraken")
    async with serving(settings, None) as served:
        assert served.state.venues.names == ("kr",)
        exchange = SimulatedExchange(SyntheticMarket(seed=1))
        async with api_on(served.state, exchange) as api:
            user = await api.sign_up()
            response = await api.client.post(
                "/api/v1/accounts",
                json={"venue": "kr", "api_key": "k", "api_secret": "s3cr3t", "label": "main"},
                headers=user.headers,
            )
    assert response.status_code == 422, response.text
    body = response.text
    assert "key_refused" in body and "cannot check what an API key may do on kr" in body
    assert "s3cr3t" not in body
