"""Guarantees of the README that no other test pins down, each with a test that fails
when the guarantee is broken."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING

import pytest

from frozen_alembic import (
    BackupFailed,
    DatabaseTooNew,
    MigrationFailed,
    Migrator,
    backup,
    ensure_current,
)
from frozen_alembic import _backup as backup_module

from .conftest import HEAD, REVISIONS, sha256, versions

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

FAILS_AT_THE_END = '''"""0007: fails after every other pending revision has run."""
from alembic import op

revision = "0007_fails"
down_revision = "0006_attachments"


def upgrade() -> None:
    op.execute("CREATE TABLE marker (id INTEGER)")
    raise RuntimeError("0007 fails on purpose")


def downgrade() -> None:
    pass
'''

BREAKS_NOT_NULL = '''"""0007: leaves a NULL in a NOT NULL column, which only quick_check sees."""
from alembic import op

revision = "0007_not_null"
down_revision = "0006_attachments"


def upgrade() -> None:
    op.execute("CREATE TABLE loose (a INTEGER, b INTEGER)")
    op.execute("INSERT INTO loose VALUES (NULL, 1)")
    op.execute("PRAGMA writable_schema=ON")
    op.execute(
        "UPDATE sqlite_master SET sql = 'CREATE TABLE loose (a INTEGER NOT NULL, b INTEGER)' "
        "WHERE name = 'loose'"
    )
    op.execute("PRAGMA writable_schema=RESET")


def downgrade() -> None:
    pass
'''


def _fill(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("INSERT INTO notebook (id, title, sort_key) VALUES (1, 'Diary', '2')")
        conn.executemany(
            "INSERT INTO note (notebook_id, author_name, body, created_at) "
            "VALUES (1, 'Ada Lovelace', ?, '2021-01-01')",
            [(f"note {i}",) for i in range(200)],
        )


def test_a_failure_after_several_revisions_undoes_them_all(
    scripts: Path, db_at: Callable[[str], Path]
) -> None:
    """One transaction for the whole call: a commit per revision would leave 0006."""
    path = db_at("0001_initial")
    _fill(path)
    before = sha256(path)
    (scripts / "versions" / "0007_fails.py").write_text(FAILS_AT_THE_END)
    progress: list[str | None] = []
    with pytest.raises(MigrationFailed, match="0007_fails") as caught:
        Migrator(scripts).upgrade(path, progress=lambda p: progress.append(p.revision))
    # five revisions ran, then one failed
    assert list(dict.fromkeys(rev for rev in progress if rev)) == [*REVISIONS[1:], "0007_fails"]
    assert sha256(path) == before
    assert versions(path) == ["0001_initial"]
    assert caught.value.backup is None  # provably unchanged: the backup was removed
    assert [p.name for p in path.parent.glob("*.bak")] == []


def test_quick_check_runs_before_the_commit(scripts: Path, db_at: Callable[[str], Path]) -> None:
    path = db_at(HEAD)
    before = sha256(path)
    (scripts / "versions" / "0007_not_null.py").write_text(BREAKS_NOT_NULL)
    with pytest.raises(MigrationFailed, match=r"quick_check.*NULL value in loose\.a"):
        Migrator(scripts).upgrade(path)
    assert sha256(path) == before


def test_three_backups_are_kept_by_default_beside_the_file(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0001_initial")
    made = []
    for target in REVISIONS[1:]:
        report = migrator.upgrade(path, target)
        assert report.backup is not None
        assert report.backup.parent == path.parent
        made.append(report.backup)
    kept = sorted(path.parent.glob(f"{path.name}.*.bak"))
    assert kept == sorted(made[-3:])
    assert [versions(p) for p in made[-3:]] == [[r] for r in REVISIONS[-4:-1]]


def test_nothing_can_write_the_file_while_it_is_backed_up(
    migrator: Migrator, db_at: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backup is never torn: the write lock is held from before the backup."""
    path = db_at("0001_initial")
    _fill(path)
    attempts: list[str] = []
    real_copy = backup_module._copy

    def copy_while_another_writes(
        source: Path, target: Path, deadline: object, **options: object
    ) -> None:
        with closing(sqlite3.connect(source, timeout=0)) as other:
            try:
                other.execute("INSERT INTO notebook (id, title) VALUES (99, 'sneaked in')")
                other.commit()
                attempts.append("written")
            except sqlite3.OperationalError as err:
                attempts.append(str(err))
        real_copy(source, target, deadline, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(backup_module, "_copy", copy_while_another_writes)
    report = migrator.upgrade(path)
    assert attempts == ["database is locked"]
    assert report.backup is not None
    with closing(sqlite3.connect(report.backup)) as conn:
        assert conn.execute("SELECT count(*) FROM notebook WHERE id = 99").fetchone() == (0,)


def test_the_working_directory_is_never_read_nor_changed(
    scripts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)

    used: list[str] = []
    real_getcwd = os.getcwd

    def chdir(*args: object) -> None:
        used.append(f"os.chdir{args}")

    def getcwd() -> str:
        used.append("os.getcwd()")
        return real_getcwd()

    monkeypatch.setattr(os, "chdir", chdir)
    monkeypatch.setattr(os, "getcwd", getcwd)
    path = tmp_path / "docs" / "doc.notes"
    path.parent.mkdir()
    migrator = Migrator(scripts)
    migrator.create(path)
    migrator.downgrade(path, "0002_tags")
    migrator.status(path)
    migrator.upgrade(path)
    backup(path)
    ensure_current(path, scripts=scripts)
    monkeypatch.undo()
    assert used == []
    assert list(cwd.iterdir()) == []


def test_a_backup_that_cannot_be_written_changes_nothing(
    scripts: Path, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    path = db_at("0002_tags")
    before = sha256(path)
    not_a_folder = tmp_path / "backups"
    not_a_folder.write_text("a file where the backup folder should be")
    with pytest.raises(BackupFailed, match="backup folder") as caught:
        Migrator(scripts, backup_dir=not_a_folder).upgrade(path)
    assert isinstance(caught.value.__cause__, OSError)
    assert sha256(path) == before
    assert not_a_folder.read_text() == "a file where the backup folder should be"


def test_stamp_refuses_a_file_from_a_newer_release_unless_purging(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at(HEAD)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_future'")
    before = sha256(path)
    with pytest.raises(DatabaseTooNew, match="0099_future"):
        migrator.stamp(path, HEAD)
    assert sha256(path) == before
    assert migrator.stamp(path, HEAD, purge=True).after == (HEAD,)
