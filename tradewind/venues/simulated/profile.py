"""The simulated exchange's profiles. Served over HTTP it is Binance's API (ccxt's
`binance` trades on it unmodified, and it publishes and enforces Binance's limits), so
its sessions there use the Binance profile; in this process (`InProcessVenue`) the same
refusals and statuses, and no limits: there is no network to pace."""

from __future__ import annotations

import dataclasses

from tradewind.venues.binance import PROFILE as BINANCE

OVER_HTTP = dataclasses.replace(BINANCE, kind="simulated")
IN_PROCESS = dataclasses.replace(BINANCE, kind="simulated", limits=None)
