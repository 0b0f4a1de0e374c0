"""The real-exchange catalog, without a network: which hosts each adapter's ccxt client
would call, which rate limits apply, how TRADEWIND_VENUES is read and refused, and what
each venue's key-permission response means."""

from __future__ import annotations

import ccxt  # type: ignore[import-untyped]
import pytest

from tradewind.errors import ConfigError
from tradewind.venues import adapters, catalog
from tradewind.venues.binance.keys import from_api_restrictions as from_binance_api_restrictions
from tradewind.venues.binance.keys import from_testnet_account as from_binance_testnet_account
from tradewind.venues.binance.limits import ip_windows, order_windows
from tradewind.venues.catalog import VenueSpec
from tradewind.venues.coinbase import from_key_permissions as from_coinbase_key_permissions


def one(declared: str) -> VenueSpec:
    (spec,) = catalog.parse_venues(f"v={declared}")
    return spec


# -- hosts -----------------------------------------------------------------------------


def test_binance_calls_binance_com_hosts_only() -> None:
    hosts = catalog.hosts(one("binance"))
    assert {"api.binance.com", "stream.binance.com", "ws-api.binance.com"} <= set(hosts)
    assert all(host.endswith(".binance.com") for host in hosts)


def test_binance_testnet_is_ccxt_sandbox_mode_and_never_calls_production() -> None:
    spec = one("binance-testnet")
    assert (spec.ccxt_id, spec.sandbox) == ("binance", True)
    hosts = catalog.hosts(spec)
    assert {"testnet.binance.vision", "stream.testnet.binance.vision"} <= set(hosts)
    assert not [host for host in hosts if host.endswith("binance.com")]
    exchange = catalog.exchange_for(spec).exchange
    assert exchange.isSandboxModeEnabled
    assert exchange.urls["api"]["private"] == "https://testnet.binance.vision/api/v3"
    assert "sapi" not in exchange.urls["api"]  # the testnet serves no /sapi


def test_coinbase_calls_advanced_trade_hosts() -> None:
    spec = one("coinbase")
    assert (spec.ccxt_id, spec.sandbox) == ("coinbase", False)
    assert catalog.hosts(spec) == ("advanced-trade-ws.coinbase.com", "api.coinbase.com")


def test_a_generic_ccxt_venue_calls_that_exchanges_hosts() -> None:
    spec = one("ccxt:kraken")
    assert (spec.adapter, spec.ccxt_id, spec.sandbox) == ("ccxt:kraken", "kraken", False)
    hosts = catalog.hosts(spec)
    assert {"api.kraken.com", "ws.kraken.com"} <= set(hosts)
    # ccxt lists Kraken's help-centre API (zendesk) among its APIs too.
    assert all(host.endswith(("kraken.com", "kraken.zendesk.com")) for host in hosts)


def test_templated_ccxt_hosts_are_filled_in() -> None:
    # ccxt writes coinbaseexchange's URLs as https://api.{hostname}
    assert "api.exchange.coinbase.com" in catalog.hosts(one("ccxt:coinbaseexchange"))


# -- limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("declared", ["binance", "binance-testnet"])
def test_binance_follows_its_published_limits_and_ccxts_limiter(declared: str) -> None:
    limits = catalog.limits(one(declared))
    assert limits.ip_windows == ip_windows()
    assert limits.order_windows == order_windows()
    assert limits.ccxt_rate_limit_ms == ccxt.binance().rateLimit == 50


@pytest.mark.parametrize(
    ("declared", "ccxt_id"), [("coinbase", "coinbase"), ("ccxt:kraken", "kraken")]
)
def test_other_venues_follow_ccxts_rate_limit(declared: str, ccxt_id: str) -> None:
    limits = catalog.limits(one(declared))
    assert (limits.ip_windows, limits.order_windows) == ((), ())
    assert limits.ccxt_rate_limit_ms == getattr(ccxt, ccxt_id)().rateLimit > 0


