"""Standard-library access to a user's SQLite file: checks, connections, version row.

Nothing here imports SQLAlchemy, Alembic, or even :mod:`pathlib`, so the "is this
file current?" question is answered cheaply, and every bad file is refused before
anything writes to it.  Paths are accepted as ``str`` or ``os.PathLike``.
"""

from __future__ import annotations

import os
import sqlite3
import stat

from ._exceptions import (
    DatabaseNotFound,
    FrozenAlembicError,
    NotADatabase,
    ReadOnlyDatabase,
)
from ._names import VERSION_TABLE as VERSION_TABLE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    PathArg = str | os.PathLike[str]

SQLITE_HEADER = b"SQLite format 3\x00"


def _path(path: PathArg) -> Path:
    """A :class:`~pathlib.Path` for an exception (only errors pay for pathlib)."""
    from pathlib import Path

    return Path(path)


def check_file(path: PathArg, *, write: bool, doing: str = "open") -> None:
    """Refuse a path that is missing, not a SQLite file, or (for writes) read-only.

    Permission bits are checked as well as :func:`os.access`, because ``root``
    may write a file that its owner marked read-only: a user who took away the
    write bits did not want the file changed.

    :param doing: what the caller is about to do, for messages ("upgrade", ...).
    :raises DatabaseNotFound: nothing at ``path``.
    :raises NotADatabase: a folder, an empty file, or a file of another format.
    :raises ReadOnlyDatabase: ``write`` and the file or its folder is read-only.
    :raises StorageError: the file system refused (no access, name too long, ...).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        msg = (
            f"No database at {os.fspath(path)}. Check the path; to make a new database "
            "at the newest revision, use Migrator.create()."
        )
        raise DatabaseNotFound(msg, _path(path)) from None
    except OSError as err:
        from ._errors import from_os_error  # only errors pay for the translations

        raise from_os_error(err, path, doing) from err
    if not stat.S_ISREG(st.st_mode):
        msg = f"{os.fspath(path)} is not a file, so it cannot be a SQLite database."
        raise NotADatabase(msg, _path(path))
    try:
        header = read_header(path, len(SQLITE_HEADER))
    except OSError as err:
        from ._errors import from_os_error  # only errors pay for the translations

        raise from_os_error(err, path, doing) from err
    if header != SQLITE_HEADER:
        what = "is empty (0 bytes)" if st.st_size == 0 else "is not a SQLite database"
        msg = f"{os.fspath(path)} {what}. Choose a database file made by this application."
        raise NotADatabase(msg, _path(path))
    if write:
        check_writable(path, st.st_mode)


def _is_writable(path: PathArg, mode: int) -> bool:
    write_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    return bool(mode & write_bits) and os.access(path, os.W_OK)


def _folder(path: PathArg) -> str:
    return os.path.dirname(os.path.abspath(path))


def _can_write(path: PathArg) -> bool:
    try:
        folder = _folder(path)
        return _is_writable(path, os.stat(path).st_mode) and _is_writable(
            folder, os.stat(folder).st_mode
        )
    except OSError:
        return False


def _read_only_disk(folder: str) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & getattr(os, "ST_RDONLY", 1))
    except (OSError, AttributeError):  # Windows has no statvfs
        return False


def writable_problem(path: PathArg, mode: int | None = None) -> FrozenAlembicError | None:
    """Why ``path`` cannot be changed in place, or ``None`` when it can.

    SQLite writes a journal next to the file, so the folder must be writable too,
    and the journal's name must fit the file system.
    """
    from ._filenames import name_too_long_message, too_long_for_sqlite

    where = _path(path)
    folder = _folder(path)
    if _read_only_disk(folder):
        msg = (
            f"{os.fspath(path)} is on a disk mounted read-only. Copy it to a writable "
            "disk (or remount that one read-write) before upgrading it."
        )
        return ReadOnlyDatabase(msg, where)
    too_long = too_long_for_sqlite(path, 4 if is_wal(path) else 8)
    if too_long is not None:
        import errno

        from ._exceptions import StorageError

        return StorageError(name_too_long_message(path, *too_long), where, errno.ENAMETOOLONG)
    if not _is_writable(path, os.stat(path).st_mode if mode is None else mode):
        msg = (
            f"{os.fspath(path)} is read-only. Make it writable (or copy it somewhere "
            "writable) before upgrading it."
        )
        return ReadOnlyDatabase(msg, where)
    if not _is_writable(folder, os.stat(folder).st_mode):
        msg = (
            f"The folder {folder} is read-only, and SQLite needs to write its journal "
            f"there to change {os.path.basename(path)}. Move the file to a writable folder."
        )
        return ReadOnlyDatabase(msg, where)
    return None


def check_writable(path: PathArg, mode: int) -> None:
    """Raise what :func:`writable_problem` finds."""
    problem = writable_problem(path, mode)
    if problem is not None:
        raise problem


def uri(path: PathArg, params: str) -> str:
    """A SQLite ``file:`` URI for ``path`` (``?``, ``#`` and ``%`` escaped).

    :param params: the query, e.g. ``"mode=ro"``.
    """
    absolute = os.path.abspath(path).replace("%", "%25").replace("?", "%3F").replace("#", "%23")
    if os.sep != "/":
        absolute = "/" + absolute.replace(os.sep, "/")
    return f"file:{absolute}?{params}"


def held_fd(path: str) -> int | None:
    """A descriptor this process already holds open on ``path`` (SQLite's), or ``None``.

    Linux only (``/proc/self/fd``); the descriptor is borrowed: never close it.  Only
    one open for reading counts (an ``O_PATH`` descriptor can be neither read nor
    synced).  It may be another connection's of this process, not the caller's.
    """
    try:
        wanted = _identity_of(path)
        names = os.listdir("/proc/self/fd")
    except OSError:
        return None
    for name in names:
        try:
            if identity(int(name)) == wanted and _reads(int(name)):
                return int(name)
        except (OSError, ValueError):
            continue
    return None


def _reads(fd: int) -> bool:
    """Whether ``fd`` was opened for reading (not ``O_PATH``, not write-only): one
    that cannot be read, synced or copied from is no use, whoever opened it."""
    with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as info:
        for line in info:
            if line.startswith("flags:"):
                flags = int(line.split()[1], 8)
                return not flags & os.O_PATH and flags & os.O_ACCMODE != os.O_WRONLY
    return False


def still_open_on(fd: int, path: str) -> bool:
    """Whether the borrowed descriptor ``fd`` still refers to the file at ``path``."""
    try:
        return identity(fd) == _identity_of(path)
    except OSError:
        return False


def _identity_of(path: str) -> tuple[int, int]:
    found = os.stat(path)
    return found.st_dev, found.st_ino


def identity(fd: int) -> tuple[int, int]:
    """The device and inode of the open descriptor ``fd``."""
    found = os.fstat(fd)
    return found.st_dev, found.st_ino


def read_header(path: PathArg, size: int) -> bytes:
    """The first ``size`` bytes of ``path``, without dropping anyone's lock on it.

    Closing *any* descriptor of a file drops every POSIX lock the process holds on
    it — the locks of this process's own SQLite connections to it (another window's
    document, a caller's engine) included.  So where the process already has the
    file open, the header is read through that descriptor (which is left open);
    only a file nobody here has open is opened and closed.

    :raises OSError: the file cannot be read.
    """
    fd = held_fd(os.fspath(path))
    if fd is not None:
        try:
            header = os.pread(fd, size, 0)
        except OSError:
            pass  # closed meanwhile by its owner: open the file after all
        else:
            if still_open_on(fd, os.fspath(path)):  # not closed and reused meanwhile
                return header
    with open(path, "rb") as fh:
        return fh.read(size)


def is_wal(path: PathArg) -> bool:
    """Whether the file's header says WAL mode (read and write versions 2)."""
    try:
        header = read_header(path, 20)
    except OSError:
        return False
    return header[18:20] == b"\x02\x02"


def _read_mode(path: PathArg) -> str:
    """The URI parameters for reading ``path`` without writing anything beside it.

    Where the file and folder may be written, the connection opens read-write (and
    ``query_only``), so that SQLite removes the ``-wal``/``-shm`` files of a WAL
    database on close.  Where they may not, a WAL file is opened ``immutable`` when
    it has no ``-wal`` (then no process can be writing it, and SQLite need not make
    a ``-shm`` beside it — which it would, as root, even in a read-only folder).
    """
    if _can_write(path):
        return "mode=rw"
    if is_wal(path) and not os.path.exists(f"{os.fspath(path)}-wal"):
        return "mode=ro&immutable=1"
    if is_wal(path) and not os.path.exists(f"{os.fspath(path)}-shm"):
        msg = (
            f"{os.fspath(path)} has unsaved changes in its -wal file, and SQLite would "
            "have to create a -shm file beside it to read them, where this program may "
            "not write. Open it once where its folder is writable, or copy it with its "
            "-wal file."
        )
        raise ReadOnlyDatabase(msg, _path(path))
    return "mode=ro"


def connect(
    path: PathArg, *, write: bool, timeout: float, doing: str = "open"
) -> sqlite3.Connection:
    """Open an existing file; never create one, nor anything beside it when reading.

    The connection is in autocommit mode (``isolation_level=None``): the caller
    issues ``BEGIN`` itself, so DDL and DML share one real transaction.  Prepared
    statements are not cached: a statement is authorised each time it runs (see
    :mod:`frozen_alembic._guard`).

    :raises FrozenAlembicError: the matching subclass when SQLite cannot open it.
    """
    mode = "mode=rw" if write else _read_mode(path)
    try:
        conn = sqlite3.connect(
            uri(path, mode),
            uri=True,
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=0,
        )
    except sqlite3.Error as err:
        raise translate(err, path, doing) from err
    try:
        if not write:
            conn.execute("PRAGMA query_only = 1")
        # Reading the schema is what detects a corrupt or foreign file.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as err:
        conn.close()
        raise translate(err, path, doing) from err
    return conn


def translate(err: sqlite3.Error, path: PathArg | None, doing: str = "open") -> FrozenAlembicError:
    """Turn a low-level SQLite error into the matching :mod:`frozen_alembic` error."""
    from ._errors import from_sqlite_error

    return from_sqlite_error(err, path, doing)


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def read_versions(conn: sqlite3.Connection, table: str = VERSION_TABLE) -> tuple[str, ...] | None:
    """The revisions in the version table, sorted, or ``None`` if there is no such table.

    :param table: the version table's name (``alembic_version`` unless the project
        chose another).
    """
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    if row is None:
        return None
    rows = conn.execute(f"SELECT version_num FROM {quote(table)}").fetchall()
    return tuple(sorted(str(r[0]) for r in rows))


def user_tables(conn: sqlite3.Connection, version_table: str = VERSION_TABLE) -> tuple[str, ...]:
    """Names of the tables that are neither SQLite's own nor Alembic's version table."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != ? ORDER BY name",
        (version_table,),
    ).fetchall()
    return tuple(str(r[0]) for r in rows)
