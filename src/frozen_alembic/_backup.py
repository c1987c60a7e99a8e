"""Backups of a user's file before it changes, and putting one back.

A backup is a consistent copy, fsynced, and named so that a user can find it next to
the file.  Taken while the caller holds the write lock (an upgrade, or ``backup()``
when nobody is writing), when nothing can change the file's bytes, it is a clone or a
kernel-side copy of them (see :mod:`frozen_alembic._clone`); otherwise SQLite's online
backup API makes it (a plain copy could be torn while another connection writes)::

    My Notes.notes.2026-11-25T08-51-24Z.0003_pinned.bak
    <file name>   .<UTC time>           .<revision>  .bak

The time is UTC, so backups sort by age whatever the time zone or daylight saving
time of each run; several backups within one second are numbered (``...24Z-2``).
Names always fit the folder's limit: a long file name is shortened the same way
every time (see :mod:`frozen_alembic._filenames`).  Backups named in local time by
earlier versions (no ``Z``) are still recognised, and count as the oldest.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sqlite3
import sys
import time
from pathlib import Path

from . import _newfile, _sqlitefile
from ._errors import from_os_error, from_sqlite_error, full_disk_in
from ._exceptions import (
    BackupFailed,
    DatabaseBusy,
    DatabaseError,
    DiskFull,
    FrozenAlembicError,
    NotADatabase,
    ReadOnlyDatabase,
    StorageError,
)
from ._filenames import (
    name_fits,
    name_max,
    name_too_long_message,
    short_label,
    short_part,
    too_long_for_sqlite,
)
from ._transaction import Deadline

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_STAMP_FORMAT = "%Y-%m-%dT%H-%M-%SZ"
_PAGES_PER_STEP = 1024


class _Deadline(Exception):
    """Raised from the backup progress callback to stop a backup that waits too long."""


def _backup_pattern(part: str) -> re.Pattern[str]:
    return re.compile(
        rf"^{re.escape(part)}\.(\d{{4}}-\d\d-\d\dT\d\d-\d\d-\d\d)(Z?)(?:-(\d+))?\.(.+)\.bak$"
    )


def _existing(path: Path, folder: Path) -> list[tuple[tuple[int, str, int], Path]]:
    """The backups of ``path`` in ``folder`` with their sort keys, oldest first."""
    pattern = _backup_pattern(short_part(path.name, folder))
    found = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        match = pattern.match(name)
        if match:
            stamp, utc, counter, _label = match.groups()
            # Legacy local-time names first: their order against UTC names is unknown.
            key = (1 if utc else 0, stamp, int(counter or 1))
            found.append((key, folder / name))
    return sorted(found)


def backups_of(path: Path, folder: Path | None = None) -> list[Path]:
    """The backups of ``path`` in ``folder`` (default: beside it), oldest first.

    :param path: the database file whose backups are wanted.
    :param folder: where the backups are kept.
    """
    return [p for _key, p in _existing(path, folder if folder is not None else path.parent)]


def prune(
    path: Path, folder: Path | None, keep: int | None, *, spare: Path | None = None
) -> list[Path]:
    """Delete all but the ``keep`` newest backups of ``path``; never ``spare``.

    :param spare: the backup just made, which is kept whatever the clock says.
    :return: the files that were deleted.
    """
    if keep is None:
        return []
    found = [p for p in backups_of(path, folder) if p != spare]
    keep_others = max(keep - (1 if spare is not None else 0), 0)
    old = found[: len(found) - keep_others] if keep_others else found
    removed = []
    for stale in old:
        try:
            stale.unlink()
            removed.append(stale)
        except FileNotFoundError:
            pass
        except OSError:
            pass  # pruning is housekeeping: never fail a finished change over it
    return removed


def fsync(path: Path) -> None:
    """Flush a file's data to the disk."""
    _newfile.fsync(path)


