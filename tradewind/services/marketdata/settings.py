"""The marketdata service's settings, read from `TRADEWIND_*` environment variables.

| variable | default | meaning |
|---|---|---|
| TRADEWIND_MD_SYMBOLS | "" (all) | comma list of `BASE/QUOTE` or `VENUE:BASE/QUOTE` |
| TRADEWIND_BAR_INTERVAL_S | 60 | bar length in seconds, aligned to the epoch |
| TRADEWIND_MD_BOOK_DEPTH | 20 | levels per side; at most what the venue streams (20) |
| TRADEWIND_MD_SNAPSHOT_INTERVAL_S | 30 | seconds between full book snapshots on md.book |
| TRADEWIND_MD_CACHE_FLUSH_S | 0.1 | how often latest prices and closed bars are flushed |
| TRADEWIND_MD_BAR_CLOSE_DELAY_S | 0.5 | grace for late trades before a bar closes by time |
| TRADEWIND_MD_RETRY_BASE_S / _CAP_S | 0.5 / 30 | jittered backoff of a failed venue stream |
| TRADEWIND_MD_REPLAY_S | 10 | trades and bars replayed on a take-over, s (> bus take-over) |
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tradewind.errors import ConfigError
from tradewind.runtime.settings import ENV_PREFIX, setting_name


class MarketDataSettings(BaseSettings):
    """What the marketdata service watches and how it publishes; see the module table."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    md_symbols: Annotated[
        str, Field(description="BASE/QUOTE or VENUE:BASE/QUOTE, comma separated; empty: all")
    ] = ""
    bar_interval_s: Annotated[int, Field(ge=1, le=86_400, description="Bar length, s")] = 60
    md_book_depth: Annotated[int, Field(ge=1, le=5_000, description="Book levels per side")] = 20
    md_snapshot_interval_s: Annotated[
        float, Field(gt=0, description="Seconds between full book snapshots on md.book")
    ] = 30.0
    md_cache_flush_s: Annotated[
        float, Field(gt=0, le=10, description="Seconds between cache and bar flushes")
    ] = 0.1
    md_bar_close_delay_s: Annotated[
        float, Field(ge=0, le=60, description="Grace for late trades before a bar closes")
    ] = 0.5
    md_retry_base_s: Annotated[float, Field(gt=0, description="First stream retry wait, s")] = 0.5
    md_retry_cap_s: Annotated[float, Field(gt=0, description="Longest stream retry wait, s")] = 30.0
    md_replay_s: Annotated[
        float, Field(ge=0, le=300, description="Trades and bars replayed on a take-over, s")
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


def load_marketdata_settings() -> MarketDataSettings:
    """Read the settings from the environment; `ConfigError` naming the first bad one."""
    try:
        return MarketDataSettings()
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, ValueError):
            problem = str(cause)  # our validator's words, naming the bad entry
        else:
            problem = f"{error['msg']}, got {error['input']!r}"
        raise ConfigError(setting_name(field), problem) from None
