"""Release 1.1: tags for notes (many-to-many) and an index on note.notebook_id.

Revision ID: 0002_tags
Revises: 0001_initial
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import op

if TYPE_CHECKING:
    from collections.abc import Sequence

revision: str = "0002_tags"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tag"),
        sa.UniqueConstraint("name", name="uq_tag_name"),
    )
    op.create_table(
        "note_tag",
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("note_id", "tag_id", name="pk_note_tag"),
        sa.ForeignKeyConstraint(
            ["note_id"], ["note.id"], name="fk_note_tag_note_id_note", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tag.id"], name="fk_note_tag_tag_id_tag", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_note_notebook_id", "note", ["notebook_id"])


def downgrade() -> None:
    op.drop_index("ix_note_notebook_id", table_name="note")
    op.drop_table("note_tag")
    op.drop_table("tag")