def _remove_database(path: Path) -> None:
    """Remove a database file and the journal files SQLite may have left beside it."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.unlink(f"{path}{suffix}")


def _step_until(
    deadline: Deadline,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], None] | None = None,
) -> Callable[[int, int, int], None]:
    """The backup API's callback: a deadline, progress (pages copied, pages), a cancel."""

    def step(status: int, remaining: int, total: int) -> None:
        if cancel is not None:
            cancel()  # raises to stop the copy
        if deadline.remaining() <= 0:
            raise _Deadline
        if progress is not None:
            progress(total - remaining, total)

    return step


def _copy(
    source: Path,
    target: Path,
    deadline: Deadline,
    doing: str = "back up",
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], None] | None = None,
    stable: bool = False,
) -> str:
    """Copy the database ``source`` to a new file ``target``, durably.

    With ``stable`` (the caller holds the file's write lock and has written nothing,
    so its bytes and its ``-wal`` cannot change), the copy is a clone where the file
    system can make one, else a kernel-side copy (see :mod:`frozen_alembic._clone`);
    otherwise, or when neither is possible, SQLite's backup API.  Whatever the route,
    the copy is a self-contained rollback-journal database even when ``source`` is
    in WAL mode: opening it later (to restore it, or by a user) creates nothing
    beside it.

    :param doing: ``"back up"`` or ``"restore"``, for messages.
    :param progress: called with (done, total) as the copy goes.
    :param cancel: called between steps; what it raises stops the copy (and is raised).
    :param stable: the caller holds the write lock on ``source`` and wrote nothing yet.
    :return: the route taken: ``"clone"``, ``"copy"`` or ``"sqlite"``.
    :raises DatabaseBusy: the source stayed locked until the deadline.
    :raises DiskFull: no space for the copy.
    :raises BackupFailed: any other failure.  ``target`` is removed on failure.
    """
    try:
        route = _copy_bytes(source, target, progress, cancel) if stable else None
        if route is None:
            _copy_pages(source, target, deadline, doing, progress, cancel)
            route = "sqlite"
        # The one data fsync: the copy must be on the disk before the change it guards
        # commits, or a power cut could leave the changed file and no whole backup.
        # (For a clone it writes no data, only the new file's extent map.)
        fsync(target)
    except _Deadline:
        _remove_database(target)
        msg = (
            f"Could not {doing} {source} within {deadline.timeout:g} s: another program "
            "keeps it locked. Close it there and try again. Nothing was changed."
        )
        raise DatabaseBusy(msg, source) from None
    except (sqlite3.Error, OSError) as err:
        # Judged before the partial copy is removed: SQLite reports some full-disk
        # writes as I/O errors, and the free space is what tells them apart.
        failure = _copy_error(err, source, target, doing)
        _remove_database(target)
        raise failure from err
    except BaseException:  # a cancel, or the caller's progress callback: no partial copy
        _remove_database(target)
        raise
    return route


def _copy_bytes(
    source: Path,
    target: Path,
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], None] | None,
) -> str | None:
    """Clone or kernel-copy ``source`` (and its ``-wal``) to ``target``, self-contained.

    Only for a file whose write lock the caller holds.  In WAL mode another
    connection may still checkpoint (copy committed pages from the ``-wal`` into the
    file) meanwhile; every such page is also in the ``-wal``, which cannot change, so
    the copy of both replays to exactly the committed database.

    :return: the route taken, or ``None`` when neither clone nor copy is possible
        here (or the test switch :data:`frozen_alembic._clone.ROUTE_VARIABLE` says
        ``sqlite``); nothing is left at ``target`` then.
    """
    import shutil

    from . import _clone

    forced = _clone.forced_route()
    wal = Path(f"{source}-wal")
    copy_wal = os.path.exists(wal)
    # SQLite's own descriptor: opening and closing another one would drop its locks.
    fd = _sqlitefile.held_fd(str(source))
    # Without it: macOS's clonefile() takes paths, and a Windows lock belongs to its
    # handle (opening and closing another drops nothing).
    can_clone = fd is not None or sys.platform in ("darwin", "win32")

    def step(done: int, total: int) -> None:
        if cancel is not None:
            cancel()
        if progress is not None:
            progress(done, total)

    if (
        forced in (None, _clone.CLONE)
        and can_clone
        and _clone.clone(str(source), str(target), source_fd=fd)
    ):
        route, same_way = _clone.CLONE, _clone.clone
        step(1, 1)
    elif (
        forced in (None, _clone.COPY)
        and fd is not None
        and _clone.kernel_copy(str(source), str(target), step, source_fd=fd)
    ):
        route, same_way = _clone.COPY, _clone.kernel_copy
    else:
        return None
    # The -wal the same way (SQLite locks no byte of it: it may be opened and closed).
    if copy_wal and not same_way(str(wal), f"{target}-wal"):
        shutil.copyfile(wal, f"{target}-wal")
    if fd is not None and not _sqlitefile.still_open_on(fd, str(source)):
        _remove_database(target)  # its owner closed the descriptor meanwhile: start over
        return None
    if copy_wal or _sqlitefile.is_wal(target):
        _leave_wal_mode(target)
    return route


