"""The simulated exchange's matching engine (pure: no I/O, no clock, no asyncio).

`MatchingEngine` is the entry point; everything a Binance-compatible server needs to
call or catch is re-exported here. See `engine` for the semantics and `filters` for the
integer scales behind the `Decimal` API.
"""

from tradewind.venues.simulated.matching.engine import MatchingEngine
from tradewind.venues.simulated.matching.errors import (
    CancelRejected,
    InvalidInstrumentSpec,
    MatchingError,
    OrderNotFound,
    Reason,
    SubmitRejected,
    UnknownSymbol,
)
from tradewind.venues.simulated.matching.filters import (
    AMOUNT_DECIMALS,
    InstrumentSpec,
    SymbolFilters,
)
from tradewind.venues.simulated.matching.oco import LEG_TYPES, OcoLeg
from tradewind.venues.simulated.matching.results import (
    BalanceSnapshot,
    BookTicker,
    Consequence,
    DepthSnapshot,
    DepthUpdate,
    ExpiredOrder,
    MatchingOrderStatus,
    OrderListSnapshot,
    OrderListUpdate,
    OrderSnapshot,
    StopType,
    SubmitResult,
    Trade,
    TriggeredOrder,
)

__all__ = [
    "AMOUNT_DECIMALS",
    "LEG_TYPES",
    "BalanceSnapshot",
    "BookTicker",
    "CancelRejected",
    "Consequence",
    "DepthSnapshot",
    "DepthUpdate",
    "ExpiredOrder",
    "InstrumentSpec",
    "InvalidInstrumentSpec",
    "MatchingEngine",
    "MatchingError",
    "MatchingOrderStatus",
    "OcoLeg",
    "OrderListSnapshot",
    "OrderListUpdate",
    "OrderNotFound",
    "OrderSnapshot",
    "Reason",
    "StopType",
    "SubmitRejected",
    "SubmitResult",
    "SymbolFilters",
    "Trade",
    "TriggeredOrder",
    "UnknownSymbol",
]
