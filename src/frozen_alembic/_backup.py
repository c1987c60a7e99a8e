"""Backups of a user's file before it changes, and putting one back.

A backup is a consistent copy made with SQLite's online backup API (never a plain
file copy, which can be torn while another connection writes), fsynced, and named
so that a user can find it next to the file::

    My Notes.notes.2026-11-25T08-51-24.0003_pinned.bak
    <file name>   .<local time>         .<revision>  .bak
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
from pathlib import Path

from . import _sqlitefile
from ._exceptions import BackupFailed, DatabaseBusy, NotADatabase

_STAMP_FORMAT = "%Y-%m-%dT%H-%M-%S"
_PAGES_PER_STEP = 1024


class _Deadline(Exception):
    """Raised from the backup progress callback to stop a backup that waits too long."""


def _backup_pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"^{re.escape(name)}\.(\d{{4}}-\d\d-\d\dT\d\d-\d\d-\d\d(?:-\d+)?)\.(.+)\.bak$"
    )


def _existing(path: Path, folder: Path) -> list[tuple[tuple[str, int], Path]]:
    """The backups of ``path`` in ``folder`` with their sort keys, oldest first."""
    pattern = _backup_pattern(path.name)
    found = []
    for candidate in folder.iterdir() if folder.is_dir() else ():
        match = pattern.match(candidate.name)
        if match:
            found.append((_sort_key(match.group(1)), candidate))
    return sorted(found)


def backups_of(path: Path, folder: Path | None = None) -> list[Path]:
    """The backups of ``path`` in ``folder`` (default: beside it), oldest first.

    :param path: the database file whose backups are wanted.
    :param folder: where the backups are kept.
    """
    return [p for _key, p in _existing(path, folder if folder is not None else path.parent)]


def _sort_key(stamp: str) -> tuple[str, int]:
    # "2026-11-25T08-51-24" or, for a second backup in the same second, "...-24-2".
    return stamp[:19], int(stamp[20:] or 1)


def prune(path: Path, folder: Path | None, keep: int | None) -> list[Path]:
    """Delete all but the ``keep`` newest backups of ``path``.

    :return: the files that were deleted.
    """
    if keep is None:
        return []
    old = backups_of(path, folder)[: -keep or None] if keep > 0 else backups_of(path, folder)
    for stale in old:
        stale.unlink(missing_ok=True)
    return old


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_database(path: Path) -> None:
    """Remove a database file and the journal files SQLite may have left beside it."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _copy(source: Path, target: Path, timeout: float) -> None:
    """Copy ``source`` to a new file ``target`` through the backup API, with a deadline."""
    deadline = time.monotonic() + timeout

    def check_deadline(status: int, remaining: int, total: int) -> None:
        if time.monotonic() > deadline:
            raise _Deadline

    src = _sqlitefile.connect(source, write=False, timeout=timeout)
    try:
        dst = sqlite3.connect(target, isolation_level=None)
        try:
            src.backup(dst, pages=_PAGES_PER_STEP, progress=check_deadline, sleep=0.05)
        finally:
            dst.close()
    except _Deadline:
        _remove_database(target)
        msg = (
            f"Could not back up {source} within {timeout:g} s: another program keeps it "
            "locked. Close it there and try again."
        )
        raise DatabaseBusy(msg, source) from None
    except sqlite3.Error as err:
        _remove_database(target)
        msg = f"Could not back up {source} to {target}: {err}. Nothing was changed."
        raise BackupFailed(msg, source) from err
    finally:
        src.close()
    fsync(target)


