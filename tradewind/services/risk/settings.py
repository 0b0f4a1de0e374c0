"""The risk service's settings, read from `TRADEWIND_*` environment variables.

| variable | default | meaning |
|---|---|---|
| TRADEWIND_RISK_LIMITS | "" | the limits as JSON (below); set this or the file, not both |
| TRADEWIND_RISK_LIMITS_FILE | "" | path of a JSON file holding the limits |
| TRADEWIND_RISK_DEDUPE_SIZE | 100000 | intents remembered to answer redeliveries the same way |

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
from typing import Annotated, Any

import msgspec
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from tradewind.domain.risk import AccountLimits, LimitOverrides, RiskLimits
from tradewind.errors import ConfigError
from tradewind.runtime.settings import ENV_PREFIX, setting_name

DEFAULT_LIMITS = RiskLimits(defaults=AccountLimits(max_orders_per_second=20.0, order_burst=50))

_LIMITS = setting_name("risk_limits")
_LIMITS_FILE = setting_name("risk_limits_file")


class RiskSettings(BaseSettings):
    """Where the risk limits come from and how many decisions are remembered."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    risk_limits: Annotated[str, Field(description="The risk limits as JSON")] = ""
    risk_limits_file: Annotated[str, Field(description="A JSON file holding the limits")] = ""
    risk_dedupe_size: Annotated[
        int, Field(ge=1, le=10_000_000, description="Intents remembered for redeliveries")
    ] = 100_000

    def limits(self) -> RiskLimits:
        """The configured limits; `ConfigError` naming the setting and what is wrong."""
        if self.risk_limits and self.risk_limits_file:
            raise ConfigError(_LIMITS_FILE, f"set either {_LIMITS} or {_LIMITS_FILE}, not both")
        if self.risk_limits:
            return parse_limits(self.risk_limits.encode(), _LIMITS)
        if self.risk_limits_file:
            path = Path(self.risk_limits_file)
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


def load_risk_settings() -> RiskSettings:
    """Read the settings from the environment; `ConfigError` naming the first bad one."""
    try:
        return RiskSettings()
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        raise ConfigError(setting_name(field), f"{error['msg']}, got {error['input']!r}") from None
