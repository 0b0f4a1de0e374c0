"""The services' settings: one section of the root `Settings` per service
(`settings.execution`, `settings.risk` ...), read with it from the environment, the
settings file and the secrets directory, and validated once at start.

A field's variable is `TRADEWIND_` and its name in capitals, in a section as at the root
(`execution_max_retries` is `TRADEWIND_EXECUTION_MAX_RETRIES`): the names deployments
already use, and one rule for the whole tree. `tradewind settings` lists them all
(docs/settings.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from tradewind.domain.backoff import Backoff
from tradewind.domain.circuit_breaker import BreakerSettings
from tradewind.domain.limits_document import DEFAULT_LIMITS, parse_limits
from tradewind.domain.risk import RiskLimits

RateLimitPolicy = Literal["auto", "off"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def field_error(field: str, value: object, problem: str) -> ValidationError:
    """A validation error of `field` for a check across fields (a model validator's own
    error would name the section, not the variable the user set)."""
    error = ValueError(problem)
    return ValidationError.from_exception_data(
        "Settings",
        [{"type": "value_error", "loc": (field,), "input": value, "ctx": {"error": error}}],
    )


class ExecutionSettings(_Section):
    """How execution paces, retries and reconciles.

    Reconciliation costs request weight on a venue that counts it (with typical published
    costs, 20 per account for balances, plus 6 for open orders and 40 for fills, when
    some are missing, per symbol with open tracked orders, out of 6,000 per minute per
    address for every account together), hence the long default interval: the order
    stream keeps accounts current between reconciliations.
    """

    execution_rate_limits: Annotated[
        RateLimitPolicy,
        Field(
            description="auto: pace each venue by the limits its adapter publishes (request "
            "weight per egress address, new orders per account), none where it publishes "
            "none; off: pace no venue"
        ),
    ] = "auto"
    execution_call_timeout_s: Annotated[
        float,
        Field(
            gt=0,
            le=300,
            description="Longest wait for one venue call, s; past it the outcome is unknown",
        ),
    ] = 10.0
    execution_retry_base_s: Annotated[
        float, Field(gt=0, le=60, description="First wait of the jittered retry backoff, s")
    ] = 0.2
    execution_retry_cap_s: Annotated[
        float, Field(gt=0, le=600, description="Longest wait of the jittered retry backoff, s")
    ] = 5.0
    execution_max_retries: Annotated[
        int,
        Field(
            ge=0,
            le=1000,
            description="Retries per order placement, lookups and resends included",
        ),
    ] = 8
    execution_order_deadline_s: Annotated[
        float,
        Field(
            gt=0,
            le=3600,
            description="Longest an order may take to be placed, s; then an order that "
            "never left is rejected, one of unknown outcome left to reconciliation",
        ),
    ] = 30.0
    execution_lookup_delay_s: Annotated[
        float,
        Field(
            ge=0,
            le=60,
            description="Wait after an unknown outcome before looking the order up, s (the "
            "venue settles it meanwhile)",
        ),
    ] = 0.5
    execution_breaker_failures: Annotated[
        int,
        Field(
            ge=1,
            le=1000,
            description="Transient failures in a row that open a venue's circuit breaker",
        ),
    ] = 5
    execution_breaker_cool_down_s: Annotated[
        float,
        Field(
            gt=0,
            le=300,
            description="How long an open breaker waits before a trial call, s (doubling per "
            "failed trial, up to 300 s)",
        ),
    ] = 5.0
    execution_reconcile_interval_s: Annotated[
        float,
        Field(gt=0, le=86_400, description="Seconds between reconciliations of an account"),
    ] = 300.0
    execution_fill_lookback_ms: Annotated[
        int,
        Field(
            ge=0,
            le=3_600_000,
            description="Margin before the first possible fill when asking a venue for an "
            "order's fills, ms",
        ),
    ] = 1000
    execution_sessions_at_start: Annotated[
        bool,
        Field(description="Open a session, and reconcile, for every stored account at start"),
    ] = True
    execution_remembered_orders: Annotated[
        int,
        Field(
            ge=1,
            le=10_000_000,
            description="Finished orders remembered per account, so that a redelivered "
            "intent is dropped without a database read",
        ),
    ] = 10_000

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


class RiskSettings(_Section):
    """Where the pre-trade risk limits come from, read and checked at load (`limits`),
    and how many decisions are remembered."""

    risk_limits: Annotated[
        str,
        Field(
            description="The risk limits as JSON (the document: tradewind/domain/"
            "limits_document.py); set this or TRADEWIND_RISK_LIMITS_FILE, not both; neither: "
            "at most 20 orders/s per account"
        ),
    ] = ""
    risk_limits_file: Annotated[
        str, Field(description="Path of a JSON file holding the risk limits")
    ] = ""
    risk_dedupe_size: Annotated[
        int,
        Field(
            ge=1,
            le=10_000_000,
            description="Intents remembered to answer redeliveries the same way",
        ),
    ] = 100_000

    _limits: RiskLimits = PrivateAttr(default=DEFAULT_LIMITS)

    @model_validator(mode="after")
    def _read_the_limits(self) -> Self:
        if self.risk_limits and self.risk_limits_file:
            raise field_error(
                "risk_limits_file",
                self.risk_limits_file,
                "set either TRADEWIND_RISK_LIMITS or TRADEWIND_RISK_LIMITS_FILE, not both",
            )
        if self.risk_limits:
            try:
                self._limits = parse_limits(self.risk_limits)
            except ValueError as exc:
                raise field_error("risk_limits", self.risk_limits, str(exc)) from None
        elif self.risk_limits_file:
            path = Path(self.risk_limits_file)
            try:
                self._limits = parse_limits(path.read_bytes())
            except OSError as exc:
                problem = f"cannot read {path}: {exc.strerror or exc}"
                raise field_error("risk_limits_file", str(path), problem) from None
            except ValueError as exc:
                raise field_error("risk_limits_file", str(path), f"{path}: {exc}") from None
        return self

    @property
    def limits(self) -> RiskLimits:
        """The limits the settings name, parsed at load; `DEFAULT_LIMITS` when neither
        setting is."""
        return self._limits


class PortfolioSettings(_Section):
    """How often portfolio publishes and snapshots."""

    portfolio_flush_interval_s: Annotated[
        float,
        Field(
            gt=0,
            le=60,
            description="How often changed accounts are revalued and published, s (one "
            "revaluation per account however many ticks)",
        ),
    ] = 0.25
    portfolio_snapshot_interval_s: Annotated[
        float,
        Field(
            gt=0,
            le=86_400,
            description="How often the accounts that changed are written to "
            "portfolio_snapshots, s (one transaction for all)",
        ),
    ] = 60.0
    portfolio_valuation_asset: Annotated[
        str,
        Field(
            min_length=1,
            max_length=16,
            description="Valuation asset of an account the account store does not know "
            "(or with no database)",
        ),
    ] = "USDT"


class MarketDataSettings(_Section):
    """What the marketdata service watches and how it publishes; the bar width is the
    strategies' too (their warm-up history is in bars of it)."""

    md_symbols: Annotated[
        str,
        Field(
            description="Symbols watched: BASE/QUOTE or VENUE:BASE/QUOTE, comma-separated; "
            "empty: all"
        ),
    ] = ""
    bar_interval_s: Annotated[
        int, Field(ge=1, le=86_400, description="Bar length, s, aligned to the epoch")
    ] = 60
    md_book_depth: Annotated[
        int,
        Field(
            ge=1,
            le=5_000,
            description="Book levels per side; at most what the venue streams (20)",
        ),
    ] = 20
    md_snapshot_interval_s: Annotated[
        float, Field(gt=0, description="Seconds between full book snapshots on md.book")
    ] = 30.0
    md_cache_flush_s: Annotated[
        float,
        Field(
            gt=0,
            le=10,
            description="How often latest prices and closed bars are flushed to the cache, s",
        ),
    ] = 0.1
    md_bar_close_delay_s: Annotated[
        float,
        Field(ge=0, le=60, description="Grace for late trades before a bar closes by time, s"),
    ] = 0.5
    md_retry_base_s: Annotated[
        float, Field(gt=0, description="First wait before a failed venue stream retries, s")
    ] = 0.5
    md_retry_cap_s: Annotated[
        float, Field(gt=0, description="Longest wait before a failed venue stream retries, s")
    ] = 30.0
    md_replay_s: Annotated[
        float,
        Field(
            ge=0,
            le=300,
            description="Trades and bars replayed on a take-over, s (longer than the bus's "
            "take-over)",
        ),
    ] = 10.0

    @field_validator("md_symbols")
    @classmethod
    def _symbols_are_well_formed(cls, value: str) -> str:
        parse_symbol_filter(value)
        return value

    def wants(self, venue: str, symbol: str) -> bool:
        """Whether `symbol` on `venue` is to be watched."""
        everywhere, per_venue = parse_symbol_filter(self.md_symbols)
        if not everywhere and not per_venue:
            return True
        return symbol in everywhere or (venue, symbol) in per_venue

    def listed(self, venue: str) -> set[str]:
        """The symbols the filter names for `venue` (empty when there is no filter)."""
        everywhere, per_venue = parse_symbol_filter(self.md_symbols)
        return everywhere | {symbol for v, symbol in per_venue if v == venue}


