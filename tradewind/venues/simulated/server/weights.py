"""Binance's spot rate limits: request weight per endpoint, limits per client IP (weight,
raw requests) and per account (new orders), the 429 warning and the 418 ban.

Windows are fixed and aligned to the epoch, as Binance's are: the 1-minute weight
restarts at every whole minute, which is what `X-MBX-USED-WEIGHT-1M` counts. An IP that
exceeds a limit gets 429 with `Retry-After` (seconds until its window restarts); one
that sends again before then is banned (418), 2 minutes for a first offence, doubling for
repeat offenders up to 3 days.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

_INTERVAL_MS = {"SECOND": 1000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000}
_HEADER_UNIT = {"SECOND": "S", "MINUTE": "M", "HOUR": "H", "DAY": "D"}


@dataclass(frozen=True)
class RateLimit:
    """One entry of exchangeInfo's `rateLimits`: at most `limit` per `interval_num` `interval`s.

    `kind` is REQUEST_WEIGHT, RAW_REQUESTS (per IP) or ORDERS (per account)."""

    kind: str
    interval: str
    interval_num: int
    limit: int

    @property
    def window_ms(self) -> int:
        return _INTERVAL_MS[self.interval] * self.interval_num

    @property
    def header_suffix(self) -> str:
        """The window as response headers name it: 1M, 10S, 1D."""
        return f"{self.interval_num}{_HEADER_UNIT[self.interval]}"

    @property
    def header(self) -> str:
        """The response header that reports usage, e.g. X-MBX-USED-WEIGHT-1M."""
        if self.kind == "ORDERS":
            return f"X-MBX-ORDER-COUNT-{self.header_suffix}"
        return f"X-MBX-USED-WEIGHT-{self.header_suffix}"

    def describe(self) -> str:
        """As Binance names it in messages: "1 MINUTE", "10 SECOND"."""
        return f"{self.interval_num} {self.interval}"

    def as_binance(self) -> dict[str, object]:
        return {
            "rateLimitType": self.kind,
            "interval": self.interval,
            "intervalNum": self.interval_num,
            "limit": self.limit,
        }


BINANCE_RATE_LIMITS = (
    RateLimit("REQUEST_WEIGHT", "MINUTE", 1, 6000),
    RateLimit("ORDERS", "SECOND", 10, 100),
    RateLimit("ORDERS", "DAY", 1, 200_000),
    RateLimit("RAW_REQUESTS", "MINUTE", 5, 61_000),
)

#: /sapi endpoints weighted per IP: each has its own 12000 per minute, reported in
#: X-SAPI-USED-IP-WEIGHT-1M (Binance's SAPI limits; the IP-weighted ones are all served).
SAPI_IP_LIMITS = (RateLimit("REQUEST_WEIGHT", "MINUTE", 1, 12_000),)
SAPI_IP_HEADER = "X-SAPI-USED-IP-WEIGHT-"

FIRST_BAN_MS = 2 * 60_000
LONGEST_BAN_MS = 3 * 86_400_000

# Weights of Binance's spot REST endpoints (its rest-api.md), by method and path.
_FIXED_WEIGHTS: Mapping[tuple[str, str], int] = {
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/trades"): 25,
    ("GET", "/api/v3/historicalTrades"): 25,
    ("GET", "/api/v3/aggTrades"): 4,
    ("GET", "/api/v3/klines"): 2,
    ("GET", "/api/v3/uiKlines"): 2,
    ("GET", "/api/v3/avgPrice"): 2,
    ("POST", "/api/v3/order"): 1,
    ("POST", "/api/v3/order/test"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/order"): 1,
    ("DELETE", "/api/v3/openOrders"): 1,
    ("GET", "/api/v3/allOrders"): 20,
    ("POST", "/api/v3/order/oco"): 1,
    ("POST", "/api/v3/orderList/oco"): 1,
    ("POST", "/api/v3/order/cancelReplace"): 1,
    ("GET", "/api/v3/orderList"): 4,
    ("GET", "/api/v3/allOrderList"): 20,
    ("GET", "/api/v3/openOrderList"): 6,
    ("DELETE", "/api/v3/orderList"): 1,
    ("GET", "/api/v3/account"): 20,
    ("GET", "/api/v3/account/commission"): 20,
    ("GET", "/api/v3/rateLimit/order"): 40,
    ("POST", "/api/v3/userDataStream"): 2,
    ("PUT", "/api/v3/userDataStream"): 2,
    ("DELETE", "/api/v3/userDataStream"): 2,
}
_DEPTH_WEIGHTS = ((100, 5), (500, 25), (1000, 50), (5000, 250))
_PER_SYMBOL_WEIGHT = 4  # ticker, ticker/tradingDay: 4 a symbol, at most 200
_PER_SYMBOL_CAP = 200
# /sapi weights (Binance's wallet and margin docs), all per IP.
_SAPI_WEIGHTS: Mapping[tuple[str, str], int] = {
    ("GET", "/sapi/v1/account/apiRestrictions"): 1,
    ("GET", "/sapi/v1/account/apiTradingStatus"): 1,
    ("GET", "/sapi/v1/capital/config/getall"): 10,
    ("GET", "/sapi/v1/margin/allPairs"): 1,
    ("GET", "/sapi/v1/margin/isolated/allPairs"): 10,
}


def request_weight(method: str, path: str, params: Mapping[str, str]) -> int:
    """The request weight Binance charges for this call (1 for paths it does not list)."""
    if path == "/api/v3/order/test" and params.get("computeCommissionRates", "").lower() == "true":
        return 20
    fixed = _FIXED_WEIGHTS.get((method, path))
    if fixed is not None:
        return fixed
    if method != "GET":
        return 1
    one_symbol = bool(params.get("symbol"))
    if path == "/api/v3/depth":
        limit = _int_or(params.get("limit"), 100)
        return next((w for top, w in _DEPTH_WEIGHTS if limit <= top), 250)
    count = params.get("symbols", "").count(",") + 1 if params.get("symbols") else 0
    if path == "/api/v3/ticker/24hr":
        if one_symbol:
            return 2
        return 2 if 0 < count <= 20 else 40 if 0 < count <= 100 else 80
    if path in ("/api/v3/ticker", "/api/v3/ticker/tradingDay"):
        return min(_PER_SYMBOL_CAP, _PER_SYMBOL_WEIGHT * max(1, count))
    if path in ("/api/v3/ticker/price", "/api/v3/ticker/bookTicker"):
        return 2 if one_symbol else 4
    if path == "/api/v3/openOrders":
        return 6 if one_symbol else 80
    if path == "/api/v3/myTrades":
        return 5 if params.get("orderId") else 20
    return 1


def sapi_weight(method: str, path: str) -> int:
    """The IP weight Binance charges for this /sapi call (1 for paths it does not list)."""
    return _SAPI_WEIGHTS.get((method, path), 1)


def _int_or(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


@dataclass
class _Window:
    start_ms: int = 0
    used: int = 0


@dataclass
class _Counter:
    """Usage of one limit per key (an IP or an account) in fixed windows."""

    limit: RateLimit
    _windows: dict[str, _Window] = field(default_factory=dict)

    def _window(self, key: str, now_ms: int) -> _Window:
        start = now_ms - now_ms % self.limit.window_ms
        window = self._windows.get(key)
        if window is None or window.start_ms != start:
            window = self._windows[key] = _Window(start)
        return window

    def used(self, key: str, now_ms: int) -> int:
        return self._window(key, now_ms).used

    def fits(self, key: str, cost: int, now_ms: int) -> bool:
        return self._window(key, now_ms).used + cost <= self.limit.limit

    def add(self, key: str, cost: int, now_ms: int) -> None:
        self._window(key, now_ms).used += cost

    def retry_after_s(self, now_ms: int) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        remaining_ms = self.limit.window_ms - now_ms % self.limit.window_ms
        return max(1, math.ceil(remaining_ms / 1000))


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused: 429 (`banned_until_ms` 0) or 418 (banned)."""

    limit: RateLimit
    retry_after_s: int
    banned_until_ms: int = 0


