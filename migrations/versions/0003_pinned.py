"""Release 1.2: notes can be pinned; add the note_summary view.

Revision ID: 0003_pinned
Revises: 0002_tags
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import op

if TYPE_CHECKING:
    from collections.abc import Sequence

revision: str = "0003_pinned"
down_revision: str | Sequence[str] | None = "0002_tags"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Later revisions that recreate notebook or note must drop and re-create this
# view around the batch (SQLite's ALTER TABLE ... RENAME refuses to run while a
# view refers to a table that no longer exists), so they repeat this SQL.
CREATE_NOTE_SUMMARY = """
CREATE VIEW note_summary AS
SELECT notebook.title AS notebook_title,
       note.id AS note_id,
       note.pinned AS pinned,
       note.created_at AS created_at
FROM note JOIN notebook ON notebook.id = note.notebook_id
"""


def upgrade() -> None:
    op.add_column("note", sa.Column("pinned", sa.Boolean(), nullable=False, server_default="0"))
    op.execute(CREATE_NOTE_SUMMARY)


def downgrade() -> None:
    op.execute("DROP VIEW note_summary")
    with op.batch_alter_table("note") as batch_op:
        batch_op.drop_column("pinned")
