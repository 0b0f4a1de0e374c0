"""What the simulated exchange's HTTP and WebSocket sides share: the exchange, the
fault switches tests flip, the user-data-stream listen keys and the rate limiters."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

from tradewind.venues.key_check import KeyAccount
from tradewind.venues.simulated.apis import Api
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.server.coinbase.key_account import key_account
from tradewind.venues.simulated.server.coinbase.keys import CoinbaseKeys
from tradewind.venues.simulated.server.coinbase.limits import (
    COINBASE_RATE_LIMITS,
    CoinbaseLimiters,
    CoinbaseRateLimits,
)
from tradewind.venues.simulated.server.coinbase.orders import CoinbaseOrderRecords
from tradewind.venues.simulated.server.weights import (
    BINANCE_RATE_LIMITS,
    SAPI_IP_HEADER,
    SAPI_IP_LIMITS,
    IpRateLimiter,
    OrderRateLimiter,
    RateLimit,
)

#: Which exchange's API a venue serves: Binance's (the default) or Coinbase's Advanced Trade.
ServedApi = Api

LISTEN_KEY_TTL_MS = 60 * 60 * 1000  # Binance: a listen key lives 60 minutes unless kept alive


@dataclass
class FaultSwitches:
    """Failures to inject, each until a wall-clock time in ms (0 = off).

    `http_5xx_until_ms`: every REST request answers 503. `timeout_until_ms`: every REST
    request hangs `hang_s` seconds and then answers 504, as a venue that timed out.
    `rate_limit_until_ms`: every REST request answers 429 with Retry-After.
    `fail_after_accept`: the next N new orders are executed and then answered with 500
    (the "unknown outcome" a real venue produces). `websocket_epoch` increases when
    tests ask to drop every WebSocket connection; streams close when it changes.
    """

    http_5xx_until_ms: int = 0
    timeout_until_ms: int = 0
    rate_limit_until_ms: int = 0
    hang_s: float = 10.0
    fail_after_accept: int = 0
    websocket_epoch: int = 0
    websocket_dropped: asyncio.Event = field(default_factory=asyncio.Event)

    def active(self, until_ms: int) -> bool:
        return until_ms > time.time() * 1000

    def drop_websockets(self) -> None:
        self.websocket_epoch += 1
        self.websocket_dropped.set()
        self.websocket_dropped = asyncio.Event()

    def clear(self) -> None:
        self.http_5xx_until_ms = self.timeout_until_ms = self.rate_limit_until_ms = 0
        self.fail_after_accept = 0


@dataclass
class ListenKeys:
    """User-data-stream listen keys: key -> (account id, expiry ms)."""

    _keys: dict[str, tuple[str, int]] = field(default_factory=dict)

    def create(self, account_id: str) -> str:
        """Binance returns the account's existing key if it has a live one."""
        now = int(time.time() * 1000)
        for key, (owner, expires) in self._keys.items():
            if owner == account_id and expires > now:
                self._keys[key] = (owner, now + LISTEN_KEY_TTL_MS)
                return key
        key = secrets.token_hex(32)
        self._keys[key] = (account_id, now + LISTEN_KEY_TTL_MS)
        return key

    def keep_alive(self, key: str, account_id: str) -> bool:
        entry = self._keys.get(key)
        if entry is None or entry[0] != account_id:
            return False
        self._keys[key] = (account_id, int(time.time() * 1000) + LISTEN_KEY_TTL_MS)
        return True

    def close(self, key: str, account_id: str) -> bool:
        entry = self._keys.get(key)
        if entry is None or entry[0] != account_id:
            return False
        del self._keys[key]
        return True

    def account_of(self, key: str) -> str | None:
        entry = self._keys.get(key)
        if entry is None or entry[1] <= time.time() * 1000:
            return None
        return entry[0]


@dataclass
class ServerState:
    """`rate_limits` are what exchangeInfo publishes and the limiters enforce (Binance's
    by default; tests pass smaller ones). `admin_token`: what non-loopback clients of
    `/sim/v1` must present (`server.sim_admin`); None closes it to them. `api`: which
    exchange's API the venue serves; `coinbase_keys` are its Coinbase API keys (REST and
    WebSocket check them there), `coinbase_orders` the orders placed through Coinbase's
    API, `coinbase_rate_limits` the limits its REST side enforces (None: unlimited)."""

    exchange: SimulatedExchange
    api: ServedApi = "binance"
    coinbase_keys: CoinbaseKeys = field(default_factory=CoinbaseKeys)
    coinbase_orders: CoinbaseOrderRecords = field(default_factory=CoinbaseOrderRecords)
    coinbase_rate_limits: CoinbaseRateLimits | None = COINBASE_RATE_LIMITS
    faults: FaultSwitches = field(default_factory=FaultSwitches)
    listen_keys: ListenKeys = field(default_factory=ListenKeys)
    rate_limits: tuple[RateLimit, ...] = BINANCE_RATE_LIMITS
    #: (account id, client order id) -> how many new-order requests carried it: what a
    #: test reads to prove that no client order id was ever sent twice.
    submissions: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: When each repeated new-order request came (ms), kept for ids seen more than once.
    repeat_times_ms: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    #: (method, path) -> how many requests the Binance REST routes received, refused ones
    #: included (`rest_gate`), and ("WS", method) -> how many WebSocket API requests were
    #: answered (`ws_api`): what a test reads to prove which calls clients made.
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    _first_ms: dict[tuple[str, str], int] = field(default_factory=dict)

    def count_submission(self, account_id: str, client_order_id: str, now_ms: int) -> None:
        """A new-order request reached the order handler (past the faults and limits)."""
        key = (account_id, client_order_id)
        self.submissions[key] += 1
        if self.submissions[key] == 1:
            self._first_ms[key] = now_ms
        else:
            self.repeat_times_ms.setdefault(key, [self._first_ms.pop(key, 0)]).append(now_ms)

    admin_token: str | None = field(default=None, repr=False)
    ip_limiter: IpRateLimiter = field(init=False)
    #: /sapi IP weight, keyed by "<ip> <path>": each endpoint has a limit of its own.
    sapi_limiter: IpRateLimiter = field(init=False)
    order_limiter: OrderRateLimiter = field(init=False)
    coinbase_limiters: CoinbaseLimiters = field(init=False)

    def __post_init__(self) -> None:
        self.coinbase_limiters = CoinbaseLimiters(self.coinbase_rate_limits)
        self.ip_limiter = IpRateLimiter(self.rate_limits)
        self.sapi_limiter = IpRateLimiter(SAPI_IP_LIMITS, SAPI_IP_HEADER)
        self.order_limiter = OrderRateLimiter(self.rate_limits)

    def in_process_keys(self) -> KeyAccount | None:
        """The keys this API hands out beside the exchange's own, as the platform proves
        them reaching the exchange in process (`directory.SimulatedVenues`' `other_keys`):
        Coinbase's; None where the exchange's own keys are the API's (Binance's)."""
        if self.api == "coinbase":
            return key_account(self.coinbase_keys)
        return None
