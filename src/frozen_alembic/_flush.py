"""Start the commit's disk writes while the checks before it use the processor.

A large migration leaves most of its work in the operating system's cache: SQLite
spills pages into the database file (rollback journal) or the ``-wal`` file as its
page cache fills, and the kernel holds them there, dirty, until the commit's
``fsync`` writes them all to the disk at once.  Before that commit, ``quick_check``
reads every page: work for the processor, with the disk idle.

:func:`flush_ahead` makes the two overlap.  Around the checks, another thread calls
``fdatasync`` on the file the commit will sync, so the disk writes what is already
written while the checks run, and the commit's own ``fsync`` is left with the last
pages only.  Durability is unchanged: SQLite syncs its journal before it spills a
page into the database file, so a page on the disk early is exactly as safe as one
the kernel chose to write early; and the commit still syncs everything.

Only what the commit would sync anyway is flushed: the database file in the
rollback-journal modes and the ``-wal`` in WAL mode, each only when
``PRAGMA synchronous`` asks the commit to sync it (``NORMAL`` or more; for the
``-wal``, ``FULL`` or more).  The descriptor is borrowed
(:func:`frozen_alembic._sqlitefile.held_fd`: opening another would drop the
process's locks on the file when it was closed): SQLite's own, or another
connection's of this process — the cached pages belong to the file, so either
serves.  Where none can be found (not Linux), nothing is flushed early.

A failed write-back is an error of the change.  Linux reports it once per open file,
to the first ``fsync`` that asks: if the early call took it from SQLite's own
descriptor, the commit's ``fsync`` would not see it and would commit on top of pages
the disk lost.  So the error is raised when the checks end (as the commit's would
have been), and the change is rolled back instead — unless the descriptor was
another connection's, closed meanwhile (``EBADF``, or it names another file by
now): then nothing was flushed early, and nothing was taken from SQLite.

The thread is always waited for: nothing outlives the checks.  So a cancel during
the checks also waits until the disk has written what was handed to it — as long
as the commit would have waited, had it come instead.
"""

from __future__ import annotations

import contextlib
import errno
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


def sync_data(fd: int) -> None:
    """``fdatasync(fd)``: the one call this module makes on a borrowed descriptor."""
    os.fdatasync(fd)


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
            sync_data(self.fd)
        except OSError as err:
            self.error = err


@contextlib.contextmanager
def flush_ahead(raw: sqlite3.Connection, path: str | None) -> Iterator[None]:
    """Write what the coming commit will sync to the disk while the body runs.

    :param raw: the connection whose transaction will commit next.
    :param path: the database file (``None``: in memory, or nothing to overlap).
    :raises OSError: the disk failed to write some of it (and the body did not
        raise); the caller must then roll back instead of committing.
    """
    target = synced_by_commit(raw, path) if path is not None else None
    fd = _sqlitefile.held_fd(target) if target is not None else None
    if target is None or fd is None:
        yield
        return
    flusher = _Flusher(fd)
    try:
        yield
    finally:
        flusher.thread.join()  # SQLite's descriptors stay open until after this
    # EBADF: the descriptor was another connection's, closed meanwhile (its number
    # may even name the file again by now); the same once it names another file.
    # Neither took this file's write-back error: SQLite's own fsync still sees it.
    error = flusher.error
    if error is not None and error.errno != errno.EBADF and _sqlitefile.still_open_on(fd, target):
        raise error
