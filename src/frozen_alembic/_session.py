"""Connections: one SQLAlchemy connection per verb, to a path, an Engine or a Connection.

Paths are checked with the standard library and opened without SQLite's create
flag; what the caller passed in (an Engine's pool, a Connection) is used as it is
and left open.  The transaction around a change is :mod:`frozen_alembic._transaction`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from ._exceptions import DatabaseError

TYPE_CHECKING = False

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator
    from pathlib import Path

    from sqlalchemy.engine import Connection, Engine

    DB = str | os.PathLike[str] | Engine | Connection
    """What the verbs accept as a database: a file path, an Engine or a Connection."""


class Session:
    """A SQLAlchemy connection to one SQLite database, with what we know of it."""

    __slots__ = ("connection", "path")

    def __init__(self, connection: Connection, path: Path | None) -> None:
        self.connection = connection
        self.path = path

    @property
    def dbapi(self) -> sqlite3.Connection:
        """The underlying sqlite3 connection (same transaction as :attr:`connection`)."""
        raw = self.connection.connection.dbapi_connection
        assert raw is not None
        return raw  # type: ignore[return-value]


def _is_path(db: DB) -> bool:
    return isinstance(db, (str, os.PathLike))


def as_path(db: DB) -> Path | None:
    """The file path of ``db`` when it was given as a path, else ``None``."""
    if not _is_path(db):
        return None
    from pathlib import Path

    return Path(os.fspath(db))  # type: ignore[arg-type]


def _file_of(conn: Connection) -> Path | None:
    if conn.dialect.name != "sqlite":
        msg = (
            f"frozen-alembic migrates SQLite databases; this connection is "
            f"{conn.dialect.name}. Use Alembic's own commands for other databases."
        )
        raise DatabaseError(msg)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        for _seq, name, file in cur.execute("PRAGMA database_list").fetchall():
            if name == "main":
                from pathlib import Path

                return Path(file) if file else None
    finally:
        cur.close()
    return None


@contextmanager
def open_session(db: DB, *, write: bool, timeout: float, doing: str = "open") -> Iterator[Session]:
    """Connect to ``db`` for one verb; close what we opened, nothing else.

    A path is checked with the standard library first (missing, not SQLite,
    read-only) and opened without the create flag, so no file is ever made by
    accident.

    :param doing: the verb, for messages ("upgrade", ...).
    """
    from sqlalchemy import create_engine
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.pool import NullPool

    from . import _sqlitefile

    if isinstance(db, Connection):
        yield Session(db, _file_of(db))
        return
    if isinstance(db, Engine):
        with db.connect() as conn:
            yield Session(conn, _file_of(conn))
        return
    path = as_path(db)
    if path is None:
        msg = f"Expected a file path, an Engine or a Connection, not {type(db).__name__}."
        raise TypeError(msg)
    _sqlitefile.check_file(path, write=write, doing=doing)
    engine = create_engine(
        "sqlite://",
        creator=lambda: _sqlitefile.connect(path, write=write, timeout=timeout, doing=doing),
        poolclass=NullPool,
    )
    try:
        with engine.connect() as conn:
            yield Session(conn, path)
    finally:
        engine.dispose()
