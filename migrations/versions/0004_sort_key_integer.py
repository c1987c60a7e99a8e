"""Release 1.3: notebook.sort_key becomes INTEGER (was TEXT), losing nothing.

What happens to each kind of ``sort_key``, exactly:

* a plain integer — text that SQLite's own integer-to-text conversion writes back
  unchanged, i.e. ``CAST(CAST(v AS INTEGER) AS TEXT) = v`` ('3', '-12', '0') —
  becomes that integer (3, -12, 0);
* anything else keeps its text, verbatim, in the new column
  ``notebook.legacy_sort_key``, and ``sort_key`` becomes NULL: '007' and '+4' and ' 5'
  (they would read as 7, 4 and 5, losing how they were written), '3.7' and '1e3'
  (would read as 3 and 1), '12abc' (12), 'abc' and '' (0), and integers too large for
  64 bits. Such notebooks sort after the numbered ones (the app may show the old key);
* NULL stays NULL (and ``legacy_sort_key`` is NULL).

Downgrade puts the text back exactly: ``sort_key = legacy_sort_key`` where it is set,
else the integer as text.

SQLite cannot change a column type in place, so notebook is rebuilt with a batch
"move and copy" (``INSERT ... SELECT CAST(sort_key AS INTEGER)``, which by then sees
only plain integers and NULLs). notebook is the parent of note (ON DELETE CASCADE):
this must run with ``PRAGMA foreign_keys=OFF``, otherwise dropping the old notebook
table deletes every note. The note_summary view is dropped and re-created around the
rebuild, because SQLite refuses to rename the new table into place while a view
refers to the dropped one.

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


# A value is a plain integer when casting it to an integer and back gives its text.
NOT_PLAIN = "sort_key IS NOT NULL AND CAST(CAST(sort_key AS INTEGER) AS TEXT) IS NOT sort_key"


def _change_sort_key_type(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> None:
    op.execute("DROP VIEW note_summary")
    with op.batch_alter_table("notebook", recreate="always") as batch_op:
        batch_op.alter_column("sort_key", existing_type=old, type_=new, existing_nullable=True)
    op.execute(CREATE_NOTE_SUMMARY)


def upgrade() -> None:
    op.add_column("notebook", sa.Column("legacy_sort_key", sa.Text(), nullable=True))
    op.execute(f"UPDATE notebook SET legacy_sort_key = sort_key WHERE {NOT_PLAIN}")
    op.execute("UPDATE notebook SET sort_key = NULL WHERE legacy_sort_key IS NOT NULL")
    _change_sort_key_type(sa.Text(), sa.Integer())


def downgrade() -> None:
    _change_sort_key_type(sa.Integer(), sa.Text())
    op.execute("UPDATE notebook SET sort_key = legacy_sort_key WHERE legacy_sort_key IS NOT NULL")
    op.execute("DROP VIEW note_summary")
    with op.batch_alter_table("notebook") as batch_op:
        batch_op.drop_column("legacy_sort_key")
    op.execute(CREATE_NOTE_SUMMARY)
