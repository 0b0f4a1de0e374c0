"""The execution service's settings, read from `TRADEWIND_*` environment variables.

Every variable is `TRADEWIND_EXECUTION_<NAME>`:

- `RATE_LIMITS` (auto): `auto` paces each venue by the limits its adapter publishes
  (request weight per egress address, shared by all accounts of the venue; new orders
  per account: `venues.profile.RateRules`), and none where it publishes none: the
  in-process simulated exchange (no network) and adapters that leave pacing to ccxt's
  own limiter; `off` paces no venue.
- `CALL_TIMEOUT_S` (10): longest wait for one venue call; past it the outcome is unknown.
- `RETRY_BASE_S` / `RETRY_CAP_S` (0.2 / 5): jittered backoff between retries.
- `MAX_RETRIES` (8): retries per order placement, lookups and resends included.
- `ORDER_DEADLINE_S` (30): longest an order may take to be placed; then an order that
  never left is rejected, and one of unknown outcome is left to reconciliation.
- `LOOKUP_DELAY_S` (0.5): wait after an unknown outcome before looking the order up, so
  that the venue has settled it.
- `BREAKER_FAILURES` (5): consecutive transient failures that open a venue's breaker.
- `BREAKER_COOL_DOWN_S` (5): how long it stays open before a trial call (doubling per
  failed trial, up to 300 s).
- `RECONCILE_INTERVAL_S` (300): seconds between reconciliations of an account.
- `FILL_LOOKBACK_MS` (1000): margin before the first possible fill when asking a venue
  for an order's fills.
- `SESSIONS_AT_START` (true): open a session, and reconcile, for every stored account at
  start.
- `REMEMBERED_ORDERS` (10000): finished orders remembered per account, so that a
  redelivered intent is dropped without a database read.

Reconciliation costs request weight on a venue that counts it (with typical published
costs, 20 per account for balances, plus 6 for open orders and 40 for fills, when some
are missing, per symbol with open tracked orders, out of 6,000 per minute per address
for every account together), hence the long default: the order stream keeps accounts
current between reconciliations.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from tradewind.domain.backoff import Backoff
from tradewind.domain.circuit_breaker import BreakerSettings
from tradewind.errors import ConfigError
from tradewind.runtime.settings import ENV_PREFIX, setting_name

RateLimitPolicy = Literal["auto", "off"]


class ExecutionSettings(BaseSettings):
    """How execution paces, retries and reconciles; see the module table."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    execution_rate_limits: RateLimitPolicy = "auto"
    execution_call_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    execution_retry_base_s: Annotated[float, Field(gt=0, le=60)] = 0.2
    execution_retry_cap_s: Annotated[float, Field(gt=0, le=600)] = 5.0
    execution_max_retries: Annotated[int, Field(ge=0, le=1000)] = 8
    execution_order_deadline_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    execution_lookup_delay_s: Annotated[float, Field(ge=0, le=60)] = 0.5
    execution_breaker_failures: Annotated[int, Field(ge=1, le=1000)] = 5
    execution_breaker_cool_down_s: Annotated[float, Field(gt=0, le=300)] = 5.0
    execution_reconcile_interval_s: Annotated[float, Field(gt=0, le=86_400)] = 300.0
    execution_fill_lookback_ms: Annotated[int, Field(ge=0, le=3_600_000)] = 1000
    execution_sessions_at_start: bool = True
    execution_remembered_orders: Annotated[int, Field(ge=1, le=10_000_000)] = 10_000

    def backoff(self) -> Backoff:
        """A fresh jittered backoff for one order's retries."""
        cap = max(self.execution_retry_cap_s, self.execution_retry_base_s)
        return Backoff(self.execution_retry_base_s, cap, self.execution_max_retries)

    def breaker(self) -> BreakerSettings:
        """Circuit breaker settings for one venue."""
        cool_down = self.execution_breaker_cool_down_s
        return BreakerSettings(
            consecutive_failures=self.execution_breaker_failures,
            cool_down_s=cool_down,
            max_cool_down_s=max(300.0, cool_down),
        )


def load_execution_settings() -> ExecutionSettings:
    """Read the settings from the environment; `ConfigError` naming the first bad one."""
    try:
        return ExecutionSettings()
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        raise ConfigError(setting_name(field), f"{error['msg']}, got {error['input']!r}") from None
