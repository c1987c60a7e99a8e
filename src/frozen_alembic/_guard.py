"""Keeping migration scripts inside the one transaction we opened.

Every change runs in one SQLite transaction, so that a failure leaves the file as it
was.  A script can break that: ``op.execute("COMMIT")`` (or ``END``, ``ROLLBACK``),
``op.get_bind().commit()``, Alembic's ``autocommit_block()``, or an
``INSERT OR ROLLBACK`` whose conflict it catches (SQLite then rolls the whole
transaction back, and every later statement would commit on its own).

The guard stops what SQLite lets it stop, and detects the rest:

* **Prevented.**  While scripts run, SQLite's authorizer refuses every
  ``BEGIN``/``COMMIT``/``END``/``ROLLBACK`` statement (``commit()`` and
  ``rollback()`` of the DBAPI connection issue those too), and — once the
  transaction has ended for any reason — every statement that would write.  Our own
  connections do not cache prepared statements, so each statement is authorised
  each time it runs.  ``autocommit_block()`` is refused before it starts.
* **Detected.**  At every revision boundary and before the commit, the transaction
  must still be open and nothing may have been refused.  Otherwise the run stops
  with :class:`TransactionBroken`, which names the revision and what it did; the
  caller then rolls back, or restores the file from its backup where something
  may already have been committed.

Savepoints (``SAVEPOINT``/``RELEASE``/``ROLLBACK TO``, e.g. SQLAlchemy's
``begin_nested()``) stay allowed: they cannot end the outer transaction.
"""

from __future__ import annotations

import sqlite3

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Actions that only read: allowed even after the transaction ended (nothing to
# commit), so a script's error path can still look at the database.
_READS = frozenset(
    {
        sqlite3.SQLITE_READ,
        sqlite3.SQLITE_SELECT,
        sqlite3.SQLITE_FUNCTION,
        getattr(sqlite3, "SQLITE_RECURSIVE", 33),
    }
)


class TransactionBroken(Exception):
    """A script ended, or tried to end, the transaction its revision ran in.

    :ivar revision: the revision whose script did it (``None``: not known).
    :ivar what: what it did, as a phrase ("ran COMMIT", ...).
    :ivar ended: whether the transaction really ended (so something may have been
        committed), rather than the attempt only being refused.
    """

    def __init__(self, revision: str | None, what: str, *, ended: bool) -> None:
        super().__init__(f"revision {revision or '(unknown)'} {what}")
        self.revision = revision
        self.what = what
        self.ended = ended


class TransactionGuard:
    """Install with ``with guard:`` around the scripts; :meth:`check` at boundaries.

    :param raw: the DBAPI connection the scripts run on, inside our transaction.
    """

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        self.refused: list[str] = []
        self.ended = False

    def _authorize(self, action: int, arg1: Any, arg2: Any, db: Any, trigger: Any) -> int:
        if action == sqlite3.SQLITE_TRANSACTION:
            self.refused.append(f"ran {arg1}")
            return sqlite3.SQLITE_DENY
        if action not in _READS and not self.raw.in_transaction:
            self.ended = True
            self.refused.append("wrote after the transaction had ended")
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def __enter__(self) -> TransactionGuard:
        self.raw.set_authorizer(self._authorize)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.raw.set_authorizer(None)

    def broken(self, revision: str | None) -> TransactionBroken | None:
        """What is wrong with the transaction now, or ``None`` if it is as we opened it.

        :param revision: the revision whose script ran last, to blame.
        """
        if not self.raw.in_transaction:
            self.ended = True
            what = (
                "ended the transaction (a COMMIT, or a conflict resolved with "
                "OR ROLLBACK, which rolls the whole transaction back)"
            )
            if self.refused:
                what += f"; it also {self.refused[0]}"
            return TransactionBroken(revision, what, ended=True)
        if self.refused:
            return TransactionBroken(
                revision, f"tried to end the transaction: it {self.refused[0]}", ended=self.ended
            )
        return None

    def check(self, revision: str | None) -> None:
        """Raise :class:`TransactionBroken` if the transaction is not as we opened it.

        :param revision: the revision whose script ran last, to blame.
        """
        broken = self.broken(revision)
        if broken is not None:
            raise broken

    def refuse_autocommit_block(self, revision: str | None) -> None:
        """Stand-in for ``MigrationContext.autocommit_block``: refuse at once."""
        self.refused.append("used autocommit_block()")
        raise TransactionBroken(
            revision,
            "used autocommit_block(), which would commit outside the migration's "
            "transaction; frozen-alembic runs every revision in one transaction",
            ended=False,
        )
