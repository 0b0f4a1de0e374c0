"""Fans the simulated exchange's events out to Coinbase Advanced Trade WebSocket clients
by channel and product: `level2` (as `l2_data`), `market_trades`, `ticker`,
`ticker_batch`, `candles`, `heartbeats` and `user`.

Register it once: `exchange.add_listener(hub)`. The endpoint calls `connect`, then
`subscribe` / `unsubscribe` as requests arrive, and `disconnect` when the client is gone.
One asyncio loop owns it (the exchange's). A newcomer gets a snapshot, then every change
after it, so snapshot and updates never overlap nor leave a gap: both happen on the
loop, between two exchange calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from tradewind.domain.time_units import NS_PER_MS
from tradewind.runtime.logging import get_logger
from tradewind.venues.simulated.exchange import OrderUpdate, SimulatedExchange
from tradewind.venues.simulated.kline import Kline
from tradewind.venues.simulated.matching import DepthUpdate, Trade
from tradewind.venues.simulated.server.coinbase import streams_payloads as payloads
from tradewind.venues.simulated.server.coinbase.streams_orders import UserOrders
from tradewind.venues.simulated.server.coinbase.streams_tickers import TickerFigureBook
from tradewind.venues.simulated.server.state import FaultSwitches
from tradewind.venues.simulated.server.stream_connection import (
    CLOSE_GOING_AWAY,
    CLOSE_TOO_SLOW,
    Connection,
    running_timer,
    tick_while_connected,
)

#: Channels with products (a subscription names them) and the rest.
MARKET_CHANNELS = ("level2", "market_trades", "ticker", "ticker_batch", "candles")
CHANNELS = (*MARKET_CHANNELS, "heartbeats", "user")
#: The channel name of the messages a subscription receives, where it differs.
_MESSAGE_CHANNEL = {"level2": "l2_data"}

DEFAULT_QUEUE_SIZE = 2000  # messages a client may lag behind before it is dropped
RECENT_TRADES = 50  # trades in a market_trades snapshot
ORDERS_PER_SNAPSHOT = 50  # Coinbase sends a user snapshot's open orders 50 at a time
BOOK_LEVELS = 100_000  # a level2 snapshot holds the whole book
TICK_S = 1.0  # heartbeats and candles: every second, as Coinbase
TICKER_BATCH_TICKS = 5  # ticker_batch: every 5000 ms
_CANDLE_INTERVAL = "5m"

_log = get_logger(__name__)


@dataclass(eq=False)
class CoinbaseClient:
    """One WebSocket client: its outgoing queue, what it is subscribed to (channel ->
    product ids; empty for heartbeats, and for a user subscription to every product),
    the account its JWT named, and its message counter."""

    outbox: Connection
    subscriptions: dict[str, set[str]] = field(default_factory=dict)
    account_id: str | None = None
    sequence_num: int = 0
    heartbeat_counter: int = 0

    def push(self, channel: str, timestamp: str, events_json: str) -> bool:
        """Queue one message numbered for this connection; False if the queue is full."""
        text = payloads.envelope(channel, timestamp, self.sequence_num, events_json)
        self.sequence_num += 1
        return self.outbox.send(text)

    def subscription_list(self) -> dict[str, list[str]]:
        return {channel: sorted(products) for channel, products in self.subscriptions.items()}


class CoinbaseStreamHub:
    """The Coinbase WebSocket side of one simulated exchange."""

    def __init__(
        self,
        exchange: SimulatedExchange,
        faults: FaultSwitches,
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        self.exchange = exchange
        self.products = {payloads.product_id(symbol): symbol for symbol in exchange.specs}
        self._faults = faults
        self._queue_size = queue_size
        self._clients: set[CoinbaseClient] = set()
        self._market: dict[tuple[str, str], set[CoinbaseClient]] = {}  # (channel, symbol)
        self._users: dict[str, set[CoinbaseClient]] = {}  # account id -> its clients
        self._heartbeats: set[CoinbaseClient] = set()
        self._orders = UserOrders(exchange.engine)
        self._candles_sent: dict[str, tuple[int, int, int]] = {}
        self._tickers = TickerFigureBook(exchange)
        self._too_slow: list[CoinbaseClient] = []
        self._timer: asyncio.Task[None] | None = None
        self._started_s = time.monotonic()

    # -- connections ------------------------------------------------------------------

    @property
    def connections(self) -> int:
        return len(self._clients)

    @property
    def watched_accounts(self) -> set[str]:
        """The accounts some client follows on the user channel."""
        return set(self._users)

    def connect(self) -> CoinbaseClient:
        outbox = Connection(
            self._faults.websocket_epoch, combined=False, queue_size=self._queue_size
        )
        client = CoinbaseClient(outbox)
        self._clients.add(client)
        self._timer = running_timer(
            self._timer,
            self._run,
            name="coinbase-ws",
            log=_log,
            failure="coinbase stream hub timer failed",
        )
        return client

    def disconnect(self, client: CoinbaseClient) -> None:
        """Forget the client and all its subscriptions (idempotent)."""
        self._clients.discard(client)
        for channel in list(client.subscriptions):
            self._forget_channel(client, channel)

    def drop(self, client: CoinbaseClient, code: int, reason: str) -> None:
        client.outbox.close(code, reason)
        self.disconnect(client)

    def send_error(self, client: CoinbaseClient, message: str, reason: str | None) -> None:
        """Answer a refused request (not numbered: Coinbase's errors carry no envelope)."""
        if not client.outbox.send(payloads.error_message(message, reason)):
            self.drop(client, CLOSE_TOO_SLOW, "client too slow")

    # -- subscriptions ----------------------------------------------------------------

    def subscribe(
        self, client: CoinbaseClient, channel: str, products: list[str], account_id: str | None
    ) -> None:
        """Subscribe `client` to `channel` for `products` (known product ids; for `user`,
        none means every product) and send what a newcomer gets: the snapshots, then the
        `subscriptions` acknowledgement. `account_id` is what the JWT named (required for
        `user`)."""
        now_ns = self.exchange.clock()
        time_text = payloads.rfc3339(now_ns)
        if channel == "user" and client.account_id not in (None, account_id):
            self._forget_channel(client, "user")  # a JWT of another account
        held = client.subscriptions.setdefault(channel, set())
        fresh = [p for p in products if p not in held]
        if channel == "user" and not products:
            held.clear()  # every product
        held.update(products)
        if channel == "heartbeats":
            self._heartbeats.add(client)
        elif channel == "user":
            assert account_id is not None, "the endpoint checks the JWT first"
            client.account_id = account_id
            self._users.setdefault(account_id, set()).add(client)
            self._user_snapshot(client, account_id, products, time_text)
        else:
            for product in fresh:
                symbol = self.products[product]
                self._market.setdefault((channel, symbol), set()).add(client)
                self._market_snapshot(client, channel, symbol, now_ns, time_text)
        self._acknowledge(client, time_text)

    def unsubscribe(self, client: CoinbaseClient, channel: str, products: list[str]) -> None:
        """Drop `products` of `channel` (the whole channel if none is named, or if it
        has none left), then acknowledge."""
        held = client.subscriptions.get(channel)
        if held is not None:
            gone = held & set(products) if products else set(held)
            if channel in MARKET_CHANNELS:
                self._forget_products(client, channel, gone)
            held -= gone
            if not held or not products:
                self._forget_channel(client, channel)
        self._acknowledge(client, payloads.rfc3339(self.exchange.clock()))

    def _forget_channel(self, client: CoinbaseClient, channel: str) -> None:
        held = client.subscriptions.pop(channel, set())
        if channel == "heartbeats":
            self._heartbeats.discard(client)
        elif channel == "user":
            account_id = client.account_id
            clients = self._users.get(account_id) if account_id is not None else None
            if account_id is not None and clients is not None:
                clients.discard(client)
                if not clients:
                    del self._users[account_id]
        else:
            self._forget_products(client, channel, held)

    def _forget_products(self, client: CoinbaseClient, channel: str, products: set[str]) -> None:
        for product in products:
            key = (channel, self.products[product])
            subscribers = self._market.get(key)
            if subscribers is not None:
                subscribers.discard(client)
                if not subscribers:
                    del self._market[key]

    def _acknowledge(self, client: CoinbaseClient, time_text: str) -> None:
        events = payloads.encode_events([payloads.subscriptions_event(client.subscription_list())])
        self._push(client, "subscriptions", time_text, events)
        self._drop_slow()

    def _market_snapshot(
        self, client: CoinbaseClient, channel: str, symbol: str, now_ns: int, time_text: str
    ) -> None:
        product = payloads.product_id(symbol)
        event: dict[str, object] | None = None
        if channel == "level2":
            book = self.exchange.engine.depth(symbol, BOOK_LEVELS)
            event = payloads.l2_event("snapshot", product, book.bids, book.asks, time_text)
        elif channel == "market_trades":
            trades = self.exchange.history.recent_trades(symbol, RECENT_TRADES)
            if trades:  # ccxt cannot file an empty snapshot under any product
                event = payloads.market_trades_event("snapshot", trades)
        elif channel in ("ticker", "ticker_batch"):
            figures = [self._tickers.figures(symbol, now_ns // NS_PER_MS)]
            event = payloads.ticker_event("snapshot", figures, batch=channel == "ticker_batch")
        elif channel == "candles":
            candle = self._current_candle(symbol)
            event = payloads.candles_event("snapshot", product, [] if candle is None else [candle])
        if event is not None:
            message_channel = _MESSAGE_CHANNEL.get(channel, channel)
            self._push(client, message_channel, time_text, payloads.encode_events([event]))

    def _user_snapshot(
        self, client: CoinbaseClient, account_id: str, products: list[str], time_text: str
    ) -> None:
        symbols = {self.products[p] for p in products}
        engine = self.exchange.engine
        orders = [
            self._orders.report(o, o.status, o.executed_quantity, o.cumulative_quote_quantity)
            for o in engine.open_orders(account_id)
            if not symbols or o.symbol in symbols
        ]
        batches = [
            orders[i : i + ORDERS_PER_SNAPSHOT] for i in range(0, len(orders), ORDERS_PER_SNAPSHOT)
        ]
        for batch in batches or [[]]:
            events = payloads.encode_events([payloads.user_event("snapshot", batch)])
            self._push(client, "user", time_text, events)

    # -- ExchangeListener -------------------------------------------------------------

    def on_trades(self, symbol: str, trades: list[Trade]) -> None:
        self._tickers.traded(symbol, trades[-1].trade_id)
        trade_clients = self._market.get(("market_trades", symbol))
        ticker_clients = self._market.get(("ticker", symbol))
        if not trade_clients and not ticker_clients:
            return
        now_ns = self.exchange.clock()
        time_text = payloads.rfc3339(now_ns)
        if trade_clients:
            events = payloads.encode_events([payloads.market_trades_event("update", trades)])
            self._push_all(trade_clients, "market_trades", time_text, events)
        if ticker_clients:
            figures = [self._tickers.figures(symbol, now_ns // NS_PER_MS)]
            events = payloads.encode_events([payloads.ticker_event("update", figures, batch=False)])
            self._push_all(ticker_clients, "ticker", time_text, events)
        self._drop_slow()

    def on_depth(self, update: DepthUpdate) -> None:
        clients = self._market.get(("level2", update.symbol))
        if not clients:
            return
        time_text = payloads.rfc3339(self.exchange.clock())
        product = payloads.product_id(update.symbol)
        event = payloads.l2_event("update", product, update.bids, update.asks, time_text)
        self._push_all(clients, "l2_data", time_text, payloads.encode_events([event]))
        self._drop_slow()

    def on_order_updates(self, updates: list[OrderUpdate]) -> None:
        if not self._users:
            return
        by_client: dict[CoinbaseClient, list[dict[str, str]]] = {}
        for update in updates:
            clients = self._users.get(update.account_id)
            if not clients:
                continue
            order = update.order
            message = self._orders.report(
                order, update.status, update.executed_quantity, update.cumulative_quote, update
            )
            product = payloads.product_id(order.symbol)
            for client in clients:
                wanted = client.subscriptions.get("user")
                if wanted is not None and (not wanted or product in wanted):
                    by_client.setdefault(client, []).append(message)
        if by_client:
            time_text = payloads.rfc3339(self.exchange.clock())
            for client, orders in by_client.items():
                events = payloads.encode_events([payloads.user_event("update", orders)])
                self._push(client, "user", time_text, events)
            self._drop_slow()

    def on_balances(self, account_id: str, assets: set[str], ts_ms: int) -> None:
        """Coinbase's user channel carries orders only."""

    # -- candles ----------------------------------------------------------------------

    def _current_candle(self, symbol: str) -> Kline | None:
        candles = self.exchange.history.klines(symbol, _CANDLE_INTERVAL, limit=1)
        return candles[-1] if candles else None

    # -- sending ----------------------------------------------------------------------

    def _push(self, client: CoinbaseClient, channel: str, time_text: str, events: str) -> None:
        if not client.push(channel, time_text, events):
            self._too_slow.append(client)

    def _push_all(
        self, clients: Iterable[CoinbaseClient], channel: str, time_text: str, events: str
    ) -> None:
        for client in clients:
            self._push(client, channel, time_text, events)

    def _drop_slow(self) -> None:
        if self._too_slow:
            reason = f"client too slow: more than {self._queue_size} messages queued"
            for client in self._too_slow:
                self.drop(client, CLOSE_TOO_SLOW, reason)
            self._too_slow.clear()

    # -- every second -----------------------------------------------------------------

    async def _run(self) -> None:
        """While anyone is connected: heartbeats and candles every second, ticker_batch
        every five, and every connection dropped as soon as a test injects a drop."""
        await tick_while_connected(
            self._faults,
            TICK_S,
            lambda: bool(self._clients),
            self._drop_previous_epochs,
            self._every_second,
        )

    def _drop_previous_epochs(self) -> None:
        epoch = self._faults.websocket_epoch
        for client in [c for c in self._clients if c.outbox.epoch != epoch]:
            self.drop(client, CLOSE_GOING_AWAY, "server dropped all WebSocket connections")

    def _every_second(self, tick: int) -> None:
        now_ns = self.exchange.clock()
        time_text = payloads.rfc3339(now_ns)
        if self._heartbeats:
            current = payloads.go_time(now_ns, time.monotonic() - self._started_s)
            for client in self._heartbeats:
                event = payloads.heartbeat_event(current, client.heartbeat_counter)
                client.heartbeat_counter += 1
                self._push(client, "heartbeats", time_text, payloads.encode_events([event]))
        for (channel, symbol), clients in self._market.items():
            if channel == "candles":
                self._push_candle(symbol, clients, time_text)
            elif channel == "ticker_batch" and tick % TICKER_BATCH_TICKS == 0:
                figures = [self._tickers.figures(symbol, now_ns // NS_PER_MS)]
                event = payloads.ticker_event("update", figures, batch=True)
                self._push_all(clients, "ticker_batch", time_text, payloads.encode_events([event]))
        self._drop_slow()

    def _push_candle(self, symbol: str, clients: set[CoinbaseClient], time_text: str) -> None:
        """The current five-minute candle, when it traded since the last push."""
        candle = self._current_candle(symbol)
        if candle is None:
            return
        seen = (candle.open_ms, candle.last_trade_id, candle.trades)
        if self._candles_sent.get(symbol) == seen:
            return
        self._candles_sent[symbol] = seen
        event = payloads.candles_event("update", payloads.product_id(symbol), [candle])
        self._push_all(clients, "candles", time_text, payloads.encode_events([event]))
