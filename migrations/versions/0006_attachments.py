"""Release 1.5: file attachments on notes; notebooks can be archived.

Revision ID: 0006_attachments
Revises: 0005_split_author
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import op

if TYPE_CHECKING:
    from collections.abc import Sequence

revision: str = "0006_attachments"
down_revision: str | Sequence[str] | None = "0005_split_author"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATE_NOTE_SUMMARY = """
CREATE VIEW note_summary AS
SELECT notebook.title AS notebook_title,
       note.id AS note_id,
       note.pinned AS pinned,
       note.created_at AS created_at
FROM note JOIN notebook ON notebook.id = note.notebook_id
"""


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attachment"),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["note.id"],
            name="fk_attachment_note_id_note",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_attachment_note_id", "attachment", ["note_id"])
    op.add_column(
        "notebook",
        sa.Column("archived", sa.Boolean(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    # Dropping a column rebuilds notebook (parent of note; foreign_keys OFF),
    # and the view must be out of the way while the new table is renamed.
    op.execute("DROP VIEW note_summary")
    with op.batch_alter_table("notebook") as batch_op:
        batch_op.drop_column("archived")
    op.execute(CREATE_NOTE_SUMMARY)
    op.drop_index("ix_attachment_note_id", table_name="attachment")
    op.drop_table("attachment")
