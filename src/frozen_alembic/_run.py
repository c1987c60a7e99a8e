"""The run machinery: lock → plan → backup → run revisions → check → commit.

Every verb that changes a database goes through :class:`Change`, so every one of
them has the same guarantees:

* **lock** — ``BEGIN IMMEDIATE`` before anything is read, waiting at most until the
  call's deadline (:class:`~frozen_alembic._transaction.Deadline`);
* **plan** — the file's state is decided from the revision graph (the bundle's
  manifest when there is one, so no revision code runs for a file that is too new),
  then the steps are planned, which loads the revision modules;
* **backup** — of a file, before the first write, within the same deadline;
* **run** — Alembic's migration loop on our connection, inside our transaction,
  under :data:`~frozen_alembic._shared.ALEMBIC_LOCK` and the
  :class:`~frozen_alembic._guard.TransactionGuard`;
* **check** — ``foreign_key_check`` and ``quick_check``, while the disk already
  writes what the commit will sync (:mod:`frozen_alembic._flush`);
* **commit** — then old backups are pruned (never the one just made).

Each phase is reported as :class:`~frozen_alembic.Progress` events (see
:mod:`frozen_alembic._events`), in units of work weighted by :class:`~._work.Work`,
and a :class:`~frozen_alembic.CancelToken` stops the change at the next safe moment
until the commit starts: then :class:`~frozen_alembic.MigrationCancelled`, with the
file unchanged.  The last event, ``Phase.DONE``, comes after the commit.

When anything fails, the transaction is rolled back.  The backup is removed only
when the file is provably unchanged: the failure came before the commit started,
the transaction was intact and the rollback succeeded.  If a script ended the
transaction (so something may have been committed), the file is put back from the
backup.  Otherwise the backup is kept, and the exception says where
(``err.backup``) and what became of the file.
"""

from __future__ import annotations

from . import _backup, _sqlitefile
from ._errors import environment_error_in, interrupted, rolled_back_by_sqlite, translate
from ._events import PROGRESS_STEP, CallbackFailed, Cancelled, Events, Phase
from ._exceptions import (
    DatabaseBusy,
    DatabaseTooNew,
    FrozenAlembicError,
    MigrationCancelled,
    MigrationFailed,
    UnversionedDatabase,
)
from ._guard import TransactionBroken, TransactionGuard
from ._report import Report
from ._session import as_path, open_session
from ._shared import ALEMBIC_LOCK, no_bytecode_writes
from ._status import State, Status
from ._transaction import Deadline, Transaction
from ._work import Work

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path
    from typing import Any

    from alembic.runtime.migration import MigrationContext

    from ._events import CancelToken
    from ._migrator import Migrator, ProgressCallback
    from ._session import DB, Session

    # Given the database's status, the steps Alembic should run (may raise).
    Planner = Callable[[Status], Sequence[Any]]
    # Work done inside the transaction before the revisions run (create_all).
    Prepare = Callable[[Session], None]


class ScriptFailed(Exception):
    """A revision's script raised (the library's own errors are not wrapped)."""

    def __init__(self, revision: str | None, error: BaseException) -> None:
        super().__init__(f"revision {revision}: {error}")
        self.revision = revision
        self.error = error


# Phases of a change, in order.  A failure before "commit" leaves the file as it
# was, provided the transaction was intact and rolled back.
LOCK, PLAN, BACKUP, MIGRATE, CHECK, COMMIT, DONE = (
    "lock",
    "plan",
    "backup",
    "migrate",
    "check",
    "commit",
    "done",
)


