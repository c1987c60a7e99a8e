"""The :class:`Migrator`: Alembic's verbs on SQLite files, configured in memory."""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from . import _backup, _sqlitefile
from ._exceptions import (
    DatabaseExists,
    DatabaseTooNew,
    FrozenAlembicError,
    InvalidTarget,
    MigrationFailed,
    UnversionedDatabase,
)
from ._report import Progress, Report
from ._scripts import Revision, Scripts, no_bytecode_writes
from ._session import Session, as_path, open_session, write_transaction
from ._status import State, Status, classify

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any

    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import MetaData

    from ._session import DB

    ProgressCallback = Callable[[Progress], None]

    # Given the database's current revisions, the steps Alembic should run.
    _Plan = Callable[[tuple[str, ...]], Sequence[Any]]


class Migrator:
    """Alembic's verbs for one application's migration scripts.

    Every verb that changes a file does so in one transaction, under SQLite's write
    lock, after a backup (see :meth:`upgrade`).

    :param script_location: the Alembic script directory (the folder holding
        ``versions/``).  ``env.py`` is optional and, by default, not run.
    :param metadata: the application's SQLAlchemy ``MetaData`` at the newest
        revision; when given, :meth:`create` builds new files from it.
    :param run_env_py: run the directory's ``env.py`` for every verb, handing it
        the live connection in ``config.attributes["connection"]``.
    :param timeout: seconds to wait for another process's lock on a database.
    :param backup_dir: where backups go (default: beside each file).
    :param keep_backups: how many backups of each file to keep (``None``: all).
    :param require_manifest: refuse a script directory without a build manifest.
    :raises ScriptsNotFound: ``script_location`` has no ``versions/`` folder.
    :raises ScriptsError: the revision files cannot be used as they are.
    :raises TamperedScripts: the files differ from the build's manifest.
    """

    def __init__(
        self,
        script_location: str | os.PathLike[str],
        *,
        metadata: MetaData | None = None,
        run_env_py: bool = False,
        timeout: float = 30.0,
        backup_dir: str | os.PathLike[str] | None = None,
        keep_backups: int | None = 3,
        require_manifest: bool = False,
    ) -> None:
        self._scripts = Scripts(Path(script_location), require_manifest=require_manifest)
        self._metadata = metadata
        self._run_env_py = run_env_py
        self._timeout = timeout
        self._backup_dir = Path(backup_dir) if backup_dir is not None else None
        self._keep_backups = keep_backups
        self._template_bytes: bytes | None = None

    @classmethod
    def locate(
        cls,
        folder: str = "migrations",
        *,
        anchor: str | None = None,
        path: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> Migrator:
        """A Migrator on the migrations bundled with the running application.

        The folder is found by :func:`locate_migrations` (frozen build, environment
        override, or source tree).  In a frozen build the folder must carry the
        build's manifest, and every file is checked against it before use.

        :param folder: the bundled folder's name.
        :param anchor: the application's top-level package, for source runs.
        :param path: an explicit script directory, which wins over everything.
        :param options: the other :class:`Migrator` options (``metadata``, ...).
        :raises ScriptsNotFound: the folder was not found (every place is listed).
        :raises TamperedScripts: the files differ from the build's manifest.
        """
        from ._locate import frozen_backend, locate_migrations

        location = locate_migrations(folder, anchor=anchor, path=path)
        options.setdefault("require_manifest", frozen_backend() is not None and path is None)
        return cls(location, **options)

    def __repr__(self) -> str:
        return f"Migrator({str(self.script_location)!r})"

    @property
    def script_location(self) -> Path:
        """The Alembic script directory in use."""
        return self._scripts.location

    # -- questions about the scripts ------------------------------------------------

    def heads(self) -> tuple[str, ...]:
        """The newest revision(s) of the scripts.

        :return: revision ids, sorted; one for a linear history.
        """
        return self._scripts.heads

    def history(self) -> list[Revision]:
        """Every revision of the scripts, oldest first.

        :return: one :class:`Revision` per script; parents come before children.
        """
        return self._scripts.history()

    # -- questions about a database ---------------------------------------------------

    def current(self, db: DB) -> tuple[str, ...]:
        """The revision(s) recorded in ``db``.

        :param db: a file path, or a SQLAlchemy ``Engine`` or ``Connection``.
        :return: revision ids, sorted; empty when the file has no version.
        :raises DatabaseNotFound: no file at the path.
        :raises NotADatabase: the file is not a SQLite database.
        """
        return self.status(db).current

    def status(self, db: DB) -> Status:
        """Where ``db`` stands: current, behind, too new, unversioned or empty.

        The file is opened read-only and nothing is written, so a file from a newer
        release (``status.is_too_new``) can be inspected, and opened read-only by
        the application if it chooses.

        :param db: a file path, or a SQLAlchemy ``Engine`` or ``Connection``.
        :raises DatabaseNotFound: no file at the path.
        :raises NotADatabase: the file is not a SQLite database.
        """
        with open_session(db, write=False, timeout=self._timeout) as session:
            return self._status(session)

    def _status(self, session: Session) -> Status:
        raw = session.dbapi
        return classify(
            _sqlitefile.read_versions(raw),
            _sqlitefile.user_tables(raw),
            self._scripts.graph,
            self._scripts.heads,
            session.path,
        )

    # -- verbs that change a database -------------------------------------------------

    def upgrade(
        self,
        db: DB,
        target: str = "heads",
        *,
        progress: ProgressCallback | None = None,
        backup: bool = True,
        adopt: str | None = None,
    ) -> Report:
        """Upgrade ``db`` to ``target``, all-or-nothing.

        Under SQLite's write lock (a second process waits, then finds the file
        current), the pending revisions are computed; if there are any, the file
        is backed up, then every revision and the version row commit together.

        :param db: a file path, or a SQLAlchemy ``Engine`` or ``Connection``.
        :param target: a revision id, ``"heads"`` (default), or a relative ``"+1"``.
        :param progress: called before each revision and once at the end.
        :param backup: take a backup before changing the file (default ``True``).
        :param adopt: for a file with tables but no version, the revision whose
            schema it has; it is stamped with it, then upgraded, in one transaction.
        :return: a :class:`Report` of what was applied, with the backup's path.
        :raises DatabaseTooNew: the file is at a revision this application lacks.
        :raises UnversionedDatabase: the file has tables but no version (see ``adopt``).
        :raises MigrationFailed: a script raised; the file is unchanged.
        :raises InvalidTarget: ``target`` is unknown.
        :raises DatabaseBusy: another process held the file longer than the timeout.
        """
        script = self._scripts.directory

        def plan(current: tuple[str, ...]) -> list[Any]:
            if adopt is not None and not current:
                return [*script._stamp_revs(adopt, ()), *script._upgrade_revs(target, adopt)]
            return list(script._upgrade_revs(target, _heads(current)))

        return self._change(
            db, plan, target, progress=progress, backup=backup, adopting=adopt is not None
        )

    def downgrade(
        self,
        db: DB,
        target: str,
        *,
        progress: ProgressCallback | None = None,
        backup: bool = True,
    ) -> Report:
        """Downgrade ``db`` to ``target`` (a revision id, ``"base"`` or ``"-1"``).

        Same guarantees as :meth:`upgrade`: one transaction, a backup first.

        :param db: a file path, or a SQLAlchemy ``Engine`` or ``Connection``.
        :param target: where to go; ``"base"`` removes every revision's schema.
        :param progress: called before each revision and once at the end.
        :param backup: take a backup before changing the file (default ``True``).
        :return: a :class:`Report` of the revisions undone.
        :raises DatabaseTooNew: the file is at a revision this application lacks.
        :raises UnversionedDatabase: the file has tables but no version.
        :raises MigrationFailed: a script raised; the file is unchanged.
        :raises InvalidTarget: ``target`` is unknown or not below the current revision.
        """
        script = self._scripts.directory
        return self._change(
            db,
            lambda current: script._downgrade_revs(target, _heads(current)),
            target,
            progress=progress,
            backup=backup,
        )

    def stamp(
        self, db: DB, target: str = "heads", *, purge: bool = False, backup: bool = True
    ) -> Report:
        """Record ``target`` as the revision of ``db`` without running any script.

        This is how an unversioned file is adopted: stamp it with the revision
        whose schema it has.  A file from a newer release needs ``purge=True``.

        :param db: a file path, or a SQLAlchemy ``Engine`` or ``Connection``.
        :param target: a revision id or ``"heads"``.
        :param purge: empty the version table first.
        :param backup: take a backup before changing the file (default ``True``).
        :return: a :class:`Report` (``applied`` is empty).
        :raises InvalidTarget: ``target`` is unknown.
        """
        script = self._scripts.directory
        return self._change(
            db,
            lambda current: script._stamp_revs(target, () if purge else current),
            target,
            progress=None,
            backup=backup,
            stamping=True,
            purge=purge,
        )

    def create(self, db: DB) -> Report:
        """Make a new database already at the newest revision.

        A file is a copy of a template at the heads: the bundle's (built once at
        build time, checked against the manifest) or, failing that, the first file
        this Migrator made.  That first file is made from ``metadata`` (created and
        stamped) if given, else by running every revision.  A path is built in a
        temporary file beside it and moved into place only when complete.

        :param db: a path where no file exists yet, or an ``Engine``/``Connection``
            to an empty database.
        :return: a :class:`Report` of the new database.
        :raises DatabaseExists: the file exists, or the database has tables.
        """
        path = as_path(db)
        if path is None:
            return self._create_in(db)
        template = self._template()
        if template is not None:
            heads = self._scripts.heads
            return _create_file(path, lambda tmp: _write_template(template, tmp, heads))
        report = _create_file(path, self._create_in_new_file)
        self._template_bytes = _snapshot(path)  # the next create() is a copy
        return report

    def _template(self) -> bytes | None:
        """The bytes of an empty database at the heads, if they are at hand.

        They come from the bundle's template (checked against the manifest's hash
        and heads) or from this Migrator's first :meth:`create`.
        """
        if self._template_bytes is None and self._scripts.manifest is not None:
            self._template_bytes = _bundled_template(self._scripts)
        return self._template_bytes

    def _create_in_new_file(self, path: DB) -> Report:
        # Writing a pragma gives the empty temporary file its SQLite header.
        conn = sqlite3.connect(path, isolation_level=None)  # type: ignore[arg-type]
        try:
            conn.execute("PRAGMA user_version = 0")
        finally:
            conn.close()
        return self._create_in(path)

    def _create_in(self, db: DB) -> Report:
        script = self._scripts.directory
        heads = self._scripts.heads
        with self._writing(db) as session:
            if self._status(session).state is not State.EMPTY:
                where = session.path or "The database"
                msg = f"{where} already has tables; create() only fills an empty database."
                raise DatabaseExists(msg, session.path)
            if self._metadata is None:
                return self._run(session, script._upgrade_revs("heads", _heads(())), "heads", None)
            self._metadata.create_all(session.connection)
            return self._run(session, script._stamp_revs(heads, ()), "heads", None)

    @contextmanager
    def operations(self, db: DB) -> Iterator[Operations]:
        """Alembic's operations (``op``) on ``db``, in one transaction, for ad-hoc steps.

        Everything done inside the ``with`` block commits together at its end,
        or not at all if it raises::

            with migrator.operations(path) as op:
                op.create_index("ix_note_title", "note", ["title"])

        :param db: a file path, or a SQLAlchemy ``Engine`` or ``Connection``.
        """
        from alembic.operations import Operations
        from alembic.runtime.migration import MigrationContext

        with self._writing(db) as session:
            yield Operations(MigrationContext.configure(session.connection))

    # -- the machinery ----------------------------------------------------------------

    @contextmanager
    def _writing(self, db: DB) -> Iterator[Session]:
        with (
            open_session(db, write=True, timeout=self._timeout) as session,
            write_transaction(session),
        ):
            yield session

    def _change(
        self,
        db: DB,
        plan: _Plan,
        target: str,
        *,
        progress: ProgressCallback | None,
        backup: bool,
        adopting: bool = False,
        stamping: bool = False,
        purge: bool = False,
    ) -> Report:
        """Lock, check, plan, back up, run: the shape of every changing verb."""
        from alembic.util import CommandError

        saved: Path | None = None
        try:
            with self._writing(db) as session:
                status = self._status(session)
                if status.state is State.TOO_NEW and not purge:
                    raise _too_new(status)
                if status.state is State.UNVERSIONED and not (stamping or adopting):
                    raise _unversioned(status, session)
                try:
                    planned = list(plan(status.current))
                except CommandError as err:
                    start = ", ".join(status.current) or "an unversioned database"
                    msg = f"Cannot go to {target!r} from {start}: {err}"
                    raise InvalidTarget(msg, target) from err
                if not planned:
                    return Report(status.current, status.current, (), session.path)
                if backup and session.path is not None:
                    label = "+".join(status.current) or status.state.name.lower()
                    saved = _backup.take(
                        session.path, self._backup_dir, label, timeout=self._timeout
                    )
                report = self._run(session, planned, target, progress, purge=purge)
        except BaseException:
            # The transaction rolled back, so the backup equals the file: drop it.
            if saved is not None:
                saved.unlink(missing_ok=True)
            raise
        if saved is not None and session.path is not None:
            _backup.prune(session.path, self._backup_dir, self._keep_backups)
        return Report(report.before, report.after, report.applied, report.path, saved)

    def _run(
        self,
        session: Session,
        planned: Sequence[Any],
        target: str,
        progress: ProgressCallback | None,
        *,
        purge: bool = False,
    ) -> Report:
        """Run Alembic's migration loop over ``planned`` inside the session's transaction."""
        from alembic.runtime.environment import EnvironmentContext

        config = self._scripts.new_config()
        script = self._scripts.directory
        before = _sqlitefile.read_versions(session.dbapi) or ()
        applied: list[str] = []
        running: list[str | None] = [None]

        def fn(rev: Any, context: MigrationContext) -> Iterator[Any]:
            return _track(list(planned), applied, running, progress)

        try:
            with EnvironmentContext(
                config, script, fn=fn, destination_rev=target, purge=purge
            ) as env:
                if self._run_env_py:
                    config.attributes["connection"] = session.connection
                    with no_bytecode_writes():
                        script.run_env()
                else:
                    env.configure(connection=session.connection, target_metadata=self._metadata)
                    with env.begin_transaction():
                        env.run_migrations()
        except FrozenAlembicError:
            raise
        except Exception as err:
            rev = running[0]
            where = f"revision {rev}" if rev else "the migration"
            unchanged = f"{session.path} was not changed" if session.path else "Nothing changed"
            msg = f"{where} failed: {type(err).__name__}: {err}. {unchanged}; fix the cause, retry."
            raise MigrationFailed(msg, rev, session.path) from err
        after = _sqlitefile.read_versions(session.dbapi) or ()
        return Report(before, after, tuple(applied), session.path)


def _track(
    planned: list[Any],
    applied: list[str],
    running: list[str | None],
    progress: ProgressCallback | None,
) -> Iterator[Any]:
    """Yield Alembic's steps, noting which one runs and reporting progress."""
    total = len(planned)
    for index, step in enumerate(planned):
        rev = _step_revision(step)
        running[0] = rev
        if progress is not None:
            doc = getattr(getattr(step, "revision", None), "doc", "") or ""
            verb = "Undoing" if getattr(step, "is_downgrade", False) else "Applying"
            progress(Progress(index, total, rev, f"{verb} {rev}: {doc}".rstrip(": ")))
        yield step
        if rev is not None and type(step).__name__ != "StampStep":
            applied.append(rev)
    running[0] = None
    if progress is not None:
        progress(Progress(total, total, None, "Done"))


def _heads(current: tuple[str, ...]) -> Any:
    """Alembic's private planners are annotated ``str`` but, as ``alembic.command``
    does, they are given the tuple of current heads."""
    return current


def _step_revision(step: Any) -> str | None:
    script = getattr(step, "revision", None)
    rev = getattr(script, "revision", None)
    return rev if isinstance(rev, str) else None


def _too_new(status: Status) -> DatabaseTooNew:
    found = ", ".join(status.current)
    where = status.path or "The database"
    msg = (
        f"{where} is at revision {found}, which this version of the application "
        "does not know: a newer release wrote it. Open it with that release, or "
        "open it read-only."
    )
    return DatabaseTooNew(msg, status.path, found)


def _unversioned(status: Status, session: Session) -> UnversionedDatabase:
    tables = _sqlitefile.user_tables(session.dbapi)
    where = status.path or "The database"
    msg = (
        f"{where} has tables ({', '.join(tables[:5])}) but no Alembic version, so "
        "its schema is unknown. If you know which revision it matches, adopt it: "
        "Migrator.upgrade(db, adopt=REVISION) or Migrator.stamp(db, REVISION)."
    )
    return UnversionedDatabase(msg, status.path, tables)


def _snapshot(path: Path) -> bytes:
    """A consistent copy of the database file at ``path``, as bytes."""
    conn = _sqlitefile.connect(path, write=False, timeout=30.0)
    try:
        return conn.serialize()
    finally:
        conn.close()


def _bundled_template(scripts: Scripts) -> bytes | None:
    """The bundle's template database, if it matches the manifest.

    Anything amiss (no template, another hash, other heads) gives ``None``, and
    :meth:`Migrator.create` takes the full route instead: never a wrong answer.
    """
    import hashlib

    manifest = scripts.manifest or {}
    name = manifest.get("template")
    files = manifest.get("files")
    if not isinstance(name, str) or not isinstance(files, dict):
        return None
    if manifest.get("template_heads") != list(scripts.heads):
        return None
    try:
        data = (scripts.location / name).read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != files.get(name):
        return None
    check = sqlite3.connect(":memory:")
    try:
        check.deserialize(data)
        found = tuple(
            sorted(r[0] for r in check.execute("SELECT version_num FROM alembic_version"))
        )
    except sqlite3.Error:
        return None
    finally:
        check.close()
    return data if found == scripts.heads else None


def _write_template(template: bytes, tmp: Path, heads: tuple[str, ...]) -> Report:
    with open(tmp, "wb") as fh:
        fh.write(template)
    return Report((), heads, (), tmp)


def _create_file(path: Path, fill: Callable[[Path], Report]) -> Report:
    """Build a new database at ``path`` via a temporary file; never overwrite.

    ``fill`` writes the temporary file; it is then fsynced and hard-linked to
    ``path``, which fails (rather than replaces) if ``path`` appeared meanwhile.
    """
    if path.exists():
        msg = f"{path} already exists; create() makes new files only. Use upgrade() for it."
        raise DatabaseExists(msg, path)
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.creating")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        report = fill(tmp)
        _backup.fsync(tmp)
        try:
            os.link(tmp, path)
        except FileExistsError:
            msg = f"{path} appeared while it was being created; it was left as it is."
            raise DatabaseExists(msg, path) from None
    finally:
        tmp.unlink(missing_ok=True)
    return Report(report.before, report.after, report.applied, path)
