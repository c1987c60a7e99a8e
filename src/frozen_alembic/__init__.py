"""frozen-alembic: keep SQLite documents on the newest schema from inside a frozen app.

The whole public API is re-exported here; every other module is private.  Names are
imported on first use (PEP 562), so ``import frozen_alembic`` costs the application's
start-up almost nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._backup import backup, restore
    from ._cli import main
    from ._events import CancelToken, Phase, Progress
    from ._exceptions import (
        BackupFailed,
        DatabaseBusy,
        DatabaseError,
        DatabaseExists,
        DatabaseNotFound,
        DatabaseTooNew,
        DiskFull,
        FrozenAlembicError,
        InvalidTarget,
        MigrationCancelled,
        MigrationFailed,
        NotADatabase,
        ReadOnlyDatabase,
        ScriptsError,
        ScriptsNotFound,
        StorageError,
        TamperedScripts,
        UnsafeConnection,
        UnversionedDatabase,
    )
    from ._fast import ensure_current
    from ._locate import locate_migrations
    from ._migrator import Migrator
    from ._readonly import open_read_only, read_only_engine
    from ._report import Report
    from ._scripts import Revision
    from ._status import Plan, PlannedRevision, State, Status

__version__ = "0.1.0"

_EXPORTS = {
    "BackupFailed": "_exceptions",
    "DatabaseBusy": "_exceptions",
    "DatabaseError": "_exceptions",
    "DatabaseExists": "_exceptions",
    "DatabaseNotFound": "_exceptions",
    "DatabaseTooNew": "_exceptions",
    "DiskFull": "_exceptions",
    "FrozenAlembicError": "_exceptions",
    "InvalidTarget": "_exceptions",
    "MigrationFailed": "_exceptions",
    "Migrator": "_migrator",
    "NotADatabase": "_exceptions",
    "CancelToken": "_events",
    "MigrationCancelled": "_exceptions",
    "Phase": "_events",
    "Plan": "_status",
    "PlannedRevision": "_status",
    "Progress": "_events",
    "ReadOnlyDatabase": "_exceptions",
    "Report": "_report",
    "Revision": "_scripts",
    "ScriptsError": "_exceptions",
    "ScriptsNotFound": "_exceptions",
    "State": "_status",
    "Status": "_status",
    "StorageError": "_exceptions",
    "TamperedScripts": "_exceptions",
    "UnsafeConnection": "_exceptions",
    "UnversionedDatabase": "_exceptions",
    "backup": "_backup",
    "ensure_current": "_fast",
    "locate_migrations": "_locate",
    "main": "_cli",
    "open_read_only": "_readonly",
    "read_only_engine": "_readonly",
    "restore": "_backup",
}


def __getattr__(name: str) -> object:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    # __import__ rather than importlib.import_module: importing importlib (and, through
    # it, warnings) would cost the start-up check more than it saves in lines.
    module = __import__(f"{__name__}.{module_name}", fromlist=[name])
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "BackupFailed",
    "CancelToken",
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
    "Migrator",
    "NotADatabase",
    "Phase",
    "Plan",
    "PlannedRevision",
    "Progress",
    "ReadOnlyDatabase",
    "Report",
    "Revision",
    "ScriptsError",
    "ScriptsNotFound",
    "State",
    "Status",
    "StorageError",
    "TamperedScripts",
    "UnsafeConnection",
    "UnversionedDatabase",
    "backup",
    "ensure_current",
    "locate_migrations",
    "main",
    "open_read_only",
    "read_only_engine",
    "restore",
]