class Change:
    """One changing call of a :class:`Migrator` on one database.

    :param verb: for messages: ``"upgrade"``, ``"downgrade"``, ``"stamp"``, ``"create"``.
    :param planner: the steps to run, given the database's status.
    :param allowed: states besides current/behind/empty that the verb accepts
        (``stamp`` adopts unversioned files and, with ``purge``, too-new ones).
    :param prepare: work inside the transaction before the revisions run.
    :param after: work inside the transaction after them (``create(populate=...)``).
    :param empty_only: the planner accepts only an empty database (``create``), where
        no row can cascade: a caller's transaction with foreign keys on is then fine.
    """

    def __init__(
        self,
        migrator: Migrator,
        *,
        verb: str,
        target: str,
        planner: Planner,
        progress: ProgressCallback | None = None,
        backup: bool = True,
        purge: bool = False,
        allowed: frozenset[State] = frozenset(),
        prepare: Prepare | None = None,
        after: Prepare | None = None,
        empty_only: bool = False,
        cancel: CancelToken | None = None,
    ) -> None:
        self.migrator = migrator
        self.verb = verb
        self.target = target
        self.planner = planner
        self.events = Events(progress, cancel)
        self.backup = backup
        self.purge = purge
        self.allowed = allowed
        self.prepare = prepare
        self.after = after
        self.empty_only = empty_only
        self.phase = LOCK
        self.path: Path | None = None
        self.saved: Path | None = None
        self.rolled_back = True
        self.ended = False
        self.restored = False
        self.restore_error: BaseException | None = None

    def execute(self, db: DB) -> Report:
        """Run the change on ``db``; only :class:`FrozenAlembicError` leaves it."""
        path = as_path(db)
        if path is not None:
            _sqlitefile.check_file(path, write=False, doing=self.verb)
            problem = _sqlitefile.writable_problem(path)
            if problem is not None:
                return self._without_writing(db, problem)
        deadline = Deadline(self.migrator._timeout)
        try:
            with open_session(
                db, write=True, timeout=deadline.remaining(), doing=self.verb
            ) as session:
                self.path = session.path
                report = self._in_session(session, deadline)
        except Exception as err:
            settled = self._settle(err)
            if settled is err:
                raise
            raise settled from _cause(err)
        except BaseException as err:  # KeyboardInterrupt, SystemExit: as they are
            self._settle_backup(err)
            raise
        if self.saved is not None and self.path is not None:
            _backup.prune(
                self.path, self.migrator._backup_dir, self.migrator._keep_backups, spare=self.saved
            )
        return Report(report.before, report.after, report.applied, report.path, self.saved)

    def _in_session(self, session: Session, deadline: Deadline) -> Report:
        migrator = self.migrator
        events = self.events
        txn = Transaction(session, deadline)
        try:
            events.emit(Phase.LOCK, 0, "Opening the document…")
            txn.begin()
            self.phase = PLAN
            status = migrator._status(session)
            self._check_state(status, session)
            planned = list(self.planner(status))
            if not planned:
                txn.rollback()
                events.cancellable = False
                events.emit(Phase.DONE, events.total, "The document is up to date.")
                return Report(status.current, status.current, (), session.path)
            if not self.empty_only:
                txn.refuse_if_unsafe()
            backing_up = self.backup and session.path is not None
            work = Work(session.dbapi, planned, backup=backing_up)
            events.total = work.total
            if backing_up:
                assert session.path is not None
                self.phase = BACKUP
                events.step(Phase.BACKUP, 0, work.backup, "Making a safety copy of the document…")
                label = "+".join(status.current) or status.state.name.lower()
                self.saved = _backup.take(
                    session.path,
                    migrator._backup_dir,
                    label,
                    deadline=deadline,
                    progress=lambda copied, pages: events.advance(copied / max(pages, 1)),
                    cancel=events.check_cancel,
                    locked=txn.began_here,  # nothing written yet
                )
            self.phase = MIGRATE
            session.dbapi.set_progress_handler(events.sqlite_progress, PROGRESS_STEP)
            if self.prepare is not None:
                self.prepare(session)
            report = run_revisions(
                migrator, session, planned, self.target, events, work, purge=self.purge
            )
            if self.after is not None:
                self.after(session)
            self.phase = CHECK
            events.step(
                Phase.CHECK,
                work.check_start,
                work.check,
                "Checking the updated document…",
                expected_ops=work.check_ops,
            )
            txn.check()
            events.raise_kept()
            session.dbapi.set_progress_handler(None, 0)
            events.emit(Phase.COMMIT, work.commit_start, "Saving…")  # no cancel after this
            self.phase = COMMIT
            txn.commit()
            self.phase = DONE
        except BaseException as err:
            session.dbapi.set_progress_handler(None, 0)
            self.rolled_back = txn.rollback()
            self.ended = isinstance(err, TransactionBroken) and err.ended
            if self.ended and self.saved is not None:
                self._restore(session, deadline)
            raise
        finally:
            txn.close()
        events.emit(Phase.DONE, events.total, "Done: the document is up to date.")
        return report

    def _without_writing(self, db: DB, problem: FrozenAlembicError) -> Report:
        """A file that cannot be written: fine if there is nothing to do, else ``problem``."""
        timeout = self.migrator._timeout
        with open_session(db, write=False, timeout=timeout, doing=self.verb) as session:
            status = self.migrator._status(session)
            self._check_state(status, session)
            if list(self.planner(status)):
                raise problem
            return Report(status.current, status.current, (), session.path)

    def _check_state(self, status: Status, session: Session) -> None:
        if status.state is State.TOO_NEW and State.TOO_NEW not in self.allowed:
            raise too_new(status)
        if status.state is State.UNVERSIONED and State.UNVERSIONED not in self.allowed:
            raise unversioned(status, session, self.migrator._version_table)

    def _restore(self, session: Session, deadline: Deadline) -> None:
        assert self.saved is not None
        assert session.path is not None
        try:
            # The restore may wait for the lock again: give it a fresh, full timeout.
            _backup.restore_into(
                session.dbapi, self.saved, session.path, Deadline(deadline.timeout)
            )
            self.restored = True
        except Exception as err:
            self.restore_error = err

    # -- after a failure --------------------------------------------------------------

    def _unchanged(self, err: BaseException) -> bool:
        """Whether the file is provably as it was before the call."""
        if self.restored or self.ended or not self.rolled_back:
            return False
        if self.phase != COMMIT:
            return True
        # A COMMIT refused for want of the lock wrote nothing (SQLite takes the
        # lock before it writes); any other failure during the commit proves nothing.
        return isinstance(translate(err, self.path, self.verb), DatabaseBusy)

    def _settle_backup(self, err: BaseException) -> Path | None:
        """Remove the backup if the file is provably unchanged; return it if kept."""
        if self.saved is None:
            return None
        if self._unchanged(err):
            _backup._remove_database(self.saved)
            return None
        return self.saved

    def _outcome(self, err: BaseException, kept: Path | None) -> str:
        where = str(self.path) if self.path is not None else "the database"
        if self.restored:
            return (
                f"{where} was put back from the backup taken before the run, which is "
                f"kept at {kept}."
            )
        if self.restore_error is not None:
            return (
                f"Putting {where} back from the backup {kept} failed "
                f"({type(self.restore_error).__name__}: {self.restore_error}); the backup "
                "is kept: restore it with frozen_alembic.restore(backup, file)."
            )
        if self.ended:
            return (
                f"Something may already have been committed to {where}, and no backup "
                "was taken (backup=False): check the file before using it."
            )
        if kept is None:
            return f"{where} was not changed." if self.path is not None else "Nothing changed."
        return (
            f"{where} was rolled back, but that it is unchanged cannot be proven; the "
            f"backup taken before the run is kept at {kept}."
        )

    def _settle(self, err: Exception) -> FrozenAlembicError:
        """The exception to raise for ``err``, with the backup settled and described."""
        kept = self._settle_backup(err)
        ran = self.phase in (MIGRATE, CHECK, COMMIT) or self.saved is not None
        outcome = self._outcome(err, kept) if ran else ""
        where = str(self.path) if self.path is not None else "The database"
        if isinstance(err, Cancelled) or (self.events.cancelled and interrupted(err)):
            settled: FrozenAlembicError = MigrationCancelled(
                f"The update of {where} was cancelled. {outcome or 'Nothing was changed.'}",
                self.path,
            )
        elif isinstance(err, CallbackFailed):
            error = err.__cause__
            settled = FrozenAlembicError(
                f"The progress callback raised {type(error).__name__}: {error}, which "
                f"stopped the update of {where}. {outcome or 'Nothing was changed.'}"
            )
        elif isinstance(err, TransactionBroken):
            settled = MigrationFailed(
                f"The migration was stopped: revision {err.revision} {err.what}. "
                "frozen-alembic runs every revision of a call in one transaction, so a "
                "script must not commit, roll back or end it (remove that statement; "
                "for a step that may fail, use op.get_bind().begin_nested()). "
                f"{outcome}",
                err.revision,
                self.path,
            )
        elif isinstance(err, ScriptFailed):
            settled = _script_failure(err, self.path, outcome)
        elif isinstance(err, FrozenAlembicError):
            settled = err
            if outcome and outcome not in str(err):
                settled.args = (f"{err} {outcome}".strip(),)
        else:
            settled = translate(err, self.path, self.verb)
            if outcome:
                settled.args = (f"{settled} {outcome}".strip(),)
        settled.backup = kept
        settled.restored = self.restored
        settled.unchanged = self.restored or not ran or self._unchanged(err)
        return settled


