"""All-or-nothing changes, foreign keys, journal modes, adoption and read-only policies."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from frozen_alembic import (
    DatabaseNotFound,
    InvalidTarget,
    MigrationFailed,
    Migrator,
    NotADatabase,
    State,
    UnversionedDatabase,
)

from .conftest import HEAD, REVISIONS, sha256, versions

DANGLING_REVISION = '''"""Release 1.6: a broken migration that orphans notes."""
from alembic import op

revision = "0007_orphans"
down_revision = "0006_attachments"


def upgrade() -> None:
    op.execute("DELETE FROM notebook")


def downgrade() -> None:
    pass
'''


def _fill_release_1_0(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO notebook (id, title, sort_key) VALUES (?, ?, ?)",
            [(1, "Travel", "3"), (2, "Recipes", "10"), (3, "Misc", None)],
        )
        conn.executemany(
            "INSERT INTO note (notebook_id, author_name, body, created_at) VALUES (?, ?, ?, ?)",
            [(1 + i % 3, f"Author {i}", f"body {i}", "2021-01-01") for i in range(300)],
        )
    conn.close()


def _count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def test_parent_recreate_keeps_cascading_children_even_with_app_foreign_keys_on(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0001_initial")
    _fill_release_1_0(path)
    engine = sa.create_engine(f"sqlite:///{path}")

    @sa.event.listens_for(engine, "connect")
    def foreign_keys_on(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    try:
        with engine.connect() as conn:
            migrator.upgrade(conn)
            # The application's setting is given back after the migration.
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            conn.rollback()
    finally:
        engine.dispose()
    assert versions(path) == [HEAD]
    assert _count(path, "note") == 300
    assert _count(path, "notebook") == 3
    conn2 = sqlite3.connect(path)
    assert conn2.execute("SELECT sort_key FROM notebook ORDER BY id").fetchall() == [
        (3,),
        (10,),
        (None,),
    ]
    assert conn2.execute("PRAGMA foreign_key_check").fetchall() == []
    conn2.close()


def test_a_migration_that_orphans_rows_is_rolled_back(
    scripts: Path, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0001_initial")
    _fill_release_1_0(path)
    Migrator(scripts).upgrade(path, backup=False)
    before = sha256(path)
    (scripts / "versions" / "0007_orphans.py").write_text(DANGLING_REVISION)
    with pytest.raises(MigrationFailed, match="foreign keys point nowhere") as caught:
        Migrator(scripts).upgrade(path)
    assert "note -> notebook (300 rows)" in str(caught.value)
    assert sha256(path) == before
    assert not [p for p in path.parent.iterdir() if p.suffix == ".bak"]


def test_existing_foreign_key_violations_do_not_block_upgrades(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0005_split_author")
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO note (notebook_id, body, created_at) VALUES (99, 'orphan', '2020-01-01')"
        )
    conn.close()
    assert migrator.upgrade(path).after == (HEAD,)


@pytest.mark.parametrize("mode", ["delete", "wal"])
def test_journal_mode_is_preserved(
    migrator: Migrator, db_at: Callable[[str], Path], mode: str
) -> None:
    path = db_at("0001_initial")
    conn = sqlite3.connect(path)
    assert conn.execute(f"PRAGMA journal_mode={mode}").fetchone() == (mode,)
    conn.close()
    _fill_release_1_0(path)
    report = migrator.upgrade(path)
    assert report.applied == REVISIONS[1:]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == (mode,)
    assert conn.execute("SELECT count(*) FROM note").fetchone() == (300,)
    conn.close()
    assert report.backup is not None
    assert versions(report.backup) == ["0001_initial"]


def test_adopting_an_unversioned_file(migrator: Migrator, tmp_path: Path) -> None:
    made = tmp_path / "made.notes"
    migrator.create(made)
    migrator.downgrade(made, "0002_tags", backup=False)
    _strip_version(made)
    before = sha256(made)
    with pytest.raises(UnversionedDatabase):
        migrator.upgrade(made)
    with pytest.raises(InvalidTarget):
        migrator.upgrade(made, adopt="no_such_revision")
    assert sha256(made) == before
    report = migrator.upgrade(made, adopt="0002_tags")
    assert report.before == ()
    assert report.applied == REVISIONS[2:]
    assert versions(made) == [HEAD]
    assert report.backup is not None
    assert report.backup.name.endswith(".unversioned.bak")


def _strip_version(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DROP TABLE alembic_version")
    conn.close()


def test_a_newer_file_can_be_inspected_and_opened_read_only(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at(HEAD)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("PRAGMA journal_mode=wal")
        conn.execute("UPDATE alembic_version SET version_num = '0099_future'")
    conn.close()
    before = sha256(path)
    names = sorted(p.name for p in path.parent.iterdir())
    status = migrator.status(path)
    assert status.state is State.TOO_NEW
    assert status.current == ("0099_future",)
    assert sha256(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == names


@pytest.mark.parametrize(
    "verb",
    ["status", "current", "upgrade", "downgrade", "stamp"],
)
def test_bad_inputs_leave_no_file_behind(migrator: Migrator, tmp_path: Path, verb: str) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    empty = folder / "empty.notes"
    empty.write_bytes(b"")
    text = folder / "text.notes"
    text.write_text("hello")
    calls: dict[str, Callable[[Path], object]] = {
        "status": migrator.status,
        "current": migrator.current,
        "upgrade": migrator.upgrade,
        "downgrade": lambda p: migrator.downgrade(p, "base"),
        "stamp": migrator.stamp,
    }
    for target in (folder / "missing.notes", empty, text):
        expected = DatabaseNotFound if target.name == "missing.notes" else NotADatabase
        with pytest.raises(expected, match=r"No database|empty|not a SQLite"):
            calls[verb](target)
    assert sorted(p.name for p in folder.iterdir()) == ["empty.notes", "text.notes"]
    assert empty.read_bytes() == b""
    assert text.read_text() == "hello"
