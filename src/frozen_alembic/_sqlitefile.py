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
    DatabaseBusy,
    DatabaseNotFound,
    NotADatabase,
    ReadOnlyDatabase,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    PathArg = str | os.PathLike[str]

SQLITE_HEADER = b"SQLite format 3\x00"
VERSION_TABLE = "alembic_version"


def _path(path: PathArg) -> Path:
    """A :class:`~pathlib.Path` for an exception (only errors pay for pathlib)."""
    from pathlib import Path

    return Path(path)


def check_file(path: PathArg, *, write: bool) -> None:
    """Refuse a path that is missing, not a SQLite file, or (for writes) read-only.

    Permission bits are checked as well as :func:`os.access`, because ``root``
    may write a file that its owner marked read-only: a user who took away the
    write bits did not want the file changed.

    :raises DatabaseNotFound: nothing at ``path``.
    :raises NotADatabase: a folder, an empty file, or a file of another format.
    :raises ReadOnlyDatabase: ``write`` and the file or its folder is read-only.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        msg = (
            f"No database at {os.fspath(path)}. Check the path; to make a new database "
            "at the newest revision, use Migrator.create()."
        )
        raise DatabaseNotFound(msg, _path(path)) from None
    if not stat.S_ISREG(st.st_mode):
        msg = f"{os.fspath(path)} is not a file, so it cannot be a SQLite database."
        raise NotADatabase(msg, _path(path))
    with open(path, "rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
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


def check_writable(path: PathArg, mode: int) -> None:
    """Raise :class:`ReadOnlyDatabase` if ``path`` or its folder cannot be written.

    SQLite writes a journal next to the file, so the folder must be writable too.
    """
    if not _is_writable(path, mode):
        msg = (
            f"{os.fspath(path)} is read-only. Make it writable (or copy it somewhere "
            "writable) before upgrading it."
        )
        raise ReadOnlyDatabase(msg, _path(path))
    folder = _folder(path)
    if not _is_writable(folder, os.stat(folder).st_mode):
        msg = (
            f"The folder {folder} is read-only, and SQLite needs to write its journal "
            f"there to change {os.path.basename(path)}. Move the file to a writable folder."
        )
        raise ReadOnlyDatabase(msg, _path(path))


def uri(path: PathArg, mode: str) -> str:
    """A SQLite ``file:`` URI for ``path`` (``?``, ``#`` and ``%`` escaped)."""
    absolute = os.path.abspath(path).replace("%", "%25").replace("?", "%3F").replace("#", "%23")
    if os.sep != "/":
        absolute = "/" + absolute.replace(os.sep, "/")
    return f"file:{absolute}?mode={mode}"


def connect(path: PathArg, *, write: bool, timeout: float) -> sqlite3.Connection:
    """Open an existing file; never create one.

    The connection is in autocommit mode (``isolation_level=None``): the caller
    issues ``BEGIN`` itself, so DDL and DML share one real transaction.
    """
    # A reader opens read-write when it may, so that SQLite removes the -wal and
    # -shm files of a WAL database on close; ``query_only`` still forbids writes.
    mode = "rw" if write or _can_write(path) else "ro"
    try:
        conn = sqlite3.connect(
            uri(path, mode),
            uri=True,
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.OperationalError as err:
        msg = f"Cannot open {os.fspath(path)}: {err}."
        raise DatabaseNotFound(msg, _path(path)) from err
    try:
        if not write:
            conn.execute("PRAGMA query_only = 1")
        # Reading the schema is what detects a corrupt or foreign file.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as err:
        conn.close()
        raise translate(err, path) from err
    return conn


def translate(err: sqlite3.Error, path: PathArg | None) -> Exception:
    """Turn a low-level SQLite error into the matching :mod:`frozen_alembic` error."""
    text = str(err).lower()
    where = os.fspath(path) if path is not None else "the database"
    where_path = _path(path) if path is not None else None
    if "locked" in text or "busy" in text:
        msg = (
            f"{where} is in use by another program or window, which holds its "
            "lock. Close it there, or try again with a longer timeout."
        )
        return DatabaseBusy(msg, where_path)
    if "readonly" in text or "read-only" in text:
        msg = f"{where} cannot be written. Make it writable before upgrading it."
        return ReadOnlyDatabase(msg, where_path)
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        msg = f"{where} is not a SQLite database or is damaged ({err})."
        return NotADatabase(msg, where_path)
    return err


def read_versions(conn: sqlite3.Connection) -> tuple[str, ...] | None:
    """The revisions in the version table, sorted, or ``None`` if there is no such table."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (VERSION_TABLE,)
    ).fetchone()
    if row is None:
        return None
    rows = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
    return tuple(sorted(str(r[0]) for r in rows))


def user_tables(conn: sqlite3.Connection) -> tuple[str, ...]:
    """Names of the tables that are neither SQLite's own nor Alembic's version table."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != ? ORDER BY name",
        (VERSION_TABLE,),
    ).fetchall()
    return tuple(str(r[0]) for r in rows)
