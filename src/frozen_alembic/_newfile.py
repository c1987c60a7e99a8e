"""Making a new file appear whole, or not at all, and never over another one.

``create()`` and ``restore()`` to a new path build the file under a temporary name
beside it, fsync it, then *publish* it under its final name:

* with a hard link where the file system has them (``link`` fails if the name
  exists, so a file that appeared meanwhile is never replaced);
* where it has none (FAT, exFAT, many SMB shares: ``EPERM``/``ENOTSUP``), by
  reserving the final name with ``O_CREAT | O_EXCL`` — which fails, just as
  ``link`` does, if the name exists — and renaming the complete file over our own
  reservation.  Between the two steps (microseconds, the file is already written
  and fsynced) the name holds an empty file of ours; nothing that another program
  made can be replaced.  (``renameat2(RENAME_NOREPLACE)`` would avoid even that,
  but the FUSE exFAT driver refuses it with ``EINVAL``, so it would only add a
  third route to test.)

A temporary file is locked (``flock``) for as long as its maker uses it, so a later
call can tell the leftovers of a killed process (unlocked) from a file in use, and
removes them (:func:`remove_leftovers`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import time

from ._filenames import short_part

TYPE_CHECKING = False

# What a leftover must be older than before it is removed: a maker takes its lock
# within microseconds of creating the file, so this only closes that gap.
LEFTOVER_AGE = 1.0

_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK}
_TEMP_PATTERN = re.compile(r"^\..+\.[0-9a-f]{12}\.(creating|restoring)(-journal|-wal|-shm)?$")


def _lock(fd: int) -> bool:
    """Take an exclusive lock on ``fd`` without waiting; ``False`` if another holds it."""
    try:
        import fcntl
    except ImportError:  # Windows: an open file cannot be deleted, which is enough
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class TempFile:
    """A new, locked, empty temporary file beside ``path``: ``.NAME.<hex>.<kind>``.

    Use as a context manager; on exit the file (and SQLite's files beside it) is
    removed unless it was published.
    """

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        folder, base = os.path.split(os.fspath(path))
        name = f".{short_part(base, folder_of(path))}.{os.urandom(6).hex()}.{kind}"
        self.path = os.path.join(folder, name)
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as err:  # speak of the file the caller asked for, not ours
            raise OSError(err.errno, err.strerror, os.fspath(path)) from err
        _lock(self.fd)

    def __enter__(self) -> TempFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(f"{self.path}{suffix}")
        os.close(self.fd)  # last: the lock holds until the files are gone


def fsync(path: str | os.PathLike[str]) -> None:
    """Flush a file's data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename or a new name in ``folder`` durable, where the system can."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # not every file system (or system) can fsync a folder
        pass
    finally:
        os.close(fd)


def folder_of(path: str | os.PathLike[str]) -> str:
    """The folder holding ``path`` (the working directory's, for a bare name)."""
    return os.path.dirname(os.path.abspath(path))


def publish(tmp: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """Give the complete file ``tmp`` the name ``path``, which must not exist.

    :raises FileExistsError: ``path`` exists (``tmp`` is left as it is).
    """
    try:
        os.link(tmp, path)
    except OSError as err:
        if err.errno not in _NO_LINKS:
            raise
        reservation = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(reservation)
        try:
            os.replace(tmp, path)
        except BaseException:
            os.unlink(path)
            raise
    fsync_folder(folder_of(path))


def remove_leftovers(folder: str | os.PathLike[str]) -> list[str]:
    """Remove the temporary files of processes that died making or restoring a file.

    A temporary file whose lock can be taken (and that is a little old) belongs to
    no live process.  Files in use are never touched; errors are ignored.

    :return: what was removed.
    """
    removed: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in sorted(names):
        match = _TEMP_PATTERN.match(name)
        if match is None or match.group(2):
            continue
        candidate = os.path.join(folder, name)
        if _unused(candidate):
            for suffix in ("", "-journal", "-wal", "-shm"):
                try:
                    os.unlink(f"{candidate}{suffix}")
                    removed.append(f"{candidate}{suffix}")
                except OSError:
                    pass
    return removed


def _unused(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        if time.time() - os.fstat(fd).st_mtime < LEFTOVER_AGE:
            return False
        return _lock(fd)
    finally:
        os.close(fd)  # also releases the lock we may have taken


def about_new_file(
    err: Exception, tmp: str | os.PathLike[str], path: str | os.PathLike[str]
) -> Exception:
    """``err``, raised while filling ``tmp``, told about the file the caller asked for."""
    text = str(err).replace(f"{tmp} was not changed", f"{path} was not created")
    err.args = (text.replace(str(tmp), str(path)),)
    if getattr(err, "path", None) is not None:
        err.path = path  # type: ignore[attr-defined]
    return err
