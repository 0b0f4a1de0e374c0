"""bots' PnL series (`bot_snapshots`), their drawdown limit and why a limit paused them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tradewind.store.schema import Money

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bots") as table:
        table.add_column(sa.Column("max_drawdown", Money(), nullable=True))
        table.add_column(sa.Column("paused_reason", sa.Text(), nullable=True))
    op.create_table(
        "bot_snapshots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("bot_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quote", sa.String(length=16), nullable=False),
        sa.Column("pnl", Money(), nullable=False),
        sa.Column("realized_pnl", Money(), nullable=False),
        sa.Column("unrealized_pnl", Money(), nullable=False),
        sa.Column("fees", Money(), nullable=False),
        sa.Column("account_equity", Money(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_snapshots")),
    )
    op.create_index("ix_bot_snapshots_bot_taken", "bot_snapshots", ["bot_id", "taken_at"])


def downgrade() -> None:
    op.drop_index("ix_bot_snapshots_bot_taken", table_name="bot_snapshots")
    op.drop_table("bot_snapshots")
    with op.batch_alter_table("bots") as table:
        table.drop_column("paused_reason")
        table.drop_column("max_drawdown")
