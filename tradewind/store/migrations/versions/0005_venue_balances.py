"""venue balances last read by execution, for risk to start from on take-over

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 10:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tradewind.store.schema import Money

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "venue_balances",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("venue", sa.String(length=64), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("free", Money(), nullable=False),
        sa.Column("locked", Money(), nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "venue", "asset", name=op.f("pk_venue_balances")),
    )


def downgrade() -> None:
    op.drop_table("venue_balances")