def _cause(err: BaseException) -> BaseException | None:
    """The low-level error to chain: a script's own error, not our wrapper."""
    if isinstance(err, ScriptFailed):
        return err.error
    if isinstance(err, (Cancelled, CallbackFailed)):
        return err.__cause__
    return err


def _script_failure(err: ScriptFailed, path: Path | None, outcome: str) -> FrozenAlembicError:
    error = err.error
    rev = err.revision
    where = f"revision {rev}" if rev else "the migration"
    machine = environment_error_in(error)
    if machine is not None:  # the disk, not the script: say what the user can do
        settled = translate(machine, path, "upgrade")
        settled.args = (f"{where} could not be applied: {settled} {outcome}".strip(),)
        return settled
    orig = getattr(error, "orig", None) or error  # SQLAlchemy's wrapper: the DBAPI error
    statement = getattr(error, "statement", None)
    detail = f"{type(orig).__name__}: {orig}"
    if isinstance(statement, str):
        detail += f" (in: {' '.join(statement.split())[:200]})"
    hint = ""
    if "cannot vacuum" in str(error).lower():
        hint = (
            " VACUUM cannot run inside a transaction, and frozen-alembic runs every "
            "revision in one: remove it from the script."
        )
    msg = f"{where} failed: {detail}.{hint} {outcome} Fix the cause, then retry."
    return MigrationFailed(msg, rev, path)


