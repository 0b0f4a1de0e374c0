"""The venue port straight onto a `SimulatedExchange` in this process: no HTTP, no
serialisation. Embedded mode and backtests use it; it answers exactly what the ccxt
adapter answers over the Binance-compatible server for the same exchange state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

from tradewind.domain.model import Liquidity, OrderType, TimeInForce
from tradewind.domain.time_units import NS_PER_MS
from tradewind.errors import (
    DuplicateClientOrderId,
    InsufficientFunds,
    OrderRejectedByVenue,
    UnknownOrder,
)
from tradewind.venues import candles
from tradewind.venues.port import (
    Balance,
    Balances,
    BookSnapshot,
    Candle,
    Market,
    OrderRequest,
    PublicTrade,
    UsageObserver,
    VenueFill,
    VenueOrder,
    VenueOrderStatus,
)
from tradewind.venues.profile import Refusal
from tradewind.venues.simulated.exchange import OrderUpdate, SimulatedExchange
from tradewind.venues.simulated.kline_intervals import FIXED_INTERVALS_MS
from tradewind.venues.simulated.matching import (
    DepthUpdate,
    MatchingError,
    MatchingOrderStatus,
    OrderNotFound,
    OrderSnapshot,
    Trade,
)
from tradewind.venues.simulated.matching.errors import CancelRejected
from tradewind.venues.simulated.profile import IN_PROCESS

T = TypeVar("T")
_INSUFFICIENT = "insufficient balance"
_IOC = TimeInForce.IOC  # a market order fills what it can at once: immediate-or-cancel
_KLINE_WIDTHS_S = {name: ms // 1000 for name, ms in FIXED_INTERVALS_MS.items()}
_WATCH_QUEUE = 10_000  # events a slow watcher may fall behind before it loses the oldest


class InProcessVenue:
    """One account's session with an in-process simulated exchange."""

    def __init__(self, exchange: SimulatedExchange, account_id: str, name: str = "sim") -> None:
        self._exchange = exchange
        self._account_id = account_id
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def load_markets(self) -> dict[str, Market]:
        markets = {}
        for symbol, spec in self._exchange.specs.items():
            f = spec.filters
            markets[symbol] = Market(
                symbol=symbol,
                base=spec.instrument.base,
                quote=spec.instrument.quote,
                tick_size=f.tick_size,
                step_size=f.step_size,
                min_quantity=f.min_qty,
                min_notional=f.min_notional,
                taker_fee=self._exchange.fees,
            )
        return markets

    async def place_order(self, request: OrderRequest) -> VenueOrder:
        try:
            result = self._exchange.submit_order(
                self._account_id,
                request.symbol,
                request.side,
                request.order_type,
                quantity=request.quantity,
                price=request.price if request.order_type is OrderType.LIMIT else None,
                time_in_force=request.time_in_force,
                client_order_id=request.client_order_id,
            )
        except MatchingError as exc:
            raise self._rejection(exc) from None
        # The answer carries the executions of the order as it arrived, as Binance's FULL
        # answer does over HTTP: execution books them without reading them apart.
        fills = tuple(venue_fill(trade, self._account_id) for trade in result.trades)
        return venue_order(result.order, fills)

    async def cancel_order(self, symbol: str, client_order_id: str) -> VenueOrder:
        try:
            order = self._exchange.cancel_order(
                self._account_id, symbol, client_order_id=client_order_id
            )
        except (CancelRejected, OrderNotFound) as exc:
            raise UnknownOrder(self._name, f"{client_order_id}: {exc.msg}") from None
        return venue_order(order)

    async def fetch_order(self, symbol: str, client_order_id: str) -> VenueOrder:
        try:
            order = self._exchange.engine.get_order(
                self._account_id, symbol, client_order_id=client_order_id
            )
        except OrderNotFound as exc:
            raise UnknownOrder(self._name, f"{client_order_id}: {exc.msg}") from None
        return venue_order(order)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        return [venue_order(o) for o in self._exchange.engine.open_orders(self._account_id, symbol)]

    async def fetch_balances(self) -> Balances:
        exchange = self._exchange
        return Balances(
            {
                asset: Balance(asset, b.free, b.locked)
                for asset, b in exchange.engine.balances(self._account_id).items()
            },
            as_of_ms=exchange.balances_changed_ms(self._account_id),
        )

    async def fetch_my_fills(self, symbol: str, since_ms: int | None = None) -> list[VenueFill]:
        engine = self._exchange.engine
        fills = []
        for trade in engine.account_trades(self._account_id, symbol):
            if since_ms is not None and trade.time_ms < since_ms:
                continue
            fills.append(venue_fill(trade, self._account_id))
        return fills

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> BookSnapshot:
        depth = self._exchange.engine.depth(symbol, limit)
        return BookSnapshot(
            symbol=symbol,
            bids=tuple((level.price, level.quantity) for level in depth.bids),
            asks=tuple((level.price, level.quantity) for level in depth.asks),
            update_id=depth.last_update_id,
            ts_ms=self._exchange.clock() // NS_PER_MS,
        )

    async def fetch_candles(self, symbol: str, interval_s: int, count: int) -> list[Candle]:
        chosen = candles.plan(interval_s, _KLINE_WIDTHS_S, self._name)
        history = self._exchange.history

        async def page(width: str, end_ms: int, limit: int) -> list[Candle]:
            return [
                Candle(open_ms=k.open_ms, open=k.open, high=k.high, low=k.low, close=k.close,
                       volume=k.volume)
                for k in history.klines(symbol, width, end_ms=end_ms, limit=limit)
            ]  # fmt: skip

        now_ms = self._exchange.clock() // NS_PER_MS
        return await candles.last_bars(page, chosen, interval_s, count, now_ms)

    async def watch_trades(self, symbol: str) -> AsyncIterator[list[PublicTrade]]:
        async for trades in self._watch(_TradeWatch(symbol)):
            yield trades

    async def watch_order_book(self, symbol: str) -> AsyncIterator[BookSnapshot]:
        async for _ in self._watch(_DepthWatch(symbol)):
            yield await self.fetch_order_book(symbol)

    async def watch_orders(self) -> AsyncIterator[list[VenueOrder]]:
        watch = _OrderWatch(self._account_id)
        self._exchange.add_account_listener(self._account_id, watch)
        try:
            while True:
                yield await watch.queue.get()
        finally:
            self._exchange.remove_account_listener(self._account_id, watch)

    def on_usage(self, observer: UsageObserver) -> None:
        return None  # in this process: no limits to report

    async def close(self) -> None:
        return None

    async def _watch(self, watch: _Watch[T]) -> AsyncIterator[T]:
        self._exchange.add_listener(watch)
        try:
            while True:
                yield await watch.queue.get()
        finally:
            self._exchange.remove_listener(watch)

    def _rejection(self, exc: MatchingError) -> OrderRejectedByVenue:
        if IN_PROCESS.refusal(exc.code, exc.msg) is Refusal.DUPLICATE_CLIENT_ID:
            return DuplicateClientOrderId(self._name, exc.msg, exc.code)
        if _INSUFFICIENT in exc.msg.lower():
            return InsufficientFunds(self._name, exc.msg, exc.code)
        return OrderRejectedByVenue(self._name, exc.msg, exc.code)


