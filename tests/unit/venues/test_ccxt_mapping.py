"""ccxt structures -> venue port types, and ccxt exceptions -> Tradewind errors.

The ccxt dicts are made by ccxt binance's own parsers from Binance-shaped JSON (the
payloads of docs/venues/ccxt-binance-protocol.md), so they are exactly what the adapter
receives; no network, no stand-ins for ccxt.
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt  # type: ignore[import-untyped]
import ccxt.pro  # type: ignore[import-untyped]
import pytest

from tradewind.domain.model import Liquidity, OrderType, Side, TimeInForce
from tradewind.errors import (
    AuthenticationFailed,
    ConfigError,
    DuplicateClientOrderId,
    InsufficientFunds,
    OrderRejectedByVenue,
    RateLimited,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
    VenueUnreached,
)
from tradewind.venues import ccxt_mapping
from tradewind.venues.binance import PROFILE as BINANCE
from tradewind.venues.ccxt_venue import CcxtVenue, rehosted_urls
from tradewind.venues.coinbase import PROFILE as COINBASE
from tradewind.venues.port import OrderRequest, VenueOrderStatus
from tradewind.venues.profile import GENERIC
from tradewind.venues.simulated.client import ccxt_session
from tradewind.venues.simulated.profile import COINBASE_OVER_HTTP


class _ReadAsBinance:
    """`ccxt_mapping` with the Binance profile: the payloads below are Binance's (as ccxt
    `binance` parses them), so its raw fields, statuses and refusals apply."""

    _PROFILED = frozenset(
        {"order_from_ccxt", "fill_from_ccxt", "public_trade_from_ccxt", "balances_from_ccxt",
         "venue_error_from_ccxt", "order_status"}
    )  # fmt: skip

    def __getattr__(self, name: str) -> Any:
        found = getattr(ccxt_mapping, name)
        return functools.partial(found, profile=BINANCE) if name in self._PROFILED else found


m = _ReadAsBinance()

D = Decimal
SECRET = "s3cr3t-NEVER-SHOWN"
URL = "http://127.0.0.1:8765/api/v3/order"

BTCUSDT_INFO: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "status": "TRADING",
    "baseAsset": "BTC",
    "baseAssetPrecision": 8,
    "quoteAsset": "USDT",
    "quotePrecision": 8,
    "quoteAssetPrecision": 8,
    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
    "isSpotTradingAllowed": True,
    "isMarginTradingAllowed": False,
    "permissions": [],
    "permissionSets": [["SPOT"]],
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.01000000",
            "maxPrice": "1000000.00000000",
            "tickSize": "0.01000000",
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": "0.00001000",
            "maxQty": "9000.00000000",
            "stepSize": "0.00001000",
        },
        {"filterType": "NOTIONAL", "minNotional": "5.00000000", "maxNotional": "9000000.00000000"},
    ],
}


def binance() -> Any:
    """A ccxt.pro binance with the BTC/USDT market loaded from data (it never connects)."""
    exchange = ccxt.pro.binance({"apiKey": "key", "secret": SECRET})
    exchange.options["crossMarginPairsData"] = []
    exchange.options["isolatedMarginPairsData"] = []
    exchange.set_markets([exchange.parse_market(BTCUSDT_INFO)])
    return exchange


@pytest.fixture
def exchange() -> Any:
    return binance()


def rest_order(**overrides: Any) -> dict[str, Any]:
    """A POST /api/v3/order answer with newOrderRespType=FULL."""
    order: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "orderId": 12,
        "orderListId": -1,
        "clientOrderId": "tw-abc",
        "transactTime": 1700000000123,
        "price": "50000.50000000",
        "origQty": "0.00100000",
        "executedQty": "0.00000000",
        "cummulativeQuoteQty": "0.00000000",
        "status": "NEW",
        "timeInForce": "GTC",
        "type": "LIMIT",
        "side": "BUY",
        "workingTime": 1700000000123,
        "selfTradePreventionMode": "NONE",
        "fills": [],
    }
    order.update(overrides)
    return order


# -- markets ---------------------------------------------------------------------------


def test_a_binance_market_takes_tick_step_and_minimums_from_its_filters(exchange: Any) -> None:
    market = m.market_from_ccxt(exchange.market("BTC/USDT"), exchange.precisionMode)
    assert market.symbol == "BTC/USDT" and (market.base, market.quote) == ("BTC", "USDT")
    assert market.tick_size == D("0.01")
    assert market.step_size == D("0.00001")
    assert market.min_quantity == D("0.00001")
    assert market.min_notional == D("5")
    assert m.is_tradable_spot(exchange.market("BTC/USDT"))


def test_decimal_places_precision_becomes_a_power_of_ten_increment() -> None:
    ccxt_market = {
        "symbol": "ETH/EUR",
        "base": "ETH",
        "quote": "EUR",
        "spot": True,
        "precision": {"price": 2, "amount": 4},
        "limits": {"amount": {"min": None}, "cost": {"min": None}},
    }
    market = m.market_from_ccxt(ccxt_market, m.DECIMAL_PLACES)
    assert (market.tick_size, market.step_size) == (D("0.01"), D("0.0001"))
    assert market.min_quantity == D("0.0001"), "without a minimum, one step is the least"
    assert market.min_notional == 0


def test_significant_digits_precision_is_refused_with_the_symbol_named() -> None:
    ccxt_market = {"symbol": "X/Y", "base": "X", "quote": "Y", "precision": {"price": 5}}
    with pytest.raises(ValueError, match="X/Y"):
        m.market_from_ccxt(ccxt_market, m.SIGNIFICANT_DIGITS)


def test_a_market_not_trading_is_not_tradable(exchange: Any) -> None:
    halted = exchange.parse_market({**BTCUSDT_INFO, "status": "BREAK"})
    assert not m.is_tradable_spot(halted)


# -- placing orders --------------------------------------------------------------------


def request(**overrides: Any) -> OrderRequest:
    fields: dict[str, Any] = {
        "client_order_id": "tw-abc",
        "symbol": "BTC/USDT",
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "quantity": D("0.001"),
        "price": D("50000.5"),
    }
    fields.update(overrides)
    return OrderRequest(**fields)


@pytest.mark.parametrize(
    ("time_in_force", "binance_type", "binance_tif"),
    [
        (TimeInForce.GTC, "LIMIT", "GTC"),
        (TimeInForce.IOC, "LIMIT", "IOC"),
        (TimeInForce.FOK, "LIMIT", "FOK"),
        (TimeInForce.GTX, "LIMIT_MAKER", None),
    ],
)
def test_limit_orders_reach_binance_with_our_client_id_and_time_in_force(
    exchange: Any, time_in_force: TimeInForce, binance_type: str, binance_tif: str | None
) -> None:
    args = m.order_arguments(request(time_in_force=time_in_force))
    sent = exchange.create_order_request("BTC/USDT", *args)
    assert sent["newClientOrderId"] == "tw-abc", "passed verbatim, no broker prefix"
    assert sent["type"] == binance_type
    assert sent.get("timeInForce") == binance_tif
    assert (sent["quantity"], sent["price"]) == ("0.001", "50000.5")


def test_a_market_order_sends_a_quantity_never_a_quote_amount(exchange: Any) -> None:
    args = m.order_arguments(request(order_type=OrderType.MARKET, price=D("50000")))
    assert args[3] is None
    sent = exchange.create_order_request("BTC/USDT", *args)
    assert sent["type"] == "MARKET" and sent["quantity"] == "0.001"
    assert "quoteOrderQty" not in sent and "price" not in sent


def test_amounts_go_to_ccxt_as_plain_decimal_strings() -> None:
    args = m.order_arguments(request(quantity=D("1E-5"), price=D("6E+4")))
    assert (args[2], args[3]) == ("0.00001", "60000")


def test_a_limit_order_without_price_is_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="tw-abc"):
        m.order_arguments(request(price=None))


# -- orders ----------------------------------------------------------------------------


def test_a_new_limit_order_maps_to_new_with_nothing_filled(exchange: Any) -> None:
    order = m.order_from_ccxt(exchange.parse_order(rest_order()))
    assert order.client_order_id == "tw-abc" and order.venue_order_id == "12"
    assert (order.side, order.order_type, order.time_in_force) == (
        Side.BUY,
        OrderType.LIMIT,
        TimeInForce.GTC,
    )
    assert order.status is VenueOrderStatus.NEW and order.status.is_open
    assert (order.quantity, order.filled_quantity) == (D("0.001"), D(0))
    assert order.price == D("50000.5") and order.average_price is None
    assert order.updated_ms == 1700000000123


def test_a_filled_order_reports_the_exact_average_price_from_quote_and_quantity(
    exchange: Any,
) -> None:
    raw = rest_order(
        origQty="3.00000000",
        executedQty="3.00000000",
        cummulativeQuoteQty="12345678.12345679",  # 16 significant digits: more than a float
        status="FILLED",
    )
    order = m.order_from_ccxt(exchange.parse_order(raw))
    assert order.status is VenueOrderStatus.FILLED and order.filled_quantity == 3
    assert order.average_price == D("12345678.12345679") / 3


def test_an_open_order_with_fills_is_partially_filled(exchange: Any) -> None:
    raw = rest_order(executedQty="0.00040000", cummulativeQuoteQty="20.00020000")
    raw["status"] = "PARTIALLY_FILLED"
    order = m.order_from_ccxt(exchange.parse_order(raw))
    assert order.status is VenueOrderStatus.PARTIALLY_FILLED
    assert order.average_price == D("50000.5")


def test_a_market_order_has_no_price_and_is_immediate_or_cancel(exchange: Any) -> None:
    raw = rest_order(
        type="MARKET",
        price="0.00000000",
        executedQty="0.00100000",
        cummulativeQuoteQty="50.00000000",
        status="FILLED",
    )
    order = m.order_from_ccxt(exchange.parse_order(raw))
    assert order.order_type is OrderType.MARKET
    assert order.time_in_force is TimeInForce.IOC
    assert order.price is None and order.average_price == D("50000")


def test_a_limit_maker_order_is_post_only(exchange: Any) -> None:
    order = m.order_from_ccxt(exchange.parse_order(rest_order(type="LIMIT_MAKER")))
    assert order.order_type is OrderType.LIMIT and order.time_in_force is TimeInForce.GTX


def test_a_cancel_answer_reports_the_orders_own_client_id(exchange: Any) -> None:
    raw = rest_order(origClientOrderId="tw-abc", clientOrderId="cancel-77", status="CANCELED")
    order = m.order_from_ccxt(exchange.parse_order(raw))
    assert order.client_order_id == "tw-abc" and order.status is VenueOrderStatus.CANCELED


def test_expired_in_match_counts_as_expired(exchange: Any) -> None:
    order = m.order_from_ccxt(exchange.parse_order(rest_order(status="EXPIRED_IN_MATCH")))
    assert order.status is VenueOrderStatus.EXPIRED


def test_without_a_raw_status_the_unified_one_decides() -> None:
    ccxt_order = {
        "id": "9",
        "clientOrderId": "c",
        "symbol": "ETH/EUR",
        "side": "sell",
        "type": "limit",
        "status": "canceled",
        "amount": 1.5,
        "filled": 0.5,
        "price": 2000.1,
        "info": {},
    }
    order = m.order_from_ccxt(ccxt_order)
    assert order.status is VenueOrderStatus.CANCELED
    assert (order.quantity, order.filled_quantity, order.price) == (D("1.5"), D("0.5"), D("2000.1"))
    assert m.order_from_ccxt({**ccxt_order, "status": "open"}).status is (
        VenueOrderStatus.PARTIALLY_FILLED
    )


def test_an_execution_report_on_the_stream_maps_like_a_rest_order(exchange: Any) -> None:
    report = {
        "e": "executionReport",
        "E": 1700000000200,
        "s": "BTCUSDT",
        "c": "cancel-77",
        "S": "SELL",
        "o": "LIMIT",
        "f": "IOC",
        "q": "0.00200000",
        "p": "50000.50000000",
        "P": "0.00000000",
        "g": -1,
        "C": "tw-abc",
        "x": "CANCELED",
        "X": "CANCELED",
        "r": "NONE",
        "i": 12,
        "l": "0.00000000",
        "z": "0.00100000",
        "L": "0.00000000",
        "n": "0",
        "N": None,
        "T": 1700000000199,
        "t": -1,
        "w": False,
        "m": False,
        "O": 1700000000123,
        "Z": "50.00050000",
        "Y": "0.00000000",
    }
    order = m.order_from_ccxt(exchange.parse_ws_order(report))
    assert order.client_order_id == "tw-abc", "C, the original id, wins over the cancel's c"
    assert (order.side, order.time_in_force) == (Side.SELL, TimeInForce.IOC)
    assert order.status is VenueOrderStatus.CANCELED
    assert (order.quantity, order.filled_quantity) == (D("0.002"), D("0.001"))
    assert order.average_price == D("50000.5")
    assert order.updated_ms == 1700000000199


def full_answer() -> dict[str, Any]:
    """A market buy that executed at two prices as it was placed (FULL answer)."""
    return rest_order(
        type="MARKET", price="0.00000000", origQty="0.00300000", executedQty="0.00300000",
        cummulativeQuoteQty="150.00150000", status="FILLED",
        fills=[
            {"price": "50000.00000000", "qty": "0.00100000", "commission": "0.00000100",
             "commissionAsset": "BTC", "tradeId": 71},
            {"price": "50000.75000000", "qty": "0.00200000", "commission": "0.00000200",
             "commissionAsset": "BTC", "tradeId": 72},
        ],
    )  # fmt: skip


def test_a_placement_answer_carries_its_fills_exactly_as_the_venue_books_them(
    exchange: Any,
) -> None:
    order = m.order_from_ccxt(exchange.parse_order(full_answer()), with_fills=True)
    assert order.status is VenueOrderStatus.FILLED and order.filled_quantity == D("0.003")
    first, second = order.fills
    assert (first.trade_id, second.trade_id) == ("71", "72")
    assert (second.price, second.quantity, second.fee, second.fee_asset) == (
        D("50000.75"),
        D("0.002"),
        D("0.000002"),
        "BTC",
    )
    assert {f.client_order_id for f in order.fills} == {"tw-abc"}
    assert {(f.side, f.liquidity, f.ts_ms) for f in order.fills} == {
        (Side.BUY, Liquidity.TAKER, 1700000000123)
    }
    # The quote each moved as Binance rounds it: price x quantity down to 10^-8.
    assert second.quote_quantity == D("100.0015")
    odd = m.order_from_ccxt(
        exchange.parse_order(
            full_answer()
            | {"fills": [{"price": "0.00003337", "qty": "3.00000000", "commission": "0",
                          "commissionAsset": "BTC", "tradeId": 9}]}
        ),
        with_fills=True,
    )  # fmt: skip
    assert odd.fills[0].quote_quantity == D("0.00010011")  # 0.00010011 exactly
    again = ccxt_mapping.placement_fills(exchange.parse_order(full_answer()), order, BINANCE)
    assert again == order.fills


def test_a_quote_rounding_that_is_not_known_is_left_to_the_books(exchange: Any) -> None:
    order = ccxt_mapping.order_from_ccxt(
        exchange.parse_order(full_answer()), profile=GENERIC, with_fills=True
    )
    assert [f.quote_quantity for f in order.fills] == [None, None]
    assert D("1e-8") == BINANCE.quote_step
    assert BINANCE.quote_of(D("0.00003337"), D("0.3")) == D("0.00001001")  # 0.000010011 down


def test_answers_without_their_fills_carry_none(exchange: Any) -> None:
    assert m.order_from_ccxt(exchange.parse_order(full_answer())).fills == ()  # not asked
    resting = m.order_from_ccxt(exchange.parse_order(rest_order()), with_fills=True)
    assert resting.fills == ()


# -- trades ----------------------------------------------------------------------------


def test_my_trade_becomes_a_fill_with_fee_and_liquidity(exchange: Any) -> None:
    raw = {
        "symbol": "BTCUSDT",
        "id": 28457,
        "orderId": 12,
        "orderListId": -1,
        "price": "50000.50000000",
        "qty": "0.00100000",
        "quoteQty": "50.00050000",
        "commission": "0.00000100",
        "commissionAsset": "BTC",
        "time": 1700000000300,
        "isBuyer": True,
        "isMaker": True,
        "isBestMatch": True,
    }
    fill = m.fill_from_ccxt(exchange.parse_trade(raw), "tw-abc")
    assert (fill.trade_id, fill.venue_order_id, fill.client_order_id) == ("28457", "12", "tw-abc")
    assert (fill.symbol, fill.side, fill.liquidity) == ("BTC/USDT", Side.BUY, Liquidity.MAKER)
    assert (fill.price, fill.quantity) == (D("50000.5"), D("0.001"))
    assert (fill.fee, fill.fee_asset, fill.ts_ms) == (D("0.000001"), "BTC", 1700000000300)


ETHBTC_INFO: dict[str, Any] = {
    **BTCUSDT_INFO,
    "symbol": "ETHBTC",
    "baseAsset": "ETH",
    "quoteAsset": "BTC",
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.00000001",
            "maxPrice": "1000.00000000",
            "tickSize": "0.00000001",
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": "0.00001000",
            "maxQty": "100000.00000000",
            "stepSize": "0.00001000",
        },
        {"filterType": "NOTIONAL", "minNotional": "0.00010000", "maxNotional": "9000.00000000"},
    ],
}


@pytest.fixture
def with_eth_btc(exchange: Any) -> Any:
    """ccxt binance with ETH/BTC too: tick 10^-8 x step 10^-5, finer than the 10^-8 the
    venue moves BTC in."""
    exchange.set_markets([exchange.parse_market(BTCUSDT_INFO), exchange.parse_market(ETHBTC_INFO)])
    return exchange


def eth_btc_trade(**overrides: Any) -> dict[str, Any]:
    """GET /api/v3/myTrades: a taker buy of 0.12345 ETH at 0.09128012, 0.0112685308140
    BTC that Binance settles rounded down to 10^-8."""
    raw: dict[str, Any] = {
        "symbol": "ETHBTC",
        "id": 7,
        "orderId": 12,
        "orderListId": -1,
        "price": "0.09128012",
        "qty": "0.12345000",
        "quoteQty": "0.01126853",
        "commission": "0.00012345",
        "commissionAsset": "ETH",
        "time": 1700000000300,
        "isBuyer": True,
        "isMaker": False,
        "isBestMatch": True,
    }
    raw.update(overrides)
    return raw


def test_my_trade_carries_the_quote_quantity_the_venue_moved(with_eth_btc: Any) -> None:
    fill = m.fill_from_ccxt(with_eth_btc.parse_trade(eth_btc_trade()), "tw-abc")
    assert (fill.price, fill.quantity) == (D("0.09128012"), D("0.12345"))
    assert fill.quote_quantity == D("0.01126853")  # not 0.0112685308140
    assert (fill.fee, fill.fee_asset) == (D("0.00012345"), "ETH")


def test_an_execution_report_trade_carries_its_last_quote_quantity(with_eth_btc: Any) -> None:
    report = {
        "e": "executionReport", "E": 1700000000200, "s": "ETHBTC", "c": "tw-abc",
        "S": "BUY", "o": "MARKET", "f": "GTC", "q": "0.20000000", "p": "0.00000000",
        "P": "0.00000000", "g": -1, "C": "", "x": "TRADE", "X": "PARTIALLY_FILLED",
        "r": "NONE", "i": 12, "l": "0.12345000", "z": "0.12345000", "L": "0.09128012",
        "n": "0.00012345", "N": "ETH", "T": 1700000000199, "t": 7, "w": False, "m": False,
        "O": 1700000000123, "Z": "0.01126853", "Y": "0.01126853",
    }  # fmt: skip
    fill = m.fill_from_ccxt(with_eth_btc.parse_ws_trade(report), "tw-abc")
    assert (fill.trade_id, fill.side, fill.liquidity) == ("7", Side.BUY, Liquidity.TAKER)
    assert (fill.price, fill.quantity, fill.quote_quantity) == (
        D("0.09128012"), D("0.12345"), D("0.01126853"),
    )  # fmt: skip


def test_a_quote_quantity_longer_than_a_float_comes_exact_from_the_raw_string(
    exchange: Any,
) -> None:
    raw = {
        "symbol": "BTCUSDT", "id": 8, "orderId": 13, "orderListId": -1,
        "price": "50000.12345678", "qty": "234567.89012345", "quoteQty": "11728423465.16890603",
        "commission": "0", "commissionAsset": "USDT", "time": 1700000000300,
        "isBuyer": False, "isMaker": True, "isBestMatch": True,
    }  # fmt: skip
    fill = m.fill_from_ccxt(exchange.parse_trade(raw), "tw-abc")
    assert fill.quote_quantity == D("11728423465.16890603")  # the float holds 17 digits


def test_without_the_venues_string_a_cost_that_is_price_times_quantity_is_the_exact_product(
    with_eth_btc: Any,
) -> None:
    # ccxt computes `cost` as price x amount when the venue sends none; as a float it
    # lost digits, and it is the product the venue did not round.
    trade = with_eth_btc.parse_trade(eth_btc_trade(quoteQty=None))
    fill = m.fill_from_ccxt(trade, "tw-abc")
    assert fill.quote_quantity == D("0.09128012") * D("0.12345")
    plain = m.fill_from_ccxt({**trade, "info": {}, "cost": 0.01126853}, "tw-abc")
    assert plain.quote_quantity == D("0.01126853")  # another venue's own amount


def test_a_cost_ccxt_computed_is_rounded_as_the_venue_rounds_where_its_profile_knows() -> None:
    # The simulator's Coinbase API: its fills carry no quote amount, and its ledger moves
    # price x size rounded down to 10^-8 USD.
    raw = {
        "entry_id": "e-7", "trade_id": "7", "order_id": "o-1", "trade_type": "FILL",
        "trade_time": "2026-12-06T21:00:00Z", "price": "50123.45", "size": "0.00665756",
        "commission": "0.33", "fee": {"amount": "0.33", "currency": "USD"},
        "product_id": "BTC-USD", "sequence_timestamp": "2026-12-06T21:00:00Z",
        "liquidity_indicator": "TAKER", "size_in_quote": False, "user_id": "u",
        "side": "BUY", "retail_portfolio_id": "p",
    }  # fmt: skip
    trade = ccxt.coinbase().parse_trade(raw)
    simulated = ccxt_mapping.fill_from_ccxt(trade, "tw-abc", profile=COINBASE_OVER_HTTP)
    assert simulated.quote_quantity == D("333.69987578")  # not 333.699875782
    unknown = ccxt_mapping.fill_from_ccxt(trade, "tw-abc", profile=COINBASE)
    assert unknown.quote_quantity == D("50123.45") * D("0.00665756")  # left to the product


def test_a_raw_field_that_is_not_cost_never_leaks_in(with_eth_btc: Any) -> None:
    trade = with_eth_btc.parse_trade(eth_btc_trade())
    fill = m.fill_from_ccxt({**trade, "info": {**trade["info"], "quoteQty": "1"}}, "tw-abc")
    assert fill.quote_quantity == D("0.01126853")  # ccxt's cost, read back from its float


def test_a_trade_without_cost_has_no_quote_quantity(with_eth_btc: Any) -> None:
    trade = with_eth_btc.parse_trade(eth_btc_trade())
    assert m.fill_from_ccxt({**trade, "cost": None}, "tw-abc").quote_quantity is None


def test_a_public_trade_reports_the_taker_as_aggressor(exchange: Any) -> None:
    buyer_is_maker = {"a": 26129, "p": "50000.01", "q": "0.5", "T": 1700000000400, "m": True}
    trade = m.public_trade_from_ccxt(
        exchange.parse_trade(buyer_is_maker, exchange.market("BTC/USDT"))
    )
    assert trade.aggressor is Side.SELL
    assert (trade.trade_id, trade.price, trade.quantity) == ("26129", D("50000.01"), D("0.5"))


def test_a_streamed_trade_maps_like_a_rest_trade(exchange: Any) -> None:
    event = {
        "e": "trade",
        "E": 1700000000100,
        "s": "BTCUSDT",
        "t": 12345,
        "p": "50000.01000000",
        "q": "0.00100000",
        "T": 1700000000099,
        "m": False,
        "M": True,
    }
    trade = m.public_trade_from_ccxt(exchange.parse_ws_trade(event, exchange.market("BTC/USDT")))
    assert (trade.symbol, trade.aggressor, trade.ts_ms) == ("BTC/USDT", Side.BUY, 1700000000099)
    assert trade.price == D("50000.01")


# -- books and balances ----------------------------------------------------------------


def test_a_book_keeps_the_best_levels_and_the_update_id(exchange: Any) -> None:
    depth = {
        "lastUpdateId": 1027024,
        "bids": [["49999.99", "0.5"], ["49999.98", "1.25"], ["49999.00", "3"]],
        "asks": [["50000.01", "0.1"], ["50000.02", "2"]],
    }
    book = exchange.parse_order_book(depth, "BTC/USDT")
    book["nonce"] = depth["lastUpdateId"]
    snapshot = m.book_from_ccxt(book, "BTC/USDT", depth=2, now_ms=1700000000500)
    assert snapshot.bids == ((D("49999.99"), D("0.5")), (D("49999.98"), D("1.25")))
    assert snapshot.asks == ((D("50000.01"), D("0.1")), (D("50000.02"), D("2")))
    assert snapshot.update_id == 1027024 and snapshot.ts_ms == 1700000000500


def test_balances_are_exact_and_leave_out_empty_assets(exchange: Any) -> None:
    account = {
        "updateTime": 1700000000000,
        "accountType": "SPOT",
        "balances": [
            {"asset": "BTC", "free": "1.00000000", "locked": "0.25000000"},
            {"asset": "USDT", "free": "12345678.12345679", "locked": "0.00000000"},
            {"asset": "ETH", "free": "0.00000000", "locked": "0.00000000"},
        ],
    }
    reading = m.balances_from_ccxt(exchange.parse_balance_custom(account, "spot"))
    balances = reading.assets
    assert set(balances) == {"BTC", "USDT"}
    assert (balances["BTC"].free, balances["BTC"].locked) == (D("1"), D("0.25"))
    assert balances["USDT"].free == D("12345678.12345679")
    assert reading.as_of_ms == 1700000000000  # the account's last change: updateTime


def test_balances_without_an_update_time_do_not_say_when_they_were_taken(exchange: Any) -> None:
    account = {"balances": [{"asset": "BTC", "free": "1", "locked": "0"}]}
    reading = m.balances_from_ccxt(exchange.parse_balance_custom(account, "spot"))
    assert reading.as_of_ms is None and reading.assets["BTC"].free == D("1")


# -- errors ----------------------------------------------------------------------------


def ccxt_error(
    exchange: Any, status: int, body: str, headers: dict[str, str] | None = None
) -> Exception:
    """The exception ccxt binance raises for this HTTP answer."""
    parsed = exchange.parse_json(body)
    try:
        exchange.handle_errors(status, "", URL, "POST", headers or {}, body, parsed, {}, "")
        exchange.handle_http_status_code(status, "", URL, "POST", body)
    except ccxt.BaseError as exc:
        assert isinstance(exc, Exception)
        return exc
    raise AssertionError(f"ccxt accepted {status} {body}")


def binance_body(code: int, msg: str) -> str:
    return json.dumps({"code": code, "msg": msg})


def test_insufficient_balance_is_insufficient_funds_with_binance_code(exchange: Any) -> None:
    body = binance_body(-2010, "Account has insufficient balance for requested action.")
    exc = ccxt_error(exchange, 400, body)
    error = m.venue_error_from_ccxt("sim", exc, placing_order=True, last_body=body)
    assert isinstance(error, InsufficientFunds) and error.code == -2010


def test_a_post_only_order_that_would_take_is_rejected(exchange: Any) -> None:
    body = binance_body(-2010, "Order would immediately match and take.")
    error = m.venue_error_from_ccxt(
        "sim", ccxt_error(exchange, 400, body), placing_order=True, last_body=body
    )
    assert type(error) is OrderRejectedByVenue and error.code == -2010


def ccxt_network_error(cause: Exception) -> Exception:
    """ccxt's error for an aiohttp failure, raised `from` it as ccxt's fetch does."""
    try:
        try:
            raise cause
        except aiohttp.ClientConnectionError as e:
            raise ccxt.ExchangeNotAvailable("binance POST https://sim/api/v3/order") from e
    except ccxt.ExchangeNotAvailable as exc:
        return exc


def test_a_request_never_written_is_unreached_and_other_lost_connections_unavailable() -> None:
    closing = aiohttp.ClientConnectionResetError("Cannot write to closing transport")
    error = m.venue_error_from_ccxt("sim", ccxt_network_error(closing), placing_order=True)
    assert type(error) is VenueUnreached and "never written" in str(error)
    for lost in (
        aiohttp.ServerDisconnectedError(),  # written, then no answer: outcome unknown
        aiohttp.ClientConnectionResetError("Connection lost"),
    ):
        error = m.venue_error_from_ccxt("sim", ccxt_network_error(lost), placing_order=True)
        assert type(error) is VenueUnavailable


def test_a_stale_body_of_another_call_lends_no_code() -> None:
    exc = ccxt.InvalidOrder("binance createOrder() requires a price argument")
    stale = binance_body(-2010, "Account has insufficient balance for requested action.")
    error = m.venue_error_from_ccxt("sim", exc, placing_order=True, last_body=stale)
    assert isinstance(error, OrderRejectedByVenue) and error.code is None


def test_a_filter_failure_is_an_order_rejection_when_placing(exchange: Any) -> None:
    exc = ccxt_error(exchange, 400, binance_body(-1013, "Filter failure: NOTIONAL"))
    error = m.venue_error_from_ccxt("sim", exc, placing_order=True)
    assert type(error) is OrderRejectedByVenue and error.code == -1013
    lot = ccxt_error(exchange, 400, binance_body(-1013, "Filter failure: LOT_SIZE"))
    assert type(m.venue_error_from_ccxt("sim", lot, placing_order=True)) is OrderRejectedByVenue


def test_a_bad_request_outside_an_order_is_a_plain_venue_error(exchange: Any) -> None:
    exc = ccxt_error(exchange, 400, binance_body(-1121, "Invalid symbol."))
    assert type(m.venue_error_from_ccxt("sim", exc)) is VenueError


@pytest.mark.parametrize("code", [-2011, -2013])
def test_an_unknown_order_is_unknown_order(exchange: Any, code: int) -> None:
    exc = ccxt_error(exchange, 400, binance_body(code, "Order does not exist."))
    assert isinstance(m.venue_error_from_ccxt("sim", exc), UnknownOrder)


@pytest.mark.parametrize("status", [429, 418])
def test_rate_limit_answers_wait_as_the_venue_asks(exchange: Any, status: int) -> None:
    exc = ccxt_error(exchange, status, binance_body(-1003, "Too many requests."))
    error = m.venue_error_from_ccxt("sim", exc, retry_after_s=m.retry_after_s({"Retry-After": "7"}))
    assert isinstance(error, RateLimited) and error.retry_after_s == 7.0
    fallback = m.venue_error_from_ccxt("sim", exc)
    assert isinstance(fallback, RateLimited)
    assert fallback.retry_after_s == m.DEFAULT_RETRY_AFTER_S


def test_an_accounts_order_count_refusal_is_the_accounts_not_the_addresses(exchange: Any) -> None:
    orders = ccxt_error(
        exchange, 429, binance_body(-1015, "Too many new orders; current limit is 100 orders.")
    )
    error = m.venue_error_from_ccxt("sim", orders)
    assert isinstance(error, RateLimited) and error.per_account
    weight = m.venue_error_from_ccxt("sim", ccxt_error(exchange, 429, binance_body(-1003, "x")))
    assert isinstance(weight, RateLimited) and not weight.per_account


def test_a_client_order_id_in_use_is_a_duplicate_other_2010s_are_rejections(
    exchange: Any,
) -> None:
    duplicate = ccxt_error(exchange, 400, binance_body(-2010, "Duplicate order sent."))
    error = m.venue_error_from_ccxt("sim", duplicate, placing_order=True)
    assert isinstance(error, DuplicateClientOrderId) and error.code == -2010
    funds = ccxt_error(
        exchange, 400, binance_body(-2010, "Account has insufficient balance for requested action.")
    )
    assert not isinstance(
        m.venue_error_from_ccxt("sim", funds, placing_order=True), DuplicateClientOrderId
    )
    # Known only through ccxt (the generic profile), the same answer is a plain refusal.
    generic = ccxt_mapping.venue_error_from_ccxt(
        "x", duplicate, placing_order=True, profile=GENERIC
    )
    assert isinstance(generic, OrderRejectedByVenue) and not isinstance(
        generic, DuplicateClientOrderId
    )


@pytest.mark.parametrize(
    ("code", "msg"),
    [
        (-1022, "Signature for this request is not valid."),
        (-2015, "Invalid API-key, IP, or permissions for action."),
    ],
)
def test_key_and_signature_refusals_are_authentication_failures(
    exchange: Any, code: int, msg: str
) -> None:
    exc = ccxt_error(exchange, 401, binance_body(code, msg))
    assert isinstance(m.venue_error_from_ccxt("sim", exc), AuthenticationFailed)


def test_clock_skew_is_transient(exchange: Any) -> None:
    body = binance_body(-1021, "Timestamp for this request is outside of the recvWindow.")
    error = m.venue_error_from_ccxt("sim", ccxt_error(exchange, 400, body))
    assert isinstance(error, VenueUnavailable) and "clock skew" in str(error)


@pytest.mark.parametrize("body", ["Service Unavailable", binance_body(-1001, "Internal error.")])
def test_server_errors_leave_the_outcome_unknown(exchange: Any, body: str) -> None:
    error = m.venue_error_from_ccxt("sim", ccxt_error(exchange, 503, body), placing_order=True)
    assert isinstance(error, VenueUnavailable)


@pytest.mark.parametrize(
    "exc", [ccxt.RequestTimeout("binance POST timed out"), ccxt.NetworkError("reset")]
)
def test_timeouts_and_lost_connections_leave_the_outcome_unknown(exc: Exception) -> None:
    assert isinstance(m.venue_error_from_ccxt("sim", exc, placing_order=True), VenueUnavailable)


def test_the_secret_never_appears_in_an_error() -> None:
    exc = ccxt.ExchangeError(f"binance echo {SECRET} in a body")
    error = m.venue_error_from_ccxt("sim", exc, secret=SECRET)
    assert SECRET not in str(error) and "***" in str(error)


def test_retry_after_is_read_case_insensitively_in_seconds() -> None:
    assert m.retry_after_s({"retry-after": "2.5"}) == 2.5
    assert m.retry_after_s({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert m.retry_after_s(None) is None


# -- configuration ---------------------------------------------------------------------


def test_rehosting_moves_every_binance_url_to_our_server(exchange: Any) -> None:
    urls = rehosted_urls(exchange.urls["api"], "http://127.0.0.1:8765", "ws://127.0.0.1:8765")
    assert urls["public"] == "http://127.0.0.1:8765/api/v3"
    assert urls["sapi"] == "http://127.0.0.1:8765/sapi/v1"
    assert urls["ws"]["spot"] == "ws://127.0.0.1:8765/ws"
    assert urls["ws"]["ws-api"]["spot"] == "ws://127.0.0.1:8765/ws-api/v3"

    def leaves(tree: Any) -> list[str]:
        if isinstance(tree, dict):
            return [url for value in tree.values() for url in leaves(value)]
        return [tree]

    assert all(
        url.startswith(("http://127.0.0.1:8765/", "ws://127.0.0.1:8765/")) for url in leaves(urls)
    )


async def test_a_simulated_binance_venue_is_configured_for_spot_only_and_hides_its_secret() -> None:
    venue = ccxt_session("http://127.0.0.1:1", "ws://127.0.0.1:1", "key", SECRET)
    try:
        exchange = venue.exchange
        assert exchange.urls["api"]["private"] == "http://127.0.0.1:1/api/v3"
        assert exchange.options["fetchMarkets"]["types"] == ["spot"]
        assert exchange.options["fetchCurrencies"] is False
        assert SECRET not in repr(venue) and venue.name == "sim"
    finally:
        await venue.close()


def test_an_unknown_exchange_id_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nosuchexchange"):
        CcxtVenue.create("nosuchexchange", "key", SECRET)


def test_the_binance_profile_reads_its_code_from_the_body_and_another_venue_does_not() -> None:
    # ccxt dropped the code (it matched the message); only Binance's `{code, msg}` body
    # has it, and only Binance's profile knows to look there.
    msg = "Account has insufficient balance for requested action."
    exc = ccxt.InsufficientFunds(f"binance {msg}")
    body = binance_body(-2010, msg)
    binance = ccxt_mapping.venue_error_from_ccxt("x", exc, profile=BINANCE, last_body=body)
    generic = ccxt_mapping.venue_error_from_ccxt("x", exc, profile=GENERIC, last_body=body)
    assert (binance.code, generic.code) == (-2010, None)  # type: ignore[attr-defined]
    quoted = ccxt.InvalidOrder('kraken {"code": 17, "error": "bad"}')
    assert ccxt_mapping.venue_error_from_ccxt("x", quoted, profile=GENERIC).code == 17  # type: ignore[attr-defined]


# -- fills on the order stream ---------------------------------------------------------


def stream_report(execution_type: str, **fields: Any) -> dict[str, Any]:
    """A spot executionReport of order 12 (a resting limit buy of 0.003 BTC at 50,000.5)."""
    message: dict[str, Any] = {
        "e": "executionReport", "E": 1700000000200, "s": "BTCUSDT", "c": "tw-abc",
        "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "0.00300000", "p": "50000.50000000",
        "P": "0.00000000", "g": -1, "C": "", "x": execution_type, "X": "NEW", "r": "NONE",
        "i": 12, "l": "0.00000000", "z": "0.00000000", "L": "0.00000000", "n": "0",
        "N": None, "T": 1700000000123, "t": -1, "w": True, "m": False,
        "O": 1700000000123, "Z": "0.00000000", "Y": "0.00000000",
    }  # fmt: skip
    message.update(fields)
    return message


def stream_trade(trade_id: int, quantity: str, executed: str, quote: str, status: str) -> Any:
    """The TRADE report of one maker execution of order 12 at its price."""
    return stream_report(
        "TRADE", X=status, t=trade_id, l=quantity, z=executed, L="50000.50000000",
        n="0.00000123", N="BTC", m=True, T=1700000000300 + trade_id, Y=quote, Z=quote,
    )  # fmt: skip


async def test_a_streamed_order_carries_each_execution_ccxt_kept_with_it() -> None:
    """Two executions that come between two reads of the stream reach the reader as one
    update of the order: ccxt keeps both trades with it (each with its message), and
    both are the update's fills, exact, in order."""
    exchange = binance()
    client = exchange.client("wss://stream.invalid/ws")  # never connected
    messages = [
        stream_report("NEW"),
        stream_trade(71, "0.00100000", "0.00100000", "50.00050000", "PARTIALLY_FILLED"),
        stream_trade(72, "0.00200000", "0.00300000", "100.00100000", "FILLED"),
    ]
    for message in messages:
        exchange.handle_order_update(client, message)
    [order] = list(exchange.orders)
    streamed = ccxt_mapping.order_from_stream(
        order, profile=BINANCE, currency_code=exchange.safe_currency_code
    )
    assert streamed.status is VenueOrderStatus.FILLED
    assert [f.trade_id for f in streamed.fills] == ["71", "72"]
    first, second = streamed.fills
    assert (first.price, first.quantity, first.quote_quantity) == (
        D("50000.5"), D("0.001"), D("50.0005"),
    )  # fmt: skip
    assert (second.quantity, second.quote_quantity, second.ts_ms) == (
        D("0.002"), D("100.001"), 1700000000372,
    )  # fmt: skip
    assert {(f.fee, f.fee_asset, f.liquidity) for f in streamed.fills} == {
        (D("0.00000123"), "BTC", Liquidity.MAKER)
    }
    assert {(f.client_order_id, f.venue_order_id, f.side, f.symbol) for f in streamed.fills} == {
        ("tw-abc", "12", Side.BUY, "BTC/USDT")
    }
    assert sum(f.quantity for f in streamed.fills) == streamed.filled_quantity
    # A venue whose stream says no executions (no reader): the update alone.
    assert ccxt_mapping.order_from_stream(order, profile=GENERIC).fills == ()
    await exchange.close()


