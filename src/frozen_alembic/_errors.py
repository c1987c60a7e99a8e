"""Every low-level failure, turned into the library's exception tree.

A public call never lets an :class:`OSError`, a :mod:`sqlite3` error or a SQLAlchemy
error escape: :func:`translate` maps each to the :class:`FrozenAlembicError`
subclass that says what happened and what the user can do, and the public
functions chain the original as ``__cause__`` (see :func:`public`).

Standard library only (SQLAlchemy's errors are recognised by their ``orig``): the
start-up check uses this module on its error paths.
"""

from __future__ import annotations

import errno
import os
import sqlite3

from ._exceptions import (
    DatabaseBusy,
    DatabaseError,
    DatabaseNotFound,
    DiskFull,
    FrozenAlembicError,
    NotADatabase,
    ReadOnlyDatabase,
    StorageError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    PathArg = str | os.PathLike[str]

# SQLite's primary result codes (the low byte of an extended code).
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_INTERRUPT = 9
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_AUTH = 23
SQLITE_NOTADB = 26

_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}

# errno -> (what happened, what to do)
_OS_REASONS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("the disk is full", "Free some space on that disk, then try again."),
    errno.EFBIG: (
        "the file would grow past the size this system allows",
        "Free some space or raise the file size limit, then try again.",
    ),
    errno.EIO: (
        "the disk reported an input/output error",
        "Check the disk (a USB stick may have been removed), then try again.",
    ),
    errno.EROFS: (
        "the disk is mounted read-only",
        "Copy the file to a writable disk, or remount the disk read-write.",
    ),
    errno.EACCES: (
        "permission was denied",
        "Check that you may read and write the file and its folder.",
    ),
    errno.EPERM: (
        "the operation is not permitted there",
        "Check the permissions of the file and its folder.",
    ),
    errno.ENAMETOOLONG: (
        "the name is too long for this file system",
        "Use a shorter file name or a shorter folder path.",
    ),
    errno.ELOOP: (
        "symbolic links in the path point to each other in a loop",
        "Fix the symbolic link, or open the file by its real path.",
    ),
    errno.ENOTDIR: (
        "a part of the path is a file, not a folder",
        "Check the path.",
    ),
    errno.ENOENT: ("there is no such file or folder", "Check the path."),
    errno.EISDIR: ("it is a folder, not a file", "Choose the database file itself."),
}
if hasattr(errno, "EDQUOT"):
    _OS_REASONS[errno.EDQUOT] = (
        "your disk quota is used up",
        "Free some space in your quota, then try again.",
    )


def _show(path: PathArg | None) -> str:
    return os.fspath(path) if path is not None else "the database"


def _as_path(path: PathArg | None) -> Path | None:
    if path is None:
        return None
    from pathlib import Path

    return Path(path)


def from_os_error(err: OSError, path: PathArg | None, doing: str) -> FrozenAlembicError:
    """The library's error for an :class:`OSError` met while ``doing`` (e.g. "read").

    :param path: the user's database file the call is about.
    :param doing: a verb phrase for the message: ``"upgrade"``, ``"back up"``, ...
    """
    code = err.errno or 0
    about = err.filename if err.filename is not None else path
    what, advice = _OS_REASONS.get(code, (err.strerror or str(err), "Check the disk and the path."))
    msg = f"Cannot {doing} {_show(path)}: {what} ({_show(about)}). {advice}"
    where = _as_path(path)
    if code in _FULL_ERRNOS:
        return DiskFull(msg, where, code)
    if code == errno.EROFS:
        return ReadOnlyDatabase(msg, where)
    if code in (errno.ENOENT, errno.ENOTDIR):
        return DatabaseNotFound(msg, where)
    if code == errno.EISDIR:
        return NotADatabase(msg, where)
    return StorageError(msg, where, code or None)


