"""Connections and transactions: one real SQLite transaction around every change.

pysqlite lets DDL commit on its own, so a migration that fails half-way would leave
a half-changed file.  Here the DBAPI connection runs in autocommit mode and we issue
``BEGIN IMMEDIATE`` ourselves (the recipe SQLAlchemy documents for pysqlite): every
statement of a call, DDL included, commits together or not at all, and the write
lock is held from the first read of the version table to the commit.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from . import _sqlitefile
from ._exceptions import DatabaseError, MigrationFailed

TYPE_CHECKING = False

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator
    from typing import Any

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
    return Path(os.fspath(db)) if _is_path(db) else None  # type: ignore[arg-type]


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
                return Path(file) if file else None
    finally:
        cur.close()
    return None


@contextmanager
def open_session(db: DB, *, write: bool, timeout: float) -> Iterator[Session]:
    """Connect to ``db`` for one verb; close what we opened, nothing else.

    A path is checked with the standard library first (missing, not SQLite,
    read-only) and opened without the create flag, so no file is ever made by
    accident.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.pool import NullPool

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
    _sqlitefile.check_file(path, write=write)
    engine = create_engine(
        "sqlite://",
        creator=lambda: _sqlitefile.connect(path, write=write, timeout=timeout),
        poolclass=NullPool,
    )
    try:
        with engine.connect() as conn:
            yield Session(conn, path)
    finally:
        engine.dispose()


def _pragma(raw: sqlite3.Connection, sql: str) -> list[Any]:
    cur = raw.cursor()
    try:
        return cur.execute(sql).fetchall()
    finally:
        cur.close()


def _fk_violations(raw: sqlite3.Connection) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for table, _rowid, parent, _fkid in _pragma(raw, "PRAGMA foreign_key_check"):
        counts[(table, parent)] = counts.get((table, parent), 0) + 1
    return counts


def _check_before_commit(
    raw: sqlite3.Connection, before: dict[tuple[str, str], int], path: Path | None
) -> None:
    after = _fk_violations(raw)
    new = {key: n for key, n in after.items() if n > before.get(key, 0)}
    if new:
        listed = ", ".join(f"{t} -> {p} ({n} rows)" for (t, p), n in sorted(new.items()))
        msg = (
            f"The migration left rows whose foreign keys point nowhere: {listed}. "
            "Nothing was changed; fix the migration script so it keeps those rows consistent."
        )
        raise MigrationFailed(msg, None, path)
    result = [str(row[0]) for row in _pragma(raw, "PRAGMA quick_check")]
    if result != ["ok"]:
        msg = f"The migrated database failed SQLite's quick_check: {'; '.join(result[:5])}."
        raise MigrationFailed(msg, None, path)


@contextmanager
def write_transaction(session: Session) -> Iterator[None]:
    """Hold SQLite's write lock and one transaction for everything inside.

    Foreign keys are switched off first (SQLite ignores that pragma inside a
    transaction, and a table recreate would otherwise cascade-delete children),
    checked with ``foreign_key_check`` before the commit, and restored afterwards;
    ``quick_check`` runs before the commit too.  On any error everything rolls back.

    A connection the caller already has in a transaction is used as it is: the
    caller owns that transaction and its commit.
    """
    from sqlalchemy.exc import OperationalError

    conn = session.connection
    if conn.in_transaction():
        yield
        return
    raw = session.dbapi
    fk_was_on = bool(_pragma(raw, "PRAGMA foreign_keys")[0][0])
    saved_isolation = raw.isolation_level
    raw.isolation_level = None
    _pragma(raw, "PRAGMA foreign_keys=OFF")
    try:
        with conn.begin():
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            before = _fk_violations(raw)
            yield
            _check_before_commit(raw, before, session.path)
    except OperationalError as err:
        # BEGIN IMMEDIATE, or the COMMIT (which waits for readers in rollback-journal
        # mode), ran out of time: the lock is another program's, nothing was changed.
        translated = _sqlitefile.translate(err.orig, session.path)  # type: ignore[arg-type]
        if translated is err.orig:
            raise
        raise translated from err
    finally:
        if raw.in_transaction:  # a failed commit can leave SQLite's transaction open
            raw.rollback()
        if fk_was_on:
            _pragma(raw, "PRAGMA foreign_keys=ON")
        raw.isolation_level = saved_isolation
