"""Release 1.4: split note.author_name into author_first and author_last.

Data migration: the name is split at its first space ('Jean Paul Sartre' ->
'Jean', 'Paul Sartre'); a name without a space goes entirely into
author_first. author_name is then dropped by rebuilding note (a child of
notebook and the parent of note_tag, ON DELETE CASCADE: run with
``PRAGMA foreign_keys=OFF``). The note_summary view is dropped and re-created
around the rebuild. Downgrade joins the parts back with a space, trimmed.

Revision ID: 0005_split_author
Revises: 0004_sort_key_integer
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import op

if TYPE_CHECKING:
    from collections.abc import Sequence

revision: str = "0005_split_author"
down_revision: str | Sequence[str] | None = "0004_sort_key_integer"
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

SPLIT_AUTHOR = """
UPDATE note SET
    author_first = CASE WHEN instr(author_name, ' ') > 0
        THEN substr(author_name, 1, instr(author_name, ' ') - 1)
        ELSE author_name END,
    author_last = CASE WHEN instr(author_name, ' ') > 0
        THEN substr(author_name, instr(author_name, ' ') + 1)
        ELSE '' END
"""

JOIN_AUTHOR = "UPDATE note SET author_name = trim(author_first || ' ' || author_last)"

# Column order of note at 0004, restored on downgrade.
NOTE_COLUMNS_0004 = ("id", "notebook_id", "author_name", "body", "created_at", "pinned")


def upgrade() -> None:
    op.add_column(
        "note",
        sa.Column("author_first", sa.String(100), nullable=False, server_default=""),
    )
    op.add_column(
        "note",
        sa.Column("author_last", sa.String(100), nullable=False, server_default=""),
    )
    op.execute(SPLIT_AUTHOR)
    op.execute("DROP VIEW note_summary")
    with op.batch_alter_table("note") as batch_op:
        batch_op.drop_column("author_name")
    op.execute(CREATE_NOTE_SUMMARY)


def downgrade() -> None:
    # Added as NULL-able first: SQLite cannot ADD a NOT NULL column without a
    # default; the rebuild below makes it NOT NULL once it is filled.
    op.add_column("note", sa.Column("author_name", sa.String(200), nullable=True))
    op.execute(JOIN_AUTHOR)
    op.execute("DROP VIEW note_summary")
    with op.batch_alter_table("note", partial_reordering=[NOTE_COLUMNS_0004]) as batch_op:
        batch_op.alter_column("author_name", existing_type=sa.String(200), nullable=False)
        batch_op.drop_column("author_last")
        batch_op.drop_column("author_first")
    op.execute(CREATE_NOTE_SUMMARY)
