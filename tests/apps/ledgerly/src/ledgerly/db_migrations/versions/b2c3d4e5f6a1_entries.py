"""entries, and the starter accounts

Revision ID: b2c3d4e5f6a1
Revises: a1b2c3d4e5f6
Create Date: 2026-03-02 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from ledgerly import _migration_helpers

# revision identifiers, used by Alembic.
revision: str = "b2c3d4e5f6a1"
down_revision: Union[str, Sequence[str], None] = "a1b2c3d4e5f6"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("memo", sa.String(200), nullable=False),
        sa.Column("amount", sa.String(20), nullable=False),
    )
    account = sa.table(
        "account", sa.column("id", sa.Integer), sa.column("name", sa.String),
        sa.column("kind", sa.String),
    )
    existing = op.get_bind().execute(sa.text("SELECT count(*) FROM account")).scalar()
    if not existing:
        op.bulk_insert(account, _migration_helpers.STARTER_ACCOUNTS)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("entry")
