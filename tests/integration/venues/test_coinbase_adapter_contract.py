"""The `coinbase` adapter itself — the ccxt client `TRADEWIND_VENUES=cb=coinbase` builds,
with its own options, profile and ccxt rate limiter — passes the venue contract on the
simulated exchange served with Coinbase's Advanced Trade API, with only its URLs moved
to the simulator and a CDP key (EC private key, ES256 JWTs) of an account funded in USD:
the shared trading scenario on BTC/USD gives exactly what it expects and what the
in-process adapter gives on the same engine (a market buy fills its base quantity, not
about it: the adapter sends `base_size`), a resend of a client order id answers the
order it repeats (placed once, never refused), and the simulator's session of that API
(`ccxt_session(api="coinbase")`) trades the same way with a legacy HMAC key, its order
stream (`user` channel) included."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest

from tests.integration.venues.scenario import QUANTITY, check_expected, trading_scenario
from tradewind.domain.model import OrderType, Side
from tradewind.errors import InsufficientFunds, UnknownOrder
from tradewind.venues import catalog
from tradewind.venues.ccxt_venue import CcxtVenue, rehosted_urls
from tradewind.venues.coinbase import PROFILE
from tradewind.venues.port import OrderRequest, VenueOrder, VenueOrderStatus
from tradewind.venues.simulated.client import ccxt_session
from tradewind.venues.simulated.exchange import KeyPermissions
from tradewind.venues.simulated.inprocess import InProcessVenue
from tradewind.venues.simulated.server.serve import build_state, serving_in_thread
from tradewind.venues.simulated.server.state import ServerState

SYMBOL = "BTC/USD"
FUNDS = {"USD": Decimal("10000")}


@pytest.fixture(scope="module")
def venue_server() -> Iterator[tuple[str, ServerState]]:
    """A Coinbase-speaking simulated venue on a free loopback port, its market moving."""
    state = build_state("synthetic", seed=3, api="coinbase")
    with serving_in_thread(state) as url:
        for _ in range(250):  # 5 s at most
            if state.exchange.engine.depth(SYMBOL, 1).asks:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the liquidity provider never quoted")
        yield url, state


def funded_key(state: ServerState, kind: str = "cdp") -> tuple[str, str, str]:
    """(key name, secret, account id) of a new account holding 10,000 USD."""
    creds = state.exchange.create_account(dict(FUNDS))
    name, secret = state.coinbase_keys.mint(creds.account_id, KeyPermissions(), kind=kind)  # type: ignore[arg-type]
    return name, secret, creds.account_id


@pytest.fixture
async def coinbase(venue_server: tuple[str, ServerState]) -> AsyncIterator[CcxtVenue]:
    """The `coinbase` adapter's session for a fresh account, every URL of it moved to the
    simulator (nothing else changed)."""
    url, state = venue_server
    name, secret, _ = funded_key(state)
    (spec,) = catalog.parse_venues("cb=coinbase")
    venue = catalog.exchange_for(spec, name, secret)
    exchange = venue.exchange
    exchange.urls["api"] = rehosted_urls(exchange.urls["api"], url, url.replace("http", "ws"))
    assert venue.profile is PROFILE and exchange.enableRateLimit
    yield venue
    await venue.close()


async def test_the_coinbase_adapter_passes_the_trading_scenario(
    venue_server: tuple[str, ServerState], coinbase: CcxtVenue
) -> None:
    _, state = venue_server
    seen = await trading_scenario(coinbase, "cb-adapter1", SYMBOL)
    twin = state.exchange.create_account(dict(FUNDS))
    in_process = await trading_scenario(
        InProcessVenue(state.exchange, twin.account_id), "cb-mem1", SYMBOL
    )
    check_expected(seen)  # the market buy fills exactly its base quantity, as Binance's
    check_expected(in_process)
    keys = ("market", "limit", "open", "market_order", "fills", "canceled", "looked_up",
            "btc", "quote_locked")  # fmt: skip
    for key in keys:
        assert seen[key] == in_process[key], key
    # Coinbase's accounts carry no update time: a reading cannot say it holds the trades.
    assert seen["as_of_holds_the_trades"] is False


def limit_far_below(book_bid: Decimal, client_order_id: str) -> OrderRequest:
    return OrderRequest(
        client_order_id=client_order_id,
        symbol=SYMBOL,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("0.001"),
        price=(book_bid * Decimal("0.8")).quantize(Decimal("0.01")),
    )


async def test_a_resent_client_order_id_answers_the_order_it_repeats(
    coinbase: CcxtVenue,
) -> None:
    """Coinbase places nothing for a repeated `client_order_id` and answers the order
    that id names: the resend is that order, never a rejection nor a second order."""
    book = await coinbase.fetch_order_book(SYMBOL, 5)
    request = limit_far_below(book.bids[0][0], "cb-dup-1")
    first = await coinbase.place_order(request)
    again = await coinbase.place_order(request)
    assert again.venue_order_id == first.venue_order_id
    assert again.client_order_id == "cb-dup-1" and again.status is VenueOrderStatus.NEW
    assert [o.client_order_id for o in await coinbase.fetch_open_orders(SYMBOL)] == ["cb-dup-1"]


async def test_refusals_are_classified_by_the_coinbase_profile(coinbase: CcxtVenue) -> None:
    book = await coinbase.fetch_order_book(SYMBOL, 5)
    too_big = OrderRequest(
        client_order_id="cb-broke-1",
        symbol=SYMBOL,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("10"),  # ~300,000 USD of an account holding 10,000
        price=book.bids[0][0],
    )
    with pytest.raises(InsufficientFunds):
        await coinbase.place_order(too_big)
    with pytest.raises(UnknownOrder):
        await coinbase.cancel_order(SYMBOL, "cb-never-placed")


async def test_the_simulators_coinbase_session_streams_the_accounts_orders(
    venue_server: tuple[str, ServerState],
) -> None:
    """`ccxt_session(api="coinbase")`: an order placed comes back on the account's order
    stream (ccxt.pro's `user` channel, authenticated by the CDP key's JWT), and so does
    its cancel."""
    url, state = venue_server
    name, secret, _ = funded_key(state)
    venue = ccxt_session(url, url.replace("http", "ws"), name, secret, api="coinbase")
    updates: list[VenueOrder] = []
    subscribed = asyncio.Event()

    async def collect() -> None:
        async for batch in venue.watch_orders():
            subscribed.set()  # the first batch is the channel's snapshot
            updates.extend(batch)

    async def update_of(status: VenueOrderStatus) -> VenueOrder:
        while True:
            for update in updates:
                if update.client_order_id == "cb-stream-1" and update.status is status:
                    return update
            await asyncio.sleep(0.05)

    collecting = asyncio.ensure_future(collect())
    try:
        await asyncio.wait_for(subscribed.wait(), 10)
        book = await venue.fetch_order_book(SYMBOL, 5)
        placed = await venue.place_order(limit_far_below(book.bids[0][0], "cb-stream-1"))
        opened = await asyncio.wait_for(update_of(VenueOrderStatus.NEW), 10)
        assert opened.venue_order_id == placed.venue_order_id
        assert opened.order_type is OrderType.LIMIT and opened.price == placed.price
        assert opened.quantity == Decimal("0.001") and opened.filled_quantity == 0
        await venue.cancel_order(SYMBOL, "cb-stream-1")
        canceled = await asyncio.wait_for(update_of(VenueOrderStatus.CANCELED), 10)
        assert canceled.venue_order_id == placed.venue_order_id
    finally:
        collecting.cancel()
        await asyncio.gather(collecting, return_exceptions=True)
        await venue.close()


async def test_a_legacy_hmac_key_trades_through_the_simulators_coinbase_session(
    venue_server: tuple[str, ServerState],
) -> None:
    url, state = venue_server
    name, secret, _ = funded_key(state, kind="hmac")
    venue = ccxt_session(url, url.replace("http", "ws"), name, secret, api="coinbase")
    try:
        book = await venue.fetch_order_book(SYMBOL, 5)
        request = limit_far_below(book.bids[0][0], "cb-hmac-1")
        placed = await venue.place_order(request)
        assert placed.status is VenueOrderStatus.NEW and placed.price == request.price
        held = (await venue.fetch_balances()).assets["USD"]
        assert held.locked == request.quantity * (request.price or 0)
        assert (await venue.cancel_order(SYMBOL, "cb-hmac-1")).status is VenueOrderStatus.CANCELED
    finally:
        await venue.close()


async def test_a_candle_history_longer_than_one_request_is_read_in_pages(
    venue_server: tuple[str, ServerState], coinbase: CcxtVenue
) -> None:
    """ccxt's coinbase returns at most 300 candles a request: 400 five-minute bars come in
    two pages, equal to what the in-process adapter reads from the same history."""
    _, state = venue_server
    over_http = await coinbase.fetch_candles(SYMBOL, 300, 400)
    assert len(over_http) == 400
    opens = [c.open_ms for c in over_http]
    assert all(b - a == 300_000 for a, b in itertools.pairwise(opens))
    twin = state.exchange.create_account(dict(FUNDS))
    in_process = await InProcessVenue(state.exchange, twin.account_id).fetch_candles(
        SYMBOL, 300, 400
    )
    assert over_http[:-1] == in_process[:-1]  # the newest bar may have traded in between


async def test_fills_beyond_one_page_are_all_read(
    venue_server: tuple[str, ServerState],
) -> None:
    """Coinbase answers an account's fills 100 a page, newest first: an account with 120
    fills since the time asked gets all 120, the oldest included (one page used to hide
    them, and the books missed them)."""
    url, state = venue_server
    name, secret, _ = funded_key(state)
    (spec,) = catalog.parse_venues("cb=coinbase")
    venue = catalog.exchange_for(spec, name, secret)
    exchange = venue.exchange
    exchange.urls["api"] = rehosted_urls(exchange.urls["api"], url, url.replace("http", "ws"))
    try:
        for n in range(120):
            await venue.place_order(
                OrderRequest(
                    client_order_id=f"page-{n}", symbol=SYMBOL, side=Side.BUY,
                    order_type=OrderType.MARKET, quantity=QUANTITY,
                )
            )  # fmt: skip
        fills = await venue.fetch_my_fills(SYMBOL, since_ms=0)
    finally:
        await venue.close()
    assert {f.client_order_id for f in fills} == {f"page-{n}" for n in range(120)}
    assert sum((f.quantity for f in fills), Decimal(0)) == 120 * QUANTITY


async def test_an_order_that_filled_before_the_stream_opened_is_reported_once_it_is_live(
    venue_server: tuple[str, ServerState],
) -> None:
    """The `user` channel's snapshot lists open orders only, and a paced stream may open
    long after the session: an order that filled in between comes on the stream right
    after its first message (the catch-up), filled, not minutes later at the next
    reconciliation."""
    url, state = venue_server
    name, secret, _ = funded_key(state)
    venue = ccxt_session(url, url.replace("http", "ws"), name, secret, api="coinbase")
    seen: list[VenueOrder] = []
    try:
        placed = await venue.place_order(
            OrderRequest(
                client_order_id="cb-early-1", symbol=SYMBOL, side=Side.BUY,
                order_type=OrderType.MARKET, quantity=QUANTITY,
            )
        )  # fmt: skip
        assert placed.status is VenueOrderStatus.FILLED
        stream = venue.watch_orders()
        async with asyncio.timeout(10):
            seen.extend(await anext(stream))  # the snapshot: no open order
            seen.extend(await anext(stream))  # the catch-up
        await stream.aclose()
    finally:
        await venue.close()
    (early,) = [o for o in seen if o.client_order_id == "cb-early-1"]
    assert early.status is VenueOrderStatus.FILLED and early.filled_quantity == QUANTITY
    assert early.venue_order_id == placed.venue_order_id
