"""Standard-library access to a user's SQLite file: checks, connections, version row.

Nothing here imports SQLAlchemy or Alembic, so the "is this file current?" question
can be answered cheaply, and every bad file is refused before anything writes to it.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from typing import TYPE_CHECKING

from ._exceptions import (
    DatabaseBusy,
    DatabaseNotFound,
    NotADatabase,
    ReadOnlyDatabase,
)

if TYPE_CHECKING:
    from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"
VERSION_TABLE = "alembic_version"


def check_file(path: Path, *, write: bool) -> None:
    """Refuse a path that is missing, not a SQLite file, or (for writes) read-only.

    Permission bits are checked as well as :func:`os.access`, because ``root``
    may write a file that its owner marked read-only: a user who took away the
    write bits did not want the file changed.

    :raises DatabaseNotFound: nothing at ``path``.
    :raises NotADatabase: a folder, an empty file, or a file of another format.
    :raises ReadOnlyDatabase: ``write`` and the file or its folder is read-only.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        msg = (
            f"No database at {path}. Check the path; to make a new database "
            "at the newest revision, use Migrator.create()."
        )
        raise DatabaseNotFound(msg, path) from None
    if not stat.S_ISREG(st.st_mode):
        msg = f"{path} is not a file, so it cannot be a SQLite database."
        raise NotADatabase(msg, path)
    with path.open("rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        what = "is empty (0 bytes)" if st.st_size == 0 else "is not a SQLite database"
        msg = f"{path} {what}. Choose a database file made by this application."
        raise NotADatabase(msg, path)
    if write:
        check_writable(path, st.st_mode)


def _is_writable(path: Path, mode: int) -> bool:
    write_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    return bool(mode & write_bits) and os.access(path, os.W_OK)


def _can_write(path: Path) -> bool:
    try:
        return _is_writable(path, path.stat().st_mode) and _is_writable(
            path.parent, path.parent.stat().st_mode
        )
    except OSError:
        return False


def check_writable(path: Path, mode: int) -> None:
    """Raise :class:`ReadOnlyDatabase` if ``path`` or its folder cannot be written.

    SQLite writes a journal next to the file, so the folder must be writable too.
    """
    if not _is_writable(path, mode):
        msg = (
            f"{path} is read-only. Make it writable (or copy it somewhere "
            "writable) before upgrading it."
        )
        raise ReadOnlyDatabase(msg, path)
    folder = path.parent
    if not _is_writable(folder, folder.stat().st_mode):
        msg = (
            f"The folder {folder} is read-only, and SQLite needs to write its "
            f"journal there to change {path.name}. Move the file to a writable folder."
        )
        raise ReadOnlyDatabase(msg, path)


def connect(path: Path, *, write: bool, timeout: float) -> sqlite3.Connection:
    """Open an existing file; never create one.

    The connection is in autocommit mode (``isolation_level=None``): the caller
    issues ``BEGIN`` itself, so DDL and DML share one real transaction.
    """
    # A reader opens read-write when it may, so that SQLite removes the -wal and
    # -shm files of a WAL database on close; ``query_only`` still forbids writes.
    mode = "rw" if write or _can_write(path) else "ro"
    uri = f"{path.absolute().as_uri()}?mode={mode}"
    try:
        conn = sqlite3.connect(
            uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
        )
    except sqlite3.OperationalError as err:
        msg = f"Cannot open {path}: {err}."
        raise DatabaseNotFound(msg, path) from err
    try:
        if not write:
            conn.execute("PRAGMA query_only = 1")
        # Reading the schema is what detects a corrupt or foreign file.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as err:
        conn.close()
        raise translate(err, path) from err
    return conn


def translate(err: sqlite3.Error, path: Path | None) -> Exception:
    """Turn a low-level SQLite error into the matching :mod:`frozen_alembic` error."""
    text = str(err).lower()
    where = path if path is not None else "the database"
    if "locked" in text or "busy" in text:
        msg = (
            f"{where} is in use by another program or window, which holds its "
            "lock. Close it there, or try again with a longer timeout."
        )
        return DatabaseBusy(msg, path)
    if "readonly" in text or "read-only" in text:
        msg = f"{where} cannot be written. Make it writable before upgrading it."
        return ReadOnlyDatabase(msg, path)
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        msg = f"{where} is not a SQLite database or is damaged ({err})."
        return NotADatabase(msg, path)
    return err


def read_versions(conn: sqlite3.Connection) -> tuple[str, ...] | None:
    """The revisions in the version table, or ``None`` if there is no such table."""
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
