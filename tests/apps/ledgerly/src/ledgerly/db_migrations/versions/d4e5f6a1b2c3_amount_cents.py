"""entry.amount (decimal text) becomes amount_cents (integer)

Revision ID: d4e5f6a1b2c3
Revises: c3d4e5f6a1b2
Create Date: 2026-09-14 12:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from ledgerly import _migration_helpers

# revision identifiers, used by Alembic.
revision: str = "d4e5f6a1b2c3"
down_revision: Union[str, Sequence[str], None] = "c3d4e5f6a1b2"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("entry", sa.Column("amount_cents", sa.Integer(), nullable=True))
    op.execute(f"UPDATE entry SET amount_cents = {_migration_helpers.cents_sql('amount')}")
    with op.batch_alter_table("entry") as batch_op:
        batch_op.alter_column("amount_cents", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("amount")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("entry") as batch_op:
        batch_op.add_column(sa.Column("amount", sa.String(20), nullable=True))
    op.execute("UPDATE entry SET amount = printf('%.2f', amount_cents / 100.0)")
    with op.batch_alter_table("entry") as batch_op:
        batch_op.alter_column("amount", existing_type=sa.String(20), nullable=False)
        batch_op.drop_column("amount_cents")
