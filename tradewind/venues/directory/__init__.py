"""Where services get venue sessions from: one public session per venue for market data,
and one session per exchange account (its API key and secret, held only in memory).

Two directories: `SimulatedVenues` (the in-process simulated exchange: embedded mode)
and `CcxtVenues` (the simulated exchange served over HTTP, and the real exchanges
declared in TRADEWIND_VENUES, see `catalog`: distributed mode). The application
(`tradewind.app`) builds one; services depend on `venues.port.VenueDirectory`.

A package of its own because it is the one place that knows the simulated venue:
`tradewind.venues`' modules are what every venue package builds on, and import none.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tradewind.errors import AuthenticationFailed, ConfigError, VenueError
from tradewind.venues.key_check import KeyAccount, KeyCheck
from tradewind.venues.port import Market, Venue, VenueDirectory
from tradewind.venues.profile import VenueProfile
from tradewind.venues.simulated import profile as simulated
from tradewind.venues.simulated.apis import APIS, served_api
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


class SimulatedVenues:
    """In-process simulated exchanges by venue name: `exchange` as `sim` (Binance-style),
    and any `more` under their own names (`tradewind up`'s Coinbase-style one), each with
    its own books and accounts."""

    def __init__(
        self,
        exchange: SimulatedExchange,
        more: Mapping[str, SimulatedExchange] | None = None,
        *,
        other_keys: Mapping[str, KeyAccount] | None = None,
    ) -> None:
        """`other_keys`: by venue, the other kind of key its served API hands out, accepted
        beside the exchange's own."""
        self.exchange = exchange
        self.exchanges: dict[str, SimulatedExchange] = {SIMULATED: exchange, **(more or {})}
        self._other_keys = dict(other_keys or {})

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.exchanges)

    def public(self, venue: str) -> Venue:
        return InProcessVenue(self._exchange(venue), "market-data", venue)

    def session(self, venue: str, api_key: str, secret: str, *, egress: str | None = None) -> Venue:
        # In this process: no network, no address to leave from.
        account_id, _ = self._key(venue, api_key, secret)
        return InProcessVenue(self._exchange(venue), account_id, venue)

    async def check_key(self, venue: str, api_key: str, secret: str) -> KeyCheck:
        return self._key(venue, api_key, secret)[1]

    def _key(self, venue: str, api_key: str, secret: str) -> tuple[str, KeyCheck]:
        """The account the key trades for on `venue`, and what it may do;
        AuthenticationFailed if the venue does not accept it."""
        creds = self._exchange(venue).credentials(api_key)
        if creds is not None and hmac.compare_digest(creds.secret, secret):
            p = creds.permissions
            return creds.account_id, KeyCheck(p.trade, p.withdraw, p.transfer, p.ip_restrict)
        other = self._other_keys.get(venue)
        known = None if other is None or creds is not None else other(api_key, secret)
        if known is None:
            raise AuthenticationFailed(venue, "API key or secret not accepted")
        return known

    def profile(self, venue: str) -> VenueProfile:
        self._exchange(venue)
        return simulated.IN_PROCESS

    def _exchange(self, venue: str) -> SimulatedExchange:
        _known(venue, self.names)
        return self.exchanges[venue]


class CcxtVenues:
    """Venues reached through ccxt. `simulated` maps venue names to base URLs of
    `tradewind venue serve` (e.g. {"sim": "http://127.0.0.1:8765"}, TRADEWIND_VENUE_URLS;
    `coinbase+http://…` for one serving Coinbase's API: `simulated.apis.served_api`);
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
        if spec is None:
            from tradewind.venues.simulated.client import SERVED_APIS

            return SERVED_APIS[served_api(self._simulated[venue])[0]].profile
        return spec.venue_adapter.profile

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
        api, base = served_api(self._simulated[venue])
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
            api=api,
        )
        # Our own limiter paces requests by the published limits; ccxt's where there are
        # none that it can pace by (Coinbase's: see venues.coinbase.limits).
        ccxt_venue.exchange.enableRateLimit = ccxt_venue.profile.limits is None
        return ccxt_venue

    async def check_key(self, venue: str, api_key: str, secret: str) -> KeyCheck:
        from tradewind.venues.ccxt_venue import CcxtVenue

        spec = self.spec(venue)
        if spec is not None:
            from tradewind.venues import catalog

            return await catalog.check_key(spec, api_key, secret, self._ca_file)
        from tradewind.venues.simulated.client import SERVED_APIS

        served = SERVED_APIS[served_api(self._simulated[venue])[0]]
        session = self.session(venue, api_key, secret)
        assert isinstance(session, CcxtVenue)
        try:
            answer: dict[str, Any] = await session.call_raw(served.key_check_method)
        finally:
            await session.close()
        return served.read_key_check(answer)


def parse_venue_urls(text: str) -> dict[str, str]:
    """`sim=http://127.0.0.1:8765,cb=coinbase+http://…` -> {"sim": "http://127.0.0.1:8765",
    "cb": "coinbase+http://…"} (see `simulated.apis.served_api`); ConfigError naming
    TRADEWIND_VENUE_URLS for anything else."""
    prefixed = "; ".join(
        f"{api.url_prefix}https://… for a venue serving the {api.title}"
        for api in APIS.values()
        if api.url_prefix
    )
    venues: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, url = part.partition("=")
        if not sep or not name or not served_api(url)[1].startswith(("http://", "https://")):
            raise ConfigError(
                "TRADEWIND_VENUE_URLS",
                f"expected NAME=https://HOST:PORT (or http://; {prefixed})[,…], got {part!r}",
            )
        venues[name] = url.rstrip("/")
    return venues


def _known(venue: str, names: tuple[str, ...]) -> None:
    if venue not in names:
        raise VenueError(venue, f"unknown venue; this platform knows {', '.join(names)}")
