"""Scripts that end the transaction: refused, and the file never left half-migrated.

Each breaker runs in revision r2 of a three-revision chain on a file at r1 that holds
a parent row and ten children.  r2 adds a column, breaks the transaction, then
deletes every child; r3 either passes or fails.  Whatever the breaker, the upgrade
raises :class:`MigrationFailed` blaming r2 and saying what it did, and the file is at
r1 with every row: either because the transaction was intact and rolled back (then
the backup is removed), or because it was put back from the backup (then
``err.restored`` is true, the backup is kept and the message says so).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from frozen_alembic import MigrationFailed, Migrator

from ..conftest import sha256

R1 = '''"""r1: a parent and its children."""
import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None


def upgrade() -> None:
    op.create_table("parent", sa.Column("id", sa.Integer, primary_key=True))
    op.create_table(
        "child",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pid", sa.Integer, sa.ForeignKey("parent.id", ondelete="CASCADE")),
    )


def downgrade() -> None:
    op.drop_table("child")
    op.drop_table("parent")
'''

R2 = '''"""r2: a new column, then the breaker, then a destructive statement."""
import sqlalchemy as sa
from alembic import op

revision = "r2"
down_revision = "r1"


def upgrade() -> None:
    op.add_column("parent", sa.Column("x", sa.Integer))
    {breaker}
    op.execute("DELETE FROM child")


def downgrade() -> None:
    pass
'''

R3 = '''"""r3: passes, or fails."""
from alembic import op

revision = "r3"
down_revision = "r2"


def upgrade() -> None:
    op.execute("CREATE TABLE r3_marker (id INTEGER)")
    {body}


def downgrade() -> None:
    pass
'''

CAUGHT_OR_ROLLBACK = """op.execute("INSERT INTO parent (id) VALUES (1)")
    try:
        op.execute("INSERT OR ROLLBACK INTO parent (id) VALUES (1)")
    except Exception:
        pass"""

AUTOCOMMIT_BLOCK = """with op.get_context().autocommit_block():
        op.execute("SELECT 1")"""

# breaker -> (the script's lines, a word the message must contain)
BREAKERS = {
    "COMMIT": ('op.execute("COMMIT")', "COMMIT"),
    "END": ('op.execute("END")', "COMMIT"),  # SQLite reports END as COMMIT
    "ROLLBACK": ('op.execute("ROLLBACK")', "ROLLBACK"),
    "bind.commit()": ("op.get_bind().commit()", "COMMIT"),
    "caught INSERT OR ROLLBACK": (CAUGHT_OR_ROLLBACK, "ended the transaction"),
    "autocommit_block()": (AUTOCOMMIT_BLOCK, "autocommit_block"),
    "VACUUM": ('op.execute("VACUUM")', "VACUUM"),
}
MODES = ("delete", "wal")
CHILDREN = 10


def _make(tmp_path: Path, breaker: str, fail_after: bool, mode: str) -> tuple[Migrator, Path]:
    scripts = tmp_path / "scripts"
    (scripts / "versions").mkdir(parents=True)
    (scripts / "versions" / "r1.py").write_text(R1)
    (scripts / "versions" / "r2.py").write_text(R2.format(breaker=BREAKERS[breaker][0]))
    body = 'raise RuntimeError("r3 fails")' if fail_after else "pass"
    (scripts / "versions" / "r3.py").write_text(R3.format(body=body))
    db = tmp_path / "doc.db"
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute(f"PRAGMA journal_mode={mode}")
        conn.execute("PRAGMA user_version = 1")
    migrator = Migrator(scripts)
    migrator.upgrade(db, "r1", backup=False)
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("INSERT INTO parent (id) VALUES (5)")
        conn.executemany(
            "INSERT INTO child (id, pid) VALUES (?, 5)", [(i,) for i in range(CHILDREN)]
        )
    return migrator, db


def _state(db: Path) -> tuple[list[str], int, list[str], list[str], str]:
    with closing(sqlite3.connect(db)) as conn:
        versions = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
        children = conn.execute("SELECT count(*) FROM child").fetchone()[0]
        columns = [r[1] for r in conn.execute("PRAGMA table_info(parent)")]
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    return versions, children, columns, sorted(tables), integrity


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fail_after", [False, True], ids=["alone", "then-r3-fails"])
@pytest.mark.parametrize("breaker", list(BREAKERS))
def test_a_script_that_breaks_the_transaction_never_leaves_a_half_migrated_file(
    tmp_path: Path, breaker: str, fail_after: bool, mode: str
) -> None:
    migrator, db = _make(tmp_path, breaker, fail_after, mode)
    with pytest.raises(MigrationFailed) as info:
        migrator.upgrade(db)
    err = info.value
    message = str(err)
    assert err.revision == "r2", message
    assert BREAKERS[breaker][1] in message, message

    versions, children, columns, tables, integrity = _state(db)
    assert versions == ["r1"], message
    assert children == CHILDREN, message
    assert columns == ["id"], message
    assert "r3_marker" not in tables, message
    assert integrity == "ok"

    backups = sorted(tmp_path.glob("doc.db.*.bak"))
    assert err.unchanged  # rolled back intact, or put back from the backup
    if err.restored:
        assert err.backup is not None
        assert backups == [err.backup]
        assert "put back from the backup" in message
        assert str(err.backup) in message
    else:
        assert err.backup is None
        assert backups == [], "a provably unchanged file keeps no backup"
        assert "was not changed" in message
    assert sorted(p.name for p in tmp_path.glob("*partial*")) == []


@pytest.mark.parametrize("mode", MODES)
def test_an_ended_transaction_is_restored_from_the_backup_and_said_so(
    tmp_path: Path, mode: str
) -> None:
    migrator, db = _make(tmp_path, "caught INSERT OR ROLLBACK", True, mode)
    with pytest.raises(MigrationFailed) as info:
        migrator.upgrade(db)
    assert info.value.restored
    assert info.value.backup is not None
    assert info.value.backup.exists()
    with closing(sqlite3.connect(info.value.backup)) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("r1",)]


def test_without_a_backup_an_ended_transaction_is_reported_as_such(tmp_path: Path) -> None:
    migrator, db = _make(tmp_path, "caught INSERT OR ROLLBACK", True, "delete")
    with pytest.raises(MigrationFailed) as info:
        migrator.upgrade(db, backup=False)
    assert not info.value.restored
    assert info.value.backup is None
    assert not info.value.unchanged  # nothing proves it, and nothing could be put back
    assert "no backup" in str(info.value)
    # The guard refused every write after the transaction ended: nothing was committed.
    versions, children, columns, _tables, _integrity = _state(db)
    assert (versions, children, columns) == (["r1"], CHILDREN, ["id"])


def test_a_refused_commit_that_the_script_swallows_is_still_refused(tmp_path: Path) -> None:
    swallow = 'try:\n        op.execute("COMMIT")\n    except Exception:\n        pass'
    _migrator, db = _make(tmp_path, "COMMIT", False, "delete")
    (db.parent / "scripts" / "versions" / "r2.py").write_text(R2.format(breaker=swallow))
    before = sha256(db)
    with pytest.raises(MigrationFailed, match="COMMIT"):
        Migrator(db.parent / "scripts").upgrade(db)
    assert sha256(db) == before


def test_savepoints_stay_allowed(tmp_path: Path) -> None:
    nested = """bind = op.get_bind()
    op.execute("INSERT INTO parent (id) VALUES (1)")
    try:
        with bind.begin_nested():
            op.execute("INSERT INTO parent (id) VALUES (1)")
    except Exception:
        pass"""
    _migrator, db = _make(tmp_path, "COMMIT", False, "delete")
    (db.parent / "scripts" / "versions" / "r2.py").write_text(R2.format(breaker=nested))
    report = Migrator(db.parent / "scripts").upgrade(db)
    assert report.applied == ("r2", "r3")
    versions, children, columns, tables, _integrity = _state(db)
    assert versions == ["r3"]
    assert children == 0  # r2's DELETE ran, inside the one transaction
    assert columns == ["id", "x"]
    assert "r3_marker" in tables