def _leave_wal_mode(path: Path) -> None:
    """Fold a copied ``-wal`` into ``path`` and make it a rollback-journal database."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # No fsync here: the caller fsyncs the finished copy once.
        conn.execute("PRAGMA synchronous = OFF")
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    finally:
        conn.close()
    if str(mode).lower() != "delete":
        raise sqlite3.OperationalError(f"the copy stayed in {mode} mode")


def _copy_pages(
    source: Path,
    target: Path,
    deadline: Deadline,
    doing: str,
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], None] | None,
) -> None:
    """Copy ``source`` to ``target`` through SQLite's backup API, with a deadline."""
    src = _sqlitefile.connect(source, write=False, timeout=deadline.remaining(), doing=doing)
    try:
        dst = sqlite3.connect(target, isolation_level=None)
        try:
            # No fsync of its own (the caller fsyncs the finished copy once): a crash
            # meanwhile leaves a ``.partial`` file, which is never used.
            dst.execute("PRAGMA synchronous = OFF")
            step = _step_until(deadline, progress, cancel)
            src.backup(dst, pages=_PAGES_PER_STEP, progress=step, sleep=0.05)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def _copy_error(err: BaseException, source: Path, target: Path, doing: str) -> FrozenAlembicError:
    """The error for a failed copy: ``DiskFull`` when it is that, else by what failed."""
    about = source if doing == "back up" else target
    if isinstance(err, OSError):
        translated = from_os_error(err, about, doing)
    else:
        # Judged at the target: that is where the space or the permission was missing.
        translated = from_sqlite_error(err, target, doing)  # type: ignore[arg-type]
    if full_disk_in(err) is not None or isinstance(translated, DiskFull):
        if doing == "back up":
            into, where = target.parent, "there (or choose another backup folder)"
        else:
            into, where = target, "there"
        msg = (
            f"Cannot {doing} {source} to {into}: the disk is full. Free some "
            f"space {where}, then try again. Nothing was changed."
        )
        return DiskFull(msg, about, errno.ENOSPC)
    if doing == "back up":
        msg = f"Could not back up {source} to {target}: {err}. Nothing was changed."
        return BackupFailed(msg, source)
    if isinstance(translated, DatabaseError):
        translated.path = target
    return translated


def _check_intact(source: Path, deadline: Deadline) -> None:
    """Refuse to restore from a backup that SQLite finds damaged."""
    conn = _sqlitefile.connect(source, write=False, timeout=deadline.remaining(), doing="restore")
    try:
        result = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.Error as err:
        result = [str(err)]
    finally:
        conn.close()
    if result != ["ok"]:
        msg = (
            f"The backup {source} is damaged ({'; '.join(result[:3])}), so it was not "
            "restored; nothing was changed. Choose another backup."
        )
        raise NotADatabase(msg, source)


def _clear_partials(part: str, folder: Path) -> None:
    """Remove the partial backups (and their SQLite files) of earlier, killed runs."""
    prefix = f"{part}."
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and re.search(r"\.bak\.partial(-journal|-wal|-shm)?$", name):
            with contextlib.suppress(OSError):
                os.unlink(folder / name)