@dataclass
class _Offender:
    back_off_until_ms: int = 0
    banned_until_ms: int = 0
    bans: int = 0


class IpRateLimiter:
    """REQUEST_WEIGHT and RAW_REQUESTS limits per client IP, with warnings and bans."""

    def __init__(
        self,
        limits: tuple[RateLimit, ...] = BINANCE_RATE_LIMITS,
        header_prefix: str = "X-MBX-USED-WEIGHT-",
    ) -> None:
        self._counters = [_Counter(r) for r in limits if r.kind != "ORDERS"]
        self._offenders: dict[str, _Offender] = {}
        self._header_prefix = header_prefix
        self.refusals = 0  # requests refused (429 or 418) since the start

    def admit(self, ip: str, weight: int, now_ms: int) -> Refusal | None:
        """Count the request against `ip`'s limits, or say why it is refused."""
        refusal = self._admit(ip, weight, now_ms)
        if refusal is not None:
            self.refusals += 1
        return refusal

    def _admit(self, ip: str, weight: int, now_ms: int) -> Refusal | None:
        offender = self._offenders.get(ip)
        if offender is not None:
            if offender.banned_until_ms > now_ms:
                return self._ban_refusal(offender, now_ms)
            if offender.back_off_until_ms > now_ms:
                # It was told to wait and did not: ban it, longer each time.
                offender.bans += 1
                duration = min(LONGEST_BAN_MS, FIRST_BAN_MS * 2 ** (offender.bans - 1))
                offender.banned_until_ms = now_ms + duration
                offender.back_off_until_ms = 0
                return self._ban_refusal(offender, now_ms)
        for counter in self._counters:
            cost = weight if counter.limit.kind == "REQUEST_WEIGHT" else 1
            if not counter.fits(ip, cost, now_ms):
                retry_after_s = counter.retry_after_s(now_ms)
                offender = self._offenders.setdefault(ip, _Offender())
                offender.back_off_until_ms = now_ms + retry_after_s * 1000
                return Refusal(counter.limit, retry_after_s)
        for counter in self._counters:
            counter.add(ip, weight if counter.limit.kind == "REQUEST_WEIGHT" else 1, now_ms)
        return None

    def _ban_refusal(self, offender: _Offender, now_ms: int) -> Refusal:
        retry_after_s = max(1, math.ceil((offender.banned_until_ms - now_ms) / 1000))
        return Refusal(self._counters[0].limit, retry_after_s, offender.banned_until_ms)

    def weight_usage(self, ip: str, now_ms: int) -> list[tuple[RateLimit, int]]:
        """Each REQUEST_WEIGHT limit with `ip`'s weight in its current window (what the
        WebSocket API reports in `rateLimits`)."""
        return [
            (c.limit, c.used(ip, now_ms))
            for c in self._counters
            if c.limit.kind == "REQUEST_WEIGHT"
        ]

    def usage_headers(self, ip: str, now_ms: int) -> dict[str, str]:
        """X-MBX-USED-WEIGHT-* (or this limiter's prefix) of `ip` in the current windows."""
        return {
            self._header_prefix + c.limit.header_suffix: str(c.used(ip, now_ms))
            for c in self._counters
            if c.limit.kind == "REQUEST_WEIGHT"
        }


class OrderRateLimiter:
    """ORDERS limits per account (Binance counts new orders per account, not per IP)."""

    def __init__(self, limits: tuple[RateLimit, ...] = BINANCE_RATE_LIMITS) -> None:
        self._counters = [_Counter(r) for r in limits if r.kind == "ORDERS"]
        self.refusals = 0  # new orders refused (-1015) since the start

    def admit(self, account_id: str, now_ms: int) -> RateLimit | None:
        """Count one new order, or return the limit it would exceed."""
        for counter in self._counters:
            if not counter.fits(account_id, 1, now_ms):
                self.refusals += 1
                return counter.limit
        for counter in self._counters:
            counter.add(account_id, 1, now_ms)
        return None

    def usage_headers(self, account_id: str, now_ms: int) -> dict[str, str]:
        """X-MBX-ORDER-COUNT-10S, X-MBX-ORDER-COUNT-1D of the account."""
        return {c.limit.header: str(c.used(account_id, now_ms)) for c in self._counters}

    def usage(self, account_id: str, now_ms: int) -> list[tuple[RateLimit, int]]:
        """Each ORDERS limit with the account's count in its current window."""
        return [(c.limit, c.used(account_id, now_ms)) for c in self._counters]