def sqlite_code(err: sqlite3.Error) -> int | None:
    """The primary SQLite result code of ``err`` (Python 3.11+), else ``None``."""
    code = getattr(err, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _code_from_text(text: str) -> int | None:
    for needle, code in (
        ("interrupted", SQLITE_INTERRUPT),
        ("locked", SQLITE_BUSY),
        ("busy", SQLITE_BUSY),
        ("readonly", SQLITE_READONLY),
        ("read-only", SQLITE_READONLY),
        ("disk is full", SQLITE_FULL),
        ("disk i/o error", SQLITE_IOERR),
        ("unable to open", SQLITE_CANTOPEN),
        ("not a database", SQLITE_NOTADB),
        ("malformed", SQLITE_CORRUPT),
        ("corrupt", SQLITE_CORRUPT),
    ):
        if needle in text:
            return code
    return None


def from_sqlite_error(err: sqlite3.Error, path: PathArg | None, doing: str) -> FrozenAlembicError:
    """The library's error for a SQLite error met while ``doing``."""
    code = sqlite_code(err)
    if code is None or code == 1:  # SQLITE_ERROR, or a Python without error codes
        code = _code_from_text(str(err).lower())
    where = _show(path)
    as_path = _as_path(path)
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        msg = (
            f"{where} is in use by another program or window, which holds its lock. "
            "Close it there, or try again with a longer timeout."
        )
        return DatabaseBusy(msg, as_path)
    if code == SQLITE_READONLY:
        msg = f"{where} cannot be written ({err}). Make it writable before you {doing} it."
        return ReadOnlyDatabase(msg, as_path)
    if code in (SQLITE_NOTADB, SQLITE_CORRUPT):
        msg = f"{where} is not a SQLite database or is damaged ({err})."
        return NotADatabase(msg, as_path)
    if code == SQLITE_FULL:
        msg = f"Cannot {doing} {where}: the disk is full. Free some space on it, then try again."
        return DiskFull(msg, as_path, errno.ENOSPC)
    if code == SQLITE_IOERR:
        return diagnose_ioerr(err, path, doing)
    if code == SQLITE_CANTOPEN:
        return diagnose_cantopen(err, path, doing)
    msg = f"Cannot {doing} {where}: SQLite reported {err}."
    return DatabaseError(msg, as_path)


LOW_SPACE = 1 << 20
"""Free bytes below which an I/O error on a write is taken for a full disk."""


def _free_bytes(path: PathArg) -> int | None:
    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except (OSError, AttributeError):  # Windows has no statvfs
        return None
    return st.f_bavail * st.f_frsize


def _file_size_limit() -> int | None:
    try:
        import resource
    except ImportError:
        return None
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def diagnose_ioerr(err: sqlite3.Error, path: PathArg | None, doing: str) -> FrozenAlembicError:
    """Say *why* SQLite had an I/O error where the system can tell.

    SQLite reports a full disk as such only for some writes (growing its ``-shm``
    file, or hitting a file size limit, are "disk I/O errors"), so the free space and
    the process's file size limit are looked at.
    """
    where = _show(path)
    as_path = _as_path(path)
    free = _free_bytes(path) if path is not None else None
    if free is not None and free < LOW_SPACE:
        msg = (
            f"Cannot {doing} {where}: the disk is full ({free} bytes free; SQLite "
            f"reported {err}). Free some space on that disk, then try again."
        )
        return DiskFull(msg, as_path, errno.ENOSPC)
    limit = _file_size_limit()
    if limit is not None:
        msg = (
            f"Cannot {doing} {where}: a write failed ({err}), and this process may not "
            f"write files larger than {limit} bytes (ulimit -f). Raise that limit, then "
            "try again."
        )
        return DiskFull(msg, as_path, errno.EFBIG)
    msg = (
        f"Cannot {doing} {where}: the disk reported an input/output error ({err}). "
        "Check the disk (a USB stick may have been removed), then try again."
    )
    return StorageError(msg, as_path, errno.EIO)


# Errors after which SQLite may roll the whole transaction back by itself.
_SELF_ROLLBACK = {SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY, SQLITE_INTERRUPT, 7}  # 7: NOMEM
# Errors that come from the machine, not from a script's SQL.
_ENVIRONMENT = {
    SQLITE_PERM,
    SQLITE_BUSY,
    SQLITE_LOCKED,
    SQLITE_READONLY,
    SQLITE_IOERR,
    SQLITE_CORRUPT,
    SQLITE_FULL,
    SQLITE_CANTOPEN,
    SQLITE_NOTADB,
}


def _chain(err: BaseException) -> list[BaseException]:
    """``err``, its causes and contexts, and the DBAPI errors SQLAlchemy wraps."""
    found: list[BaseException] = []
    todo: list[BaseException] = [err]
    while todo:
        current = todo.pop(0)
        if any(current is f for f in found):
            continue
        found.append(current)
        for linked in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                todo.append(linked)
    return found


def _code(err: sqlite3.Error) -> int | None:
    code = sqlite_code(err)
    return _code_from_text(str(err).lower()) if code in (None, 1) else code


_DISK_ERRNOS = {*_FULL_ERRNOS, errno.EIO, errno.EROFS}


def environment_error_in(err: BaseException) -> BaseException | None:
    """The machine's failure (disk full, I/O error, ...) behind ``err``, if any.

    Only SQLite's own environment errors and the disk's errors count: a script's
    ``FileNotFoundError`` that it turned into another error is the script's business.
    """
    for candidate in _chain(err):
        if isinstance(candidate, OSError) and candidate.errno in _DISK_ERRNOS:
            return candidate
        if isinstance(candidate, sqlite3.Error) and _code(candidate) in _ENVIRONMENT:
            return candidate
    return None


def rolled_back_by_sqlite(err: BaseException) -> bool:
    """Whether ``err`` is of a kind after which SQLite rolls a transaction back itself."""
    return any(isinstance(c, sqlite3.Error) and _code(c) in _SELF_ROLLBACK for c in _chain(err))


def interrupted(err: BaseException) -> bool:
    """Whether ``err`` comes from a statement SQLite interrupted (a cancel)."""
    return any(isinstance(c, sqlite3.Error) and _code(c) == SQLITE_INTERRUPT for c in _chain(err))


def diagnose_cantopen(err: sqlite3.Error, path: PathArg | None, doing: str) -> FrozenAlembicError:
    """Say *why* SQLite could not open a file (it only says "unable to open")."""
    from ._filenames import name_too_long_message, too_long_for_sqlite

    where = _show(path)
    as_path = _as_path(path)
    if path is None:
        return StorageError(f"Cannot {doing} the database: {err}.", None)
    if not os.path.exists(path):
        msg = f"No database at {where}. Check the path."
        return DatabaseNotFound(msg, as_path)
    too_long = too_long_for_sqlite(path)
    if too_long is not None:
        msg = name_too_long_message(path, *too_long)
        return StorageError(msg, as_path, errno.ENAMETOOLONG)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.exists(f"{path}-wal") and not os.path.exists(f"{path}-shm"):
        msg = (
            f"Cannot {doing} {where}: it has unsaved changes in {os.path.basename(path)}-wal, "
            f"and SQLite cannot make the -shm file it needs to read them in {folder}. "
            "Open it once where the folder is writable, or copy the file with its -wal."
        )
        return ReadOnlyDatabase(msg, as_path)
    if not os.access(folder, os.W_OK):
        msg = f"Cannot {doing} {where}: its folder {folder} cannot be written."
        return ReadOnlyDatabase(msg, as_path)
    msg = f"Cannot {doing} {where}: SQLite could not open it ({err}). Check the disk and path."
    return StorageError(msg, as_path)


def translate(err: BaseException, path: PathArg | None, doing: str) -> FrozenAlembicError:
    """Any exception as a :class:`FrozenAlembicError` (ours are returned as they are).

    SQLAlchemy's wrappers are unwrapped through their ``orig``; an exception of no
    known kind becomes a plain :class:`FrozenAlembicError` whose message names it.
    """
    if isinstance(err, FrozenAlembicError):
        return err
    orig = getattr(err, "orig", None)
    if isinstance(orig, (sqlite3.Error, OSError)):
        err = orig
    if isinstance(err, OSError):
        return from_os_error(err, path, doing)
    if isinstance(err, sqlite3.Error):
        return from_sqlite_error(err, path, doing)
    found = full_disk_in(err)
    if found is not None:
        return translate(found, path, doing)
    msg = (
        f"Cannot {doing} {_show(path)}: unexpected {type(err).__name__}: {err}. "
        "The file was left as it was; please report this."
    )
    return FrozenAlembicError(msg)


def full_disk_in(err: BaseException) -> BaseException | None:
    """The disk-full error in ``err``'s chain of causes, if there is one."""
    for candidate in _chain(err):
        if isinstance(candidate, OSError) and candidate.errno in _FULL_ERRNOS:
            return candidate
        if isinstance(candidate, sqlite3.Error) and _code(candidate) == SQLITE_FULL:
            return candidate
    return None