def parse_symbol_filter(text: str) -> tuple[set[str], set[tuple[str, str]]]:
    """`"BTC/USDT, sim:ETH/USDT"` -> ({"BTC/USDT"}, {("sim", "ETH/USDT")}); ValueError
    naming the first entry that is neither form."""
    everywhere: set[str] = set()
    per_venue: set[tuple[str, str]] = set()
    for entry in filter(None, (part.strip() for part in text.split(","))):
        venue, sep, symbol = entry.rpartition(":")
        base, slash, quote = symbol.partition("/")
        if (sep and not venue) or not slash or not base or not quote or "/" in quote:
            raise ValueError(f"expected BASE/QUOTE or VENUE:BASE/QUOTE, got {entry!r}")
        if venue:
            per_venue.add((venue, symbol))
        else:
            everywhere.add(symbol)
    return everywhere, per_venue


class AnalyticsSettings(_Section):
    """How often the analytics service computes, over how long, and what it keeps."""

    analytics_interval_s: Annotated[
        float,
        Field(
            gt=0,
            le=3_600,
            description="How often the accounts whose equity changed are computed and "
            "published, s (once per account per interval)",
        ),
    ] = 5.0
    analytics_window_minutes: Annotated[
        int,
        Field(
            ge=2,
            le=43_200,
            description="Minutes of equity each account's figures cover; an account met "
            "first is read back that far",
        ),
    ] = 1_440
    analytics_minutes_kept_days: Annotated[
        int,
        Field(
            ge=1,
            le=3_650,
            description="Days recorded valuations (one a minute) are kept before they are "
            "thinned to one an hour",
        ),
    ] = 7
    analytics_hours_kept_days: Annotated[
        int,
        Field(
            ge=1,
            le=36_500,
            description="Days hourly valuations are kept before they are thinned to one a day",
        ),
    ] = 90
    analytics_retention_interval_s: Annotated[
        float,
        Field(
            gt=0,
            le=86_400,
            description="How often the valuations are thinned, s (by the instance that "
            "reads partition 0)",
        ),
    ] = 3_600.0
    analytics_benchmark: Annotated[
        str,
        Field(
            max_length=64,
            pattern=r"^([A-Z0-9]+/[A-Z0-9]+)?$",
            description="Symbol whose minute returns each account's beta and correlation "
            "are measured against; empty: none",
        ),
    ] = "BTC/USDT"


