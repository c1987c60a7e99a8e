"""Opening a document read-only — one from a newer release, say — writing nothing at all.

SQLite's ``mode=ro`` is not enough: on a WAL document it creates ``-wal`` and
``-shm`` files beside it and, being read-only, cannot remove them on close.  So:

* a rollback-journal document is opened ``mode=ro`` (reading writes nothing);
* a WAL document without a ``-wal`` file is opened ``immutable``: no program has it
  open for writing (a WAL writer keeps its ``-wal`` while it works), and SQLite then
  needs no ``-shm`` either;
* a WAL document whose ``-wal`` and ``-shm`` exist — a program is using it — is opened
  ``mode=ro``, sharing them and creating nothing;
* a ``-wal`` without its ``-shm`` cannot be read without creating one: refused.

Every connection is also ``query_only``.  Standard library only.
"""

from __future__ import annotations

import os
import sqlite3

from . import _sqlitefile
from ._exceptions import FrozenAlembicError, ReadOnlyDatabase

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    PathArg = str | os.PathLike[str]


def _params(path: PathArg) -> str:
    if not _sqlitefile.is_wal(path):
        return "mode=ro"
    if not os.path.exists(f"{os.fspath(path)}-wal"):
        return "mode=ro&immutable=1"
    if os.path.exists(f"{os.fspath(path)}-shm"):
        return "mode=ro"
    msg = (
        f"{os.fspath(path)} has unsaved changes in its -wal file but no -shm file, and "
        "SQLite would have to create one to read them. Open it once with the program "
        "that wrote it, or copy it together with its -wal file."
    )
    raise ReadOnlyDatabase(msg, _sqlitefile._path(path))


def open_read_only(db: PathArg, *, timeout: float = 30.0) -> sqlite3.Connection:
    """A :mod:`sqlite3` connection that reads ``db`` and writes nothing, nor beside it.

    For a document this release cannot upgrade (:class:`DatabaseTooNew`) or must not
    change.  Writes through the connection fail (``query_only``).

    :param db: the database file.
    :param timeout: seconds to wait for another program's lock while reading.
    :return: an open connection; close it when done.
    :raises DatabaseNotFound: no file at ``db``.
    :raises NotADatabase: the file is not a SQLite database.
    :raises ReadOnlyDatabase: a WAL file that cannot be read without writing.
    """
    try:
        _sqlitefile.check_file(db, write=False, doing="open")
        uri = _sqlitefile.uri(db, _params(db))
        conn = sqlite3.connect(
            uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA query_only = 1")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            conn.close()
            raise
    except FrozenAlembicError:
        raise
    except Exception as err:
        from ._errors import translate

        raise translate(err, db, "open") from err
    return conn


def read_only_engine(db: PathArg, *, timeout: float = 30.0) -> Engine:
    """A SQLAlchemy ``Engine`` whose connections are :func:`open_read_only`'s.

    :param db: the database file.
    :param timeout: seconds to wait for another program's lock while reading.
    :return: an engine (``dispose()`` it when done); every connection reads only.
    :raises DatabaseNotFound: no file at ``db`` (checked now, not at first connect).
    """
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    open_read_only(db, timeout=timeout).close()  # the errors now, not at first use
    return create_engine(
        "sqlite://",
        creator=lambda: open_read_only(db, timeout=timeout),
        poolclass=NullPool,
    )
