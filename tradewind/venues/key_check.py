"""What an exchange API key may do, and whether the platform accepts it: `KeyCheck`, and
the pure mappings from each venue's permission response to it (tested on recorded
response shapes, without a network)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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


def from_binance_api_restrictions(restrictions: Mapping[str, Any]) -> KeyCheck:
    """Binance's `GET /sapi/v1/account/apiRestrictions` (the key's own switches), also
    what the simulated exchange serves."""
    return KeyCheck(
        can_trade=bool(restrictions.get("enableSpotAndMarginTrading")),
        can_withdraw=bool(restrictions.get("enableWithdrawals")),
        can_transfer=bool(restrictions.get("enableInternalTransfer"))
        or bool(restrictions.get("permitsUniversalTransfer")),
        ip_restricted=bool(restrictions.get("ipRestrict")),
    )


def from_binance_testnet_account(account: Mapping[str, Any]) -> KeyCheck:
    """The Spot Test Network's `GET /api/v3/account`: the testnet serves no `/sapi`, so no
    apiRestrictions. Only `canTrade` is read. `canWithdraw` there is the account's flag,
    not the key's, and the testnet has no endpoint that withdraws or transfers, with funds
    that are not real: no testnet key can move anything, so it is not refused for it."""
    return KeyCheck(
        can_trade=bool(account.get("canTrade")),
        can_withdraw=False,
        can_transfer=False,
        ip_restricted=False,  # the testnet does not say
    )


def from_coinbase_key_permissions(permissions: Mapping[str, Any]) -> KeyCheck:
    """Coinbase Advanced Trade's `GET /api/v3/brokerage/key_permissions` (`can_view`,
    `can_trade`, `can_transfer`). Coinbase's transfer permission is the one that sends
    funds off the account (to addresses or other users), so it counts as withdrawal too."""
    can_transfer = bool(permissions.get("can_transfer"))
    return KeyCheck(
        can_trade=bool(permissions.get("can_trade")),
        can_withdraw=can_transfer,
        can_transfer=can_transfer,
        ip_restricted=False,  # Coinbase does not report it
        can_view=bool(permissions.get("can_view")),
    )
