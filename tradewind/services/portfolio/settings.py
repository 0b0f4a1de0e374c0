"""The portfolio service's settings, read from `TRADEWIND_*` environment variables.

- `TRADEWIND_PORTFOLIO_FLUSH_INTERVAL_S` (0.25): how often changed accounts are revalued
  and published; ticks in between cost one revaluation per account, however many.
- `TRADEWIND_PORTFOLIO_SNAPSHOT_INTERVAL_S` (60): how often the accounts that changed are
  written to `portfolio_snapshots` (one transaction for all of them).
- `TRADEWIND_PORTFOLIO_VALUATION_ASSET` (USDT): the valuation asset of an account the
  account store does not know (or when there is no database).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from tradewind.errors import ConfigError
from tradewind.runtime.settings import ENV_PREFIX, setting_name


class PortfolioSettings(BaseSettings):
    """How often portfolio publishes and snapshots valuations (seconds), and the valuation
    asset of an account the store does not know."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    portfolio_flush_interval_s: Annotated[float, Field(gt=0, le=60)] = 0.25
    portfolio_snapshot_interval_s: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    portfolio_valuation_asset: Annotated[str, Field(min_length=1, max_length=16)] = "USDT"


def load_portfolio_settings() -> PortfolioSettings:
    """Read the settings from the environment; `ConfigError` naming the first bad one."""
    try:
        return PortfolioSettings()
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        raise ConfigError(setting_name(field), f"{error['msg']}, got {error['input']!r}") from None
