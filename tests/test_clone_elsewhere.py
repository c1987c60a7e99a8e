"""The clone routes of other systems: ``clonefile()`` (APFS, macOS) and block cloning
(ReFS and Dev Drive, Windows).

They run where they can: on macOS in the test's temporary folder (APFS is every
Mac's file system); on Windows in ``$FROZEN_ALEMBIC_REFS_DIR``, a folder on a ReFS
volume that ``.github/workflows/desktop.yml`` makes. Elsewhere they skip and say why
— Linux's ``FICLONE`` is tested on real XFS and btrfs in
``faults/test_backup_routes.py``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from frozen_alembic import Migrator
from frozen_alembic._clone import ROUTE_VARIABLE, clone

from .conftest import sha256, versions

REFS_VARIABLE = "FROZEN_ALEMBIC_REFS_DIR"


def _cloning_folder(tmp_path: Path) -> Path:
    if sys.platform == "darwin":
        return tmp_path
    if sys.platform == "win32":
        where = os.environ.get(REFS_VARIABLE)
        if not where:
            pytest.skip(
                f"Windows block cloning needs a folder on ReFS: set ${REFS_VARIABLE} "
                "(.github/workflows/desktop.yml makes one)"
            )
        folder = Path(where) / tmp_path.name
        folder.mkdir()
        return folder
    pytest.skip(
        f"the macOS and Windows clone routes cannot run on {sys.platform} (Linux's "
        "FICLONE: tests/faults/test_backup_routes.py)"
    )


def _grown(path: Path, pages: int) -> None:
    """Add ``pages`` pages of data: an odd number, so that the file does not end on
    a cluster boundary (ReFS clones whole clusters)."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE IF NOT EXISTS filler (data BLOB)")
        conn.executemany("INSERT INTO filler VALUES (randomblob(3900))", [()] * pages)


def test_a_clone_has_the_same_bytes(tmp_path: Path, db_at: Callable[[str], Path]) -> None:
    folder = _cloning_folder(tmp_path)
    source = folder / "doc.notes"
    shutil.copyfile(db_at("0001_initial"), source)
    _grown(source, 301)
    assert source.stat().st_size % 65536 != 0
    target = folder / "doc.notes.clone"
    assert clone(str(source), str(target)) is True
    assert sha256(target) == sha256(source)


def test_an_upgrade_backs_up_by_clone(
    tmp_path: Path,
    migrator: Migrator,
    db_at: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = _cloning_folder(tmp_path)
    path = folder / "doc.notes"
    shutil.copyfile(db_at("0001_initial"), path)
    _grown(path, 301)
    before = sha256(path)
    monkeypatch.setenv(ROUTE_VARIABLE, "clone")
    report = migrator.upgrade(path)
    assert report.backup is not None
    assert sha256(report.backup) == before
    assert versions(report.backup) == ["0001_initial"]