class StrategySettings(_Section):
    """How the strategy service runs its bots' timers, saves and failures."""

    strategy_timer_tick_s: Annotated[
        float, Field(gt=0, le=60, description="How often due timers fire, s")
    ] = 0.1
    strategy_timers_per_tick: Annotated[
        int,
        Field(
            ge=1,
            le=1_000_000,
            description="Most on_timer calls per tick; the rest fire a tick later",
        ),
    ] = 5000
    strategy_save_interval_s: Annotated[
        float,
        Field(
            gt=0,
            le=3_600,
            description="How often bots changed only by market data or timers are saved, s",
        ),
    ] = 10.0
    strategy_max_errors_in_row: Annotated[
        int,
        Field(
            ge=1,
            le=1000,
            description="Failed hook calls in a row after which a bot is paused",
        ),
    ] = 5
    strategy_remembered_events: Annotated[
        int,
        Field(
            ge=1,
            le=10_000_000,
            description="Account event ids kept to skip redeliveries",
        ),
    ] = 10_000
    strategy_warm_up: Annotated[
        bool,
        Field(
            description="Load the history strategies need from their venue before they "
            "start, in bars of TRADEWIND_BAR_INTERVAL_S"
        ),
    ] = True
    instance_index: Annotated[
        int,
        Field(
            ge=0,
            description="This instance's static slot, 0-based, below TRADEWIND_INSTANCE_COUNT "
            "(tradewind/services/strategy/instance_slots.py)",
        ),
    ] = 0
    instance_count: Annotated[
        int,
        Field(
            ge=1,
            description="Static slots the strategy instances split the accounts into; 1: "
            "none, instances share the bots by partition",
        ),
    ] = 1

    @model_validator(mode="after")
    def _index_is_a_slot(self) -> Self:
        if self.instance_index >= self.instance_count:
            raise field_error(
                "instance_index",
                self.instance_index,
                f"must be in 0..{self.instance_count - 1} "
                f"(TRADEWIND_INSTANCE_COUNT={self.instance_count}), got {self.instance_index}",
            )
        return self
