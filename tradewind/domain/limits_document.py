"""The pre-trade risk limits document (`TRADEWIND_RISK_LIMITS`, or the file that
`TRADEWIND_RISK_LIMITS_FILE` names), parsed and checked (pure: the settings read the
text and call `parse_limits` once, at load, so a bad document stops the start).

The document is `tradewind.domain.risk.RiskLimits`: `defaults` for every account and
`accounts` with per-account overrides (a field left out keeps the default, `null`
removes the limit). Amounts may be JSON strings or numbers, read exactly:

    {"defaults": {"max_order_value": {"USDT": "25000"}, "max_orders_per_second": 10,
                  "price_band_bps": "500", "daily_loss_limit": "1000"},
     "accounts": {"acct-1": {"max_order_value": {"USDT": "100000"}}}}

With neither setting, `DEFAULT_LIMITS` applies: at most 20 orders per second per
account in bursts of 50, and the rules that need no numbers (kill switches, order
shape, balance).
"""

from __future__ import annotations

from typing import Any

import msgspec

from tradewind.domain.risk import AccountLimits, LimitOverrides, RiskLimits

DEFAULT_LIMITS = RiskLimits(defaults=AccountLimits(max_orders_per_second=20.0, order_burst=50))


def parse_limits(raw: bytes | str) -> RiskLimits:
    """A limits document (see the module docstring); ValueError saying what is wrong for
    malformed JSON, an unknown field (a typo must not silently remove a limit) or a bad
    value."""
    try:
        document = msgspec.json.decode(raw)
        _check_fields(document)
        return msgspec.json.decode(raw, type=RiskLimits)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"not a valid limits document: {exc}") from None


def _check_fields(document: Any) -> None:
    if not isinstance(document, dict):
        return  # the typed decode says what is wrong
    _known(document, RiskLimits.__struct_fields__, "$")
    defaults = document.get("defaults")
    if isinstance(defaults, dict):
        _known(defaults, AccountLimits.__struct_fields__, "$.defaults")
    accounts = document.get("accounts")
    if isinstance(accounts, dict):
        for account_id, overrides in accounts.items():
            if isinstance(overrides, dict):
                _known(overrides, LimitOverrides.__struct_fields__, f"$.accounts.{account_id}")


def _known(fields: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    for name in fields:
        if name not in known:
            raise ValueError(f"unknown field {name!r} at `{where}`; known: {', '.join(known)}")
