"""Where services get venue sessions from: one public session per venue for market data,
and one session per exchange account (its API key and secret, held only in memory).

Two directories: `SimulatedVenues` (the in-process simulated exchange: embedded mode)
and `CcxtVenues` (the simulated exchange served over HTTP, and the real exchanges
declared in TRADEWIND_VENUES, see `catalog`: distributed mode). The runtime builds
one; services only see `VenueDirectory`.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from tradewind.errors import AuthenticationFailed, ConfigError, VenueError
from tradewind.venues.key_check import KeyCheck
from tradewind.venues.port import Market, Venue
from tradewind.venues.profile import VenueProfile
from tradewind.venues.simulated import profile as simulated
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.inprocess import InProcessVenue

if TYPE_CHECKING:
    from tradewind.venues.catalog import VenueSpec
    from tradewind.venues.ccxt_venue import SharedMarkets

SIMULATED = "sim"


async def load_public_markets(venues: VenueDirectory, venue: str) -> dict[str, Market]:
    """`venue`'s markets, through a public session opened and closed for the purpose;
    raises the session's `VenueError`s."""
    session = venues.public(venue)
    try:
        return await session.load_markets()
    finally:
        await session.close()


class VenueDirectory(Protocol):
    @property
    def names(self) -> tuple[str, ...]:
        """The venues this directory serves."""
        ...

    def public(self, venue: str) -> Venue:
        """A session without keys, for market data."""
        ...

    def session(self, venue: str, api_key: str, secret: str, *, egress: str | None = None) -> Venue:
        """A session trading for the account these keys belong to; its calls leave from
        `egress` (a source address; None: the default route)."""
        ...

    async def check_key(self, venue: str, api_key: str, secret: str) -> KeyCheck:
        """A read-only call with the key; AuthenticationFailed if the venue refuses it."""
        ...

    def profile(self, venue: str) -> VenueProfile:
        """What the platform knows of the venue: its adapter's profile."""
        ...


class SimulatedVenues:
    """The in-process simulated exchange as venue `sim`."""

    def __init__(self, exchange: SimulatedExchange) -> None:
        self.exchange = exchange

    @property
    def names(self) -> tuple[str, ...]:
        return (SIMULATED,)

    def public(self, venue: str) -> Venue:
        _known(venue, self.names)
        return InProcessVenue(self.exchange, "market-data", SIMULATED)

    def session(self, venue: str, api_key: str, secret: str, *, egress: str | None = None) -> Venue:
        _known(venue, self.names)  # in this process: no network, no address to leave from
        creds = self.exchange.credentials(api_key)
        if creds is None or not hmac.compare_digest(creds.secret, secret):
            raise AuthenticationFailed(venue, "API key or secret not accepted")
        return InProcessVenue(self.exchange, creds.account_id, SIMULATED)

    async def check_key(self, venue: str, api_key: str, secret: str) -> KeyCheck:
        self.session(venue, api_key, secret)
        creds = self.exchange.credentials(api_key)
        assert creds is not None
        p = creds.permissions
        return KeyCheck(p.trade, p.withdraw, p.transfer, p.ip_restrict)

    def profile(self, venue: str) -> VenueProfile:
        _known(venue, self.names)
        return simulated.IN_PROCESS


