"""Backups before every change, their names and retention, and restore()."""

from __future__ import annotations

import calendar
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from frozen_alembic import (
    DatabaseBusy,
    DatabaseNotFound,
    Migrator,
    NotADatabase,
    backup,
    restore,
)

from .conftest import HEAD, sha256, versions


def _add_notes(path: Path, count: int) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO notebook (id, title, sort_key) VALUES (1, 'Diary', '1')")
        conn.executemany(
            "INSERT INTO note (notebook_id, author_name, body, created_at) "
            "VALUES (1, 'Ada Lovelace', ?, '2021-01-01')",
            [(f"note {i}",) for i in range(count)],
        )
    conn.close()


def test_upgrade_backs_up_first_and_reports_it(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0001_initial")
    _add_notes(path, 50)
    before = sha256(path)
    started = int(time.time())
    report = migrator.upgrade(path)
    finished = time.time()
    assert report.backup is not None
    assert report.backup.parent == path.parent
    # <file name>.<UTC time>Z.<old revision>.bak, the time that of the upgrade
    name = re.fullmatch(
        rf"{re.escape(path.name)}\.(\d{{4}}-\d\d-\d\dT\d\d-\d\d-\d\d)Z\.0001_initial\.bak",
        report.backup.name,
    )
    assert name is not None, report.backup.name
    taken = calendar.timegm(time.strptime(name.group(1), "%Y-%m-%dT%H-%M-%S"))
    assert started <= taken <= finished
    assert versions(report.backup) == ["0001_initial"]
    conn = sqlite3.connect(report.backup)
    assert conn.execute("SELECT count(*) FROM note").fetchone() == (50,)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    # The backup holds the same content the file had (not byte-equal: the
    # backup API rewrites page 1's change counter), and nothing else was left.
    leftovers = [p.name for p in path.parent.iterdir() if ".partial" in p.name]
    assert leftovers == []
    assert sha256(path) != before


def test_no_backup_when_nothing_is_pending(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at(HEAD)
    names = sorted(p.name for p in path.parent.iterdir())
    assert migrator.upgrade(path).backup is None
    assert sorted(p.name for p in path.parent.iterdir()) == names


def test_backups_can_be_switched_off_per_call(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0001_initial")
    names = sorted(p.name for p in path.parent.iterdir())
    assert migrator.upgrade(path, backup=False).backup is None
    assert migrator.downgrade(path, "0002_tags", backup=False).backup is None
    assert sorted(p.name for p in path.parent.iterdir()) == names


def test_backup_folder_and_retention(
    scripts: Path, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    folder = tmp_path / "backups" / "notes"
    migrator = Migrator(scripts, backup_dir=folder, keep_backups=2)
    path = db_at("0001_initial")
    made = []
    for target in ("0002_tags", "0003_pinned", "0004_sort_key_integer", "0005_split_author"):
        report = migrator.upgrade(path, target)
        assert report.backup is not None
        assert report.backup.parent == folder
        made.append(report.backup)
    kept = sorted(folder.iterdir())
    assert kept == sorted(made[-2:])
    assert [versions(p) for p in made[-2:]] == [["0003_pinned"], ["0004_sort_key_integer"]]
    assert not [p for p in path.parent.iterdir() if p.suffix == ".bak"]


def test_retention_leaves_other_files_alone(scripts: Path, db_at: Callable[[str], Path]) -> None:
    path = db_at("0001_initial")
    other = path.with_name(path.name + ".x.notes.2020-01-01T00-00-00.0001_initial.bak")
    other.write_bytes(b"someone else's file")
    migrator = Migrator(scripts, keep_backups=1)
    migrator.upgrade(path, "0002_tags")
    migrator.upgrade(path, "0003_pinned")
    assert other.read_bytes() == b"someone else's file"
    assert len([p for p in path.parent.iterdir() if p.name.endswith(".0002_tags.bak")]) == 1


def test_restore_puts_the_old_file_back(migrator: Migrator, db_at: Callable[[str], Path]) -> None:
    path = db_at("0001_initial")
    _add_notes(path, 10)
    report = migrator.upgrade(path)
    assert report.backup is not None
    assert versions(path) == [HEAD]
    assert restore(report.backup, path) == path
    assert versions(path) == ["0001_initial"]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*), min(author_name) FROM note").fetchone() == (
        10,
        "Ada Lovelace",
    )
    conn.close()
    assert report.backup.exists()


def test_restore_to_a_new_path(migrator: Migrator, db_at: Callable[[str], Path]) -> None:
    path = db_at("0002_tags")
    saved = backup(path)
    elsewhere = path.with_name("restored.notes")
    restore(saved, elsewhere)
    assert versions(elsewhere) == ["0002_tags"]


def test_restore_refuses_bad_input(tmp_path: Path, db_at: Callable[[str], Path]) -> None:
    path = db_at(HEAD)
    with pytest.raises(DatabaseNotFound):
        restore(tmp_path / "no.bak", path)
    junk = tmp_path / "junk.notes"
    junk.write_text("not sqlite")
    saved = backup(path)
    with pytest.raises(NotADatabase, match="Move it aside"):
        restore(saved, junk)
    assert junk.read_text() == "not sqlite"


def test_backup_function_names_the_revision(db_at: Callable[[str], Path], tmp_path: Path) -> None:
    path = db_at("0003_pinned")
    saved = backup(path, tmp_path / "elsewhere")
    assert saved.parent == tmp_path / "elsewhere"
    assert saved.name.endswith(".0003_pinned.bak")
    assert versions(saved) == ["0003_pinned"]
    second = backup(path, tmp_path / "elsewhere")
    assert second != saved


@pytest.mark.parametrize("mode", ["delete", "wal"])
def test_backup_does_not_hang_on_a_write_locked_file(
    db_at: Callable[[str], Path], mode: str
) -> None:
    path = db_at(HEAD)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode={mode}")
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("INSERT INTO tag (name) VALUES ('uncommitted')")
    started = time.monotonic()
    try:
        if mode == "delete":
            with pytest.raises(DatabaseBusy, match="lock"):
                backup(path, timeout=0.5)
            assert time.monotonic() - started < 10
        else:
            # WAL readers are never blocked: the backup is the last committed state.
            saved = backup(path, timeout=0.5)
            check = sqlite3.connect(saved)
            assert check.execute("SELECT count(*) FROM tag").fetchone() == (0,)
            check.close()
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".partial")]
