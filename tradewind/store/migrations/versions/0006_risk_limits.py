"""risk limits: each exchange account's (set by its owner) and the platform's ceiling

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tradewind.store.schema import Money

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_accounts") as table:
        table.add_column(sa.Column("max_drawdown", Money(), nullable=True))
        table.add_column(sa.Column("max_var_95", Money(), nullable=True))
    op.create_table(
        "platform_risk_limits",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("max_drawdown", Money(), nullable=True),
        sa.Column("max_var_95", Money(), nullable=True),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_platform_risk_limits")),
    )


def downgrade() -> None:
    op.drop_table("platform_risk_limits")
    with op.batch_alter_table("exchange_accounts") as table:
        table.drop_column("max_var_95")
        table.drop_column("max_drawdown")
