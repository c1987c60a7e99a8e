"""The :class:`Migrator`: Alembic's verbs on SQLite files, configured in memory."""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from functools import cached_property

from . import _newfile
from ._exceptions import DatabaseExists, FrozenAlembicError, InvalidTarget, StorageError
from ._filenames import name_too_long_message, too_long_for_sqlite
from ._headsfile import heads_of, read_heads_fields
from ._names import VERSION_TABLE
from ._public import public
from ._report import Report
from ._session import Session, as_path, open_session

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path
    from typing import Any

    from alembic.operations import Operations
    from sqlalchemy import MetaData
    from sqlalchemy.engine import Connection

    from ._events import CancelToken, Progress
    from ._scripts import Revision, Scripts
    from ._session import DB
    from ._status import Plan, Status

    ProgressCallback = Callable[[Progress], None]
    Populate = Callable[[Connection], object]


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
    :param version_table: the name of the table holding the revision, if the project
        chose one (``context.configure(version_table=...)``); by default the one
        ``env.py`` names, else ``alembic_version``.  Used by every verb and the
        start-up check.
    :raises ScriptsNotFound: ``script_location`` has no ``versions/`` folder.
    :raises ScriptsError: the revision files cannot be used as they are.
    :raises TamperedScripts: the files differ from the build's manifest.
    """

    @public("read the migrations in", scripts=True)
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
        version_table: str | None = None,
    ) -> None:
        self._location = os.fspath(script_location)
        self._require_manifest = require_manifest
        self._explicit_table = version_table
        self._metadata = metadata
        self._run_env_py = run_env_py
        self._timeout = timeout
        self._backup_folder = os.fspath(backup_dir) if backup_dir is not None else None
        self._keep_backups = keep_backups
        self._template_bytes: bytes | None = None
        # A bundle whose heads file holds (it is tied to the manifest by a CRC) needs
        # nothing more to answer create() from its template; anything else is read
        # now, so that a missing or unreadable folder is reported here.
        self._bundle = read_heads_fields(self._location)
        if self._bundle is None:
            self._scripts  # noqa: B018  (reads the folder now)

    @cached_property
    def _scripts(self) -> Scripts:
        from pathlib import Path

        from ._scripts import Scripts

        return Scripts(Path(self._location), require_manifest=self._require_manifest)

    @cached_property
    def _version_table(self) -> str:
        if self._explicit_table:
            return self._explicit_table
        if self._bundle is not None:  # the build recorded the table the heads are in
            return self._bundle.get("table", VERSION_TABLE)
        recorded = (self._scripts.manifest or {}).get("version_table")
        found = recorded or self._scripts.env_options.get("version_table")
        return found if isinstance(found, str) and found else VERSION_TABLE

    @cached_property
    def _backup_dir(self) -> Path | None:
        from pathlib import Path

        return Path(self._backup_folder) if self._backup_folder is not None else None

    @classmethod
    @public("find the migrations for", scripts=True)
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
    def version_table(self) -> str:
        """The table that records a database's revision."""
        return self._version_table

    @property
    def script_location(self) -> Path:
        """The Alembic script directory in use."""
        from pathlib import Path

        return Path(self._location)

    # -- questions about the scripts ------------------------------------------------

    @public("read the migrations")
    def heads(self) -> tuple[str, ...]:
        """The newest revision(s) of the scripts.

        :return: revision ids, sorted; one for a linear history.
        """
        return self._scripts.heads

    @public("read the migrations")
    def history(self) -> list[Revision]:
        """Every revision of the scripts, oldest first.

        :return: one :class:`Revision` per script; parents come before children.
        """
        return self._scripts.history()

    # -- questions about a database ---------------------------------------------------

    @public("read")
    def current(self, db: DB) -> tuple[str, ...]:
        """The revision(s) recorded in ``db``.

        :param db: a file path, or a SQLAlchemy ``Engine`` or ``Connection``.
        :return: revision ids, sorted; empty when the file has no version.
        :raises DatabaseNotFound: no file at the path.
        :raises NotADatabase: the file is not a SQLite database.
        """
        return self.status(db).current

    @public("read")
    def status(self, db: DB) -> Status:
        """Where ``db`` stands: current, behind, too new, unversioned or empty.

        The file is opened read-only and nothing is written, nor created beside it,
        so a file from a newer release (``status.is_too_new``) can be inspected, and
        opened read-only by the application if it chooses.  For a path, when the
        scripts carry a build manifest, the answer comes from the standard library
        alone — no SQLAlchemy, no Alembic, no revision file — cheap enough for a GUI
        thread.

        :param db: a file path, or a SQLAlchemy ``Engine`` or ``Connection``.
        :raises DatabaseNotFound: no file at the path.
        :raises NotADatabase: the file is not a SQLite database.
        """
        path = as_path(db)
        if path is not None and self._scripts.manifest is not None:
            return self._read_status(path)
        with open_session(db, write=False, timeout=self._timeout, doing="read") as session:
            return self._status(session)

    def _read_status(self, path: Path) -> Status:
        """:meth:`status` of a file with the standard library (the graph from the manifest)."""
        from . import _sqlitefile

        _sqlitefile.check_file(path, write=False, doing="read")
        raw = _sqlitefile.connect(path, write=False, timeout=self._timeout, doing="read")
        try:
            return self._classify(raw, path)
        finally:
            raw.close()

    @public("read")
    def plan(self, db: DB) -> Plan:
        """What :meth:`upgrade` would do to ``db`` now, without changing anything.

        The pending revisions with their messages, and where the backup would go.
        Like :meth:`status`, it needs no SQLAlchemy, Alembic or revision code when the
        scripts carry a build manifest, so a GUI thread can ask before it starts the
        upgrade on a worker (and, say, show a confirmation naming the backup).

        :param db: a file path, or a SQLAlchemy ``Engine`` or ``Connection``.
        :return: a :class:`Plan`.
        :raises DatabaseNotFound: no file at the path.
        :raises NotADatabase: the file is not a SQLite database.
        """
        from ._status import Plan, PlannedRevision

        status = self.status(db)
        docs = self._scripts.docs()
        pending = tuple(PlannedRevision(rev, docs.get(rev, "")) for rev in status.pending)
        backup = None
        if status.path is not None and pending:
            folder = self._backup_dir if self._backup_dir is not None else status.path.parent
            label = "+".join(status.current) or status.state.name.lower()
            from ._backup import next_name

            backup = next_name(status.path, folder, label)
        return Plan(status, pending, backup)

    def _status(self, session: Session) -> Status:
        return self._classify(session.dbapi, session.path)

    def _classify(self, raw: sqlite3.Connection, path: Path | None) -> Status:
        from . import _sqlitefile
        from ._status import classify

        return classify(
            _sqlitefile.read_versions(raw, self._version_table),
            _sqlitefile.user_tables(raw, self._version_table),
            self._scripts.graph,
            self._scripts.heads,
            path,
        )

    # -- verbs that change a database -------------------------------------------------

    @public("upgrade")
    def upgrade(
        self,
        db: DB,
        target: str = "heads",
        *,
        progress: ProgressCallback | None = None,
        backup: bool = True,
        adopt: str | None = None,
        cancel: CancelToken | None = None,
    ) -> Report:
        """Upgrade ``db`` to ``target``, all-or-nothing.

        Under SQLite's write lock (a second process or thread waits, then finds the
        file current), the pending revisions are computed; if there are any, the
        file is backed up, then every revision and the version row commit together.
        A script that commits, rolls back or ends the transaction is refused (see
        the README); if anything may have been committed, the file is put back
        from the backup.

        :param db: a file path, or a SQLAlchemy ``Engine`` or ``Connection``.
        :param target: a revision id, ``"heads"`` (default), or a relative ``"+1"``.
        :param progress: called with a :class:`Progress` at every step (lock, backup,
            each revision and inside long statements, checks, commit, done), on the
            calling thread; the last call (``Phase.DONE``) comes after the commit.
        :param cancel: a :class:`CancelToken`; cancelling it stops the upgrade at the
            next safe moment before the commit (:class:`MigrationCancelled`).
        :param backup: take a backup before changing the file (default ``True``).
        :param adopt: for a file with tables but no version, the revision whose
            schema it has; it is stamped with it, then upgraded, in one transaction.
        :return: a :class:`Report` of what was applied, with the backup's path.
        :raises DatabaseTooNew: the file is at a revision this application lacks.
        :raises UnversionedDatabase: the file has tables but no version (see ``adopt``).
        :raises MigrationFailed: a script failed or broke the transaction
            (``err.backup``, ``err.restored`` say what became of the file).
        :raises InvalidTarget: ``target`` is unknown.
        :raises DatabaseBusy: another process held the file longer than the timeout.
        :raises DiskFull: no space for the backup or the change; the file is unchanged.
        :raises MigrationCancelled: ``cancel`` was cancelled; the file is unchanged.
        """

        def plan(status: Status) -> list[Any]:
            script = self._scripts.directory
            current = status.current
            with _invalid_target(target, current):
                if adopt is not None and not current:
                    return [*script._stamp_revs(adopt, ()), *script._upgrade_revs(target, adopt)]
                return list(script._upgrade_revs(target, _heads(current)))

        from ._run import Change
        from ._status import State

        allowed = frozenset({State.UNVERSIONED}) if adopt is not None else frozenset()

        change = Change(
            self,
            verb="upgrade",
            target=target,
            planner=plan,
            progress=progress,
            backup=backup,
            allowed=allowed,
            cancel=cancel,
        )
        return change.execute(db)

    @public("downgrade")
    def downgrade(
        self,
        db: DB,
        target: str,
        *,
        progress: ProgressCallback | None = None,
        backup: bool = True,
        cancel: CancelToken | None = None,
    ) -> Report:
        """Downgrade ``db`` to ``target`` (a revision id, ``"base"`` or ``"-1"``).

        Same guarantees as :meth:`upgrade`: one transaction, a backup first.

        :param db: a file path, or a SQLAlchemy ``Engine`` or ``Connection``.
        :param target: where to go; ``"base"`` removes every revision's schema.
        :param progress: called with a :class:`Progress` at every step.
        :param backup: take a backup before changing the file (default ``True``).
        :param cancel: a :class:`CancelToken` that stops the downgrade before its commit.
        :return: a :class:`Report` of the revisions undone.
        :raises DatabaseTooNew: the file is at a revision this application lacks.
        :raises UnversionedDatabase: the file has tables but no version.
        :raises MigrationFailed: a script failed or broke the transaction.
        :raises InvalidTarget: ``target`` is unknown or not below the current revision.
        """

        def plan(status: Status) -> Sequence[Any]:
            script = self._scripts.directory
            with _invalid_target(target, status.current):
                return list(script._downgrade_revs(target, _heads(status.current)))

        from ._run import Change

        change = Change(
            self,
            verb="downgrade",
            target=target,
            planner=plan,
            progress=progress,
            backup=backup,
            cancel=cancel,
        )
        return change.execute(db)

    @public("stamp")
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
        :raises DatabaseTooNew: the file is from a newer release and ``purge`` is not set.
        """

        def plan(status: Status) -> Sequence[Any]:
            script = self._scripts.directory
            with _invalid_target(target, status.current):
                return list(script._stamp_revs(target, () if purge else status.current))

        from ._run import Change
        from ._status import State

        allowed = {State.UNVERSIONED, State.TOO_NEW} if purge else {State.UNVERSIONED}

        change = Change(
            self,
            verb="stamp",
            target=target,
            planner=plan,
            backup=backup,
            purge=purge,
            allowed=frozenset(allowed),
        )
        return change.execute(db)

    @public("create")
    def create(self, db: DB, *, populate: Populate | None = None) -> Report:
        """Make a new database already at the newest revision — optionally filled.

        A file is a copy of a template at the heads: the bundle's (built once at
        build time, checked against the manifest) or, failing that, the first file
        this Migrator made.  That first file is made from ``metadata`` (created and
        stamped) if given, else by running every revision.  A path is built in a
        temporary file beside it and appears under its name only when complete,
        never over a file that appeared meanwhile (on file systems with or without
        hard links).  Temporary files left by killed processes are removed.

        ``populate`` fills the new database before it appears — an export of a subset
        of the user's data, born at the newest revision::

            def copy_notebooks(conn):  # a SQLAlchemy Connection, in one transaction
                conn.execute(text("INSERT INTO notebook ..."), rows)

            migrator.create(export_path, populate=copy_notebooks)

        It runs in the new database's one transaction (foreign keys and
        ``quick_check`` are checked before the commit); if it raises, nothing is
        created.  For an ``Engine``/``Connection``, it runs in the same transaction as
        the schema (a caller's ``Connection`` already in a transaction keeps it: the
        caller commits).

        :param db: a path where no file exists yet, or an ``Engine``/``Connection``
            to an empty database.
        :param populate: called with a SQLAlchemy ``Connection`` to the new database.
        :return: a :class:`Report` of the new database.
        :raises DatabaseExists: the file exists, or the database has tables.
        :raises FrozenAlembicError: ``populate`` raised (its error is the ``__cause__``).
        """
        if populate is None and self._template_bytes is None and isinstance(db, str | os.PathLike):
            made = self._create_from_bundle(os.fspath(db))
            if made is not None:
                return made
        path = as_path(db)
        if path is None:
            return self._create_in(db, populate)
        heads = self._scripts.heads

        def fill(tmp: str) -> Report:
            template = self._template()
            if template is not None:
                report = _write_template(template, tmp, heads)
            else:
                report = self._create_in_new_file(tmp)
                self._template_bytes = _snapshot(tmp)  # the next create() is a copy
            if populate is not None:
                self._populate(tmp, populate)
            return report

        return _create_file(path, fill)

    def _create_from_bundle(self, path: str) -> Report | None:
        """:meth:`create` from the bundle's template, checked by its heads file alone.

        Nothing but the standard library's lightest modules is loaded (no pathlib,
        JSON, hashlib or SQLite): a new document costs little more than a copy.
        ``None`` when the heads file does not vouch for the template: then the full
        route checks it against the manifest.
        """
        bundle = self._bundle
        if bundle is None or "template" not in bundle:
            return None
        if self._version_table != bundle.get("table", VERSION_TABLE):
            return None
        template = _template_file(self._location, bundle["template"])
        if template is None:
            return None
        self._template_bytes = template  # the next create() copies it from memory
        heads = heads_of(bundle)
        return _create_file(path, lambda tmp: _write_template(template, tmp, heads))

    def _populate(self, tmp: str, populate: Populate) -> None:
        """Run ``populate`` on the new file ``tmp`` in one transaction, then commit."""
        from ._guard import TransactionGuard
        from ._transaction import Deadline, one_transaction

        deadline = Deadline(self._timeout)
        with (
            open_session(tmp, write=True, timeout=self._timeout, doing="create") as session,
            one_transaction(session, deadline),
            TransactionGuard(session.dbapi) as guard,
        ):
            _call_populate(populate, session)
            guard.check(None)

    def _template(self) -> bytes | None:
        """The bytes of an empty database at the heads, if they are at hand.

        They come from the bundle's template (checked against the manifest's hash
        and heads) or from this Migrator's first :meth:`create`.
        """
        if self._template_bytes is None and self._scripts.manifest is not None:
            self._template_bytes = _bundled_template(self._scripts, self._version_table)
        return self._template_bytes

    def _create_in_new_file(self, path: str) -> Report:
        import sqlite3

        # Writing a pragma gives the empty temporary file its SQLite header.
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA user_version = 0")
        finally:
            conn.close()
        return self._create_in(path)

    def _create_in(self, db: DB, populate: Populate | None = None) -> Report:
        from ._status import State

        heads = self._scripts.heads
        metadata = self._metadata

        def plan(status: Status) -> Sequence[Any]:
            if status.state is not State.EMPTY:
                where = status.path or "The database"
                msg = f"{where} already has tables; create() only fills an empty database."
                raise DatabaseExists(msg, status.path)
            script = self._scripts.directory
            if metadata is None:
                return list(script._upgrade_revs("heads", _heads(())))
            return list(script._stamp_revs(heads, ()))

        def prepare(session: Session) -> None:
            if metadata is not None:
                metadata.create_all(session.connection)

        from ._run import Change

        change = Change(
            self,
            verb="create",
            target="heads",
            planner=plan,
            backup=False,
            allowed=frozenset(State),
            prepare=prepare,
            after=None if populate is None else (lambda session: _call_populate(populate, session)),
            empty_only=True,
        )
        return change.execute(db)

    @contextmanager
    def operations(self, db: DB) -> Iterator[Operations]:
        """Alembic's operations (``op``) on ``db``, in one transaction, for ad-hoc steps.

        Everything done inside the ``with`` block commits together at its end,
        or not at all if it raises::

            with migrator.operations(path) as op:
                op.create_index("ix_note_title", "note", ["title"])

        No backup is taken.  The block must not commit or end the transaction
        itself (that is refused, as for migration scripts).

        :param db: a file path, or a SQLAlchemy ``Engine`` or ``Connection``.
        """
        import sqlite3

        from alembic.operations import Operations
        from alembic.runtime.migration import MigrationContext

        from ._errors import translate
        from ._guard import TransactionBroken, TransactionGuard
        from ._run import too_new
        from ._status import State
        from ._transaction import Deadline, one_transaction

        deadline = Deadline(self._timeout)
        path = as_path(db)
        try:
            with (
                open_session(
                    db, write=True, timeout=deadline.remaining(), doing="change"
                ) as session,
                one_transaction(session, deadline),
            ):
                status = self._status(session)
                if status.state is State.TOO_NEW:
                    raise too_new(status)
                guard = TransactionGuard(session.dbapi)
                with guard:
                    yield Operations(MigrationContext.configure(session.connection))
                    guard.check(None)
        except TransactionBroken as err:
            msg = (
                f"The operations block {err.what.replace('revision (unknown) ', '')}; it "
                "must not commit or end the transaction. Nothing was changed."
            )
            raise FrozenAlembicError(msg) from err
        except (OSError, sqlite3.Error) as err:
            raise translate(err, path, "change") from err


def _call_populate(populate: Populate, session: Session) -> None:
    """Call the caller's ``populate``; its failure is said to be its own."""
    try:
        populate(session.connection)
    except FrozenAlembicError:
        raise
    except Exception as err:
        where = session.path or "the new database"
        msg = (
            f"populate() raised {type(err).__name__}: {err}. Nothing was created "
            f"({where} was rolled back)."
        )
        raise FrozenAlembicError(msg) from err