def next_name(path: Path, folder: Path, label: str) -> Path:
    """The name a backup of ``path`` at revision ``label`` taken now would get."""
    part = short_part(path.name, folder)
    label = short_label(re.sub(r"[^\w+-]", "_", label) or "none")
    second = time.strftime(_STAMP_FORMAT, time.gmtime())
    # Several backups within one second are numbered, so names sort by age.
    taken = [key[2] for key, _p in _existing(path, folder) if key[:2] == (1, second[:-1])]
    counter = 1 + max(taken, default=0)
    stamp = second if counter == 1 else f"{second}-{counter}"
    return folder / f"{part}.{stamp}.{label}.bak"


def take(
    path: Path,
    folder: Path | None,
    label: str,
    *,
    deadline: Deadline,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], None] | None = None,
    locked: bool = False,
) -> Path:
    """Make a backup of ``path`` in ``folder`` (default: beside it) and return it.

    The copy is written under a ``.partial`` name, fsynced, then renamed, so a
    backup that exists is always complete.  Leftover partial copies of earlier
    interrupted runs are removed first.

    :param label: the revision the file is at, for the backup's name.
    :param progress: called with (done, total) as the copy goes.
    :param cancel: called between steps of the copy; what it raises stops it.
    :param locked: the caller holds the file's write lock and wrote nothing yet: the
        backup may then be a clone or a plain copy of the file (see :func:`_copy`).
    :raises DatabaseBusy: another connection kept the file locked past the deadline.
    :raises DiskFull: no space for the backup.
    :raises BackupFailed: the copy could not be written (no permission, ...).
    """
    folder = folder if folder is not None else path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        msg = f"Cannot make the backup folder {folder}: {err}. Nothing was changed."
        raise BackupFailed(msg, path) from err
    if _sqlitefile._read_only_disk(str(folder)) or not os.access(folder, os.W_OK):
        msg = (
            f"Cannot back up {path}: the backup folder {folder} cannot be written (it is "
            "read-only, or on a disk mounted read-only). Choose another backup folder. "
            "Nothing was changed."
        )
        raise ReadOnlyDatabase(msg, path)
    _clear_partials(short_part(path.name, folder), folder)
    final = next_name(path, folder, label)
    partial = final.with_name(final.name + ".partial")
    started = time.perf_counter()
    route = _copy(path, partial, deadline, progress=progress, cancel=cancel, stable=locked)
    try:
        os.replace(partial, final)
    except OSError as err:
        _remove_database(partial)
        raise _copy_error(err, path, final, "back up") from err
    _newfile.fsync_folder(folder)  # the new name survives a power cut
    import logging  # not before: create() and the start-up check never log

    logging.getLogger(__name__).debug(
        "backup of %s by %s in %.1f ms", path, route, 1000 * (time.perf_counter() - started)
    )
    return final


