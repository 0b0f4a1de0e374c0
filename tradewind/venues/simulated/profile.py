"""The simulated exchange's profiles. Served over HTTP it speaks Binance's API (ccxt's
`binance` trades on it unmodified, and it publishes and enforces Binance's limits), so
its sessions there use the Binance profile; served with Coinbase's Advanced Trade API
(`tradewind venue serve --api coinbase`, `tradewind up`'s second exchange), ccxt's
`coinbase` trades on it with the Coinbase profile. In this process (`InProcessVenue`)
the same refusals and statuses, and no limits: there is no network to pace.

Whichever API it serves, its ledger moves a fill's quote amount rounded down to a whole
10**-8 (`matching.filters.BALANCE_DECIMALS`), as Binance's does: its Coinbase profile says
so (`quote_step`), since Coinbase's fills carry no quote amount to read it from."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from tradewind.venues.binance import PROFILE as BINANCE
from tradewind.venues.coinbase import PROFILE as COINBASE
from tradewind.venues.simulated.matching.filters import BALANCE_DECIMALS

OVER_HTTP = dataclasses.replace(BINANCE, kind="simulated")
COINBASE_OVER_HTTP = dataclasses.replace(
    COINBASE, kind="simulated", quote_step=Decimal(1).scaleb(-BALANCE_DECIMALS)
)
IN_PROCESS = dataclasses.replace(BINANCE, kind="simulated", limits=None)
