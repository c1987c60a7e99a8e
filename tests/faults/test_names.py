"""Long document names: every name made beside a document fits the folder's limit.

CJK names are long in UTF-8 ("漢" is 3 bytes), so a user's document may already be
close to the 255-byte limit of most file systems.  SQLite itself needs room for
``-journal`` (8 bytes) beside the file; up to that length every verb works, its
backups get a shortened but recognisable name, and pruning finds them again.  A
longer name (that still fits the file system) is refused with ``ENAMETOOLONG`` and a
message that says to rename it, before anything is written.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from frozen_alembic import Migrator, StorageError

from ..conftest import HEAD, REVISIONS, sha256, versions

CJK = "漢"
NAME_MAX = 255
SQLITE_MAX = NAME_MAX - len("-journal")  # the longest name SQLite can journal
SHORTEST = 60
BACKUP_END = f".{REVISIONS[0]}.bak"


def nbytes(name: str) -> int:
    return len(os.fsencode(name))


def cjk_name(length: int) -> str:
    """A document name of CJK characters (and 0-2 ASCII letters) of ``length`` bytes."""
    suffix = ".notes"
    body = length - len(suffix)
    name = CJK * (body // 3) + "x" * (body % 3) + suffix
    assert nbytes(name) == length
    return name


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def backups_in(folder: Path) -> list[Path]:
    return sorted(folder / n for n in os.listdir(folder) if n.endswith(".bak"))


def check_names(folder: Path) -> None:
    """Every name in ``folder`` fits the limit and is whole UTF-8 (no cut character)."""
    for name in os.listdir(folder):
        assert nbytes(name) <= NAME_MAX, name
        name.encode("utf-8")  # a cut multi-byte sequence would be a surrogate escape


def check_backup(report_backup: Path | None, doc: Path) -> Path:
    assert report_backup is not None
    assert report_backup.exists()
    assert report_backup.parent == doc.parent
    name = report_backup.name
    assert name.startswith(doc.name[:20]), name  # the user recognises the document
    assert name.endswith(BACKUP_END), name
    assert nbytes(name) <= SQLITE_MAX, name  # SQLite can open it (restore) too
    assert versions(report_backup) == [REVISIONS[0]]
    return report_backup


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    assert os.pathconf(folder, "PC_NAME_MAX") == NAME_MAX
    return folder


def test_every_name_length_sqlite_can_use_works(migrator: Migrator, folder: Path) -> None:
    for length in range(SHORTEST, SQLITE_MAX + 1):
        doc = folder / cjk_name(length)
        migrator.create(doc)
        migrator.downgrade(doc, REVISIONS[0], backup=False)
        report = migrator.upgrade(doc)
        assert report.applied == REVISIONS[1:], length
        assert versions(doc) == [HEAD]
        backup = check_backup(report.backup, doc)
        check_names(folder)
        assert backups_in(folder) == [backup], length
        doc.unlink()
        backup.unlink()
        assert listing(folder) == [], length  # no temporary file or journal left


@pytest.mark.parametrize("length", [SHORTEST, 155, 156, 157, 200, 246, SQLITE_MAX])
def test_pruning_finds_the_backups_of_a_long_name(scripts: Path, folder: Path, length: int) -> None:
    migrator = Migrator(scripts, keep_backups=2)
    doc = folder / cjk_name(length)
    # A neighbour whose name shares the beginning: its backups are not the doc's.
    neighbour = folder / cjk_name(length - 3 if length - 3 >= SHORTEST else length + 3)
    migrator.create(doc)
    migrator.create(neighbour)
    migrator.downgrade(neighbour, REVISIONS[0], backup=False)
    neighbours_backup = check_backup(migrator.upgrade(neighbour).backup, neighbour)

    made = []
    for _ in range(5):
        migrator.downgrade(doc, REVISIONS[0], backup=False)
        report = migrator.upgrade(doc)
        made.append(check_backup(report.backup, doc))
        check_names(folder)
    assert len(set(made)) == 5
    assert backups_in(folder) == sorted([*made[-2:], neighbours_backup])
    assert report.backup == made[-1]


@pytest.mark.parametrize("length", range(SQLITE_MAX + 1, NAME_MAX + 1))
def test_a_name_without_room_for_the_journal_is_refused(
    migrator: Migrator, folder: Path, tmp_path: Path, length: int
) -> None:
    short = tmp_path / "short.notes"
    migrator.create(short)
    migrator.downgrade(short, REVISIONS[0], backup=False)
    doc = folder / cjk_name(length)
    shutil.copyfile(short, doc)  # the user's file, named elsewhere
    before = sha256(doc)
    names = listing(folder)

    with pytest.raises(StorageError) as caught:
        migrator.upgrade(doc)
    assert caught.value.errno == errno.ENAMETOOLONG
    assert "rename" in str(caught.value).lower()
    assert sha256(doc) == before
    assert listing(folder) == names

    new = folder / ("字" + cjk_name(length)[1:])  # another name of the same length
    assert nbytes(new.name) == length
    with pytest.raises(StorageError) as caught:
        migrator.create(new)
    assert caught.value.errno == errno.ENAMETOOLONG
    assert "rename" in str(caught.value).lower()
    assert listing(folder) == names


def test_a_long_name_on_exfat(migrator: Migrator, exfat_dir: Path) -> None:
    doc = exfat_dir / cjk_name(SQLITE_MAX)
    migrator.create(doc)
    migrator.downgrade(doc, REVISIONS[0], backup=False)
    report = migrator.upgrade(doc)
    assert report.applied == REVISIONS[1:]
    assert versions(doc) == [HEAD]
    backup = check_backup(report.backup, doc)
    check_names(exfat_dir)
    assert listing(exfat_dir) == sorted([doc.name, backup.name])


def test_exfat_names_longer_than_255_bytes_are_upgraded(
    migrator: Migrator, exfat_dir: Path, tmp_path: Path
) -> None:
    # exFAT counts 255 UTF-16 characters, not bytes: 90 CJK characters are 270 bytes,
    # a name a user's USB stick holds, and SQLite's journal beside it works.
    short = tmp_path / "short.notes"
    migrator.create(short)
    migrator.downgrade(short, REVISIONS[0], backup=False)
    doc = exfat_dir / (CJK * 90 + ".notes")
    assert nbytes(doc.name) > NAME_MAX
    shutil.copyfile(short, doc)

    report = migrator.upgrade(doc)

    assert report.applied == REVISIONS[1:]
    assert versions(doc) == [HEAD]
    check_backup(report.backup, doc)
