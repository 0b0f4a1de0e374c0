"""Per-account balances, holds for open orders, fee rates and the exchange's fee take.

All amounts are `int` amount units (10**-18 of the asset, see `filters`). The ledger is
closed: money enters only through `deposit`, and every fill moves it between accounts
and the fee pot, so for every asset

    sum over accounts of (free + locked) + fees collected == deposits.

Trading moves balances only in whole 10**-8 (`BALANCE_QUANTUM`): fees are rounded down
to it, a trade's quote amount is rounded down and a buy's hold up (see `filters`), so an
account whose deposits were whole 10**-8 never holds anything finer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from tradewind.venues.simulated.matching.errors import (
    INVALID_QUANTITY,
    TOO_MUCH_PRECISION,
    MatchingError,
    SubmitRejected,
)
from tradewind.venues.simulated.matching.filters import BALANCE_QUANTUM, amount_to_units

if TYPE_CHECKING:
    from tradewind.venues.simulated.matching.book import Order
    from tradewind.venues.simulated.matching.results import Trade


class AssetBalance:
    """One asset of one holder: `free` to spend, `locked` held by open orders (units)."""

    __slots__ = ("free", "locked")

    def __init__(self) -> None:
        self.free = 0
        self.locked = 0


class FeeRate:
    """A fee as an exact fraction `numerator / denominator` (0.001 is 1/1000).

    The fee on `units` is `units * numerator // quanta_denominator * BALANCE_QUANTUM`:
    the exact fee rounded down to a whole 10**-8, as Binance's commissions are (the hot
    path inlines that)."""

    __slots__ = ("denominator", "numerator", "quanta_denominator", "rate")

    def __init__(self, rate: Decimal) -> None:
        if not (rate.is_finite() and 0 <= rate <= 1):
            raise ValueError(f"fee rate {rate} must be a fraction between 0 and 1")
        self.rate = rate
        self.numerator, self.denominator = rate.as_integer_ratio()
        self.quanta_denominator = self.denominator * BALANCE_QUANTUM

    def of(self, units: int) -> int:
        """The fee on `units` (amount units), rounded down to a whole 10**-8."""
        return units * self.numerator // self.quanta_denominator * BALANCE_QUANTUM


class FeeSchedule:
    """An account's current maker and taker fees; its orders share it, so a change
    applies to their next fills."""

    __slots__ = ("maker", "taker")

    def __init__(self, maker: FeeRate, taker: FeeRate) -> None:
        self.maker = maker
        self.taker = taker


class Account:
    """One trading account: balances per asset, fee rates, and its orders and trades.

    `open_orders` maps order id to the resting (or waiting stop) order, oldest first;
    `orders`, `trades` and `order_lists` (ids of its OCOs) are the account's full
    history, oldest first.
    """

    __slots__ = (
        "account_id",
        "fees",
        "holdings",
        "open_orders",
        "order_lists",
        "orders",
        "trades",
    )

    def __init__(self, account_id: str, fees: FeeSchedule) -> None:
        self.account_id = account_id
        self.holdings: dict[str, AssetBalance] = {}
        self.fees = fees
        self.open_orders: dict[int, Order] = {}
        self.orders: list[Order] = []
        self.trades: list[Trade] = []
        self.order_lists: list[int] = []

    def holding(self, asset: str) -> AssetBalance:
        """This account's balance of `asset`, created empty on first use."""
        balance = self.holdings.get(asset)
        if balance is None:
            balance = self.holdings[asset] = AssetBalance()
        return balance


class Ledger:
    """All accounts, the deposits that funded them and the fees the exchange collected."""

    __slots__ = ("_default_maker", "_default_taker", "accounts", "deposits", "fees")

    def __init__(self, maker_fee: Decimal, taker_fee: Decimal) -> None:
        self._default_maker = FeeRate(maker_fee)
        self._default_taker = FeeRate(taker_fee)
        self.accounts: dict[str, Account] = {}
        self.deposits: dict[str, int] = {}
        self.fees: dict[str, AssetBalance] = {}

    def account(self, account_id: str) -> Account:
        """The account `account_id`, opened with the default fee rates on first use."""
        account = self.accounts.get(account_id)
        if account is None:
            fees = FeeSchedule(self._default_maker, self._default_taker)
            account = Account(account_id, fees)
            self.accounts[account_id] = account
        return account

    def fee_pot(self, asset: str) -> AssetBalance:
        """Where fees paid in `asset` accumulate (in its `free`)."""
        pot = self.fees.get(asset)
        if pot is None:
            pot = self.fees[asset] = AssetBalance()
        return pot

    def deposit(self, account_id: str, asset: str, amount: Decimal) -> AssetBalance:
        """Credit `amount` of `asset` to the account's free balance (the faucet).

        Raises MatchingError (-1013) for a non-positive amount, (-1111) for more than 18
        decimals, and TypeError for anything but a Decimal or an int.
        """
        try:
            units = amount_to_units(amount)
        except SubmitRejected as refused:
            raise MatchingError(TOO_MUCH_PRECISION, refused.detail) from None
        if units <= 0:
            raise MatchingError(INVALID_QUANTITY, f"deposit amount {amount} must be positive")
        balance = self.account(account_id).holding(asset)
        balance.free += units
        self.deposits[asset] = self.deposits.get(asset, 0) + units
        return balance

    def set_fee_rates(self, account_id: str, maker: Decimal, taker: Decimal) -> None:
        """Set the account's maker and taker fee as fractions of what it receives."""
        fees = self.account(account_id).fees
        fees.maker = FeeRate(maker)
        fees.taker = FeeRate(taker)
