"""Tables of the system of record.

Money columns are `Money`: NUMERIC(38, 18) on PostgreSQL and TEXT on SQLite (whose
NUMERIC is a binary float), so amounts come back as the exact `Decimal` that went in.
Times are `timestamptz` / ISO text via SQLAlchemy's timezone-aware DateTime; ids are
strings (uuid4 hex, or the natural key such as a client order id).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

_ONE = Decimal(1)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Money(TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC(38, 18) on PostgreSQL, TEXT elsewhere."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(38, 18, asdecimal=True))
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be a Decimal, got {type(value).__name__}")
        return value if dialect.name == "postgresql" else format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):  # NUMERIC(38, 18) pads to 18 places: strip them
            return value.quantize(_ONE) if value == value.to_integral_value() else value.normalize()
        return Decimal(value)


def _serial_id() -> Column[Any]:
    """An auto-incrementing 64-bit id (SQLite only auto-increments INTEGER keys)."""
    return Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _ts(name: str, nullable: bool = False) -> Column[Any]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email_index", String(64), nullable=False, unique=True),  # blind index
    Column("email_encrypted", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("roles", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    _ts("locked_until", nullable=True),
    _ts("created_at"),
    # Access tokens carry the version they were issued at; raising it (role change,
    # disable) refuses every older token. `tokens_changed_at` lets every gateway
    # instance pick the change up by polling (see gateway/revocation.py).
    Column("token_version", Integer, nullable=False, default=0, server_default="0"),
    _ts("tokens_changed_at", nullable=True),
    Index("ix_users_tokens_changed_at", "tokens_changed_at"),
)

login_failures = Table(
    "login_failures",
    metadata,
    # Failed logins per (address, source): keyed by the e-mail's blind index whether or
    # not a user has that address, so known and unknown addresses answer alike, and by
    # the source address, so a guesser slows down only themselves.
    Column("email_index", String(64), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    _ts("blocked_until", nullable=True),
    _ts("updated_at"),
    Index("ix_login_failures_updated_at", "updated_at"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", String(32), nullable=False, index=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    _ts("issued_at"),
    _ts("expires_at"),
    _ts("used_at", nullable=True),
    _ts("revoked_at", nullable=True),
    Index("ix_refresh_tokens_revoked_at", "revoked_at"),
)

exchange_accounts = Table(
    "exchange_accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("venue", String(64), nullable=False),
    Column("label", String(128), nullable=False, default=""),
    Column("api_key_masked", String(32), nullable=False),
    Column("api_key_encrypted", Text, nullable=False),
    Column("api_secret_encrypted", Text, nullable=False),
    Column("valuation_asset", String(16), nullable=False, default="USDT"),
    Column("status", String(16), nullable=False, default="connected"),
    _ts("created_at"),
    _ts("verified_at", nullable=True),
    # The owner's risk limits (fractions of equity; NULL: none), `domain/risk_limits.py`.
    Column("max_drawdown", Money, nullable=True),
    Column("max_var_95", Money, nullable=True),
    Index("ix_exchange_accounts_user", "user_id"),
)

platform_risk_limits = Table(
    "platform_risk_limits",
    metadata,
    # The admin's ceiling over every account's limits: one row, `scope` "platform".
    Column("scope", String(16), primary_key=True),
    Column("max_drawdown", Money, nullable=True),
    Column("max_var_95", Money, nullable=True),
    Column("actor_id", String(32), nullable=True),
    _ts("updated_at"),
)

bots = Table(
    "bots",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column(
        "account_id",
        String(32),
        ForeignKey("exchange_accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("strategy", String(64), nullable=False),
    Column("params", JSON, nullable=False),
    Column("state", String(16), nullable=False),  # running / paused / stopped
    Column("strategy_state", LargeBinary, nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    # The owner's drawdown limit (fraction of the account's equity; NULL: none) and why
    # the analytics service paused the bot for it (NULL: not paused by a limit).
    Column("max_drawdown", Money, nullable=True),
    Column("max_var_95", Money, nullable=True),  # the owner's one-minute 95 % VaR limit
    Column("paused_reason", Text, nullable=True),
    Index("ix_bots_account", "account_id"),
    Index("ix_bots_user", "user_id"),
)

orders = Table(
    "orders",
    metadata,
    Column("client_order_id", String(40), primary_key=True),
    Column("account_id", String(32), nullable=False),
    Column("bot_id", String(32), nullable=False),
    Column("venue", String(64), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("order_type", String(8), nullable=False),
    Column("time_in_force", String(4), nullable=False),
    Column("quantity", Money, nullable=False),
    Column("price", Money, nullable=True),
    Column("state", String(20), nullable=False),
    Column("filled_quantity", Money, nullable=False),
    Column("average_price", Money, nullable=True),
    Column("venue_order_id", String(64), nullable=True),
    Column("reason", Text, nullable=False, default=""),
    _ts("created_at"),
    _ts("updated_at"),
    Index("ix_orders_account_created", "account_id", "created_at"),
)

fills = Table(
    "fills",
    metadata,
    # A trade id is unique per symbol only (Binance numbers each market's trades).
    Column("account_id", String(32), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("trade_id", String(64), primary_key=True),
    Column("client_order_id", String(40), nullable=False),
    Column("side", String(4), nullable=False),
    Column("price", Money, nullable=False),
    Column("quantity", Money, nullable=False),
    Column("fee", Money, nullable=False),
    Column("fee_asset", String(16), nullable=False),
    Column("liquidity", String(5), nullable=False),
    _ts("executed_at"),
    # When the row was written (the writer's clock): the analytics service reads new
    # fills by it, so a fill recorded long after it executed is still seen.
    Column("recorded_at", DateTime(timezone=True), nullable=False, default=_utc_now),
    Index("ix_fills_account_executed", "account_id", "executed_at"),
    Index("ix_fills_recorded", "recorded_at"),
)

portfolio_books = Table(
    "portfolio_books",
    metadata,
    # The portfolio service's books of one account (msgpack, see
    # services/portfolio/durable.py), saved before the events they include are
    # acknowledged; `version` counts saves (compare-and-set between instances).
    Column("account_id", String(32), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("state", LargeBinary, nullable=False),
    _ts("updated_at"),
)

venue_balances = Table(
    "venue_balances",
    metadata,
    # The last balances execution read from each account's venue (free and locked per
    # asset, as of `ts_ns`), written with the `BalanceUpdate` events that publish them:
    # what a service that takes an account over starts from until fresh ones arrive.
    Column("account_id", String(32), primary_key=True),
    Column("venue", String(64), primary_key=True),
    Column("asset", String(16), primary_key=True),
    Column("free", Money, nullable=False),
    Column("locked", Money, nullable=False),
    Column("ts_ns", BigInteger, nullable=False),
)

portfolio_snapshots = Table(
    "portfolio_snapshots",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("account_id", String(32), nullable=False),
    _ts("taken_at"),
    Column("valuation_asset", String(16), nullable=False),
    Column("equity", Money, nullable=False),
    Column("cash", Money, nullable=False),
    Column("realized_pnl", Money, nullable=False),
    Column("unrealized_pnl", Money, nullable=False),
    Column("fees", Money, nullable=False),
    Column("balances", JSON, nullable=False),  # asset -> decimal string
    Column("traded", Money, nullable=False, server_default=text("0")),  # cumulative
    Index("ix_portfolio_snapshots_account_taken", "account_id", "taken_at"),
)

bot_snapshots = Table(
    "bot_snapshots",
    metadata,
    # A bot's PnL in its account's valuation asset (`quote`), one a minute while it
    # changes (`domain/bot_pnl.py`, the analytics service); `pnl` = realised + unrealised
    # - fees.
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("bot_id", String(32), nullable=False),
    Column("account_id", String(32), nullable=False),
    _ts("taken_at"),
    Column("quote", String(16), nullable=False),
    Column("pnl", Money, nullable=False),
    Column("realized_pnl", Money, nullable=False),
    Column("unrealized_pnl", Money, nullable=False),
    Column("fees", Money, nullable=False),
    Column("account_equity", Money, nullable=True),  # the account's then, if known
    Index("ix_bot_snapshots_bot_taken", "bot_id", "taken_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    _ts("at"),
    Column("actor_id", String(32), nullable=True),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=False, default=""),
    Column("target_id", String(64), nullable=False, default=""),
    Column("detail", JSON, nullable=False),
    Column("source_ip", String(64), nullable=False, default=""),
    Index("ix_audit_log_at", "at"),
)

kill_switches = Table(
    "kill_switches",
    metadata,
    Column("scope", String(16), primary_key=True),  # global / venue / account / bot
    Column("target", String(64), primary_key=True),  # "" for global
    Column("reason", Text, nullable=False),
    Column("actor_id", String(32), nullable=True),
    _ts("engaged_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("topic", String(128), nullable=False),
    Column("event_key", String(128), nullable=False),
    Column("envelope", LargeBinary, nullable=False),  # msgpack, see tradewind.bus.envelope
    _ts("created_at"),
    _ts("published_at", nullable=True),
    Index("ix_outbox_unpublished", "published_at", "id"),
)

__all__ = [
    "Money",
    "audit_log",
    "bot_snapshots",
    "bots",
    "exchange_accounts",
    "fills",
    "kill_switches",
    "metadata",
    "orders",
    "outbox",
    "portfolio_snapshots",
    "refresh_tokens",
    "users",
]
