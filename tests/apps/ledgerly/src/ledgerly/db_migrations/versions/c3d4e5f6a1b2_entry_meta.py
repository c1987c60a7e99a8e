"""entry.meta as JSON

Revision ID: c3d4e5f6a1b2
Revises: b2c3d4e5f6a1
Create Date: 2026-05-20 11:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import JSON

import ledgerly.helper

# revision identifiers, used by Alembic.
revision: str = "c3d4e5f6a1b2"
down_revision: Union[str, Sequence[str], None] = "b2c3d4e5f6a1"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("entry", sa.Column("meta", JSON(), nullable=True))
    op.execute(
        sa.text("UPDATE entry SET meta = :meta").bindparams(meta=ledgerly.helper.DEFAULT_META)
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("entry") as batch_op:
        batch_op.drop_column("meta")
