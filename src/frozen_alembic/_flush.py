"""Start the commit's disk writes while the checks before it use the processor.

A large migration leaves most of its work in the operating system's cache: SQLite
spills pages into the database file (rollback journal) or the ``-wal`` file as its
page cache fills, and the kernel holds them there, dirty, until the commit's
``fsync`` writes them all to the disk at once.  Before that commit, ``quick_check``
reads every page: work for the processor, with the disk idle.

:func:`flush_ahead` makes the two overlap.  Around the checks, another thread calls
``fdatasync`` on the file the commit will sync, so the disk writes what is already
written while the checks run, and the commit's own ``fsync`` is left with the last
pages only.  Nothing about durability changes: SQLite syncs its journal before it
spills a page into the database file, so a page on the disk early is exactly as
safe as one the kernel chose to write early; and the commit still syncs everything.

Only what the commit would sync anyway is flushed: the database file in the
rollback-journal modes and the ``-wal`` in WAL mode, each only when
``PRAGMA synchronous`` asks the commit to sync it (``NORMAL`` or more; for the
``-wal``, ``FULL`` or more).  The descriptor is SQLite's own, borrowed (see
:func:`frozen_alembic._sqlitefile.held_fd`): opening another would drop the
process's locks on the file when it was closed.  Where it cannot be found
(not Linux), nothing is flushed early.

An error of that early ``fdatasync`` is an error of the change.  Linux reports a
failed write-back once per open file, so if the early call saw it on SQLite's
descriptor, the commit's ``fsync`` would not: the error is raised when the checks
end, and the change is rolled back instead of committed.
"""

from __future__ import annotations

import contextlib
import os

from . import _sqlitefile

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator

# PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
_SYNC_DB = 1  # rollback journal: from NORMAL on, the commit syncs the database file
_SYNC_WAL = 2  # WAL: only from FULL on does the commit sync the -wal


def synced_by_commit(raw: sqlite3.Connection, path: str) -> str | None:
    """The file whose ``fsync`` the commit of ``raw``'s transaction on ``path`` waits
    for: the database file, its ``-wal``, or ``None`` (nothing is synced)."""
    mode = str(raw.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    level = int(raw.execute("PRAGMA synchronous").fetchone()[0])
    if mode == "wal":
        return f"{path}-wal" if level >= _SYNC_WAL else None
    return path if level >= _SYNC_DB else None


class _Flusher:
    """``fdatasync`` of one borrowed descriptor, on a thread of its own."""

    def __init__(self, fd: int) -> None:
        import threading

        self.fd = fd
        self.error: OSError | None = None
        self.thread = threading.Thread(target=self._run, name="frozen-alembic-flush", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            os.fdatasync(self.fd)
        except OSError as err:
            self.error = err


@contextlib.contextmanager
def flush_ahead(raw: sqlite3.Connection, path: str | None) -> Iterator[None]:
    """Write what the coming commit will sync to the disk while the body runs.

    :param raw: the connection whose transaction will commit next.
    :param path: the database file (``None``: in memory, nothing to flush).
    :raises OSError: the early ``fdatasync`` failed (and the body did not raise);
        the caller must then roll back instead of committing.
    """
    target = synced_by_commit(raw, path) if path is not None else None
    fd = _sqlitefile.held_fd(target) if target is not None else None
    if fd is None:
        yield
        return
    flusher = _Flusher(fd)
    try:
        yield
    finally:
        # The descriptor is SQLite's: it stays open while the transaction does,
        # and the transaction does not end before this join.
        flusher.thread.join()
    if flusher.error is not None:
        raise flusher.error
