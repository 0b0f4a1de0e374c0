"""The simulated exchanges `tradewind up` runs, side by side in this process: a
Binance-style one (venue `sim`, the market `--market` describes) and a Coinbase-style
one (venue `sim-coinbase`: its own matching engine, books and accounts, on a seeded
synthetic market of USD and USDC pairs). Each is served over HTTP with its own API
(Binance's; Coinbase's Advanced Trade) so that other clients can trade there too; the
platform's services reach both in process (`venues.directory.SimulatedVenues`).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

import jwt

from tradewind.venues.coinbase import from_key_permissions
from tradewind.venues.directory import SIMULATED, KeyAccount
from tradewind.venues.key_check import KeyCheck
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import PriceSource, SyntheticMarket
from tradewind.venues.simulated.server.coinbase.keys import (
    JWT_AUDIENCE,
    JWT_ISSUER,
    CoinbaseAuthError,
    CoinbaseKeys,
)
from tradewind.venues.simulated.server.coinbase.products import COINBASE_SYNTHETIC
from tradewind.venues.simulated.server.serve import price_source
from tradewind.venues.simulated.server.state import ServedApi
from tradewind.venues.simulated.start_point import (
    DEFAULT_START,
    MAX_SYNTHETIC_HISTORY_MS,
    offset_ms,
)

COINBASE_VENUE = "sim-coinbase"
"""The platform's name of the Coinbase-style simulated exchange (the Binance-style one
keeps `sim`)."""


@dataclass(frozen=True)
class RunExchange:
    """One simulated exchange of the run: its venue name on the platform, the API it is
    served with, and the exchange itself."""

    venue: str
    api: ServedApi
    exchange: SimulatedExchange


def run_exchanges(
    market: str, *, speed: float, seed: int, start_ms: int, start: str | None
) -> tuple[RunExchange, ...]:
    """The Binance-style exchange on `market` (`--market`, `--speed`, `--start`: see
    `serve.price_source`) and the Coinbase-style one, each stepped once. ConfigError
    naming the option at fault."""
    binance = SimulatedExchange(
        price_source(market, speed=speed, seed=seed, start_ms=start_ms, start=start), seed=seed
    )
    coinbase = SimulatedExchange(coinbase_prices(seed=seed, start_ms=start_ms, start=start),
                                 seed=seed + 1)  # fmt: skip
    exchanges = (
        RunExchange(SIMULATED, "binance", binance),
        RunExchange(COINBASE_VENUE, "coinbase", coinbase),
    )
    for one in exchanges:
        one.exchange.step()
    return exchanges


def coinbase_prices(*, seed: int, start_ms: int, start: str | None) -> PriceSource:
    """The Coinbase-style exchange's market: synthetic, of Coinbase's kind of pairs in US
    dollars and USDC (`COINBASE_SYNTHETIC`, as `tradewind venue serve --api coinbase`
    lists), starting now, with as much past as `start` gives when it is an offset
    (`2d`); a replay's date (`--start 2018-01-16`) means nothing to a synthetic market,
    which then gets the default two days."""
    history = offset_ms(start) if start is not None else 0
    if history is None or history > MAX_SYNTHETIC_HISTORY_MS:
        history = offset_ms(DEFAULT_START) or 0
    return SyntheticMarket(COINBASE_SYNTHETIC, seed=seed + 1, start_ms=start_ms, history_ms=history)


_PROOF_PATH = "/api/v3/brokerage/key_permissions"  # what a legacy key's proof signs


def coinbase_key_account(keys: CoinbaseKeys) -> KeyAccount:
    """The account a Coinbase key of the Coinbase-style exchange's API (its faucet's: a CDP
    key's name and PEM private key, or a legacy key and secret) trades for, and what the
    key may do; None for a key it does not know or a secret that is not the key's. The
    platform reaches that exchange in process, so it proves the key as its API would: a
    JWT the PEM key signs, or an HMAC signature, checked by `keys`."""

    def account_of(api_key: str, secret: str) -> tuple[str, KeyCheck] | None:
        now = time.time()
        try:
            if secret.startswith("-----BEGIN"):
                account_id = keys.authenticate_ws(_jwt(api_key, secret, now), now)
            else:
                account_id = keys.authenticate_rest(
                    "GET", "in-process", _PROOF_PATH, _hmac_headers(api_key, secret, now),
                    b"", now,
                )  # fmt: skip
        except (CoinbaseAuthError, ValueError, TypeError, jwt.PyJWTError):
            return None  # not this exchange's key, or not its secret
        permissions = keys.permissions(api_key)
        check = from_key_permissions(
            {
                "can_view": permissions.can_view,
                "can_trade": permissions.can_trade,
                "can_transfer": permissions.can_transfer,
            }
        )
        return account_id, check

    return account_of


def _jwt(key_name: str, pem: str, now: float) -> str:
    """A WebSocket-style JWT of the CDP key (no `uri`), as ccxt's `coinbase` makes."""
    seconds = int(now)
    claims = {
        "sub": key_name,
        "iss": JWT_ISSUER,
        "aud": [JWT_AUDIENCE],
        "nbf": seconds,
        "exp": seconds + 120,
    }
    return jwt.encode(claims, pem, algorithm="ES256", headers={"kid": key_name})


def _hmac_headers(key: str, secret: str, now: float) -> dict[str, str]:
    timestamp = str(int(now))
    message = f"{timestamp}GET{_PROOF_PATH}".encode()
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {"cb-access-key": key, "cb-access-timestamp": timestamp, "cb-access-sign": signature}
