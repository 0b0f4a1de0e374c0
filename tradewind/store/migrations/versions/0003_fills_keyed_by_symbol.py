"""fills keyed by (account, symbol, trade id): trade ids are unique per symbol only

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fills", schema=None) as batch_op:
        batch_op.drop_constraint("pk_fills", type_="primary")
        batch_op.create_primary_key("pk_fills", ["account_id", "symbol", "trade_id"])


def downgrade() -> None:
    with op.batch_alter_table("fills", schema=None) as batch_op:
        batch_op.drop_constraint("pk_fills", type_="primary")
        batch_op.create_primary_key("pk_fills", ["account_id", "trade_id"])
