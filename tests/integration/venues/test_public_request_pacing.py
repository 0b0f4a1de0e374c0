"""A venue that limits public requests per IP address (Coinbase: 10 a second): the
sessions of a process that leave from one address take turns for their public requests,
at the venue's profile's rate, whichever session sends them; sessions on another address
have turns of their own; a venue without such a limit (Binance's weight is execution's
gate's) sends as before.

Sessions come from the platform's directory (`CcxtVenues`) on the simulated exchange
served over HTTP. ccxt's HTTP send (`fetch`) is wrapped to note when each request left
and when its answer came, and still sends it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import ccxt.pro  # type: ignore[import-untyped]
import pytest

from tests.integration.venues.coinbase.support import open_account, running_coinbase_venue
from tests.integration.venues.sim_rest_support import running_venue
from tradewind.venues.ccxt_venue import CcxtVenue
from tradewind.venues.coinbase.limits import PUBLIC_REQUESTS_PER_S
from tradewind.venues.directory import CcxtVenues
from tradewind.venues.port import Venue
from tradewind.venues.simulated.apis import declared_url
from tradewind.venues.simulated.server.coinbase.limits import CoinbaseRateLimits
from tradewind.venues.simulated.server.state import ServerState

SECOND_ADDRESS = "127.0.0.2"  # loopback too: the venue sees it as another client


@dataclass(frozen=True)
class Sent:
    """A request leaving (`answered` False) or its answer coming back, at `at_s` on the
    event loop's clock, from the session whose ccxt exchange is `exchange`."""

    at_s: float
    exchange: Any
    path: str
    answered: bool = False


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    """Every request ccxt's `coinbase` and `binance` send in the test, in order."""
    events: list[Sent] = []
    for exchange_class in (ccxt.pro.coinbase, ccxt.pro.binance):
        send = exchange_class.fetch

        async def fetch(self: Any, url: str, *args: Any, _send: Any = send, **kwargs: Any) -> Any:
            path = urlsplit(url).path
            events.append(Sent(asyncio.get_running_loop().time(), self, path))
            try:
                return await _send(self, url, *args, **kwargs)
            finally:
                events.append(Sent(asyncio.get_running_loop().time(), self, path, True))

        monkeypatch.setattr(exchange_class, "fetch", fetch)
    return events


@pytest.fixture
def coinbase_venue() -> Iterator[tuple[str, ServerState]]:
    """The simulator serving Coinbase's API at its published limits (10 public requests a
    second per IP address)."""
    with running_coinbase_venue(CoinbaseRateLimits()) as running:
        yield running


def _leaving(sent: list[Sent], sessions: list[Venue]) -> list[Sent]:
    """The requests `sessions` sent, in order."""
    exchanges = set()
    for session in sessions:
        assert isinstance(session, CcxtVenue)
        exchanges.add(id(session.exchange))
    return [s for s in sent if not s.answered and id(s.exchange) in exchanges]


def _paced(requests: list[Sent], per_s: float) -> bool:
    """Whether each request left at least `1 / per_s` s after the one before it (on the
    loop's clock, read right after each turn: a margin of 1% for reading it later)."""
    gaps = [b.at_s - a.at_s for a, b in itertools.pairwise(requests)]
    return all(gap >= 0.99 / per_s for gap in gaps)


async def _close(sessions: list[Venue]) -> None:
    await asyncio.gather(*(session.close() for session in sessions))


async def test_public_sessions_behind_one_address_take_turns_at_the_profiles_rate(
    coinbase_venue: tuple[str, ServerState], sent: list[Sent]
) -> None:
    """Four market-data sessions (as the strategy's warm-up and the gateway open them, on
    the default route) ask for three books each at once, their markets not loaded yet:
    the markets load and the twelve books leave one turn apart, and the venue, at its
    published limits, refuses none. Before, each session was paced on its own (ccxt's
    limiter): four requests left together, and the venue answered some with 429."""
    url, state = coinbase_venue
    venues = CcxtVenues({"cb": declared_url("coinbase", url)})
    per_s = venues.profile("cb").public_requests_per_s
    assert per_s is not None and per_s <= PUBLIC_REQUESTS_PER_S
    sessions = [venues.public("cb") for _ in range(4)]
    try:
        books = await asyncio.gather(
            *(s.fetch_order_book("BTC/USD", 5) for s in sessions for _ in range(3))
        )
    finally:
        await _close(sessions)
    assert all(book.bids and book.asks for book in books)
    requests = _leaving(sent, sessions)
    assert sum(r.path.endswith("/product_book") for r in requests) == 12
    assert len(requests) > 12  # the markets, loaded once for all four, took turns too
    assert _paced(requests, per_s), [round(r.at_s - requests[0].at_s, 3) for r in requests]
    assert state.coinbase_limiters.refusals == 0


async def test_sessions_on_another_address_are_not_paced_against_these(
    coinbase_venue: tuple[str, ServerState], sent: list[Sent]
) -> None:
    """Two sessions on the default route and two accounts' sessions leaving from a second
    address, their markets loaded: the first two ask for six books, then the other two:
    each address's requests take turns among themselves, and the second address's first
    request leaves before the first address's last one (one pacer for both would have
    queued it behind all six)."""
    url, state = coinbase_venue
    venues = CcxtVenues({"cb": declared_url("coinbase", url)})
    per_s = venues.profile("cb").public_requests_per_s
    assert per_s is not None
    here = [venues.public("cb") for _ in range(2)]
    accounts = [open_account(url, {"USD": "10"}) for _ in range(2)]
    there = [venues.session("cb", a.api_key, a.secret, egress=SECOND_ADDRESS) for a in accounts]
    try:
        await asyncio.gather(*(s.load_markets() for s in (*here, *there)))
        sent.clear()
        asked = [s.fetch_order_book("BTC/USD", 5) for s in here for _ in range(3)]
        asked += [s.fetch_order_book("BTC/USD", 5) for s in there for _ in range(3)]
        await asyncio.gather(*asked)
    finally:
        await _close([*here, *there])
    from_here, from_there = _leaving(sent, here), _leaving(sent, there)
    assert len(from_here) == len(from_there) == 6
    assert _paced(from_here, per_s) and _paced(from_there, per_s)
    requests = _leaving(sent, [*here, *there])
    assert requests.index(from_there[0]) < requests.index(from_here[-1])
    assert state.coinbase_limiters.refusals == 0


async def test_a_venue_without_a_per_address_public_limit_sends_at_once(
    sent: list[Sent],
) -> None:
    """Binance's profile declares no public pace (execution's gate counts its weight per
    address): two sessions' six book requests all leave before the first answer."""
    with running_venue() as (url, _):
        venues = CcxtVenues({"sim": url})
        assert venues.profile("sim").public_requests_per_s is None
        sessions = [venues.public("sim") for _ in range(2)]
        try:
            await asyncio.gather(*(s.load_markets() for s in sessions))
            sent.clear()
            await asyncio.gather(
                *(s.fetch_order_book("BTC/USDT", 5) for s in sessions for _ in range(3))
            )
        finally:
            await _close(sessions)
    assert [s.answered for s in sent[:6]] == [False] * 6
    assert len(sent) == 12
