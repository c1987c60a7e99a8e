"""One real SQLite transaction around every change, and the checks before its commit.

pysqlite lets DDL commit on its own, so a migration that fails half-way would leave
a half-changed file.  Here the DBAPI connection runs in autocommit mode and we issue
``BEGIN IMMEDIATE`` ourselves (the recipe SQLAlchemy documents for pysqlite): every
statement of a call, DDL included, commits together or not at all, and the write
lock is held from the first read of the version table to the commit.

Foreign keys are switched off before the transaction (SQLite ignores that pragma
inside one, and a table rebuild would otherwise cascade-delete children), checked
with ``foreign_key_check`` before the commit, and switched back on afterwards;
``quick_check`` runs before the commit too, while the disk already writes what the
commit will sync (:mod:`frozen_alembic._flush`).

A caller's ``Connection`` that is already inside a transaction keeps it: the change
runs in a savepoint of it, so a failure undoes only the change, and the caller
commits.  With foreign keys on, such a connection cannot be changed safely, and
:meth:`Transaction.refuse_if_unsafe` says how to call instead.

Waits are bounded by one :class:`Deadline` for the whole call: SQLite's busy timeout
is set to what is left of it before each step that may wait — ``BEGIN IMMEDIATE`` and
``COMMIT``.  In between it is zero: in rollback-journal mode, a statement that
outgrows SQLite's page cache tries to take the exclusive lock to spill pages into the
file, and with readers present each such statement would otherwise wait a whole
timeout.  Refused at once, the spill is simply skipped (the pages stay in memory
until the commit), so a migration never waits for readers before its commit.
"""

from __future__ import annotations

import contextlib
import time

from ._exceptions import MigrationFailed, UnsafeConnection
from ._flush import flush_ahead

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator
    from pathlib import Path
    from typing import Any

    from sqlalchemy.engine import RootTransaction

    from ._session import Session

SAVEPOINT = "frozen_alembic_change"


class Deadline:
    """The end of the time one call may spend waiting for other programs' locks.

    :param timeout: seconds from now.
    """

    __slots__ = ("end", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.end = time.monotonic() + timeout

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.end - time.monotonic())

    def busy_ms(self) -> int:
        """What is left, as SQLite's ``busy_timeout`` in milliseconds."""
        return int(self.remaining() * 1000)


def pragma(raw: sqlite3.Connection, sql: str) -> list[Any]:
    """Run one statement on the raw connection and return its rows."""
    cur = raw.cursor()
    try:
        return cur.execute(sql).fetchall()
    finally:
        cur.close()


def _fk_violations(raw: sqlite3.Connection) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for table, _rowid, parent, _fkid in pragma(raw, "PRAGMA foreign_key_check"):
        counts[(table, parent)] = counts.get((table, parent), 0) + 1
    return counts


