"""The marketdata service: venue feeds normalised into md.trade, md.book and md.bar, and
latest prices and tops of book in the cache."""

from tradewind.services.marketdata.quotes import (
    LastPrice,
    TopOfBook,
    read_last_prices,
    read_tops_of_book,
)
from tradewind.services.marketdata.service import MarketDataService
from tradewind.services.marketdata.supervision import StreamStatus

__all__ = [
    "LastPrice",
    "MarketDataService",
    "StreamStatus",
    "TopOfBook",
    "read_last_prices",
    "read_tops_of_book",
]
