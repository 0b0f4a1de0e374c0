"""fills: when each was recorded (`recorded_at`, the analytics' cursor on new fills);
bots: the owner's one-minute 95 % VaR limit (`max_var_95`)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tradewind.store.schema import Money

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Fills recorded before: taken as recorded when they executed.
    with op.batch_alter_table("fills") as table:
        table.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE fills SET recorded_at = executed_at")
    with op.batch_alter_table("fills") as table:
        table.alter_column("recorded_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_index("ix_fills_recorded", "fills", ["recorded_at"])
    with op.batch_alter_table("bots") as table:
        table.add_column(sa.Column("max_var_95", Money(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bots") as table:
        table.drop_column("max_var_95")
    op.drop_index("ix_fills_recorded", table_name="fills")
    with op.batch_alter_table("fills") as table:
        table.drop_column("recorded_at")