class Transaction:
    """The transaction of one changing call on ``session``.

    ``begin()`` takes the write lock; then either ``commit()`` or ``rollback()``;
    ``close()`` always, to put the connection's settings back.
    """

    def __init__(self, session: Session, deadline: Deadline) -> None:
        self.session = session
        self.raw = session.dbapi
        self.deadline = deadline
        self.owned = not session.connection.in_transaction()
        self._fk_was_on = False
        self._saved_isolation: Any = None
        self._saved_busy: int | None = None
        self._sa_transaction: RootTransaction | None = None
        self._fk_before: dict[tuple[str, str], int] = {}
        self.active = False
        self.commit_started = False
        self._began_for_caller = False

    def _set_busy_timeout(self) -> None:
        pragma(self.raw, f"PRAGMA busy_timeout = {self.deadline.busy_ms()}")

    def begin(self) -> None:
        """Take the write lock (waiting at most until the deadline) and begin."""
        raw = self.raw
        self._saved_busy = int(pragma(raw, "PRAGMA busy_timeout")[0][0])
        self._fk_was_on = bool(pragma(raw, "PRAGMA foreign_keys")[0][0])
        self._set_busy_timeout()
        if self.owned:
            self._saved_isolation = raw.isolation_level
            raw.isolation_level = None
            pragma(raw, "PRAGMA foreign_keys=OFF")
            self._sa_transaction = self.session.connection.begin()
            pragma(raw, "BEGIN IMMEDIATE")
        else:
            if not raw.in_transaction:  # SQLAlchemy's transaction had not reached SQLite
                pragma(raw, "BEGIN IMMEDIATE")
                self._began_for_caller = True
            pragma(raw, f"SAVEPOINT {SAVEPOINT}")
        self.active = True
        pragma(raw, "PRAGMA busy_timeout = 0")  # see the module's docstring: spills
        self._fk_before = _fk_violations(raw)

    @property
    def began_here(self) -> bool:
        """Whether the write lock came with our own ``BEGIN IMMEDIATE`` (not a caller's
        transaction, which may hold changes of its own): until this transaction writes,
        nothing can change the file's bytes."""
        return self.active and (self.owned or self._began_for_caller)

    def refuse_if_unsafe(self) -> None:
        """Refuse to change a caller's transaction that has foreign keys on.

        :raises UnsafeConnection: saying how to call instead.
        """
        if not self.owned and self._fk_was_on:
            where = self.session.path or "the database"
            msg = (
                f"Cannot migrate {where} through this connection: it is inside a "
                "transaction with PRAGMA foreign_keys=ON, which SQLite cannot switch off "
                "inside a transaction, so rebuilding a table would cascade-delete rows. "
                "Commit or roll back first (conn.commit()), then pass the connection "
                "again, or pass the Engine or the file's path. Nothing was changed."
            )
            raise UnsafeConnection(msg, self.session.path)

    def check(self) -> None:
        """``foreign_key_check`` (new violations only) and ``quick_check``, before commit.

        :raises MigrationFailed: a check failed (nothing is committed).
        """
        path = self.session.path
        # Our own commit follows at once (a caller's comes later, when it likes):
        # let the disk write what that commit will sync while the checks read.
        ahead = str(path) if self.owned and path is not None else None
        with flush_ahead(self.raw, ahead):
            self._check(path)

    def _check(self, path: Path | None) -> None:
        raw = self.raw
        after = _fk_violations(raw)
        new = {key: n for key, n in after.items() if n > self._fk_before.get(key, 0)}
        if new:
            listed = ", ".join(f"{t} -> {p} ({n} rows)" for (t, p), n in sorted(new.items()))
            msg = (
                f"The migration left rows whose foreign keys point nowhere: {listed}. "
                "Fix the migration script so it keeps those rows consistent."
            )
            raise MigrationFailed(msg, None, path)
        result = [str(row[0]) for row in pragma(raw, "PRAGMA quick_check")]
        if result != ["ok"]:
            msg = f"The migrated database failed SQLite's quick_check: {'; '.join(result[:5])}."
            raise MigrationFailed(msg, None, path)

    def commit(self) -> None:
        """Commit (a caller's transaction: release our savepoint; the caller commits)."""
        self.commit_started = True
        if not self.owned:
            pragma(self.raw, f"RELEASE {SAVEPOINT}")
            self.active = False
            return
        # In rollback-journal mode the COMMIT waits for readers: bound that wait too.
        self._set_busy_timeout()
        pragma(self.raw, "COMMIT")
        self.active = False
        if self._sa_transaction is not None:
            self._sa_transaction.commit()  # SQLAlchemy's bookkeeping; SQLite has committed

    def rollback(self) -> bool:
        """Undo everything since :meth:`begin`; never raises.

        In a caller's transaction only our savepoint is undone — unless SQLite's
        transaction was begun by us (the caller's had not written yet), which is
        then ended, so that the caller does not hold the write lock for nothing.

        :return: ``True`` when the rollback certainly took effect (or there was
            nothing to roll back), ``False`` when it failed.
        """
        raw = self.raw
        ok = True
        try:
            if self.owned or self._began_for_caller:
                if raw.in_transaction:
                    pragma(raw, "ROLLBACK")
            elif raw.in_transaction:
                pragma(raw, f"ROLLBACK TO {SAVEPOINT}")
                pragma(raw, f"RELEASE {SAVEPOINT}")
        except Exception:
            ok = False
        self.active = False
        if self._sa_transaction is not None:
            # SQLAlchemy's own bookkeeping only: SQLite was handled above.
            with contextlib.suppress(Exception):
                self._sa_transaction.rollback()
        return ok

    def close(self) -> None:
        """Put the connection's settings back as they were (never raises)."""
        raw = self.raw
        try:
            if raw.in_transaction and self.owned:  # a failed COMMIT can leave it open
                raw.rollback()
            if self.owned and self._fk_was_on:
                pragma(raw, "PRAGMA foreign_keys=ON")
            if self._saved_busy is not None:
                pragma(raw, f"PRAGMA busy_timeout = {self._saved_busy}")
            if self.owned:
                raw.isolation_level = self._saved_isolation
        except Exception:
            pass  # the connection is closed next anyway (or is the caller's, as it was)


@contextlib.contextmanager
def one_transaction(session: Session, deadline: Deadline) -> Iterator[Transaction]:
    """Run the block in one :class:`Transaction`: begin, then check and commit, or
    roll back whatever the block raised; the connection's settings put back."""
    txn = Transaction(session, deadline)
    try:
        txn.begin()
        yield txn
        txn.check()
        txn.commit()
    except BaseException:
        txn.rollback()
        raise
    finally:
        txn.close()