def run_revisions(
    migrator: Migrator,
    session: Session,
    planned: Sequence[Any],
    target: str,
    events: Events,
    work: Work,
    *,
    purge: bool = False,
) -> Report:
    """Run Alembic's migration loop over ``planned`` inside the session's transaction.

    :raises TransactionBroken: a script ended (or tried to end) the transaction.
    :raises ScriptFailed: a script raised.
    :raises Cancelled: the caller cancelled (between revisions or inside a statement).
    """
    from alembic.runtime.environment import EnvironmentContext

    scripts = migrator._scripts
    config = scripts.new_config()
    script = scripts.directory
    raw = session.dbapi
    table = migrator._version_table
    before = _sqlitefile.read_versions(raw, table) or ()
    applied: list[str] = []
    running: list[str | None] = [None]
    guard = TransactionGuard(raw)

    def fn(rev: Any, context: MigrationContext) -> Iterator[Any]:
        context.autocommit_block = lambda: guard.refuse_autocommit_block(running[0])  # type: ignore[method-assign,assignment,return-value]
        return _track(list(planned), applied, running, events, work, guard)

    try:
        with (
            ALEMBIC_LOCK,
            guard,
            EnvironmentContext(config, script, fn=fn, destination_rev=target, purge=purge) as env,
        ):
            if migrator._run_env_py:
                _run_env_py(migrator, session, env, config, script)
            else:
                env.configure(
                    connection=session.connection,
                    target_metadata=migrator._metadata,
                    version_table=table,
                )
                with env.begin_transaction():
                    env.run_migrations()
            guard.check(running[0])
    except (TransactionBroken, FrozenAlembicError, Cancelled, CallbackFailed):
        raise
    except Exception as err:
        if events.error is not None or (events.cancelled and interrupted(err)):
            events.raise_kept()  # the progress handler stopped the statement
        if not guard.refused and not raw.in_transaction and rolled_back_by_sqlite(err):
            # A full disk or an I/O error: SQLite rolled the transaction back itself.
            raise ScriptFailed(running[0], err) from err
        broken = guard.broken(running[0])
        if broken is not None:
            raise broken from err
        raise ScriptFailed(running[0], err) from err
    after = _sqlitefile.read_versions(raw, table) or ()
    return Report(before, after, tuple(applied), session.path)


