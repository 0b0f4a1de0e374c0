"""What an exchange API key may do, and whether the platform accepts it: `KeyCheck`. Each
venue adapter reads its venue's permission response into one (`VenueAdapter.read_key_check`,
tested on recorded response shapes, without a network)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class KeyCheck:
    """What an API key may do on its venue. `unverifiable`: why the platform cannot tell
    (the key is then refused, whatever the flags say)."""

    can_trade: bool
    can_withdraw: bool
    can_transfer: bool
    ip_restricted: bool
    can_view: bool = True
    unverifiable: str | None = None

    @property
    def refusal(self) -> str | None:
        """Why the platform must not accept this key, or None. A key that can move funds
        off the account is refused: a leaked trading-bot key must not be a withdrawal key."""
        if self.unverifiable is not None:
            return self.unverifiable
        if self.can_withdraw:
            return "this API key can withdraw funds; create a key with withdrawals disabled"
        if self.can_transfer:
            return "this API key can transfer funds; create a key with transfers disabled"
        if not self.can_trade:
            return "this API key cannot trade; enable spot trading for it"
        if not self.can_view:
            return "this API key cannot view the account; enable view (read) access for it"
        return None


KeyAccount = Callable[[str, str], "tuple[str, KeyCheck] | None"]
"""Another kind of key an in-process exchange's API hands out (`tradewind up`'s
Coinbase-style exchange: Coinbase keys): (api key, secret) -> the exchange's account it
trades for and what it may do, or None for a key it does not know or a wrong secret."""
