"""The WebSocket API methods that mirror a REST endpoint (web-socket-api.md, "General",
"Market data", "Trading" and "Account requests"), as data: each names its security,
the REST endpoint it mirrors and the call that serves both.

A method's weight is its REST endpoint's (`weights.request_weight`, from the same
parameters), and its logic, validation, errors and response shape are the REST
endpoint's own (`TradingEndpoints`, `AccountEndpoints`, `MarketEndpoints`,
`CandleEndpoints`, `TickerEndpoints`): only the envelope differs. The session methods
(`session.*`, `userDataStream.*`) are `ws_api`'s.

Not served (they answer -1020 like any unknown method): the OTO and OTOCO order lists
(`orderList.place.oto`, `orderList.place.otoco`), SOR (`sor.*`),
`order.amend.keepPriority`, and the account's allocations, prevented matches and order
amendments; REST serves none of them either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tradewind.venues.simulated.exchange import ApiCredentials
from tradewind.venues.simulated.server.formatting import SymbolMap
from tradewind.venues.simulated.server.rest_account import AccountEndpoints
from tradewind.venues.simulated.server.rest_auth import Security
from tradewind.venues.simulated.server.rest_market import MarketEndpoints
from tradewind.venues.simulated.server.rest_market_candles import CandleEndpoints
from tradewind.venues.simulated.server.rest_market_tickers import TickerEndpoints
from tradewind.venues.simulated.server.rest_order_lists import OrderListEndpoints
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.rest_trading import TradingEndpoints
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.weights import request_weight

PublicCall = Callable[[Params], object]
SignedCall = Callable[[Params, ApiCredentials], object]


@dataclass(frozen=True)
class WsApiMethod:
    """One method: `security` None for a public one (NONE), else who may call it;
    `rest` the (HTTP method, path) it mirrors; `places_orders` if it counts against the
    account's ORDERS limits (its reply's `rateLimits` then show them)."""

    security: Security | None
    rest: tuple[str, str]
    public_call: PublicCall | None = None
    signed_call: SignedCall | None = None
    places_orders: bool = False

    def weight(self, values: Mapping[str, str]) -> int:
        """The request weight, as REST charges its endpoint for these parameters."""
        return request_weight(*self.rest, values)

    def call(self, params: Params, creds: ApiCredentials | None) -> object:
        """The result; raises BinanceError (or MatchingError) as REST would."""
        if self.signed_call is not None:
            assert creds is not None, "a signed method is called with credentials"
            return self.signed_call(params, creds)
        assert self.public_call is not None
        return self.public_call(params)


def _public(path: str, call: PublicCall) -> WsApiMethod:
    return WsApiMethod(None, ("GET", f"/api/v3/{path}"), public_call=call)


def _signed(
    security: Security, rest: tuple[str, str], call: SignedCall, *, places_orders: bool = False
) -> WsApiMethod:
    rest = (rest[0], f"/api/v3/{rest[1]}")
    return WsApiMethod(security, rest, signed_call=call, places_orders=places_orders)


def rest_mirror_methods(state: ServerState, symbols: SymbolMap) -> dict[str, WsApiMethod]:
    """Every method that mirrors a REST endpoint, by its WebSocket API name."""
    market = MarketEndpoints(state, symbols)
    candles = CandleEndpoints(state, symbols)
    tickers = TickerEndpoints(state, symbols)
    trading = TradingEndpoints(state, symbols)
    order_lists = OrderListEndpoints(state, symbols)
    account = AccountEndpoints(state, symbols)
    trade, user_data, user_stream = Security.TRADE, Security.USER_DATA, Security.USER_STREAM
    return {
        "ping": _public("ping", lambda params: {}),
        "time": _public("time", market.server_time),
        "exchangeInfo": _public("exchangeInfo", market.exchange_info),
        "depth": _public("depth", market.depth),
        "trades.recent": _public("trades", market.trades),
        "trades.historical": _public("historicalTrades", market.historical_trades),
        "trades.aggregate": _public("aggTrades", market.aggregate_trades),
        "klines": _public("klines", candles.klines),
        "uiKlines": _public("uiKlines", candles.klines),
        "avgPrice": _public("avgPrice", candles.average_price),
        "ticker.price": _public("ticker/price", tickers.price),
        "ticker.book": _public("ticker/bookTicker", tickers.book),
        "ticker.24hr": _public("ticker/24hr", tickers.day),
        "ticker": _public("ticker", tickers.rolling_window),
        "ticker.tradingDay": _public("ticker/tradingDay", tickers.trading_day),
        "order.place": _signed(
            trade, ("POST", "order"), lambda p, c: trading.new_order(p, c)[0], places_orders=True
        ),
        "order.test": _signed(trade, ("POST", "order/test"), trading.test_order),
        "order.status": _signed(user_data, ("GET", "order"), trading.query_order),
        "order.cancel": _signed(trade, ("DELETE", "order"), trading.cancel_order),
        "order.cancelReplace": _signed(
            trade,
            ("POST", "order/cancelReplace"),
            lambda p, c: trading.cancel_replace(p, c)[0],
            places_orders=True,
        ),
        "openOrders.status": _signed(user_data, ("GET", "openOrders"), trading.open_orders),
        "openOrders.cancelAll": _signed(
            trade, ("DELETE", "openOrders"), trading.cancel_open_orders
        ),
        "allOrders": _signed(user_data, ("GET", "allOrders"), trading.all_orders),
        "orderList.place.oco": _signed(
            trade,
            ("POST", "orderList/oco"),
            lambda p, c: order_lists.new_oco(p, c)[0],
            places_orders=True,
        ),
        "orderList.place": _signed(
            trade,
            ("POST", "order/oco"),
            lambda p, c: order_lists.new_oco_deprecated(p, c)[0],
            places_orders=True,
        ),
        "orderList.status": _signed(user_data, ("GET", "orderList"), order_lists.query_order_list),
        "orderList.cancel": _signed(trade, ("DELETE", "orderList"), order_lists.cancel_order_list),
        "openOrderLists.status": _signed(
            user_data, ("GET", "openOrderList"), order_lists.open_order_lists
        ),
        "allOrderLists": _signed(user_data, ("GET", "allOrderList"), order_lists.all_order_lists),
        "myTrades": _signed(user_data, ("GET", "myTrades"), account.my_trades),
        "account.status": _signed(user_data, ("GET", "account"), account.account),
        "account.commission": _signed(
            user_data, ("GET", "account/commission"), account.commission_rates
        ),
        "account.rateLimits.orders": _signed(
            user_data, ("GET", "rateLimit/order"), account.unfilled_order_count
        ),
        # the deprecated listen-key methods: API key only, no signature
        "userDataStream.start": _signed(
            user_stream, ("POST", "userDataStream"), account.open_user_stream
        ),
        "userDataStream.ping": _signed(
            user_stream, ("PUT", "userDataStream"), account.keep_user_stream_alive
        ),
        "userDataStream.stop": _signed(
            user_stream, ("DELETE", "userDataStream"), account.close_user_stream
        ),
    }
