"""A `Portfolio` as data, to store and restore: everything its arithmetic depends on
(cash, PnL, fees, contributions, each position's quantity, cost, mark and realised PnL)
and the most recent trades it booked, so a fill delivered again after a restore is
still booked once. Exact: amounts stay `Decimal` through msgspec."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from tradewind.domain.events import BalanceUpdate
from tradewind.domain.model import Instrument

#: Trades remembered across a restore: redeliveries come from the last few batches.
REMEMBERED_TRADES = 64


class PositionState(msgspec.Struct, frozen=True, array_like=True):
    symbol: str
    quantity: Decimal
    cost_basis: Decimal
    mark: Decimal
    realized_pnl: Decimal


class PortfolioState(msgspec.Struct, frozen=True):
    """One account's books; amounts in `valuation_asset` (quantities in base units)."""

    account_id: str
    venue: str
    valuation_asset: str
    cash: Decimal
    realized_pnl: Decimal
    fees: Decimal
    net_contributions: Decimal
    positions: list[PositionState]
    recent_trades: list[tuple[str, str]]  # (symbol, trade id), oldest first
    #: Venue times (ns since the epoch; 0: not known) of the newest change in the balances
    #: applied last and of the newest trade booked (`Portfolio.in_balances`).
    balances_as_of_ns: int = 0
    last_fill_ns: int = 0
    traded: Decimal = Decimal(0)  # `Portfolio.traded`


def instrument_of(venue: str, state: PositionState) -> Instrument:
    return Instrument.parse(venue, state.symbol)


class StoredAccount(msgspec.Struct, frozen=True):
    """One account's books as the portfolio service saves them (`store.portfolio_books`):
    its books, the balances waiting for a price, and the ids of the events applied last,
    oldest first. Read by the portfolio service, and by risk taking an account over."""

    books: PortfolioState
    unpriced: list[BalanceUpdate]
    recent_events: list[str]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(StoredAccount)


def encode_stored(stored: StoredAccount) -> bytes:
    return _encoder.encode(stored)


def decode_stored(data: bytes) -> StoredAccount:
    return _decoder.decode(data)