@contextmanager
def _invalid_target(target: str, current: tuple[str, ...]) -> Iterator[None]:
    """Turn Alembic's complaint about a target into :class:`InvalidTarget`."""
    from alembic.util import CommandError

    try:
        yield
    except CommandError as err:
        start = ", ".join(current) or "an unversioned database"
        msg = f"Cannot go to {target!r} from {start}: {err}"
        raise InvalidTarget(msg, target) from err


def _heads(current: tuple[str, ...]) -> Any:
    """Alembic's private planners are annotated ``str`` but, as ``alembic.command``
    does, they are given the tuple of current heads."""
    return current


def _snapshot(path: str) -> bytes:
    """A consistent copy of the database file at ``path``, as bytes."""
    from . import _sqlitefile

    conn = _sqlitefile.connect(path, write=False, timeout=30.0)
    try:
        return conn.serialize()
    finally:
        conn.close()


def _bundled_template(scripts: Scripts, table: str) -> bytes | None:
    """The bundle's template database, if it matches the manifest.

    Anything amiss (no template, another hash, other heads, another version table)
    gives ``None``, and :meth:`Migrator.create` takes the full route instead: never a
    wrong answer.  The template's size and CRC-32 recorded by the build are enough
    (the manifest says which heads and table it holds); a bundle made before they
    were recorded is checked by its SHA-256 and by reading its version table.
    """
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
    check = manifest.get("template_check")
    if isinstance(check, str) and manifest.get("version_table", VERSION_TABLE) == table:
        import zlib

        return data if check == f"{len(data)} {zlib.crc32(data)}" else None
    return _checked_by_reading(data, files.get(name), scripts.heads, table)