def _lock_now(conn: sqlite3.Connection) -> bool:
    """Take the write lock if nobody holds it (without waiting).

    Held, it keeps the file's bytes still, so the backup can be a clone or a plain
    copy; when another connection is writing, the backup API reads the last committed
    state instead (at once in WAL mode; after that writer's commit otherwise).
    """
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return False
    return True


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
    :raises DiskFull: no space for the backup.
    :raises BackupFailed: the backup could not be written.
    """
    from ._errors import translate

    path = Path(db)
    deadline = Deadline(timeout)
    try:
        _sqlitefile.check_file(path, write=False, doing="back up")
        where = Path(folder) if folder is not None else None
        writable = _sqlitefile.writable_problem(path) is None
        conn = _sqlitefile.connect(path, write=writable, timeout=timeout, doing="back up")
        try:
            locked = writable and _lock_now(conn)
            label = "+".join(_sqlitefile.read_versions(conn) or ()) or "unversioned"
            return take(path, where, label, deadline=deadline, locked=locked)
        finally:
            conn.close()
    except FrozenAlembicError:
        raise
    except Exception as err:
        raise translate(err, path, "back up") from err


def restore_into(raw: sqlite3.Connection, source: Path, target: Path, deadline: Deadline) -> None:
    """Copy the backup ``source`` into the open connection ``raw`` (to ``target``).

    SQLite's backup API writes the pages under the destination's own lock and
    journal, so a crash half-way leaves the file as it was before the restore.

    :raises DatabaseBusy: the file stayed locked until the deadline.
    """
    src = _sqlitefile.connect(source, write=False, timeout=deadline.remaining(), doing="restore")
    try:
        src.backup(raw, pages=-1, progress=_step_until(deadline), sleep=0.05)
    except _Deadline:
        msg = f"{target} stayed locked for {deadline.timeout:g} s; close other programs using it."
        raise DatabaseBusy(msg, target) from None
    except sqlite3.Error as err:
        raise from_sqlite_error(err, target, "restore") from err
    finally:
        src.close()


def restore(
    backup_file: str | os.PathLike[str], db: str | os.PathLike[str], *, timeout: float = 30.0
) -> Path:
    """Put a backup back in place of ``db``, atomically.

    The backup is copied into ``db`` through SQLite's backup API, under SQLite's own
    locking and journal, so a crash half-way leaves ``db`` as it was.  A missing
    ``db`` is created (you asked for it) under a temporary name and appears only
    when complete; the backup itself is left untouched.

    :param backup_file: a backup made by :func:`backup` or by an upgrade.
    :param db: the database file to replace.
    :param timeout: seconds to wait for another program's lock on ``db``.
    :return: the restored database path.
    :raises DatabaseNotFound: the backup does not exist.
    :raises NotADatabase: the backup, or the existing ``db``, is not a SQLite database.
    :raises DatabaseExists: ``db`` is a symbolic link to nowhere.
    :raises DatabaseBusy: ``db`` stayed locked longer than ``timeout``.
    """
    from ._errors import translate

    source = Path(backup_file)
    target = Path(db)
    deadline = Deadline(timeout)
    try:
        _sqlitefile.check_file(source, write=False, doing="restore")
        _check_intact(source, deadline)
        if not os.path.lexists(target):
            _restore_new(source, target, deadline)
            return target
        if not target.exists():
            from ._exceptions import DatabaseExists

            msg = (
                f"{target} is a symbolic link to {os.readlink(target)}, which does not "
                "exist. Restore to the link's target instead, or remove the link."
            )
            raise DatabaseExists(msg, target)
        try:
            _sqlitefile.check_file(target, write=True, doing="restore")
        except NotADatabase as err:
            msg = f"{err} Move it aside, then restore the backup to {target}."
            raise NotADatabase(msg, target) from None
        dst = _sqlitefile.connect(target, write=True, timeout=timeout, doing="restore")
        try:
            restore_into(dst, source, target, deadline)
        finally:
            dst.close()
        return target
    except FrozenAlembicError:
        raise
    except Exception as err:
        raise translate(err, target, "restore") from err


def _restore_new(source: Path, target: Path, deadline: Deadline) -> None:
    """Restore ``source`` to ``target``, which does not exist yet: whole, or not at all."""
    from ._exceptions import DatabaseExists

    too_long = too_long_for_sqlite(target)
    if too_long is not None or not name_fits(target):
        length, limit = too_long or (len(os.fsencode(target.name)), name_max(target.parent) - 8)
        raise StorageError(name_too_long_message(target, length, limit), target, errno.ENAMETOOLONG)
    _newfile.remove_leftovers(target.parent)
    with _newfile.TempFile(target, "restoring") as tmp:
        try:
            _copy(source, Path(tmp.path), deadline, doing="restore")
        except FrozenAlembicError as err:
            raise _newfile.about_new_file(err, tmp.path, target) from err.__cause__
        try:
            _newfile.publish(tmp.path, target)
        except FileExistsError:
            msg = f"{target} appeared while the backup was being restored; it was left as it is."
            raise DatabaseExists(msg, target) from None
