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
    │   ├── ReadOnlyDatabase         the file, its folder or its file system cannot be written
    │   ├── UnsafeConnection         a caller's connection cannot be migrated safely as it is
    │   └── StorageError             the file system failed (name too long, I/O error, ...)
    │       └── DiskFull             no space left (or a file size limit reached)
    ├── MigrationFailed              a migration script failed, or broke the transaction
    ├── MigrationCancelled           the caller cancelled; the file is unchanged
    └── BackupFailed                 the backup before a change could not be written

The messages say what to do next; the data they speak of is on the exception
(``path``, ``revision``, ``errno``, ...), and the original error is chained as
``__cause__``.  Every exception raised after a backup of the file was taken carries
that backup in ``backup`` when it was kept (it is removed only when the file is
provably unchanged), so an application can tell its user where the copy is.
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
    "DiskFull",
    "FrozenAlembicError",
    "InvalidTarget",
    "MigrationCancelled",
    "MigrationFailed",
    "NotADatabase",
    "ReadOnlyDatabase",
    "ScriptsError",
    "ScriptsNotFound",
    "StorageError",
    "TamperedScripts",
    "UnsafeConnection",
    "UnversionedDatabase",
]


class FrozenAlembicError(Exception):
    """Root of every error raised by frozen-alembic.

    :ivar backup: the backup of the user's file that this call took and kept, or
        ``None``.  A backup is removed only when the file is provably unchanged;
        otherwise (and always after the file was restored from it) it is kept.
    :ivar restored: ``True`` when the file was put back from ``backup``.
    :ivar unchanged: ``True`` when the file is as it was before the call — provably
        (nothing was written, or the transaction was rolled back intact) or put back
        from the backup; ``False`` when it may have changed (then ``backup``, if any,
        is the copy to go back to).
    """

    backup: Path | None = None
    restored: bool = False
    unchanged: bool = True


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
    """The database file, the folder it is in, or its file system cannot be written."""


class UnsafeConnection(DatabaseError):
    """A caller's connection cannot be migrated safely in the state it is in.

    The usual case: a ``Connection`` already inside a transaction with
    ``PRAGMA foreign_keys=ON``.  SQLite cannot switch foreign keys off inside a
    transaction, and a table rebuild would then cascade-delete rows.  Commit or
    roll back first, or pass the ``Engine`` or the file's path instead.
    """


class StorageError(DatabaseError):
    """The file system refused: name too long, symbolic link loop, I/O error, no access.

    :ivar errno: the operating system's error number, when there is one.
    """

    def __init__(self, message: str, path: Path | None = None, errno: int | None = None) -> None:
        super().__init__(message, path)
        self.errno = errno


class DiskFull(StorageError):
    """No space was left on the device (or a file size limit was reached)."""


class MigrationFailed(FrozenAlembicError):
    """A migration script failed, or broke the call's transaction.

    Every change of the call was rolled back; if a script ended the transaction
    (so something may have been committed), the file was put back from the backup
    taken before the run and ``restored`` is ``True``.  The message says which.

    :ivar revision: the revision whose script failed (``None`` if the failure
        happened outside any one script, e.g. in a final consistency check).
    :ivar path: the database file, or ``None`` for a caller's engine or connection.

    The original exception is available as ``__cause__``.
    """

    def __init__(self, message: str, revision: str | None, path: Path | None = None) -> None:
        super().__init__(message)
        self.revision = revision
        self.path = path


class MigrationCancelled(FrozenAlembicError):
    """The caller cancelled the change (``cancel=``) before its commit started.

    Everything was rolled back and the backup removed: the file is as it was.

    :ivar path: the database file, or ``None`` for a caller's engine or connection.
    """

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class BackupFailed(FrozenAlembicError):
    """The backup taken before a change could not be written; nothing was changed.

    :ivar path: the database file that was to be backed up.
    """

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path
