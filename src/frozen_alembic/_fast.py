"""The one call an application makes on start-up: make this file current.

When the file is already current — the common case — the answer comes from the
bundle's heads file and one row of the database, read with the standard library:
neither Alembic, SQLAlchemy nor any revision file is imported.  Only a file that
needs work pays for them, through :meth:`Migrator.upgrade`.
"""

from __future__ import annotations

import os

from . import _locate, _sqlitefile
from ._exceptions import FrozenAlembicError
from ._headsfile import read_heads_file
from ._report import Report

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._events import CancelToken
    from ._migrator import ProgressCallback
    from ._session import DB


def ensure_current(
    db: DB,
    *,
    folder: str = "migrations",
    anchor: str | None = None,
    scripts: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    timeout: float = 30.0,
    **options: Any,
) -> Report:
    """Make ``db`` current with the application's bundled migrations; fast when it is.

    The migrations are found as :func:`locate_migrations` finds them.  If the
    bundle records its heads (every build made with :mod:`frozen_alembic.build`
    does) and the file is at them, nothing else happens.  Otherwise this is
    ``Migrator.locate(...).upgrade(db, progress=progress)``, with all of its
    guarantees: lock, backup, one transaction.

    :param db: the database file (an ``Engine`` or ``Connection`` takes the full route).
    :param folder: the bundled folder's name.
    :param anchor: the application's top-level package, for source runs.
    :param scripts: an explicit script directory, which wins over everything.
    :param progress: called with a :class:`Progress` at every step of an upgrade.
    :param cancel: a :class:`CancelToken` that stops an upgrade before its commit.
    :param timeout: seconds to wait for another process's lock.
    :param options: further :class:`Migrator` options (``backup_dir``, ...).
    :return: a :class:`Report`; ``report.changed`` is ``False`` when nothing was done.
    :raises DatabaseNotFound: no file at the path (use :meth:`Migrator.create`).
    :raises DatabaseTooNew: a newer release wrote the file.
    :raises MigrationFailed: a migration failed; the file is unchanged.
    """
    try:
        location = _locate.find(folder, anchor, scripts)
        recorded = read_heads_file(location)
        if recorded is not None and isinstance(db, (str, os.PathLike)):
            heads, table = recorded
            _sqlitefile.check_file(db, write=False)
            conn = _sqlitefile.connect(db, write=False, timeout=timeout)
            try:
                current = _sqlitefile.read_versions(conn, table) or ()
            finally:
                conn.close()
            if current == heads:
                return Report(current, current, (), db)
    except FrozenAlembicError:
        raise
    except Exception as err:  # OSError, sqlite3.Error: only ours leave a public call
        from ._errors import translate

        raise translate(err, db if isinstance(db, (str, os.PathLike)) else None, "open") from err
    from ._migrator import Migrator

    migrator = Migrator.locate(folder, anchor=anchor, path=scripts, timeout=timeout, **options)
    return migrator.upgrade(db, progress=progress, cancel=cancel)