class CcxtVenues:
    """Venues reached through ccxt. `simulated` maps venue names to base URLs of
    `tradewind venue serve` (e.g. {"sim": "http://127.0.0.1:8765"}, TRADEWIND_VENUE_URLS);
    `real` are declared real exchanges (TRADEWIND_VENUES, see `catalog`). `ca_file`: the
    CA bundle venues' certificates are checked against (else certifi's); there is no way
    to not check them."""

    def __init__(
        self,
        simulated: dict[str, str],
        real: Sequence[VenueSpec] = (),
        *,
        ca_file: str | None = None,
    ) -> None:
        self._simulated = dict(simulated)
        self._real = {spec.name: spec for spec in real}
        names = [*self._simulated, *(spec.name for spec in real)]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ConfigError(
                "TRADEWIND_VENUES",
                f"{', '.join(twice)}: declared twice (venue names are unique across "
                "TRADEWIND_VENUE_URLS and TRADEWIND_VENUES)",
            )
        self._ca_file = ca_file
        self._markets: dict[str, SharedMarkets] = {}

    def _markets_of(self, venue: str) -> SharedMarkets:
        """The markets every session of `venue` shares (loaded once)."""
        from tradewind.venues.ccxt_venue import SharedMarkets

        return self._markets.setdefault(venue, SharedMarkets())

    @classmethod
    def declared(
        cls, venue_urls: str, venues: str, *, ca_file: str | None = None
    ) -> CcxtVenues | None:
        """The venues of TRADEWIND_VENUE_URLS (`venue_urls`) and TRADEWIND_VENUES
        (`venues`), or None when both are empty; ConfigError naming the bad setting."""
        if not venue_urls and not venues:
            return None
        simulated = parse_venue_urls(venue_urls)
        real: tuple[VenueSpec, ...] = ()
        if venues:
            from tradewind.venues.catalog import parse_venues

            real = parse_venues(venues, simulated)
        return cls(simulated, real, ca_file=ca_file)

    @property
    def names(self) -> tuple[str, ...]:
        return (*self._simulated, *self._real)

    def spec(self, venue: str) -> VenueSpec | None:
        """The declared real venue `venue`, or None (a simulated one)."""
        _known(venue, self.names)
        return self._real.get(venue)

    def profile(self, venue: str) -> VenueProfile:
        spec = self.spec(venue)
        return simulated.OVER_HTTP if spec is None else spec.venue_adapter.profile

    def public(self, venue: str) -> Venue:
        return self.session(venue, "", "")

    def session(self, venue: str, api_key: str, secret: str, *, egress: str | None = None) -> Venue:
        from tradewind.venues.simulated.client import ccxt_session

        spec = self.spec(venue)
        if spec is not None:
            from tradewind.venues.catalog import exchange_for

            return exchange_for(
                spec, api_key, secret, ca_file=self._ca_file, local_address=egress,
                markets=self._markets_of(venue),
            )  # fmt: skip
        base = self._simulated[venue]
        ws = base.replace("http", "ws", 1)
        ccxt_venue = ccxt_session(
            base,
            ws,
            api_key,
            secret,
            name=venue,
            ca_file=self._ca_file,
            local_address=egress,
            markets=self._markets_of(venue),
        )
        ccxt_venue.exchange.enableRateLimit = False  # our own limiter paces requests
        return ccxt_venue

    async def check_key(self, venue: str, api_key: str, secret: str) -> KeyCheck:
        from tradewind.venues.ccxt_venue import CcxtVenue

        spec = self.spec(venue)
        if spec is not None:
            from tradewind.venues import catalog

            return await catalog.check_key(spec, api_key, secret, self._ca_file)
        from tradewind.venues.simulated.client import KEY_CHECK_METHOD, read_key_check

        session = self.session(venue, api_key, secret)
        assert isinstance(session, CcxtVenue)
        try:
            restrictions: dict[str, Any] = await session.call_raw(KEY_CHECK_METHOD)
        finally:
            await session.close()
        return read_key_check(restrictions)


def parse_venue_urls(text: str) -> dict[str, str]:
    """`sim=http://127.0.0.1:8765,sim2=http://…` -> {"sim": "http://127.0.0.1:8765", …};
    ConfigError naming TRADEWIND_VENUE_URLS for anything else."""
    venues: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, url = part.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise ConfigError(
                "TRADEWIND_VENUE_URLS",
                f"expected NAME=https://HOST:PORT (or http://)[,…], got {part!r}",
            )
        venues[name] = url.rstrip("/")
    return venues


def _known(venue: str, names: tuple[str, ...]) -> None:
    if venue not in names:
        raise VenueError(venue, f"unknown venue; this platform knows {', '.join(names)}")
