"""The exception tree of frozen-alembic.

Every error the library raises on purpose derives from :class:`FrozenAlembicError`,
so an application can catch that one class around a migration and show its message::

    FrozenAlembicError
    ├── ScriptsError                 the migration scripts cannot be used
    │   ├── ScriptsNotFound          no script directory where it was looked for
    │   └── TamperedScripts          bundled scripts differ from the build's manifest
    ├── InvalidTarget                a target revision the scripts do not contain or allow
    ├── DatabaseError                the database cannot be used as it is
    │   ├── DatabaseNotFound         no file at that path
    │   ├── DatabaseExists           ``create()`` refuses to overwrite a file
    │   ├── NotADatabase             not a SQLite database (or empty, or corrupt)
    │   ├── DatabaseTooNew           written by a newer release of the application
    │   ├── UnversionedDatabase      has tables but no Alembic version table
    │   ├── DatabaseBusy             another process holds the file's write lock
    │   └── ReadOnlyDatabase         the file or its folder cannot be written
    ├── MigrationFailed              a migration script raised; nothing was changed
    └── BackupFailed                 the backup before a change could not be written

The messages say what to do next; the data they speak of is on the exception
(``path``, ``revision``, ...), and the original error is chained as ``__cause__``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # avoids importing typing: this module is on the startup path
if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "BackupFailed",
    "DatabaseBusy",
    "DatabaseError",
    "DatabaseExists",
    "DatabaseNotFound",
    "DatabaseTooNew",
    "FrozenAlembicError",
    "MigrationFailed",
    "NotADatabase",
    "ReadOnlyDatabase",
    "ScriptsError",
    "ScriptsNotFound",
    "TamperedScripts",
    "InvalidTarget",
    "UnversionedDatabase",
]


class FrozenAlembicError(Exception):
    """Root of every error raised by frozen-alembic."""


class ScriptsError(FrozenAlembicError):
    """The Alembic script directory cannot be used (missing, empty or inconsistent)."""


class ScriptsNotFound(ScriptsError):
    """No Alembic script directory was found.

    :ivar searched: every place that was looked at, in order.
    """

    def __init__(self, message: str, searched: tuple[Path, ...] = ()) -> None:
        super().__init__(message)
        self.searched = searched


class TamperedScripts(ScriptsError):
    """The bundled scripts differ from the build's manifest; none of them was run.

    :ivar files: the changed, missing and extra files, relative to the folder.
    """

    def __init__(self, message: str, files: tuple[str, ...]) -> None:
        super().__init__(message)
        self.files = files


class InvalidTarget(FrozenAlembicError):
    """A target revision is unknown to the scripts, or not reachable from the file.

    :ivar target: the target as the caller gave it.
    """

    def __init__(self, message: str, target: str) -> None:
        super().__init__(message)
        self.target = target


class DatabaseError(FrozenAlembicError):
    """The database cannot be used as it is.  The file was left unchanged.

    :ivar path: the database file, or ``None`` for a caller's engine or connection.
    """

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class DatabaseNotFound(DatabaseError):
    """There is no file at the given path (and none was created)."""


class DatabaseExists(DatabaseError):
    """:meth:`Migrator.create` was asked to make a file that already exists."""


class NotADatabase(DatabaseError):
    """The file is not a SQLite database: empty, another format, or corrupt."""


class DatabaseTooNew(DatabaseError):
    """The file is at a revision this application does not know.

    It was most likely written by a newer release of the application.

    :ivar revision: the revision(s) found in the file, comma separated.
    """

    def __init__(self, message: str, path: Path | None, revision: str) -> None:
        super().__init__(message, path)
        self.revision = revision


class UnversionedDatabase(DatabaseError):
    """The file has tables but no Alembic version, so its schema is unknown.

    Adopt it with :meth:`Migrator.stamp` once you know which revision it matches.

    :ivar tables: the names of the tables found.
    """

    def __init__(self, message: str, path: Path | None, tables: tuple[str, ...]) -> None:
        super().__init__(message, path)
        self.tables = tables


class DatabaseBusy(DatabaseError):
    """Another connection held the database's lock for longer than the timeout."""


class ReadOnlyDatabase(DatabaseError):
    """The database file, or the folder it is in, cannot be written."""


class MigrationFailed(FrozenAlembicError):
    """A migration script failed; every change of the call was rolled back.

    :ivar revision: the revision whose script failed (``None`` if the failure
        happened outside any one script, e.g. in a final consistency check).
    :ivar path: the database file, or ``None`` for a caller's engine or connection.

    The original exception is available as ``__cause__``.
    """

    def __init__(self, message: str, revision: str | None, path: Path | None = None) -> None:
        super().__init__(message)
        self.revision = revision
        self.path = path


class BackupFailed(FrozenAlembicError):
    """The backup taken before a change could not be written; nothing was changed.

    :ivar path: the database file that was to be backed up.
    """

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path
