"""The analytics service's settings, read from `TRADEWIND_*` environment variables.

- `TRADEWIND_ANALYTICS_INTERVAL_S` (5): how often the accounts whose equity changed are
  computed and published (one computation per account per interval, however many
  updates arrived).
- `TRADEWIND_ANALYTICS_WINDOW_MINUTES` (1440): the minutes of equity each account's
  figures cover (a day); an account met for the first time is read back that far from
  the record.
- `TRADEWIND_ANALYTICS_MINUTES_KEPT_DAYS` (7), `TRADEWIND_ANALYTICS_HOURS_KEPT_DAYS` (90):
  the equity series' retention: recorded valuations (`portfolio_snapshots`, one a minute
  for an account that changed) older than the first are thinned to one an hour, older
  than the second to one a day, every `TRADEWIND_ANALYTICS_RETENTION_INTERVAL_S` (3600)
  by the instance that reads partition 0.
- `TRADEWIND_ANALYTICS_BENCHMARK` (BTC/USDT): the symbol whose minute returns each
  account's beta and correlation are measured against (its bars, from marketdata); ""
  for none.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from tradewind.errors import ConfigError
from tradewind.runtime.settings import ENV_PREFIX, setting_name

_SYMBOL_OR_NONE = r"^([A-Z0-9]+/[A-Z0-9]+)?$"


class AnalyticsSettings(BaseSettings):
    """How often analytics computes (seconds), over how many minutes of equity, how long
    the equity series are kept, and the benchmark symbol."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    analytics_interval_s: Annotated[float, Field(gt=0, le=3_600)] = 5.0
    analytics_window_minutes: Annotated[int, Field(ge=2, le=43_200)] = 1_440
    analytics_minutes_kept_days: Annotated[int, Field(ge=1, le=3_650)] = 7
    analytics_hours_kept_days: Annotated[int, Field(ge=1, le=36_500)] = 90
    analytics_retention_interval_s: Annotated[float, Field(gt=0, le=86_400)] = 3_600.0
    analytics_benchmark: Annotated[
        str, Field(max_length=64, pattern=r"^([A-Z0-9]+/[A-Z0-9]+)?$")
    ] = "BTC/USDT"


def load_analytics_settings() -> AnalyticsSettings:
    """Read the settings from the environment; `ConfigError` naming the first bad one."""
    try:
        return AnalyticsSettings()
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        raise ConfigError(setting_name(field), f"{error['msg']}, got {error['input']!r}") from None
