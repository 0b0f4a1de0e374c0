"""The simulated exchange's profiles. Served over HTTP it speaks Binance's API (ccxt's
`binance` trades on it unmodified, and it publishes and enforces Binance's limits), so
its sessions there use the Binance profile; served with Coinbase's Advanced Trade API
(`tradewind venue serve --api coinbase`, `tradewind up`'s second exchange), ccxt's
`coinbase` trades on it with the Coinbase profile. In this process (`InProcessVenue`)
the same refusals and statuses, and no limits: there is no network to pace."""

from __future__ import annotations

import dataclasses

from tradewind.venues.binance import PROFILE as BINANCE
from tradewind.venues.coinbase import PROFILE as COINBASE

OVER_HTTP = dataclasses.replace(BINANCE, kind="simulated")
COINBASE_OVER_HTTP = dataclasses.replace(COINBASE, kind="simulated")
IN_PROCESS = dataclasses.replace(BINANCE, kind="simulated", limits=None)
