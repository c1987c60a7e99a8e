"""Release 1.3: notebook.sort_key becomes INTEGER (was TEXT).

SQLite cannot change a column type in place, so notebook is rebuilt with a
batch "move and copy"; the copy does ``INSERT ... SELECT CAST(sort_key AS
INTEGER)`` so '3' becomes 3. notebook is the parent of note (ON DELETE
CASCADE): this must run with ``PRAGMA foreign_keys=OFF``, otherwise dropping
the old notebook table deletes every note. The note_summary view is dropped
and re-created around the rebuild, because SQLite refuses to rename the new
table into place while a view refers to the dropped one.

Revision ID: 0004_sort_key_integer
Revises: 0003_pinned
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import op

if TYPE_CHECKING:
    from collections.abc import Sequence

revision: str = "0004_sort_key_integer"
down_revision: str | Sequence[str] | None = "0003_pinned"
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


def _change_sort_key_type(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> None:
    op.execute("DROP VIEW note_summary")
    with op.batch_alter_table("notebook", recreate="always") as batch_op:
        batch_op.alter_column("sort_key", existing_type=old, type_=new, existing_nullable=True)
    op.execute(CREATE_NOTE_SUMMARY)


def upgrade() -> None:
    _change_sort_key_type(sa.Text(), sa.Integer())


def downgrade() -> None:
    _change_sort_key_type(sa.Integer(), sa.Text())