async def test_the_first_update_seen_of_an_order_carries_its_own_execution() -> None:
    """The stream opened after the order's NEW: ccxt keeps no trade with an order it
    did not know, and the update's own message still gives the execution."""
    exchange = binance()
    client = exchange.client("wss://stream.invalid/ws")
    exchange.handle_order_update(
        client, stream_trade(71, "0.00100000", "0.00100000", "50.00050000", "PARTIALLY_FILLED")
    )
    [order] = list(exchange.orders)
    streamed = ccxt_mapping.order_from_stream(order, profile=BINANCE)
    assert [(f.trade_id, f.quantity) for f in streamed.fills] == [("71", D("0.001"))]
    assert streamed.status is VenueOrderStatus.PARTIALLY_FILLED
    await exchange.close()


async def test_updates_of_no_execution_carry_no_fills() -> None:
    exchange = binance()
    client = exchange.client("wss://stream.invalid/ws")
    exchange.handle_order_update(client, stream_report("NEW"))
    [order] = list(exchange.orders)
    assert ccxt_mapping.order_from_stream(order, profile=BINANCE).fills == ()
    exchange.handle_order_update(client, stream_report("CANCELED", X="CANCELED", C="tw-abc"))
    [order] = list(exchange.orders)
    canceled = ccxt_mapping.order_from_stream(order, profile=BINANCE)
    assert canceled.status is VenueOrderStatus.CANCELED and canceled.fills == ()
    await exchange.close()