def _checked_by_reading(
    data: bytes, sha256: object, heads: tuple[str, ...], table: str
) -> bytes | None:
    """``data`` if it has the SHA-256 ``sha256`` and ``heads`` in its version table."""
    import hashlib
    import sqlite3

    from . import _sqlitefile

    if hashlib.sha256(data).hexdigest() != sha256:
        return None
    check = sqlite3.connect(":memory:")
    try:
        check.deserialize(data)
        found = _sqlitefile.read_versions(check, table)
    except sqlite3.Error:
        return None
    finally:
        check.close()
    return data if found == heads else None


def _template_file(location: str, check: str) -> bytes | None:
    """The bundle's template, if it has the ``"SIZE CRC32"`` the build recorded."""
    import zlib

    from ._names import TEMPLATE_NAME

    try:
        with open(os.path.join(location, TEMPLATE_NAME), "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return data if check == f"{len(data)} {zlib.crc32(data)}" else None


def _write_template(template: bytes, tmp: str, heads: tuple[str, ...]) -> Report:
    with open(tmp, "wb") as fh:
        fh.write(template)
    return Report((), heads, (), tmp)


def _create_file(path: str | os.PathLike[str], fill: Callable[[str], Report]) -> Report:
    """Build a new database at ``path`` via a locked temporary file; never overwrite.

    ``fill`` writes the temporary file; it is then fsynced and published under
    ``path`` (see :mod:`frozen_alembic._newfile`), which fails rather than replaces
    if ``path`` appeared meanwhile.
    """
    if os.path.lexists(path):
        msg = f"{path} already exists; create() makes new files only. Use upgrade() for it."
        raise DatabaseExists(msg, _as_path(path))
    too_long = too_long_for_sqlite(path)
    if too_long is not None:  # it could be made, but never written to
        message = name_too_long_message(path, *too_long)
        raise StorageError(message, _as_path(path), errno.ENAMETOOLONG)
    _newfile.remove_leftovers(_newfile.folder_of(path))
    with _newfile.TempFile(path, "creating") as tmp:
        try:
            report = fill(tmp.path)
        except FrozenAlembicError as err:
            raise _newfile.about_new_file(err, tmp.path, _as_path(path)) from err.__cause__
        _newfile.fsync(tmp.path)
        try:
            _newfile.publish(tmp.path, path)
        except FileExistsError:
            msg = f"{path} appeared while it was being created; it was left as it is."
            raise DatabaseExists(msg, _as_path(path)) from None
    return Report(report.before, report.after, report.applied, path)


def _as_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a :class:`~pathlib.Path`, for an exception (only errors need pathlib)."""
    from pathlib import Path

    return Path(path)