# -- conversions ------------------------------------------------------------------------


_VENUE_STATUS = {
    status: VenueOrderStatus.EXPIRED
    if status is MatchingOrderStatus.EXPIRED_IN_MATCH
    else VenueOrderStatus(status.value)
    for status in MatchingOrderStatus
}


def venue_status(status: MatchingOrderStatus) -> VenueOrderStatus:
    return _VENUE_STATUS[status]


def venue_order(order: OrderSnapshot, fills: tuple[VenueFill, ...] = ()) -> VenueOrder:
    """`order` as the venue port reports it, carrying `fills` (its executions so far, or
    none: then they are read apart)."""
    executed = order.executed_quantity
    average = order.cumulative_quote_quantity / executed if executed else None
    return VenueOrder(
        client_order_id=order.client_order_id,
        venue_order_id=str(order.order_id),
        symbol=order.symbol,
        side=order.side,
        order_type=order.order_type,
        time_in_force=order.time_in_force or _IOC,
        status=venue_status(order.status),
        quantity=order.quantity,
        filled_quantity=executed,
        price=order.price if order.order_type is OrderType.LIMIT else None,
        average_price=average,
        updated_ms=order.updated_ms,
        fills=fills,
    )


def venue_fill(trade: Trade, account_id: str) -> VenueFill:
    """`trade` as `account_id`'s fill (its maker's or its taker's side)."""
    return _fill_of(trade, maker=trade.maker_account_id == account_id)


