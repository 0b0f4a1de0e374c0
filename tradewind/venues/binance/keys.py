"""What a Binance API key may do, from Binance's answers (tested on recorded response
shapes, without a network)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradewind.venues.key_check import KeyCheck


def from_api_restrictions(restrictions: Mapping[str, Any]) -> KeyCheck:
    """Binance's `GET /sapi/v1/account/apiRestrictions` (the key's own switches), also
    what the simulated exchange serves."""
    return KeyCheck(
        can_trade=bool(restrictions.get("enableSpotAndMarginTrading")),
        can_withdraw=bool(restrictions.get("enableWithdrawals")),
        can_transfer=bool(restrictions.get("enableInternalTransfer"))
        or bool(restrictions.get("permitsUniversalTransfer")),
        ip_restricted=bool(restrictions.get("ipRestrict")),
    )


def from_testnet_account(account: Mapping[str, Any]) -> KeyCheck:
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