@pytest.mark.parametrize("declared", ["binance", "binance-testnet", "coinbase", "ccxt:kraken"])
def test_every_real_venue_has_ccxts_rate_limiter_on_and_trades_spot(declared: str) -> None:
    spec = one(declared)
    venue = catalog.exchange_for(spec, "key", "secret")
    exchange = venue.exchange
    assert exchange.id == spec.ccxt_id
    assert exchange.enableRateLimit is True
    assert exchange.options["defaultType"] == "spot"
    assert (exchange.apiKey, venue.name) == ("key", "v")
    assert "secret" not in repr(venue)


# -- TRADEWIND_VENUES ------------------------------------------------------------------


def test_venues_are_read_in_order() -> None:
    specs = catalog.parse_venues(" bn=binance , cb=coinbase,kr=ccxt:kraken,t=binance-testnet ")
    assert [(s.name, s.adapter, s.ccxt_id, s.sandbox) for s in specs] == [
        ("bn", "binance", "binance", False),
        ("cb", "coinbase", "coinbase", False),
        ("kr", "ccxt:kraken", "kraken", False),
        ("t", "binance-testnet", "binance", True),
    ]
    assert catalog.parse_venues("") == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("binance", "expected NAME=ADAPTER[,…], got 'binance'"),
        ("x=", "expected NAME=ADAPTER[,…], got 'x='"),
        ("x=bitmex", "'x=bitmex': unknown adapter 'bitmex'; known: binance, binance-testnet, "
         "coinbase, ccxt:<id>"),
        ("x=ccxt:nosuchexchange", "'x=ccxt:nosuchexchange': ccxt 4.5.90 has no exchange "
         "'nosuchexchange'"),
        ("x=ccxt:bitso", "'x=ccxt:bitso': ccxt knows 'bitso' but has no streams for it"),
        ("x=ccxt:binance", "use adapter 'binance', not 'ccxt:binance'"),
        ("a=binance,a=coinbase", "venue name 'a' is declared twice"),
        ("sim=binance", "venue name 'sim' is also in TRADEWIND_VENUE_URLS"),
        ("Binance=binance", "venue name 'Binance' in 'Binance=binance': use 1 to 64 of a-z"),
        ("my venue=binance", "venue name 'my venue'"),
        ("x=coinbase-sandbox", "'x=coinbase-sandbox': adapter 'coinbase-sandbox' is not "
         "available: ccxt 4.5.90's `coinbase` (Advanced Trade) has no sandbox URLs"),
    ],
)  # fmt: skip
def test_a_bad_declaration_is_a_config_error_naming_the_setting_and_the_part(
    text: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        catalog.parse_venues(text, simulated=["sim"])
    assert caught.value.setting == "TRADEWIND_VENUES"
    assert problem in caught.value.problem


def test_coinbase_sandbox_is_refused_because_ccxt_has_none_not_sent_to_production() -> None:
    # What the refusal rests on: were ccxt to gain a coinbase sandbox, this test says so.
    assert ccxt.coinbase().urls.get("test") is None
    with pytest.raises(ConfigError, match="will not fall back to production"):
        adapters.adapter("coinbase-sandbox")


# -- key permissions, on the shapes the venues document ---------------------------------

BINANCE_API_RESTRICTIONS = {
    "ipRestrict": False,
    "createTime": 1698645219000,
    "enableReading": True,
    "enableWithdrawals": False,
    "enableInternalTransfer": False,
    "enableMargin": False,
    "enableFutures": False,
    "permitsUniversalTransfer": False,
    "enableVanillaOptions": False,
    "enableFixApiTrade": False,
    "enableFixReadOnly": True,
    "enableSpotAndMarginTrading": True,
    "enablePortfolioMarginTrading": False,
}

BINANCE_TESTNET_ACCOUNT = {
    "makerCommission": 0,
    "takerCommission": 0,
    "buyerCommission": 0,
    "sellerCommission": 0,
    "commissionRates": {"maker": "0.00000000", "taker": "0.00000000", "buyer": "0.00000000",
                        "seller": "0.00000000"},
    "canTrade": True,
    "canWithdraw": True,
    "canDeposit": True,
    "brokered": False,
    "requireSelfTradePrevention": False,
    "preventSor": False,
    "updateTime": 1700000000000,
    "accountType": "SPOT",
    "balances": [{"asset": "BTC", "free": "1.00000000", "locked": "0.00000000"}],
    "permissions": ["SPOT"],
    "uid": 354937868,
}  # fmt: skip

COINBASE_KEY_PERMISSIONS = {
    "can_view": True,
    "can_trade": True,
    "can_transfer": False,
    "portfolio_uuid": "8f3f7f0e-2f6e-4b0e-9d0e-2b8f1f6a1c11",
    "portfolio_type": "DEFAULT",
}


def test_a_binance_trading_key_is_accepted() -> None:
    check = from_binance_api_restrictions(BINANCE_API_RESTRICTIONS)
    assert (check.can_trade, check.can_withdraw, check.can_transfer) == (True, False, False)
    assert check.refusal is None


@pytest.mark.parametrize(
    ("switch", "refusal"),
    [
        ({"enableWithdrawals": True}, "can withdraw funds"),
        ({"enableInternalTransfer": True}, "can transfer funds"),
        ({"permitsUniversalTransfer": True}, "can transfer funds"),
        ({"enableSpotAndMarginTrading": False}, "cannot trade"),
    ],
)
def test_a_binance_key_that_can_move_funds_or_cannot_trade_is_refused(
    switch: dict[str, bool], refusal: str
) -> None:
    check = from_binance_api_restrictions({**BINANCE_API_RESTRICTIONS, **switch})
    assert check.refusal is not None and refusal in check.refusal


def test_binance_reports_an_ip_restricted_key() -> None:
    check = from_binance_api_restrictions({**BINANCE_API_RESTRICTIONS, "ipRestrict": True})
    assert check.ip_restricted and check.refusal is None


def test_a_binance_testnet_key_is_judged_by_can_trade() -> None:
    # canWithdraw is the account's flag; the testnet has no endpoint that withdraws.
    accepted = from_binance_testnet_account(BINANCE_TESTNET_ACCOUNT)
    assert (accepted.can_trade, accepted.can_withdraw, accepted.refusal) == (True, False, None)
    refused = from_binance_testnet_account({**BINANCE_TESTNET_ACCOUNT, "canTrade": False})
    assert refused.refusal is not None and "cannot trade" in refused.refusal


def test_a_coinbase_trading_key_is_accepted() -> None:
    check = from_coinbase_key_permissions(COINBASE_KEY_PERMISSIONS)
    assert (check.can_trade, check.can_withdraw, check.can_transfer) == (True, False, False)
    assert check.refusal is None


@pytest.mark.parametrize(
    ("permission", "refusal"),
    [
        ({"can_transfer": True}, "can withdraw funds"),
        ({"can_trade": False}, "cannot trade"),
        ({"can_view": False}, "cannot view the account"),
    ],
)
def test_a_coinbase_key_that_can_transfer_or_not_trade_or_view_is_refused(
    permission: dict[str, bool], refusal: str
) -> None:
    check = from_coinbase_key_permissions({**COINBASE_KEY_PERMISSIONS, **permission})
    assert check.refusal is not None and refusal in check.refusal


@pytest.mark.parametrize(
    ("declared", "response", "method"),
    [
        ("binance", BINANCE_API_RESTRICTIONS, "sapi_get_account_apirestrictions"),
        ("binance-testnet", BINANCE_TESTNET_ACCOUNT, "private_get_account"),
        ("coinbase", COINBASE_KEY_PERMISSIONS, "v3_private_get_brokerage_key_permissions"),
    ],
)
def test_each_adapter_reads_its_own_key_check_response(
    declared: str, response: dict[str, object], method: str
) -> None:
    spec = one(declared)
    assert spec.venue_adapter.key_check_method == method
    assert callable(getattr(catalog.exchange_for(spec).exchange, method))  # ccxt has it
    check = catalog.key_check_from_response(spec, response)
    assert check.can_trade and check.refusal is None


async def test_a_generic_venues_key_is_refused_without_a_call() -> None:
    # The suite's network guard fails any call: this one makes none.
    check = await catalog.check_key(one("ccxt:kraken"), "key", "secret", None)
    assert check.refusal is not None
    assert "cannot check what an API key may do on v" in check.refusal
    assert "refuses every key" in check.refusal
    assert "secret" not in repr(check)
