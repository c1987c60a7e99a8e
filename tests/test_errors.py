"""Bad input gets a typed exception that says what to do, and the file is untouched."""

from __future__ import annotations

import os
import sqlite3
from typing import TYPE_CHECKING

import pytest

from frozen_alembic import (
    DatabaseBusy,
    DatabaseError,
    DatabaseNotFound,
    DatabaseTooNew,
    FrozenAlembicError,
    MigrationFailed,
    Migrator,
    NotADatabase,
    ReadOnlyDatabase,
    ScriptsError,
    ScriptsNotFound,
    UnversionedDatabase,
)

from .conftest import HEAD, sha256, versions

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

FAILING_REVISION = '''"""Release 1.6: a migration that fails at its very last statement."""
import sqlalchemy as sa
from alembic import op

revision = "0007_fails"
down_revision = "0006_attachments"


def upgrade() -> None:
    op.add_column("note", sa.Column("mood", sa.String(20)))
    op.create_table("reminder", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("UPDATE note SET mood = 'calm'")
    with op.batch_alter_table("tag", recreate="always") as batch:
        batch.add_column(sa.Column("color", sa.String(7)))
    op.execute("INSERT INTO notebook (id, title) VALUES (1, 'duplicate key')")


def downgrade() -> None:
    pass
'''


def test_every_error_derives_from_the_root() -> None:
    database_errors: list[type[Exception]] = [
        DatabaseNotFound,
        NotADatabase,
        DatabaseBusy,
        ReadOnlyDatabase,
        DatabaseTooNew,
    ]
    for exc in database_errors:
        assert issubclass(exc, DatabaseError)
    for exc in (DatabaseError, ScriptsError, ScriptsNotFound, MigrationFailed):
        assert issubclass(exc, FrozenAlembicError)


def test_missing_script_directory(tmp_path: Path) -> None:
    with pytest.raises(ScriptsNotFound, match="does not exist") as caught:
        Migrator(tmp_path / "nowhere")
    assert caught.value.searched == (tmp_path / "nowhere",)
    (tmp_path / "no_versions").mkdir()
    with pytest.raises(ScriptsNotFound, match="has no versions/ folder"):
        Migrator(tmp_path / "no_versions")


def test_script_directory_without_revisions(tmp_path: Path) -> None:
    (tmp_path / "versions").mkdir(parents=True)
    with pytest.raises(ScriptsError, match="contains no revision files"):
        Migrator(tmp_path).heads()


def test_missing_database_is_not_created(migrator: Migrator, tmp_path: Path) -> None:
    path = tmp_path / "missing.notes"
    for verb in (migrator.status, migrator.current, migrator.upgrade):
        with pytest.raises(DatabaseNotFound, match=r"Migrator\.create") as caught:
            verb(path)
        assert caught.value.path == path
    assert not path.exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"", "is empty"), (b"name,notes\nAda,hello\n", "not a SQLite database")],
)
def test_not_a_database(migrator: Migrator, tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "file.notes"
    path.write_bytes(content)
    for verb in (migrator.status, migrator.upgrade):
        with pytest.raises(NotADatabase, match=words):
            verb(path)
    assert path.read_bytes() == content


def test_corrupt_database(migrator: Migrator, db_at: Callable[[str], Path]) -> None:
    path = db_at(HEAD)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the schema page, keep the header
    path.write_bytes(bytes(data))
    with pytest.raises(NotADatabase):
        migrator.upgrade(path)
    assert path.read_bytes() == bytes(data)


def test_folder_is_not_a_database(migrator: Migrator, tmp_path: Path) -> None:
    with pytest.raises(NotADatabase, match="not a file"):
        migrator.status(tmp_path)


def test_database_from_a_newer_release(migrator: Migrator, db_at: Callable[[str], Path]) -> None:
    path = db_at(HEAD)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '0042_from_the_future'")
    conn.commit()
    conn.close()
    before = sha256(path)
    for verb in (migrator.upgrade, lambda p: migrator.downgrade(p, "base")):
        with pytest.raises(DatabaseTooNew, match="newer release") as caught:
            verb(path)
        assert caught.value.revision == "0042_from_the_future"
    assert sha256(path) == before


def test_unversioned_database(migrator: Migrator, tmp_path: Path) -> None:
    path = tmp_path / "legacy.notes"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.close()
    before = sha256(path)
    with pytest.raises(UnversionedDatabase, match=r"Migrator.stamp") as caught:
        migrator.upgrade(path)
    assert caught.value.tables == ("notes",)
    assert sha256(path) == before


def test_failed_migration_leaves_the_file_byte_for_byte(
    scripts: Path, db_at: Callable[[str], Path]
) -> None:
    path = db_at(HEAD)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO notebook (id, title) VALUES (1, 'Diary')")
    conn.execute("INSERT INTO note (notebook_id, body, created_at) VALUES (1, 'x', '2024-01-01')")
    conn.commit()
    conn.close()
    before = sha256(path)
    (scripts / "versions" / "0007_fails.py").write_text(FAILING_REVISION)
    migrator = Migrator(scripts)
    with pytest.raises(MigrationFailed, match="0007_fails") as caught:
        migrator.upgrade(path)
    assert caught.value.revision == "0007_fails"
    assert caught.value.path == path
    assert isinstance(caught.value.__cause__, Exception)
    assert "UNIQUE" in str(caught.value.__cause__)
    assert sha256(path) == before
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name)) == [
        path.name
    ]

    # Once the cause is fixed, the same file upgrades cleanly.
    fixed = FAILING_REVISION.replace("(1, 'duplicate key')", "(2, 'second')")
    (scripts / "versions" / "0007_fails.py").write_text(fixed)
    assert Migrator(scripts).upgrade(path).applied == ("0007_fails",)
    assert versions(path) == ["0007_fails"]


def test_busy_database(scripts: Path, db_at: Callable[[str], Path]) -> None:
    path = db_at("0005_split_author")
    before = sha256(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseBusy, match="longer timeout"):
            Migrator(scripts, timeout=0.2).upgrade(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert sha256(path) == before


@pytest.mark.parametrize("what", ["file", "folder"])
def test_read_only_database(migrator: Migrator, db_at: Callable[[str], Path], what: str) -> None:
    path = db_at("0005_split_author")
    before = sha256(path)
    target = path if what == "file" else path.parent
    mode = target.stat().st_mode
    target.chmod(0o444 if what == "file" else 0o555)
    try:
        with pytest.raises(ReadOnlyDatabase, match="read-only"):
            migrator.upgrade(path)
        # Reading a read-only file is fine.
        assert migrator.current(path) == ("0005_split_author",)
    finally:
        target.chmod(mode)
    assert sha256(path) == before


def test_str_and_pathlike_paths(migrator: Migrator, tmp_path: Path) -> None:
    # A str path works exactly like a Path, and os.PathLike too.
    path = tmp_path / "plain.notes"
    migrator.create(str(path))

    class Wrapped(os.PathLike[str]):
        def __fspath__(self) -> str:
            return str(path)

    assert migrator.current(Wrapped()) == (HEAD,)
