"""Raw HTTP to the simulated venue, the way a Binance client signs it (no ccxt), for the
`test_sim_rest*` tests."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from tradewind.venues.simulated.server.serve import build_state, serving_in_thread
from tradewind.venues.simulated.server.signing import sign
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.weights import BINANCE_RATE_LIMITS, RateLimit

Params = Mapping[str, str | int]


@dataclass(frozen=True)
class Account:
    api_key: str
    secret: str = field(repr=False)
    account_id: str


@contextmanager
def running_venue(
    rate_limits: tuple[RateLimit, ...] = BINANCE_RATE_LIMITS,
) -> Iterator[tuple[str, ServerState]]:
    """A simulated venue on a free loopback port, market moving, with liquidity quoted."""
    state = build_state("synthetic", seed=3, rate_limits=rate_limits)
    with serving_in_thread(state) as url:
        for _ in range(250):  # 5 s at most
            if state.exchange.engine.depth("BTC/USDT", 1).asks:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the liquidity provider never quoted")
        yield url, state


class BinanceClient:
    """An httpx client for one account: public calls, and signed ones with the account's
    key and secret unless told otherwise (to test the refusals)."""

    def __init__(self, base_url: str, account: Account | None = None) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=5)
        self.account = account

    def close(self) -> None:
        self.http.close()

    def public(self, path: str, **params: str | int) -> httpx.Response:
        return self.http.get(path, params=params)

    def signed(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        *,
        timestamp_ms: int | None = None,
        recv_window: str | None = None,
        secret: str | None = None,
        api_key: str | None = None,
        in_body: bool | None = None,
    ) -> httpx.Response:
        """A SIGNED request; GET and DELETE carry it in the query string, POST and PUT in
        a form body (as ccxt sends them) unless `in_body` says otherwise."""
        assert self.account is not None
        fields: dict[str, str | int] = dict(params or {})
        fields["timestamp"] = timestamp_ms if timestamp_ms is not None else _now_ms()
        if recv_window is not None:
            fields["recvWindow"] = recv_window
        payload = urlencode(fields)
        signature = sign(secret or self.account.secret, payload)
        signed_text = f"{payload}&signature={signature}"
        headers = {"X-MBX-APIKEY": api_key if api_key is not None else self.account.api_key}
        body = in_body if in_body is not None else method in ("POST", "PUT")
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return self.http.request(method, path, content=signed_text, headers=headers)
        return self.http.request(method, f"{path}?{signed_text}", headers=headers)

    def order(self, **params: str | int) -> httpx.Response:
        return self.signed("POST", "/api/v3/order", params)

    def wait_for_trades(self, symbol: str = "BTCUSDT") -> None:
        """Until the market's background flow has printed a trade on `symbol` (a live
        one, printed after this call began: the back-history's trades, and its klines of
        every interval, are there from the start)."""
        since = self.public("/api/v3/time").json()["serverTime"]
        for _ in range(200):  # 10 s at most
            params = {"symbol": symbol, "interval": "1s", "startTime": since, "limit": 1}
            if self.public("/api/v3/klines", **params).json():
                return
            time.sleep(0.05)
        raise AssertionError(f"no trade printed on {symbol}")


def open_account(
    base_url: str,
    balances: Mapping[str, str],
    *,
    trade: bool = True,
    ip_restrict: bool = False,
) -> Account:
    response = httpx.post(
        f"{base_url}/sim/v1/accounts",
        json={
            "balances": dict(balances),
            "permissions": {"trade": trade, "withdraw": False},
            "ip_restrict": ip_restrict,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(body["api_key"], body["api_secret"], body["account_id"])


def binance_error(response: httpx.Response) -> tuple[int, int, str]:
    """(HTTP status, code, msg) of an error response."""
    body = response.json()
    return response.status_code, body["code"], body["msg"]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@contextmanager
def running_still_venue() -> Iterator[tuple[str, ServerState]]:
    """A simulated venue on a free loopback port whose market stands still: the
    liquidity provider has quoted once and nothing moves the books but the tests' own
    orders (an order priced inside the spread stays the best until someone takes it)."""
    state = build_state("synthetic", seed=3)
    state.exchange.step()  # the liquidity provider quotes, before the server thread runs
    if not state.exchange.engine.depth("BTC/USDT", 1).asks:
        raise AssertionError("the liquidity provider never quoted")
    with serving_in_thread(state, step_interval_s=None) as url:
        yield url, state
