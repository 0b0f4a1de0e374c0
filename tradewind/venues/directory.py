"""Where services get venue sessions from: one public session per venue for market data,
and one session per exchange account (its API key and secret, held only in memory).

Two directories: `SimulatedVenues` (the in-process simulated exchange: embedded mode)
and `CcxtVenues` (the simulated exchange served over HTTP, or any exchange ccxt knows:
distributed mode). The runtime builds one; services only see `VenueDirectory`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Protocol

from tradewind.errors import AuthenticationFailed, ConfigError, VenueError
from tradewind.venues.port import Market, Venue
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.inprocess import InProcessVenue

SIMULATED = "sim"


@dataclass(frozen=True)
class KeyCheck:
    """What an API key may do on its venue (Binance's apiRestrictions)."""

    can_trade: bool
    can_withdraw: bool
    can_transfer: bool
    ip_restricted: bool

    @property
    def refusal(self) -> str | None:
        """Why the platform must not accept this key, or None. A key that can move funds
        off the account is refused: a leaked trading-bot key must not be a withdrawal key."""
        if self.can_withdraw:
            return "this API key can withdraw funds; create a key with withdrawals disabled"
        if self.can_transfer:
            return "this API key can transfer funds; create a key with transfers disabled"
        if not self.can_trade:
            return "this API key cannot trade; enable spot trading for it"
        return None


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

    def session(self, venue: str, api_key: str, secret: str) -> Venue:
        """A session trading for the account these keys belong to."""
        ...

    async def check_key(self, venue: str, api_key: str, secret: str) -> KeyCheck:
        """A read-only call with the key; AuthenticationFailed if the venue refuses it."""
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

    def session(self, venue: str, api_key: str, secret: str) -> Venue:
        _known(venue, self.names)
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


class CcxtVenues:
    """Venues reached through ccxt. `simulated` maps venue names to base URLs of
    `tradewind venue serve` (e.g. {"sim": "http://127.0.0.1:8765"}); any other name is
    a ccxt exchange id (binance, kraken, …). `ca_file`: the CA bundle venues' certificates
    are checked against (else certifi's); there is no way to not check them."""

    def __init__(
        self, simulated: dict[str, str], real: tuple[str, ...] = (), *, ca_file: str | None = None
    ) -> None:
        self._simulated = dict(simulated)
        self._real = real
        self._ca_file = ca_file

    @property
    def names(self) -> tuple[str, ...]:
        return (*self._simulated, *self._real)

    def public(self, venue: str) -> Venue:
        return self.session(venue, "", "")

    def session(self, venue: str, api_key: str, secret: str) -> Venue:
        from tradewind.venues.ccxt_venue import CcxtVenue

        _known(venue, self.names)
        base = self._simulated.get(venue)
        if base is not None:
            ws = base.replace("http", "ws", 1)
            ccxt_venue = CcxtVenue.simulated_binance(
                base, ws, api_key, secret, name=venue, ca_file=self._ca_file
            )
            ccxt_venue.exchange.enableRateLimit = False  # our own limiter paces requests
            return ccxt_venue
        return CcxtVenue.create(venue, api_key, secret, name=venue, ca_file=self._ca_file)

    async def check_key(self, venue: str, api_key: str, secret: str) -> KeyCheck:
        from tradewind.venues.ccxt_venue import CcxtVenue

        session = self.session(venue, api_key, secret)
        assert isinstance(session, CcxtVenue)
        try:
            restrictions: dict[str, Any] = await session.call_raw(
                "sapi_get_account_apirestrictions"
            )
        finally:
            await session.close()
        return KeyCheck(
            can_trade=bool(restrictions.get("enableSpotAndMarginTrading")),
            can_withdraw=bool(restrictions.get("enableWithdrawals")),
            can_transfer=bool(restrictions.get("enableInternalTransfer"))
            or bool(restrictions.get("permitsUniversalTransfer")),
            ip_restricted=bool(restrictions.get("ipRestrict")),
        )


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
