"""The risk limits the settings name (`TRADEWIND_RISK_LIMITS` or
`TRADEWIND_RISK_LIMITS_FILE`), read and checked.

The limits document is `tradewind.domain.risk.RiskLimits`: `defaults` for every account
and `accounts` with per-account overrides (a field left out keeps the default, `null`
removes the limit). Amounts may be JSON strings or numbers, read exactly:

    {"defaults": {"max_order_value": {"USDT": "25000"}, "max_orders_per_second": 10,
                  "price_band_bps": "500", "daily_loss_limit": "1000"},
     "accounts": {"acct-1": {"max_order_value": {"USDT": "100000"}}}}

With neither set, `DEFAULT_LIMITS` applies: at most 20 orders per second per account in
bursts of 50, and the rules that need no numbers (kill switches, order shape, balance).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from tradewind.domain.risk import AccountLimits, LimitOverrides, RiskLimits
from tradewind.errors import ConfigError
from tradewind.runtime.service_settings import RiskSettings
from tradewind.runtime.settings import setting_name

DEFAULT_LIMITS = RiskLimits(defaults=AccountLimits(max_orders_per_second=20.0, order_burst=50))

_LIMITS = setting_name("risk_limits")
_LIMITS_FILE = setting_name("risk_limits_file")


def configured_limits(settings: RiskSettings) -> RiskLimits:
    """The limits `settings` name; `ConfigError` naming the setting and what is wrong."""
    if settings.risk_limits and settings.risk_limits_file:
        raise ConfigError(_LIMITS_FILE, f"set either {_LIMITS} or {_LIMITS_FILE}, not both")
    if settings.risk_limits:
        return parse_limits(settings.risk_limits.encode(), _LIMITS)
    if settings.risk_limits_file:
        path = Path(settings.risk_limits_file)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(_LIMITS_FILE, f"cannot read {path}: {exc.strerror}") from None
        return parse_limits(raw, _LIMITS_FILE, source=f"{path}: ")
    return DEFAULT_LIMITS


def parse_limits(raw: bytes, setting: str, *, source: str = "") -> RiskLimits:
    """A limits document (see the module docstring); `ConfigError` naming `setting` for
    malformed JSON, an unknown field (a typo must not silently remove a limit) or a bad
    value; `source` prefixes the problem (the file's path)."""
    try:
        document = msgspec.json.decode(raw)
        _check_fields(document)
        return msgspec.json.decode(raw, type=RiskLimits)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(setting, f"{source}not a valid limits document: {exc}") from None
    except ValueError as exc:
        raise ConfigError(setting, f"{source}{exc}") from None


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
