"""A caller's SQLAlchemy connection: refused when unsafe, else used as it is.

A ``Connection`` inside a transaction with ``PRAGMA foreign_keys=ON`` cannot be
migrated safely (SQLite ignores the pragma inside a transaction, so the 0004 rebuild
of ``notebook`` would cascade-delete every note): the call is refused, nothing is
touched, and the message says how to call instead.  A connection in a transaction
with foreign keys off is migrated inside that transaction (a savepoint): the caller
commits or rolls back, and a failing revision undoes only our part.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from frozen_alembic import MigrationFailed, Migrator, UnsafeConnection

from ..conftest import HEAD, REVISIONS, schema, sha256, versions

NOTES = 100
FAILING_REVISION = '''"""Fails on purpose, after doing some work.

Revision ID: 0007_fails
Revises: 0006_attachments
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_fails"
down_revision = "0006_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("doomed", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("UPDATE notebook SET title = 'overwritten'")
    raise RuntimeError("0007_fails fails on purpose")


def downgrade() -> None:
    op.drop_table("doomed")
'''


def fill_0003(path: Path) -> None:
    """One notebook with 100 notes, each linked to a tag (a file at 0003_pinned)."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO notebook (id, title, sort_key) VALUES (1, 'Inbox', '10')")
        conn.executemany(
            "INSERT INTO note (id, notebook_id, author_name, body, created_at, pinned) "
            "VALUES (?, 1, 'Ada Lovelace', ?, '2026-01-02 03:04:05', 0)",
            [(i, f"Note {i}") for i in range(1, NOTES + 1)],
        )
        conn.execute("INSERT INTO tag (id, name) VALUES (1, 'work')")
        conn.executemany(
            "INSERT INTO note_tag (note_id, tag_id) VALUES (?, 1)",
            [(i,) for i in range(1, NOTES + 1)],
        )
        conn.execute("COMMIT")


def counts(path: Path) -> tuple[int, int, int]:
    """Notebooks, notes and tag links in the file, read with the standard library."""
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return (
            conn.execute("SELECT count(*) FROM notebook").fetchone()[0],
            conn.execute("SELECT count(*) FROM note").fetchone()[0],
            conn.execute("SELECT count(*) FROM note_tag").fetchone()[0],
        )


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.*.bak"))


def foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@pytest.fixture
def doc(db_at: Callable[[str], Path]) -> Path:
    """A file at 0003_pinned with 100 notes and their tag links, and no backups."""
    path = db_at("0003_pinned")
    for old in backups(path):
        old.unlink()
    fill_0003(path)
    assert counts(path) == (1, NOTES, NOTES)
    return path


@pytest.fixture
def engine_fk_on(doc: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{doc}")
    event.listen(engine, "connect", foreign_keys_on)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(doc: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{doc}")
    yield engine
    engine.dispose()


def test_a_connection_in_a_transaction_with_foreign_keys_on_is_refused_untouched(
    migrator: Migrator, doc: Path, engine_fk_on: Engine
) -> None:
    before = sha256(doc)
    with engine_fk_on.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        conn.execute(text("SELECT 1"))
        assert conn.in_transaction()

        with pytest.raises(UnsafeConnection) as caught:
            migrator.upgrade(conn)
        message = str(caught.value)
        assert "commit" in message.lower()
        assert "Engine" in message
        assert "path" in message
        assert sha256(doc) == before
        assert backups(doc) == []
        assert versions(doc) == ["0003_pinned"]

        # Once committed, the same connection is migrated safely: no cascade.
        conn.commit()
        report = migrator.upgrade(conn)
        assert report.applied == REVISIONS[3:]
        assert conn.execute(text("SELECT count(*) FROM note")).scalar() == NOTES
        # The caller's setting is given back.
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert versions(doc) == [HEAD]
    assert counts(doc) == (1, NOTES, NOTES)
    assert report.backup is not None
    assert backups(doc) == [report.backup]
    assert counts(report.backup) == (1, NOTES, NOTES)


def test_an_engine_with_foreign_keys_on_is_migrated_without_cascade(
    migrator: Migrator, doc: Path, engine_fk_on: Engine
) -> None:
    report = migrator.upgrade(engine_fk_on)
    assert report.applied == REVISIONS[3:]
    assert versions(doc) == [HEAD]
    assert counts(doc) == (1, NOTES, NOTES)
    with engine_fk_on.connect() as conn:  # the pool's connection keeps its setting
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM note_tag")).scalar() == NOTES


@pytest.mark.parametrize("end", ["rollback", "commit"])
def test_a_connection_in_a_transaction_is_migrated_inside_it(
    migrator: Migrator, doc: Path, engine: Engine, tmp_path: Path, end: str
) -> None:
    untouched = tmp_path / "untouched.notes"
    shutil.copyfile(doc, untouched)
    before = sha256(doc)
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO notebook (id, title, sort_key) VALUES (42, 'Mine', '7')"))
        assert conn.in_transaction()

        report = migrator.upgrade(conn)

        assert report.applied == REVISIONS[3:]
        assert conn.in_transaction(), "the caller's transaction was ended"
        row = conn.execute(text("SELECT title, sort_key FROM notebook WHERE id = 42")).one()
        assert tuple(row) == ("Mine", 7)  # the caller's row, migrated with the rest
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
        assert conn.execute(text("SELECT count(*) FROM note_tag")).scalar() == NOTES
        if end == "rollback":
            conn.rollback()
        else:
            conn.commit()

    if end == "rollback":
        assert versions(doc) == ["0003_pinned"]
        assert schema(doc) == schema(untouched)
        assert counts(doc) == (1, NOTES, NOTES)
        assert sha256(doc) == before
    else:
        assert versions(doc) == [HEAD]
        assert counts(doc) == (2, NOTES, NOTES)
        with closing(sqlite3.connect(doc)) as plain:
            assert plain.execute("SELECT title FROM notebook WHERE id = 42").fetchone() == ("Mine",)


def test_a_failing_revision_undoes_only_our_part_of_the_callers_transaction(
    scripts: Path, doc: Path, engine: Engine
) -> None:
    (scripts / "versions" / "0007_fails.py").write_text(FAILING_REVISION, encoding="utf-8")
    failing = Migrator(scripts)
    assert failing.heads() == ("0007_fails",)
    tables_before = _tables(doc)
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO notebook (id, title, sort_key) VALUES (42, 'Mine', '7')"))

        with pytest.raises(MigrationFailed) as caught:
            failing.upgrade(conn)

        assert caught.value.revision == "0007_fails"
        assert isinstance(caught.value.__cause__, RuntimeError)
        assert conn.in_transaction(), "the caller's transaction was ended"
        titles = conn.execute(text("SELECT id, title, sort_key FROM notebook ORDER BY id")).all()
        assert [tuple(r) for r in titles] == [(1, "Inbox", "10"), (42, "Mine", "7")]
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            "0003_pinned"
        )
        names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        assert sorted(n for (n,) in names) == tables_before
        conn.commit()

    assert versions(doc) == ["0003_pinned"]
    assert _tables(doc) == tables_before
    assert counts(doc) == (2, NOTES, NOTES)
    assert backups(doc) == [], "the backup of a change that was undone is removed"


def _tables(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return sorted(name for (name,) in rows)