def _fill_of(trade: Trade, *, maker: bool) -> VenueFill:
    """`trade` as the fill of its maker order, or of its taker order."""
    if maker:
        fee, fee_asset = trade.maker_fee, trade.maker_fee_asset
    else:
        fee, fee_asset = trade.taker_fee, trade.taker_fee_asset
    side = trade.maker_side if maker else trade.maker_side.opposite
    return VenueFill(
        trade_id=str(trade.trade_id),
        venue_order_id=str(trade.maker_order_id if maker else trade.taker_order_id),
        client_order_id=trade.maker_client_order_id if maker else trade.taker_client_order_id,
        symbol=trade.symbol,
        side=side,
        price=trade.price,
        quantity=trade.quantity,
        quote_quantity=trade.quote_quantity,
        fee=fee,
        fee_asset=fee_asset,
        liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
        ts_ms=trade.time_ms,
    )


class _Watch(Generic[T]):
    """A listener that queues what one watcher wants; the oldest is dropped when full."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[T] = asyncio.Queue(_WATCH_QUEUE)

    def put(self, item: T) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(item)

    def on_trades(self, symbol: str, trades: list[Trade]) -> None:
        return None

    def on_depth(self, update: DepthUpdate) -> None:
        return None

    def on_order_updates(self, updates: list[OrderUpdate]) -> None:
        return None

    def on_balances(self, account_id: str, assets: set[str], ts_ms: int) -> None:
        return None


class _TradeWatch(_Watch[list[PublicTrade]]):
    def __init__(self, symbol: str) -> None:
        super().__init__()
        self._symbol = symbol

    def on_trades(self, symbol: str, trades: list[Trade]) -> None:
        if symbol == self._symbol:
            self.put([public_trade(t) for t in trades])


class _DepthWatch(_Watch[int]):
    def __init__(self, symbol: str) -> None:
        super().__init__()
        self._symbol = symbol

    def on_depth(self, update: DepthUpdate) -> None:
        if update.symbol == self._symbol:
            self.put(update.final_update_id)


class _OrderWatch(_Watch[list[VenueOrder]]):
    def __init__(self, account_id: str) -> None:
        super().__init__()
        self._account_id = account_id

    def on_order_updates(self, updates: list[OrderUpdate]) -> None:
        mine = [u for u in updates if u.account_id == self._account_id]
        if mine:
            self.put([_reported(u) for u in mine])


def _reported(update: OrderUpdate) -> VenueOrder:
    """The order as of this update (status and fills at that moment), carrying the
    execution a TRADE update reports, as Binance's executionReport does over HTTP
    (`venues.binance.stream`): execution books it without reading fills apart."""
    order = update.order
    executed = update.executed_quantity
    average = update.cumulative_quote / executed if executed else None
    trade = update.trade
    maker = trade is not None and trade.maker_order_id == order.order_id
    fills = () if trade is None else (_fill_of(trade, maker=maker),)
    return VenueOrder(
        client_order_id=order.client_order_id,
        venue_order_id=str(order.order_id),
        symbol=order.symbol,
        side=order.side,
        order_type=order.order_type,
        time_in_force=order.time_in_force or _IOC,
        status=_VENUE_STATUS[update.status],
        quantity=order.quantity,
        filled_quantity=executed,
        price=order.price if order.order_type is OrderType.LIMIT else None,
        average_price=average,
        updated_ms=update.ts_ms,
        fills=fills,
    )


def public_trade(trade: Trade) -> PublicTrade:
    return PublicTrade(
        trade_id=str(trade.trade_id),
        symbol=trade.symbol,
        price=trade.price,
        quantity=trade.quantity,
        aggressor=trade.maker_side.opposite,
        ts_ms=trade.time_ms,
    )
