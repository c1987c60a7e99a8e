"""A document whose upgrade spends a while inside one SQL statement.

Three revisions: ``r1`` makes a big table (``ROWS`` rows once filled) and an empty
one, ``r2`` indexes the empty one, ``r3`` rewrites every row of the big one in one
``UPDATE`` whose cost grows with ``spin`` — for progress, cancel and Qt tests that
need a revision still running when they act.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from frozen_alembic import Migrator

R1 = '''"""r1: a big table and an empty one."""
import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None


def upgrade() -> None:
    op.create_table("big", sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.Text))
    op.create_table("small", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("small")
    op.drop_table("big")
'''

R2 = '''"""r2: an index on the empty table."""
from alembic import op

revision = "r2"
down_revision = "r1"


def upgrade() -> None:
    op.create_index("ix_small", "small", ["id"])


def downgrade() -> None:
    op.drop_index("ix_small", table_name="small")
'''

R3 = '''"""r3: rewrite every row of the big table, slowly."""
from alembic import op

revision = "r3"
down_revision = "r2"


def upgrade() -> None:
    op.execute(
        "UPDATE big SET v = (WITH RECURSIVE c(x) AS (SELECT big.id - big.id UNION ALL "
        "SELECT x + 1 FROM c WHERE x < {spin}) SELECT count(*) FROM c) || v"
    )


def downgrade() -> None:
    pass
'''

ROWS = 20_000


def slow_document(folder: Path, spin: int) -> tuple[Migrator, Path]:
    """A document at r1 with a big table; its upgrade's r3 is one statement of
    about 4 ms per ``spin`` here (300: over a second)."""
    scripts = folder / "slow-scripts"
    (scripts / "versions").mkdir(parents=True)
    for name, text in (("r1", R1), ("r2", R2), ("r3", R3.replace("{spin}", str(spin)))):
        (scripts / "versions" / f"{name}.py").write_text(text)
    db = folder / "slow.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version = 1")  # a real (non-empty) SQLite file
    migrator = Migrator(scripts)
    migrator.upgrade(db, "r1", backup=False)
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.executemany(
            "INSERT INTO big (id, v) VALUES (?, ?)", [(i, "x" * 200) for i in range(ROWS)]
        )
    return migrator, db
