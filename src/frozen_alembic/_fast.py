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
from ._names import HEADS_NAME, MANIFEST_NAME
from ._report import Report

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._events import CancelToken
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


def _crc(data: bytes) -> int:
    import zlib

    return zlib.crc32(data)


def _manifest_stamp(location: str) -> str:
    """The size and CRC-32 of the bundle's manifest, which the heads file is tied to."""
    with open(os.path.join(location, MANIFEST_NAME), "rb") as fh:
        data = fh.read()
    return f"{len(data)} {_crc(data)}"


def write_heads(
    location: str, heads: tuple[str, ...], version_table: str = _sqlitefile.VERSION_TABLE
) -> None:
    """Write the heads file of a bundle (build time, after the manifest).

    Besides the heads (and the version table, when it is not ``alembic_version``) it
    records the fingerprint of ``versions/`` and a stamp of the manifest, and ends
    with a CRC of its own lines: a heads file that was edited, or that belongs to
    another build, is then never believed.
    """
    table = f"table {version_table}\n" if version_table != _sqlitefile.VERSION_TABLE else ""
    body = (
        f"heads {' '.join(heads)}\n"
        f"{table}"
        f"versions {versions_fingerprint(location)}\n"
        f"manifest {_manifest_stamp(location)}\n"
    )
    with open(os.path.join(location, HEADS_NAME), "w", encoding="utf-8") as fh:
        fh.write(f"{body}check {_crc(body.encode())}\n")


def bundled_heads(location: str) -> tuple[str, ...] | None:
    """The heads recorded in the bundle, or ``None`` unless every check holds."""
    found = read_heads_file(location)
    return found[0] if found is not None else None


def read_heads_file(location: str) -> tuple[tuple[str, ...], str] | None:
    """The heads and version table recorded in the bundle, or ``None`` unless every
    check holds.

    The checks, all cheap and standard-library only: the file's own CRC (an edit),
    the ``versions/`` listing (a planted or deleted revision) and the manifest's
    size and CRC (a heads file of another build).  ``None`` sends the caller down
    the full route, which verifies every file against the manifest.
    """
    try:
        with open(os.path.join(location, HEADS_NAME), encoding="utf-8") as fh:
            text = fh.read()
        body, _, last = text.rstrip("\n").rpartition("\n")
        if last != f"check {_crc((body + chr(10)).encode())}":
            return None
        fields = dict(line.split(" ", 1) for line in body.split("\n") if " " in line)
        if fields.get("versions") != versions_fingerprint(location):
            return None
        if fields.get("manifest") != _manifest_stamp(location):
            return None
    except (OSError, ValueError):
        return None
    heads = tuple(sorted(fields.get("heads", "").split()))
    table = fields.get("table", _sqlitefile.VERSION_TABLE)
    return (heads, table) if heads else None


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
