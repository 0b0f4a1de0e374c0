"""The venue port over ccxt: any exchange ccxt.pro supports, REST plus `watch_*` streams.

`CcxtVenue` only calls ccxt and translates; the translations live in `ccxt_mapping` and
are tested without a network, reading what is particular to each exchange from its
adapter's `VenueProfile`. Sessions on the simulated exchange served over HTTP:
`venues.simulated.client`.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import socket
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import ccxt.async_support  # type: ignore[import-untyped]
import ccxt.pro  # type: ignore[import-untyped]

from tradewind.domain.bounded import BoundedLru
from tradewind.errors import ConfigError, UnknownOrder, VenueError, VenueUnavailable
from tradewind.venues import candles
from tradewind.venues import ccxt_mapping as mapping
from tradewind.venues.port import (
    Balances,
    BookSnapshot,
    Candle,
    Market,
    OrderRequest,
    PublicTrade,
    UsageObserver,
    VenueFill,
    VenueOrder,
)
from tradewind.venues.profile import GENERIC, VenueProfile
from tradewind.venues.stream_pacing import StreamPacer

T = TypeVar("T")

BOOK_DEPTH = 20
"""Levels per side that `watch_order_book` reports."""

KEEP_ALIVE_S = 4.0
"""Seconds an idle HTTP connection stays pooled for reuse: under the shortest idle timeout
servers commonly keep (uvicorn's default, 5 s), so the client always drops a connection
before the server closes it. aiohttp's default (15 s) let a request be written on a
connection the server was closing; it went unanswered, and an order in it had an
unknown outcome. A new connection costs a handshake, only after 4 s of quiet."""

_CATCH_UP_MARGIN_MS = 60_000
"""How far before the session began the orders a late stream catches up on reach back
(the venue's clock may run behind ours)."""

REMEMBERED_ORDER_IDS = 10_000
"""Client order id -> venue order id pairs a session keeps from its own placements, for a
venue that names orders by its own ids only (`VenueProfile.orders_by_client_id` False):
the newest so many; an order not among them is found among the account's orders."""


class SharedMarkets:
    """One venue's markets, loaded once for every session of it in this process: a
    market list costs request weight at the venue (Binance's exchangeInfo: 20 a call),
    and a platform opens a session per account, all at once when it starts. The same
    sessions share `streams`: the pacing of their stream openings, set by the first
    session's profile (`VenueProfile.stream_openings_per_s`); and, by the address they
    leave from, the pacing of their public requests (`public_requests`)."""

    def __init__(self) -> None:
        self.loaded: tuple[Any, Any] | None = None  # (markets, currencies), as ccxt keeps them
        self.loading: asyncio.Future[None] | None = None
        self.streams: StreamPacer | None = None
        self._public: dict[str | None, StreamPacer] = {}  # by source address

    def public_requests(self, address: str | None, per_s: float) -> StreamPacer:
        """The turns of the public requests that leave from `address` (None: the default
        route), `per_s` a second, for every session of the venue sending from there: the
        venue counts them per IP address."""
        pacer = self._public.get(address)
        if pacer is None:
            pacer = self._public[address] = StreamPacer(per_s)
        return pacer


class CcxtVenue:
    """One account's session with one exchange, through a ccxt.pro exchange object.

    Build it with `create` (or `venues.simulated.client.ccxt_session`); the constructor
    takes a ready ccxt exchange so tests can configure one however they need (one built
    without `session=None` keeps ccxt's own HTTP session, and aiohttp's 15 s keep-alive).
    The API secret lives only in that exchange object: it is in no message, repr or log
    line of this class.
    """

    def __init__(
        self,
        exchange: Any,
        name: str | None = None,
        book_depth: int = BOOK_DEPTH,
        *,
        profile: VenueProfile = GENERIC,
        local_address: str | None = None,
        markets: SharedMarkets | None = None,
    ):
        """`local_address`: the source address its requests and streams leave from (one
        of `TRADEWIND_EGRESS`); None: the default route. `markets`: the venue's markets
        shared with its other sessions (None: this session's own)."""
        self._exchange = exchange
        self._name = name or str(exchange.id)
        self.profile = profile
        self.local_address = local_address
        self._markets = SharedMarkets() if markets is None else markets
        if self._markets.streams is None:
            self._markets.streams = StreamPacer(profile.stream_openings_per_s)
        self._streams = self._markets.streams
        if profile.public_requests_per_s is not None:
            pacer = self._markets.public_requests(local_address, profile.public_requests_per_s)
            _pace_public_requests(exchange, pacer)
        self._loading: asyncio.Future[None] | None = None
        self._book_depth = book_depth
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._venue_ids: BoundedLru[str, str] = BoundedLru(REMEMBERED_ORDER_IDS, refresh=True)
        self._began_ms = int(exchange.milliseconds())  # see `watch_orders`
        self._usage_observer: UsageObserver | None = None

    @classmethod
    def create(
        cls,
        exchange_id: str,
        api_key: str,
        secret: str,
        *,
        urls_override: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        name: str | None = None,
        ca_file: str | None = None,
        profile: VenueProfile = GENERIC,
        local_address: str | None = None,
        markets: SharedMarkets | None = None,
    ) -> CcxtVenue:
        """A venue on `ccxt.pro.<exchange_id>`. `urls_override` is deep-merged into the
        exchange's `urls` (e.g. `{"api": {...}}`), `options` into its `options`.
        Certificates are always checked (HTTPS and WSS), against certifi's bundle or
        `ca_file`. `profile`: what the platform knows of the venue (its adapter's);
        `local_address`: the source address its calls leave from."""
        exchange_class = getattr(ccxt.pro, exchange_id, None)
        if exchange_class is None:
            raise ConfigError(
                "exchange_id", f"ccxt.pro has no exchange {exchange_id!r}; see ccxt.pro.exchanges"
            )
        config: dict[str, Any] = {
            "apiKey": api_key,
            "secret": secret,
            "options": copy.deepcopy(dict(options or {})),
            # The HTTP session is ours (`_open_session`), for its keep-alive.
            "session": None,
        }
        if ca_file is not None:
            config["cafile"] = ca_file
        exchange = exchange_class(config)
        if urls_override:
            exchange.urls = exchange.deep_extend(exchange.urls, dict(urls_override))
        return cls(
            exchange, name=name, profile=profile, local_address=local_address, markets=markets
        )

    def __repr__(self) -> str:
        return f"CcxtVenue(name={self._name!r}, exchange={self._exchange.id!r})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def exchange(self) -> Any:
        """The underlying ccxt exchange (tests tune its timeout or rate limit)."""
        return self._exchange

    async def load_markets(self) -> dict[str, Market]:
        markets = await self._call(self._exchange.load_markets())
        mode = self._exchange.precisionMode
        return {
            symbol: mapping.market_from_ccxt(market, mode)
            for symbol, market in markets.items()
            if mapping.is_tradable_spot(market)
        }

    async def place_order(self, request: OrderRequest) -> VenueOrder:
        profile = self.profile
        order_type, side, amount, price, params = mapping.order_arguments(request, profile=profile)
        order = await self._call(
            self._exchange.create_order(request.symbol, order_type, side, amount, price, params),
            placing_order=True,
        )
        venue_id = str(order.get("id") or "")
        if venue_id:
            self._remember(request.client_order_id, venue_id)
        if order.get("status") is None and venue_id:
            return await self._placed(request, venue_id)
        return mapping.order_from_ccxt(order, profile=profile, with_fills=True)

    async def _placed(self, request: OrderRequest, venue_id: str) -> VenueOrder:
        """The order a placement answered with ids only (Coinbase's success_response), as
        the venue has it now; its fills are read apart. Should that read fail, the order
        is placed all the same: VenueUnavailable, so execution looks it up as an order
        of unknown outcome rather than take it for refused."""
        try:
            order = await self._call(self._exchange.fetch_order(venue_id, request.symbol, {}))
        except UnknownOrder as exc:  # not readable yet where it was just placed
            raise VenueUnavailable(
                self._name, f"order {request.client_order_id} placed, not found yet: {exc}"
            ) from exc
        return mapping.order_from_ccxt(order, profile=self.profile)

    async def cancel_order(self, symbol: str, client_order_id: str) -> VenueOrder:
        if self.profile.orders_by_client_id:
            order = await self._call(
                self._exchange.cancel_order("", symbol, {"clientOrderId": client_order_id})
            )
            return mapping.order_from_ccxt(order, profile=self.profile)
        venue_id = await self._venue_order_id(symbol, client_order_id)
        answer = await self._call(self._exchange.cancel_order(venue_id, symbol, {}))
        if answer.get("status") is None:  # an answer of ids only: read the order
            answer = await self._call(self._exchange.fetch_order(venue_id, symbol, {}))
        return mapping.order_from_ccxt(answer, profile=self.profile)

    async def fetch_order(self, symbol: str, client_order_id: str) -> VenueOrder:
        if self.profile.orders_by_client_id:
            # Looked up by ccxt's `clientOrderId` param; the id argument is unused.
            order = await self._call(
                self._exchange.fetch_order("", symbol, {"clientOrderId": client_order_id})
            )
            return mapping.order_from_ccxt(order, profile=self.profile)
        venue_id = await self._venue_order_id(symbol, client_order_id)
        order = await self._call(self._exchange.fetch_order(venue_id, symbol, {}))
        return mapping.order_from_ccxt(order, profile=self.profile)

    async def _venue_order_id(self, symbol: str, client_order_id: str) -> str:
        """The venue's id of the account's order `client_order_id` on `symbol`: one this
        session placed, else the one among the account's latest orders there (ccxt's
        `fetch_orders`, a page of them); UnknownOrder if none has it."""
        known = self._venue_ids.get(client_order_id)
        if known is not None:
            return known
        orders = await self._call(self._exchange.fetch_orders(symbol, None, None, {}))
        for order in orders:
            if order.get("clientOrderId") == client_order_id and order.get("id"):
                venue_id = str(order["id"])
                self._remember(client_order_id, venue_id)
                return venue_id
        raise UnknownOrder(self._name, f"no order {client_order_id} of the account on {symbol}")

    def _remember(self, client_order_id: str, venue_id: str) -> None:
        if self.profile.orders_by_client_id:
            return  # looked up by the client order id itself: nothing to keep
        self._venue_ids[client_order_id] = venue_id  # client id -> venue id

    async def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        orders = await self._call(self._exchange.fetch_open_orders(symbol, None, None, {}))
        return [mapping.order_from_ccxt(o, profile=self.profile) for o in orders]

    async def fetch_balances(self) -> Balances:
        return mapping.balances_from_ccxt(
            await self._call(self._exchange.fetch_balance({})), profile=self.profile
        )

    async def fetch_my_fills(self, symbol: str, since_ms: int | None = None) -> list[VenueFill]:
        """The account's fills; ccxt's trades lack the client order id, so it comes from
        the orders of the same period (and, for older orders, one lookup each)."""
        trades, orders = await asyncio.gather(
            self._call(self._exchange.fetch_my_trades(symbol, since_ms, None, self._pages())),
            self._call(self._exchange.fetch_orders(symbol, since_ms, None, self._pages())),
        )
        client_ids = {
            str(o["id"]): mapping.order_from_ccxt(o, profile=self.profile).client_order_id
            for o in orders
        }
        for order_id in {str(t.get("order")) for t in trades} - client_ids.keys():
            order = await self._call(self._exchange.fetch_order(order_id, symbol, {}))
            client_ids[order_id] = mapping.order_from_ccxt(
                order, profile=self.profile
            ).client_order_id
        return [
            mapping.fill_from_ccxt(t, client_ids[str(t.get("order"))], profile=self.profile)
            for t in trades
        ]

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> BookSnapshot:
        book = await self._call(self._exchange.fetch_order_book(symbol, limit, {}))
        return mapping.book_from_ccxt(book, symbol, limit, self._exchange.milliseconds())

    async def fetch_candles(self, symbol: str, interval_s: int, count: int) -> list[Candle]:
        exchange = self._exchange
        widths = {name: int(exchange.parse_timeframe(name)) for name in exchange.timeframes or {}}
        chosen = candles.plan(interval_s, widths, self._name)

        width_ms = chosen.width_s * 1000

        async def page(width: str, end_ms: int, limit: int) -> list[Candle]:
            # The `limit` candles opening in (end_ms - limit widths, end_ms]: ccxt's
            # unified `since` and `until` both given, as venues differ in which one they
            # count `limit` from when only one is.
            since = end_ms - end_ms % width_ms - (limit - 1) * width_ms
            rows = await self._call(
                exchange.fetch_ohlcv(symbol, width, since, limit, {"until": end_ms})
            )
            return [mapping.candle_from_ccxt(row, self._name) for row in rows]

        now_ms = int(exchange.milliseconds())
        page_size = self.profile.candles_per_request
        return await candles.last_bars(page, chosen, interval_s, count, now_ms, page_size=page_size)

    async def watch_trades(self, symbol: str) -> AsyncIterator[list[PublicTrade]]:
        await self._streams.turn()  # ccxt subscribes on the first call only
        while True:
            trades = await self._call(self._exchange.watch_trades(symbol, None, None, {}))
            yield [mapping.public_trade_from_ccxt(t, profile=self.profile) for t in trades]

    async def watch_order_book(self, symbol: str) -> AsyncIterator[BookSnapshot]:
        await self._streams.turn()
        while True:
            book = await self._call(self._exchange.watch_order_book(symbol, None, {}))
            now_ms = self._exchange.milliseconds()
            yield mapping.book_from_ccxt(book, symbol, self._book_depth, now_ms)

    async def watch_orders(self) -> AsyncIterator[list[VenueOrder]]:
        """The account's order updates. At a venue whose stream says nothing of what came
        before it (`VenueProfile.stream_catch_up`), and may open long after the session
        (its openings paced), the orders changed since the session began are read once
        the stream's first message shows its subscription live, and reported next: an
        order that filled before the stream opened is not left to the next
        reconciliation, minutes later.

        An update carries the executions it reports where the venue's stream says them
        (`VenueProfile.stream_fill`: Binance's executionReport), so an order that rested
        and filled later has its fills without a read of the account's trades."""
        await self._streams.turn()
        catch_up = self.profile.stream_catch_up
        currency_code = self._exchange.safe_currency_code
        while True:
            orders = await self._call(self._exchange.watch_orders(None, None, None, {}))
            yield [
                mapping.order_from_stream(o, profile=self.profile, currency_code=currency_code)
                for o in orders
            ]
            if catch_up:
                catch_up = False
                yield await self._orders_since(self._began_ms - _CATCH_UP_MARGIN_MS)

    async def _orders_since(self, since_ms: int) -> list[VenueOrder]:
        """The account's orders created since `since_ms`, every symbol, every page."""
        orders = await self._call(self._exchange.fetch_orders(None, since_ms, None, self._pages()))
        return [mapping.order_from_ccxt(o, profile=self.profile) for o in orders]

    def _pages(self) -> dict[str, Any]:
        """ccxt params of a history read: follow every page where the venue pages it
        (`VenueProfile.history_pages`). A new dict each call: ccxt may consume it."""
        return {"paginate": True} if self.profile.history_pages else {}

    async def close(self) -> None:
        self._closed = True
        loading, self._loading = self._loading, None  # a load through this session's exchange
        if loading is not None and not loading.done():
            loading.cancel()
            await asyncio.gather(loading, return_exceptions=True)
        try:
            await self._exchange.close()  # its streams first: they use the session
        finally:
            if self._session is not None:
                await self._session.close()
                self._session = None

    async def call_raw(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Call one of ccxt's implicit API methods (e.g. `sapi_get_account_apirestrictions`)
        by name, with the same error mapping as every other call."""
        return await self._call(getattr(self._exchange, method)(params or {}), markets=False)

    async def _call(
        self, call: Awaitable[T], *, placing_order: bool = False, markets: bool = True
    ) -> T:
        """Await a ccxt call, turning its exceptions into Tradewind's; with `markets`, once
        the exchange's markets are loaded (every unified method needs them)."""
        self._open_session()
        try:
            if markets:
                await self._markets_loaded()
            result = await call
        except ccxt.async_support.BaseError as exc:
            self._report_usage()  # a refusal's usage counts too (a 429's above all)
            raise self._error(exc, placing_order) from exc
        finally:
            if inspect.iscoroutine(call) and inspect.getcoroutinestate(call) == "CORO_CREATED":
                call.close()  # never started: the markets could not be loaded
        self._report_usage()
        return result

    async def _markets_loaded(self) -> None:
        """Load the exchange's markets before its first call, in a task of ours that
        callers wait on shielded. ccxt's own `load_markets` has every concurrent caller
        await one shared task: one caller cancelled (its call's timeout) cancels that
        task, and every other caller gets a `CancelledError` nobody asked of its task,
        which ends whatever task it runs in as if stopped (seen: the execution service's
        session opening, and its account consumer, ended silently after a venue hung
        10 s while many sessions opened)."""
        exchange = self._exchange
        if exchange.markets:
            return
        # One load for every session sharing the markets; a failed one is tried again.
        shared = self._markets
        while shared.loaded is None:
            load = shared.loading
            if load is None or (load.done() and (load.cancelled() or load.exception())):
                load = shared.loading = self._loading = asyncio.ensure_future(
                    self._load_for(shared)
                )
            await asyncio.shield(load)
        if not exchange.markets:
            exchange.set_markets(*shared.loaded)

    async def _load_for(self, shared: SharedMarkets) -> None:
        exchange = self._exchange
        await exchange.load_markets()
        shared.loaded = (exchange.markets, exchange.currencies)

    def _open_session(self) -> None:
        """Give the exchange, before its first request, the HTTP session `create` built it
        without (ccxt's `session` option): made as ccxt makes its own, except that an
        idle connection stays pooled `KEEP_ALIVE_S` only. ccxt's WebSocket streams
        connect through it too; `close` closes it."""
        exchange = self._exchange
        if self._closed or exchange.session is not None or exchange.own_session:
            return
        # With a session supplied, ccxt's open() only makes its TLS context (certifi's
        # bundle or `cafile`, always verifying) and binds the running loop.
        exchange.open()
        connector = aiohttp.TCPConnector(
            ssl=exchange.ssl_context,
            keepalive_timeout=KEEP_ALIVE_S,
            # The rest as ccxt configures its own connector.
            enable_cleanup_closed=True,
            family=socket.AF_UNSPEC,
            happy_eyeballs_delay=0,
            local_addr=None if self.local_address is None else (self.local_address, 0),
        )
        self._session = aiohttp.ClientSession(
            connector=connector, trust_env=exchange.aiohttp_trust_env
        )
        exchange.session = self._session

    def on_usage(self, observer: UsageObserver) -> None:
        self._usage_observer = observer

    def _report_usage(self) -> None:
        """Hand the last response's headers to the usage observer. Read with no await
        since the call's answer, so they are (all but always) that answer's; calls of
        this session running at once may hand one answer's twice, which is harmless:
        usage only ever counts up to what the venue said."""
        observer = self._usage_observer
        headers = getattr(self._exchange, "last_response_headers", None)
        if observer is not None and isinstance(headers, Mapping) and headers:
            observer(headers)

    def _error(self, exc: Exception, placing_order: bool) -> VenueError:
        headers = getattr(self._exchange, "last_response_headers", None)
        body = getattr(self._exchange, "last_http_response", None)
        return mapping.venue_error_from_ccxt(
            self._name,
            exc,
            profile=self.profile,
            placing_order=placing_order,
            # Read with no await since the refusal, so these are (all but always) the
            # refused response's headers; ccxt itself does not parse Retry-After.
            retry_after_s=mapping.retry_after_s(headers if isinstance(headers, Mapping) else None),
            last_body=body if isinstance(body, str) else None,
            secret=self._exchange.secret,
        )


_PUBLIC_REQUEST: ContextVar[bool] = ContextVar("public_request", default=False)
"""Whether the request ccxt is making in this task is of its `public` API: marked where
ccxt knows the API (`fetch2`), read where it sends (`fetch`). See `_pace_public_requests`."""


def _pace_public_requests(exchange: Any, pacer: StreamPacer) -> None:
    """Have every public request of `exchange` wait for its turn of `pacer` (shared by the
    sessions leaving from its address) right before it is sent, after signing and after
    ccxt's own limiter. That limiter's bucket refills only while a request waits, so a
    session's request waits out its last one's cost however long ago that was (~100 ms
    after a public one at Coinbase): had the turn come first, requests would reach the
    venue closer together than their turns. A retry ccxt makes takes a turn of its own.

    A public request is one of ccxt's `public` API (an `api` of "public", or a path of
    names with it: Coinbase's `["v3", "public"]`), whatever unified method made it. At
    Coinbase those are:

    - the markets load (`load_markets`: the spot and future product lists, and the v2
      currencies, crypto currencies and exchange rates: five requests), once per process
      for every session of the venue (`SharedMarkets`), from the address of whichever
      session needed them first;
    - a public session's (`VenueDirectory.public`, the default route) order book
      (`fetch_order_book`: marketdata's, each time a book stream opens) and candles
      (`fetch_candles`, a request a page: the strategy's warm-up, the gateway's candles,
      analytics' rebuild, each in a session of its own, several at once).

    An account's session sends nothing else public: its orders, fills, balances and key
    check are private routes (counted per user: ccxt's limiter paces them), and its
    streams are WebSockets (`SharedMarkets.streams`)."""
    make, send = exchange.fetch2, exchange.fetch

    async def fetch2(path: Any, api: Any = "public", *args: Any, **kwargs: Any) -> Any:
        names = (api,) if isinstance(api, str) else api
        marked = _PUBLIC_REQUEST.set("public" in names)
        try:
            return await make(path, api, *args, **kwargs)
        finally:
            _PUBLIC_REQUEST.reset(marked)

    async def fetch(*args: Any, **kwargs: Any) -> Any:
        if _PUBLIC_REQUEST.get():
            await pacer.turn()
        return await send(*args, **kwargs)

    exchange.fetch2, exchange.fetch = fetch2, fetch


def rehosted_urls(api_urls: Mapping[str, Any], base_http: str, base_ws: str) -> dict[str, Any]:
    """A copy of a ccxt `urls['api']` tree with every URL moved to `base_http` (http/https)
    or `base_ws` (ws/wss), keeping its path: e.g. `https://api.example.com/api/v3` becomes
    `http://127.0.0.1:8765/api/v3`. Nothing in it can reach the real venue."""
    rehosted: dict[str, Any] = {}
    for key, value in api_urls.items():
        if isinstance(value, Mapping):
            rehosted[key] = rehosted_urls(value, base_http, base_ws)
        elif isinstance(value, str):
            parts = urlsplit(value)
            base = base_ws if parts.scheme in ("ws", "wss") else base_http
            rehosted[key] = base.rstrip("/") + parts.path
        else:
            rehosted[key] = value
    return rehosted
