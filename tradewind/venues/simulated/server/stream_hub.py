"""The fan-out between the simulated exchange and its WebSocket clients.

`BinanceStreamHub` is the exchange's one `ExchangeListener` for streams: it encodes each event
once and queues the text on every connection subscribed to it. Queues are bounded; a
client that falls that far behind is disconnected (close code 1008), so the exchange
never waits for a client. A timer task, running while any client is connected, sends
the batched streams at their speeds (depth diffs and partial depth every 100 ms or
1000 ms, tickers and average prices every 1000 ms: `stream_tickers`, klines every
2000 ms or 1000 ms: `stream_klines`), notices expired listen keys, and closes every
connection when a test injects a WebSocket drop (`FaultSwitches.drop_websockets`, close
code 1001).
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from tradewind.domain.events import BookLevel
from tradewind.domain.time_units import NS_PER_MS
from tradewind.runtime.logging import get_logger
from tradewind.venues.simulated.exchange import OrderUpdate, SimulatedExchange
from tradewind.venues.simulated.history import Kline
from tradewind.venues.simulated.matching import DepthUpdate, OrderListSnapshot, Trade
from tradewind.venues.simulated.server import stream_payloads as payloads
from tradewind.venues.simulated.server.formatting import SymbolMap
from tradewind.venues.simulated.server.state import FaultSwitches, ListenKeys
from tradewind.venues.simulated.server.stream_connection import (
    CLOSE_GOING_AWAY,
    CLOSE_TOO_SLOW,
    Connection,
    UserSink,
    running_timer,
    tick_while_connected,
)
from tradewind.venues.simulated.server.stream_klines import KlineStreams
from tradewind.venues.simulated.server.stream_names import (
    FAST_MS,
    SLOW_MS,
    MarketStream,
    StreamKind,
)
from tradewind.venues.simulated.server.stream_tickers import TickerStreams

DEFAULT_QUEUE_SIZE = 2000  # messages a client may lag behind before it is dropped

_log = get_logger(__name__)


@dataclass
class _DepthWindow:
    """Depth changes merged over one batching window; the last total per price wins."""

    first_id: int = 0
    final_id: int = 0
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)

    def add(self, update: DepthUpdate) -> None:
        if not self.first_id:
            self.first_id = update.first_update_id
        self.final_id = update.final_update_id
        for level in update.bids:
            self.bids[level.price] = level.quantity
        for level in update.asks:
            self.asks[level.price] = level.quantity

    def drain(self) -> tuple[int, int, list[BookLevel], list[BookLevel]]:
        bids = [BookLevel(p, q) for p, q in sorted(self.bids.items(), reverse=True)]
        asks = [BookLevel(p, q) for p, q in sorted(self.asks.items())]
        drained = (self.first_id, self.final_id, bids, asks)
        self.first_id = self.final_id = 0
        self.bids, self.asks = {}, {}
        return drained


class BinanceStreamHub:
    """Fans the exchange's events out to WebSocket connections by subscription.

    Register it once: `exchange.add_listener(hub)`. Handlers call `connect`, then
    `subscribe` / `attach_user`, and `disconnect` when the client is gone.
    """

    def __init__(
        self,
        exchange: SimulatedExchange,
        faults: FaultSwitches,
        listen_keys: ListenKeys,
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        self.exchange = exchange
        self.symbols = SymbolMap(exchange.specs)
        self.listen_keys = listen_keys
        self._faults = faults
        self._queue_size = queue_size
        self._connections: set[Connection] = set()
        self._subscribers: dict[str, set[Connection]] = {}
        self._active: dict[str, MarketStream] = {}  # streams with at least one subscriber
        self._windows: dict[str, dict[str, _DepthWindow]] = {}  # symbol -> stream -> window
        self._klines = KlineStreams(exchange.history)
        self._tickers = TickerStreams(exchange, self.symbols)
        self._last_trade_ids: dict[str, int] = {}  # symbol -> its last trade's id
        self._tickers_sent: dict[str, tuple[Decimal | None, ...]] = {}
        self._partials_sent: dict[str, int] = {}  # stream -> update id last sent
        self._users: dict[str, list[UserSink]] = {}
        self._execution_ids = itertools.count(1)
        self._too_slow: list[Connection] = []
        self._timer: asyncio.Task[None] | None = None
        prefixes = {s: self.symbols.wire(s).lower() for s in exchange.specs}
        self._trade_names = {s: (f"{p}@trade", f"{p}@aggTrade") for s, p in prefixes.items()}
        self._ticker_names = {s: f"{p}@bookTicker" for s, p in prefixes.items()}

    # -- connections ------------------------------------------------------------------

    @property
    def connections(self) -> int:
        return len(self._connections)

    def connect(self, *, combined: bool) -> Connection:
        connection = Connection(
            self._faults.websocket_epoch, combined=combined, queue_size=self._queue_size
        )
        self._connections.add(connection)
        self._timer = running_timer(
            self._timer, self._run, name="stream-hub", log=_log, failure="stream hub timer failed"
        )
        return connection

    def disconnect(self, connection: Connection) -> None:
        """Forget the connection and all its subscriptions (idempotent)."""
        self._connections.discard(connection)
        for name in list(connection.streams):
            self.unsubscribe(connection, name)
        for sink in list(connection.user_sinks):
            self.detach_user(sink)

    def drop(self, connection: Connection, code: int, reason: str) -> None:
        connection.close(code, reason)
        self.disconnect(connection)

    def subscribe(self, connection: Connection, stream: MarketStream) -> None:
        name = stream.name
        if name in connection.streams:
            return
        connection.streams[name] = stream
        subscribers = self._subscribers.setdefault(name, set())
        if not subscribers:
            self._activate(stream)
        subscribers.add(connection)
        # a newcomer gets the current top of book, partial book, tickers and candle
        # without waiting for a change
        self._tickers_sent.pop(name, None)
        self._partials_sent.pop(name, None)
        self._tickers.forget(name)
        self._klines.welcome(name, self._now_ms())

    def unsubscribe(self, connection: Connection, name: str) -> bool:
        stream = connection.streams.pop(name, None)
        if stream is None:
            return False
        subscribers = self._subscribers[name]
        subscribers.discard(connection)
        if not subscribers:
            del self._subscribers[name]
            self._deactivate(stream)
        return True

    def attach_user(
        self,
        connection: Connection,
        account_id: str,
        *,
        listen_key: str | None = None,
        subscription_id: int | None = None,
    ) -> UserSink:
        sink = UserSink(connection, account_id, listen_key, subscription_id)
        connection.user_sinks.append(sink)
        self._users.setdefault(account_id, []).append(sink)
        return sink

    def detach_user(self, sink: UserSink) -> None:
        if sink in sink.connection.user_sinks:
            sink.connection.user_sinks.remove(sink)
        sinks = self._users.get(sink.account_id, [])
        if sink in sinks:
            sinks.remove(sink)
            if not sinks:
                del self._users[sink.account_id]

    # -- ExchangeListener -------------------------------------------------------------

    def on_trades(self, symbol: str, trades: list[Trade]) -> None:
        self._last_trade_ids[symbol] = trades[-1].trade_id
        trade_name, agg_name = self._trade_names[symbol]
        if trade_name not in self._subscribers and agg_name not in self._subscribers:
            return
        wire = self.symbols.wire(symbol)
        now = self._now_ms()
        if trade_name in self._subscribers:
            for trade in trades:
                self._publish(trade_name, payloads.encode(payloads.trade_event(wire, trade, now)))
        if agg_name in self._subscribers:
            for trade in trades:
                event = payloads.agg_trade_event(wire, trade, now)
                self._publish(agg_name, payloads.encode(event))
        self._drop_slow()

    def on_depth(self, update: DepthUpdate) -> None:
        symbol = update.symbol
        windows = self._windows.get(symbol)
        if windows:
            for window in windows.values():
                window.add(update)
        name = self._ticker_names[symbol]
        if name in self._subscribers:
            ticker = self.exchange.engine.book_ticker(symbol)
            top = (ticker.bid_price, ticker.bid_quantity, ticker.ask_price, ticker.ask_quantity)
            if self._tickers_sent.get(name) != top:
                self._tickers_sent[name] = top
                event = payloads.book_ticker_event(self.symbols.wire(symbol), ticker)
                self._publish(name, payloads.encode(event))
        self._drop_slow()

    def on_order_updates(self, updates: list[OrderUpdate]) -> None:
        for update in updates:
            sinks = self._users.get(update.account_id)
            if not sinks:
                continue
            wire = self.symbols.wire(update.order.symbol)
            report = payloads.execution_report(wire, update, next(self._execution_ids))
            self._send_user(sinks, payloads.encode(report))
        self._drop_slow()

    def on_order_lists(self, order_lists: list[OrderListSnapshot]) -> None:
        """Binance's listStatus events, after the legs' executionReports."""
        for order_list in order_lists:
            sinks = self._users.get(order_list.account_id)
            if not sinks:
                continue
            wire = self.symbols.wire(order_list.symbol)
            event = payloads.list_status_event(wire, order_list, self._now_ms())
            self._send_user(sinks, payloads.encode(event))
        self._drop_slow()

    def on_balances(self, account_id: str, assets: set[str], ts_ms: int) -> None:
        sinks = self._users.get(account_id)
        if not sinks:
            return
        engine = self.exchange.engine
        balances = [engine.balance(account_id, asset) for asset in sorted(assets)]
        event = payloads.account_position_event(balances, ts_ms, self._now_ms())
        self._send_user(sinks, payloads.encode(event))
        self._drop_slow()

    # -- sending ----------------------------------------------------------------------

    def _publish(self, name: str, text: str) -> None:
        """Queue one encoded event on every subscriber of stream `name`."""
        wrapped = None
        for connection in self._subscribers.get(name, ()):
            if connection.combined:
                if wrapped is None:
                    wrapped = f'{{"stream":"{name}","data":{text}}}'
                sent = connection.send(wrapped)
            else:
                sent = connection.send(text)
            if not sent:
                self._too_slow.append(connection)

    def _send_user(self, sinks: list[UserSink], text: str) -> None:
        for sink in sinks:
            if not sink.connection.send(sink.wrap(text)):
                self._too_slow.append(sink.connection)

    def _drop_slow(self) -> None:
        if self._too_slow:
            for connection in self._too_slow:
                reason = f"client too slow: more than {self._queue_size} messages queued"
                self.drop(connection, CLOSE_TOO_SLOW, reason)
            self._too_slow.clear()

    def _now_ms(self) -> int:
        return self.exchange.clock() // NS_PER_MS

    # -- batched streams --------------------------------------------------------------

    def _activate(self, stream: MarketStream) -> None:
        self._active[stream.name] = stream
        if stream.kind is StreamKind.DIFF_DEPTH:
            self._windows.setdefault(stream.symbol, {})[stream.name] = _DepthWindow()

    def _deactivate(self, stream: MarketStream) -> None:
        del self._active[stream.name]
        self._tickers.forget(stream.name)
        self._klines.forget(stream.name)
        windows = self._windows.get(stream.symbol)
        if windows is not None and stream.name in windows:
            del windows[stream.name]
            if not windows:
                del self._windows[stream.symbol]

    async def _run(self) -> None:
        """While anyone is connected: flush batched streams every 100 ms and drop every
        connection as soon as a test injects a WebSocket drop."""
        await tick_while_connected(
            self._faults,
            FAST_MS / 1000,
            lambda: bool(self._connections),
            self._drop_previous_epochs,
            lambda tick: self._flush(tick * FAST_MS),
        )

    def _drop_previous_epochs(self) -> None:
        epoch = self._faults.websocket_epoch
        for connection in [c for c in self._connections if c.epoch != epoch]:
            self.drop(connection, CLOSE_GOING_AWAY, "server dropped all WebSocket connections")

    def _flush(self, elapsed_ms: int) -> None:
        """Push every batched stream due `elapsed_ms` after the timer started (a multiple
        of FAST_MS): each pushes when that is a multiple of its speed."""
        now = self._now_ms()
        engine = self.exchange.engine
        tickers: list[MarketStream] = []
        for name, stream in self._active.items():
            if not stream.speed_ms or elapsed_ms % stream.speed_ms:
                continue
            kind = stream.kind
            if kind is StreamKind.DIFF_DEPTH:
                window = self._windows[stream.symbol][name]
                if window.first_id:
                    first, final, bids, asks = window.drain()
                    wire = self.symbols.wire(stream.symbol)
                    diff = payloads.depth_update_event(wire, first, final, bids, asks, now)
                    self._publish(name, payloads.encode(diff))
            elif kind is StreamKind.PARTIAL_DEPTH:
                if engine.update_id(stream.symbol) != self._partials_sent.get(name):
                    book = engine.depth(stream.symbol, stream.levels)
                    self._partials_sent[name] = book.last_update_id
                    top = payloads.partial_depth_event(book.last_update_id, book.bids, book.asks)
                    self._publish(name, payloads.encode(top))
            elif kind is StreamKind.KLINE:
                last_trade_id = self._last_trade_ids.get(stream.symbol, -1)
                for kline, closed in self._klines.flush(stream, now, last_trade_id):
                    self._publish_kline(stream, kline, closed, now)
            else:
                tickers.append(stream)
        for name, text in self._tickers.flush(tickers, now):
            self._publish(name, text)
        if elapsed_ms % SLOW_MS == 0:
            self._expire_listen_keys(now)
        self._drop_slow()

    def _publish_kline(self, stream: MarketStream, kline: Kline, closed: bool, now: int) -> None:
        wire = self.symbols.wire(stream.symbol)
        event = payloads.kline_event(wire, stream.interval, kline, closed, now)
        self._publish(stream.name, payloads.encode(event))

    def _expire_listen_keys(self, now: int) -> None:
        for account_id, sinks in list(self._users.items()):
            for sink in list(sinks):
                key = sink.listen_key
                if key is not None and self.listen_keys.account_of(key) != account_id:
                    expired = payloads.encode(payloads.listen_key_expired_event(key, now))
                    sink.connection.send(sink.wrap(expired))
                    self.detach_user(sink)