def take(path: Path, folder: Path | None, label: str, *, timeout: float) -> Path:
    """Make a backup of ``path`` in ``folder`` (default: beside it) and return it.

    The copy is written under a ``.partial`` name, fsynced, then renamed, so a
    backup that exists is always complete.  Leftover partial copies of earlier
    interrupted runs are removed first.

    :param label: the revision the file is at, for the backup's name.
    :raises DatabaseBusy: another connection kept the file locked past ``timeout``.
    :raises BackupFailed: the copy could not be written (disk full, no permission).
    """
    folder = folder if folder is not None else path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        msg = f"Cannot make the backup folder {folder}: {err}. Nothing was changed."
        raise BackupFailed(msg, path) from err
    # ".partial" and SQLite's own files beside it ("-journal", "-wal", "-shm").
    for stale in folder.glob(f"{_glob_escape(path.name)}.*.bak.partial*"):
        stale.unlink(missing_ok=True)
    label = re.sub(r"[^\w+-]", "_", label) or "none"
    second = time.strftime(_STAMP_FORMAT)
    # Several backups within one second are numbered, so names sort by age.
    counter = 1 + max((n for (s, n), _p in _existing(path, folder) if s == second), default=0)
    stamp = second if counter == 1 else f"{second}-{counter}"
    final = folder / f"{path.name}.{stamp}.{label}.bak"
    partial = final.with_name(final.name + ".partial")
    _copy(path, partial, timeout)
    os.replace(partial, final)
    with contextlib.suppress(OSError):  # not every file system can fsync a folder
        fsync(folder)
    return final


def _glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def backup(
    db: str | os.PathLike[str],
    folder: str | os.PathLike[str] | None = None,
    *,
    timeout: float = 30.0,
) -> Path:
    """Make a consistent backup of a SQLite file now, named after its revision and time.

    :param db: the database file.
    :param folder: where to put the backup (default: beside the file).
    :param timeout: seconds to wait for another program's lock.
    :return: the backup file.
    :raises DatabaseNotFound: no file at ``db``.
    :raises NotADatabase: the file is not a SQLite database.
    :raises DatabaseBusy: the file stayed locked longer than ``timeout``.
    :raises BackupFailed: the backup could not be written.
    """
    path = Path(db)
    _sqlitefile.check_file(path, write=False)
    conn = _sqlitefile.connect(path, write=False, timeout=timeout)
    try:
        label = "+".join(_sqlitefile.read_versions(conn) or ()) or "unversioned"
    finally:
        conn.close()
    return take(path, Path(folder) if folder is not None else None, label, timeout=timeout)


def restore(
    backup_file: str | os.PathLike[str], db: str | os.PathLike[str], *, timeout: float = 30.0
) -> Path:
    """Put a backup back in place of ``db``, atomically.

    The backup is copied into ``db`` through SQLite's backup API, under SQLite's own
    locking and journal, so a crash half-way leaves ``db`` as it was.  A missing
    ``db`` is created (you asked for it); the backup itself is left untouched.

    :param backup_file: a backup made by :func:`backup` or by an upgrade.
    :param db: the database file to replace.
    :param timeout: seconds to wait for another program's lock on ``db``.
    :return: the restored database path.
    :raises DatabaseNotFound: the backup does not exist.
    :raises NotADatabase: the backup, or the existing ``db``, is not a SQLite database.
    :raises DatabaseBusy: ``db`` stayed locked longer than ``timeout``.
    """
    source = Path(backup_file)
    target = Path(db)
    _sqlitefile.check_file(source, write=False)
    if not target.exists():
        partial = target.with_name(f".{target.name}.restoring")
        partial.unlink(missing_ok=True)
        _copy(source, partial, timeout)
        try:
            os.link(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return target
    try:
        _sqlitefile.check_file(target, write=True)
    except NotADatabase as err:
        msg = f"{err} Move it aside, then restore the backup to {target}."
        raise NotADatabase(msg, target) from None
    deadline = time.monotonic() + timeout

    def check_deadline(status: int, remaining: int, total: int) -> None:
        if time.monotonic() > deadline:
            raise _Deadline

    src = _sqlitefile.connect(source, write=False, timeout=timeout)
    dst = _sqlitefile.connect(target, write=True, timeout=timeout)
    try:
        src.backup(dst, pages=-1, progress=check_deadline, sleep=0.05)
    except _Deadline:
        msg = f"{target} stayed locked for {timeout:g} s; close other programs using it."
        raise DatabaseBusy(msg, target) from None
    except sqlite3.Error as err:
        raise _sqlitefile.translate(err, target) from err
    finally:
        src.close()
        dst.close()
    return target