def _run_env_py(migrator: Migrator, session: Session, env: Any, config: Any, script: Any) -> None:
    """Run the project's ``env.py`` on our connection (see :mod:`._envpy`)."""
    from ._envpy import sqlite_url, take_over_configure

    table = migrator._version_table
    env.configure = take_over_configure(env.configure, session.connection, session.path, table)
    config.attributes["connection"] = session.connection
    config.set_main_option("sqlalchemy.url", sqlite_url(session.path).replace("%", "%%"))
    with no_bytecode_writes():
        script.run_env()


def _track(
    planned: list[Any],
    applied: list[str],
    running: list[str | None],
    events: Events,
    work: Work,
    guard: TransactionGuard,
) -> Iterator[Any]:
    """Yield Alembic's steps, checking the transaction and reporting at every boundary."""
    total = len(planned)
    for index, step in enumerate(planned):
        if index:
            guard.check(running[0])  # the previous revision, its version row included
        rev = _step_revision(step)
        running[0] = rev
        doc = getattr(getattr(step, "revision", None), "doc", "") or ""
        verb = "Undoing" if getattr(step, "is_downgrade", False) else "Applying"
        events.step(
            Phase.MIGRATE,
            work.revision_start(index),
            work.revisions[index],
            f"Updating the document (step {index + 1} of {total})…",
            detail=f"{verb} {rev}: {doc}".rstrip(": "),
            revision=rev,
            expected_ops=work.expected_ops[index],
        )
        yield step
        if rev is not None and type(step).__name__ != "StampStep":
            applied.append(rev)
    guard.check(running[0])


def _step_revision(step: Any) -> str | None:
    script = getattr(step, "revision", None)
    rev = getattr(script, "revision", None)
    return rev if isinstance(rev, str) else None


def too_new(status: Status) -> DatabaseTooNew:
    """The error for a file whose revision this application does not know."""
    found = ", ".join(status.current)
    where = status.path or "The database"
    msg = (
        f"{where} is at revision {found}, which this version of the application "
        "does not know: a newer release wrote it. Open it with that release, or "
        "open it read-only."
    )
    return DatabaseTooNew(msg, status.path, found)


def unversioned(status: Status, session: Session, table: str) -> UnversionedDatabase:
    """The error for a file with tables but no version."""
    tables = _sqlitefile.user_tables(session.dbapi, table)
    where = status.path or "The database"
    msg = (
        f"{where} has tables ({', '.join(tables[:5])}) but no Alembic version, so "
        "its schema is unknown. If you know which revision it matches, adopt it: "
        "Migrator.upgrade(db, adopt=REVISION) or Migrator.stamp(db, REVISION)."
    )
    return UnversionedDatabase(msg, status.path, tables)
