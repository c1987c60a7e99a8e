"""The commit's disk writes start while the checks run (``frozen_alembic._flush``).

Between the last revision and the commit, another thread ``fdatasync``s the file the
commit will sync, so that the disk works while ``quick_check`` reads.  These tests
watch that call (``frozen_alembic._flush.sync_data``; the real one still runs) to see
which file is flushed, from where and when, for each journal mode and
``PRAGMA synchronous``; that descriptors of other connections (unusable, or closed
meanwhile) change nothing; and, on a disk whose write-back really fails, that the
failure rolls the change back (Linux reports a failed write-back once per open file:
had the early call swallowed it, SQLite's own ``fsync`` would commit).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from frozen_alembic import DiskFull, Migrator, Phase, Progress, _flush

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
    """One early flush seen during an upgrade."""

    file: str  # what the descriptor is open on (/proc/self/fd)
    thread: str
    phase: Phase | None  # the last progress phase reported before it


Watched = tuple[list[Flush], Callable[[Progress], None]]


@pytest.fixture
def flushes(monkeypatch: pytest.MonkeyPatch) -> Watched:
    """Every early flush (passed on to the real call), and a progress callback that
    tells them which phase the upgrade was in."""
    seen: list[Flush] = []
    phase: list[Phase | None] = [None]
    real = _flush.sync_data

    def watched(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        seen.append(Flush(name, threading.current_thread().name, phase[0]))
        real(fd)

    def progress(event: Progress) -> None:
        phase[0] = event.phase

    monkeypatch.setattr(_flush, "sync_data", watched)
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
    early = [w for w in seen if w.thread == "frozen-alembic-flush"]
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
    """The caller commits when it likes: nothing is flushed early for it."""
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
    assert [w for w in seen if w.thread == "frozen-alembic-flush"] == []


def _fill_to(folder: Path, left: int) -> Path:
    """Fill the file system of ``folder`` until ``left`` bytes are free."""
    filler = folder / "filler"
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with open(filler, "wb") as out:
        out.write(bytes(max(0, free - left)))
    return filler


def _wait_for_write_back(timeout: float = 10.0) -> None:
    """Wait until no page is being written back (``Writeback`` in ``/proc/meminfo``):
    without writing any page, or asking any open file for its write-back error."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open("/proc/meminfo", encoding="ascii") as info:
            found = [line.split()[1] for line in info if line.startswith("Writeback:")]
        if found == ["0"]:
            return
        time.sleep(0.01)
    raise AssertionError(f"pages were still being written back after {timeout} s")


def _drop_caches() -> None:
    """Forget every clean cached page: what is read next comes from the disk."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def test_an_o_path_descriptor_is_not_the_one_borrowed(
    migrator: Migrator, db_at: Callable[[str], Path], flushes: Watched
) -> None:
    """An ``O_PATH`` descriptor of the document, opened first (lowest number), can be
    neither read nor synced: SQLite's own is borrowed instead, for the backup and
    for the flush."""
    seen, progress = flushes
    path = db_at("0001_initial")
    pinned = os.open(path, os.O_PATH)
    try:
        seen.clear()
        report = migrator.upgrade(path, progress=progress)
    finally:
        os.close(pinned)
    assert versions(path) == [HEAD]
    assert report.backup is not None
    assert versions(report.backup) == ["0001_initial"]
    assert [f.file for f in seen if f.thread == "frozen-alembic-flush"] == [str(path)]


def test_another_connection_closed_meanwhile_changes_nothing(
    migrator: Migrator, db_at: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The application's own connection to the WAL document (opened first, so its
    ``-wal`` descriptor is the one found) is closed just as the flush starts, and
    opened again just after — a viewer window refreshing.  SQLite closes a ``-wal``
    descriptor at once, so the ``fdatasync`` meets a closed descriptor (``EBADF``),
    whose number names the ``-wal`` again by the time the checks end: nothing was
    flushed early, the upgrade goes on, and the commit syncs as it always does."""
    path = db_at("0001_initial")
    _in_wal_mode(path)
    viewer = sqlite3.connect(path, check_same_thread=False)
    viewer.execute("SELECT count(*) FROM notebook").fetchone()  # opens the -wal
    wal = f"{path}-wal"
    errors: list[str] = []
    reopened: list[sqlite3.Connection] = []
    real = _flush.sync_data

    def close_the_viewer_first(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}") != wal:
            real(fd)
            return
        viewer.close()
        try:
            real(fd)
        except OSError as err:
            errors.append(os.strerror(err.errno or 0))
            # The viewer opens the document again at once: its -wal descriptor most
            # likely gets the same number, which then names the -wal again.
            reopened.append(sqlite3.connect(path, check_same_thread=False))
            reopened[-1].execute("SELECT count(*) FROM notebook").fetchone()
            raise

    monkeypatch.setattr(_flush, "sync_data", close_the_viewer_first)
    engine = _engine(path, 2)
    try:
        migrator.upgrade(engine)
    finally:
        engine.dispose()
        for conn in reopened:
            conn.close()
    assert errors == [os.strerror(errno.EBADF)]
    assert versions(path) == [HEAD]


def test_a_failed_write_back_rolls_the_change_back(scripts: Path) -> None:
    """The disk runs out under the file system while the migrated pages are written
    back during the checks, and recovers just before the commit (a thin volume that
    is grown, a USB stick's passing fault).  The failure must still reach SQLite's
    ``fsync`` at the commit, so the change is rolled back: committed, it would now
    succeed — on top of pages that never reached the disk, which the kernel no
    longer holds as dirty (an early ``fdatasync`` whose error was ignored did
    exactly that, and the file read back malformed)."""
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
        phases: list[Phase] = []

        def heal_before_the_commit(event: Progress) -> None:
            phases.append(event.phase)
            if event.phase is Phase.COMMIT and filler.exists():
                _wait_for_write_back()  # the writes already started have failed
                filler.unlink()

        with pytest.raises(DiskFull) as caught:
            Migrator(scripts).upgrade(path, backup=False, progress=heal_before_the_commit)
        filler.unlink(missing_ok=True)
        assert Phase.COMMIT not in phases  # refused when the checks ended
        assert isinstance(caught.value.__cause__, OSError), repr(caught.value.__cause__)
        assert caught.value.unchanged
        assert "was not changed" in str(caught.value)
        _drop_caches()  # read what the disk holds
        assert sha256(path) == before
        assert versions(path) == [HEAD]  # the reference head: 0007 did not commit
        assert not Path(f"{path}-journal").exists()
