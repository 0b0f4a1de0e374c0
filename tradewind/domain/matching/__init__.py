"""The simulated exchange's matching engine (pure: no I/O, no clock, no asyncio).

`MatchingEngine` is the entry point; everything a Binance-compatible server needs to
call or catch is re-exported here. See `engine` for the semantics and `filters` for the
integer scales behind the `Decimal` API.
"""

from tradewind.domain.matching.engine import MatchingEngine
from tradewind.domain.matching.errors import (
    CancelRejected,
    InvalidInstrumentSpec,
    MatchingError,
    OrderNotFound,
    OrderRejected,
    Reason,
    UnknownSymbol,
)
from tradewind.domain.matching.filters import AMOUNT_DECIMALS, InstrumentSpec, SymbolFilters
from tradewind.domain.matching.results import (
    Balance,
    BookTicker,
    DepthSnapshot,
    DepthUpdate,
    OrderSnapshot,
    OrderStatus,
    SubmitResult,
    Trade,
)

__all__ = [
    "AMOUNT_DECIMALS",
    "Balance",
    "BookTicker",
    "CancelRejected",
    "DepthSnapshot",
    "DepthUpdate",
    "InstrumentSpec",
    "InvalidInstrumentSpec",
    "MatchingEngine",
    "MatchingError",
    "OrderNotFound",
    "OrderRejected",
    "OrderSnapshot",
    "OrderStatus",
    "Reason",
    "SubmitResult",
    "SymbolFilters",
    "Trade",
    "UnknownSymbol",
]
