"""The commit's disk writes start while the checks run (``frozen_alembic._flush``).

Between the last revision and the commit, another thread ``fdatasync``s the file the
commit will sync — SQLite's own descriptor of it — so that the disk works while
``quick_check`` reads.  These tests watch ``os.fdatasync`` (the real call still
runs) to see which file is flushed, from where and when, for each journal mode and
``PRAGMA synchronous``; and, on a disk whose write-back really fails, that the
failure of that early flush rolls the change back instead of being swallowed (Linux
reports a failed write-back once per open file: SQLite's own ``fsync`` at the
commit would not see it again).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from frozen_alembic import DiskFull, Migrator, Phase, Progress

from ..conftest import HEAD, sha256, versions
from . import mounts

COPIES_THE_BLOBS = '''"""0007: copies a big table into a new one (pages the file never had)."""
from alembic import op

revision = "0007_copy"
down_revision = "0006_attachments"


def upgrade() -> None:
    op.execute("CREATE TABLE blob_copy AS SELECT * FROM blob_store")


def downgrade() -> None:
    op.execute("DROP TABLE blob_copy")
'''
BLOB_MB = 16


@dataclass
class Flush:
    """One ``os.fdatasync`` call seen during an upgrade."""

    file: str  # what the descriptor is open on (/proc/self/fd)
    thread: str
    phase: Phase | None  # the last progress phase reported before it


Watched = tuple[list[Flush], Callable[[Progress], None]]


@pytest.fixture
def flushes(monkeypatch: pytest.MonkeyPatch) -> Watched:
    """Every ``os.fdatasync`` call (passed on to the real one), and a progress callback
    that tells them which phase the upgrade was in."""
    seen: list[Flush] = []
    phase: list[Phase | None] = [None]
    real = os.fdatasync

    def watched(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        seen.append(Flush(name, threading.current_thread().name, phase[0]))
        real(fd)

    def progress(event: Progress) -> None:
        phase[0] = event.phase

    monkeypatch.setattr(os, "fdatasync", watched)
    return seen, progress


def _engine(path: Path, synchronous: int) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)

    @sa.event.listens_for(engine, "connect")
    def _set(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.execute(f"PRAGMA synchronous = {synchronous}")

    return engine


def _in_wal_mode(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)


# (journal mode, PRAGMA synchronous, the file the commit syncs: flushed early)
CASES = [
    ("delete", 3, "db"),  # EXTRA
    ("delete", 2, "db"),  # FULL
    ("delete", 1, "db"),  # NORMAL: the commit still syncs the database file
    ("delete", 0, None),  # OFF: nothing is synced, so nothing is flushed
    ("wal", 2, "wal"),  # FULL syncs the -wal at every commit
    ("wal", 1, None),  # NORMAL: a commit syncs nothing (checkpoints do)
    ("wal", 0, None),
]


@pytest.mark.parametrize(("mode", "synchronous", "flushed"), CASES)
def test_the_file_the_commit_syncs_is_flushed_during_the_checks(
    migrator: Migrator,
    db_at: Callable[[str], Path],
    flushes: Watched,
    mode: str,
    synchronous: int,
    flushed: str | None,
) -> None:
    seen, progress = flushes
    path = db_at("0001_initial")
    if mode == "wal":
        _in_wal_mode(path)
    engine = _engine(path, synchronous)
    seen.clear()  # making the file (create, downgrade) flushed too
    try:
        migrator.upgrade(engine, progress=progress)
    finally:
        engine.dispose()
    assert versions(path) == [HEAD]
    early = [f for f in seen if f.thread == "frozen-alembic-flush"]
    if flushed is None:
        assert early == []
        return
    assert len(early) == 1, seen
    assert early[0].phase is Phase.CHECK, early
    assert early[0].file == str(path if flushed == "db" else f"{path}-wal")


def test_a_callers_open_transaction_is_not_flushed(
    db_at: Callable[[str], Path],
    migrator: Migrator,
    flushes: Watched,
) -> None:
    """The caller commits when it likes: nothing is written early for it."""
    seen, progress = flushes
    path = db_at("0001_initial")
    engine = _engine(path, 2)
    seen.clear()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")  # SQLAlchemy's transaction has begun
            migrator.upgrade(conn, progress=progress)
            conn.commit()
    finally:
        engine.dispose()
    assert versions(path) == [HEAD]
    assert [f for f in seen if f.thread == "frozen-alembic-flush"] == []


def _fill_to(folder: Path, left: int) -> Path:
    """Fill the file system of ``folder`` until ``left`` bytes are free."""
    filler = folder / "filler"
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with open(filler, "wb") as out:
        out.write(bytes(max(0, free - left)))
    return filler


def _drop_caches() -> None:
    """Forget every clean cached page: what is read next comes from the disk."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def test_a_failed_early_flush_rolls_the_change_back(scripts: Path) -> None:
    """The disk runs out under the file system while the migrated pages are written
    back during the checks, and recovers just before the commit (a thin volume that
    is grown, a USB stick's passing fault).  The early flush saw the failed pages, so
    the change is rolled back: committed, it would now succeed — on top of pages
    that never reached the disk, which the kernel no longer holds as dirty."""
    with mounts.thin_ext4(256, 64 * mounts.MIB) as (folder, backing):
        path = folder / "doc.notes"
        Migrator(scripts).create(path)
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.execute("CREATE TABLE blob_store (id INTEGER PRIMARY KEY, data BLOB)")
            conn.executemany(
                "INSERT INTO blob_store (data) VALUES (randomblob(4000))",
                [()] * (BLOB_MB * 256),
            )
        (scripts / "versions" / "0007_copy.py").write_text(COPIES_THE_BLOBS)
        before = sha256(path)
        _drop_caches()
        # Room for the rollback journal's few pages, not for the copied table's.
        filler = _fill_to(backing, 1 * mounts.MIB)

        def heal_before_the_commit(event: Progress) -> None:
            if event.phase is Phase.COMMIT and filler.exists():
                filler.unlink()

        with pytest.raises(DiskFull) as caught:
            Migrator(scripts).upgrade(path, backup=False, progress=heal_before_the_commit)
        filler.unlink(missing_ok=True)
        cause = caught.value.__cause__
        assert isinstance(cause, OSError), repr(cause)
        assert caught.value.unchanged
        assert "was not changed" in str(caught.value)
        _drop_caches()  # read what the disk holds
        assert sha256(path) == before
        assert versions(path) == [HEAD]  # the reference head: 0007 did not commit
        assert not Path(f"{path}-journal").exists()
