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
from ._names import HEADS_NAME
from ._report import Report

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._migrator import ProgressCallback
    from ._session import DB


def versions_fingerprint(location: str) -> str:
    """The number and a CRC-32 of the file names in ``location/versions``.

    Recorded by the build beside the heads, it tells the start-up check that the
    folder still holds the revisions the heads were computed from: a planted or
    deleted revision sends it down the full route (which checks every file).
    """
    import zlib

    names = sorted(n for n in os.listdir(os.path.join(location, "versions")) if n != "__pycache__")
    crc = zlib.crc32("\n".join(names).encode())
    return f"{len(names)} {crc}"


def write_heads(location: str, heads: tuple[str, ...]) -> None:
    """Write the heads file of a bundle (build time)."""
    with open(os.path.join(location, HEADS_NAME), "w", encoding="utf-8") as fh:
        fh.write(f"heads {' '.join(heads)}\nversions {versions_fingerprint(location)}\n")


def bundled_heads(location: str) -> tuple[str, ...] | None:
    """The heads recorded in the bundle, or ``None`` if absent or stale."""
    try:
        with open(os.path.join(location, HEADS_NAME), encoding="utf-8") as fh:
            fields = dict(line.rstrip("\n").split(" ", 1) for line in fh if " " in line)
        if fields.get("versions") != versions_fingerprint(location):
            return None
    except (OSError, ValueError):
        return None
    heads = tuple(sorted(fields.get("heads", "").split()))
    return heads or None


def ensure_current(
    db: DB,
    *,
    folder: str = "migrations",
    anchor: str | None = None,
    scripts: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
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
    :param progress: called before each revision and once at the end.
    :param timeout: seconds to wait for another process's lock.
    :param options: further :class:`Migrator` options (``backup_dir``, ...).
    :return: a :class:`Report`; ``report.changed`` is ``False`` when nothing was done.
    :raises DatabaseNotFound: no file at the path (use :meth:`Migrator.create`).
    :raises DatabaseTooNew: a newer release wrote the file.
    :raises MigrationFailed: a migration failed; the file is unchanged.
    """
    try:
        location = _locate.find(folder, anchor, scripts)
        heads = bundled_heads(location)
        if heads is not None and isinstance(db, (str, os.PathLike)):
            _sqlitefile.check_file(db, write=False)
            conn = _sqlitefile.connect(db, write=False, timeout=timeout)
            try:
                current = _sqlitefile.read_versions(conn) or ()
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
    return migrator.upgrade(db, progress=progress)
