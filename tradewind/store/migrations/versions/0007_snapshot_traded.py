"""portfolio snapshots: the quote amounts traded so far (`traded`), for turnover

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tradewind.store.schema import Money

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Snapshots recorded before: nothing known of their trades, counted from 0.
    op.add_column(
        "portfolio_snapshots",
        sa.Column("traded", Money(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    with op.batch_alter_table("portfolio_snapshots") as batch:
        batch.drop_column("traded")
