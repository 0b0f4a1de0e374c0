"""The simulated exchanges `tradewind up` runs, side by side in this process: one for
each API the simulator serves (`venues.simulated.apis`), each with its own matching
engine, books and accounts. The default API's exchange (a Binance-style one, venue `sim`)
trades the market `--market` describes; each other one (`sim-coinbase`: a Coinbase-style
one) a seeded synthetic market of that API's kind of pairs (USD and USDC on Coinbase's).
Each is served over HTTP with its own API so that other clients can trade there too; the
platform's services reach them all in process (`venues.directory.SimulatedVenues`).
"""

from __future__ import annotations

from dataclasses import dataclass

from tradewind.venues.directory import SIMULATED
from tradewind.venues.simulated.apis import APIS, DEFAULT_API, Api
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.server.serve import price_source
from tradewind.venues.simulated.start_point import (
    DEFAULT_START,
    MAX_SYNTHETIC_HISTORY_MS,
    offset_ms,
)


@dataclass(frozen=True)
class RunExchange:
    """One simulated exchange of the run: its venue name on the platform, the API it is
    served with, and the exchange itself."""

    venue: str
    api: Api
    exchange: SimulatedExchange


def run_venue(api: Api) -> str:
    """The platform's name of the run's exchange serving `api`: `sim` for the default
    API's, `sim-<api>` for another's (`sim-coinbase`)."""
    return SIMULATED if api == DEFAULT_API else f"{SIMULATED}-{api}"


def run_exchanges(
    market: str, *, speed: float, seed: int, start_ms: int, start: str | None
) -> tuple[RunExchange, ...]:
    """One exchange per served API, the default API's first, each stepped once: the
    default API's on `market` (`--market`, `--speed`, `--start`: see
    `serve.price_source`), every other on a synthetic market of its API's pairs
    (`synthetic_start`), each seeded apart. ConfigError naming the option at fault."""
    exchanges = []
    for i, api in enumerate(APIS):
        if api == DEFAULT_API:
            prices = price_source(market, speed=speed, seed=seed, start_ms=start_ms, start=start)
        else:
            prices = price_source("synthetic", speed=1, seed=seed + i, start_ms=start_ms,
                                  start=synthetic_start(start), api=api)  # fmt: skip
        exchanges.append(RunExchange(run_venue(api), api, SimulatedExchange(prices, seed=seed + i)))
    for one in exchanges:
        one.exchange.step()
    return tuple(exchanges)


def synthetic_start(start: str | None) -> str | None:
    """The past a synthetic market of the run gets from `--start`: as much as `start`
    gives when it is an offset a synthetic market can generate (`2d`); a replay's date
    (`--start 2018-01-16`) means nothing to a synthetic market, which then gets the
    default two days. None (no past) stays None."""
    if start is None:
        return None
    history = offset_ms(start)
    if history is None or history > MAX_SYNTHETIC_HISTORY_MS:
        return DEFAULT_START
    return start
