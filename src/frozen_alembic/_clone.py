"""Copying a whole file the cheapest way the file system offers.

Three routes, tried in this order by :mod:`frozen_alembic._backup`:

* **clone** — a copy-on-write clone: the copy shares the original's blocks until
  either is written, so it costs no data I/O at all.  Linux ``ioctl(FICLONE)`` (XFS,
  btrfs, bcachefs, OCFS2, …), macOS ``clonefile()`` (APFS), Windows block cloning
  (ReFS and Dev Drive: ``FSCTL_DUPLICATE_EXTENTS_TO_FILE``).  The macOS and Windows
  routes are not tested on this project's Linux machines; any failure of the Windows
  route falls back to the next one.
* **copy** — a kernel-side copy: ``copy_file_range`` (which itself shares extents or
  copies on the server where the file system can: NFS 4.2, CIFS, XFS), else
  ``sendfile``: the data never passes through Python.
* the caller's fallback when neither is possible (SQLite's backup API, for backups).

These copy bytes; only a caller that knows nobody writes the source meanwhile (it
holds SQLite's write lock) may use them for a database.  Such a caller must also
pass SQLite's own file descriptor (:func:`frozen_alembic._sqlitefile.held_fd`):
closing *any* descriptor of a file drops every POSIX lock the process holds on it,
SQLite's included, so the database file is never opened (and closed) here.
"""

from __future__ import annotations

import errno
import os
import sys

from ._sqlitefile import identity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

CLONE, COPY, SQLITE = "clone", "copy", "sqlite"
ROUTES = (CLONE, COPY, SQLITE)
ROUTE_VARIABLE = "FROZEN_ALEMBIC_BACKUP_ROUTE"
"""Forces a route (for tests and benchmarks): ``clone``, ``copy`` or ``sqlite``."""

# Errors that mean "this file system (or kernel) cannot do that": try the next route.
_UNSUPPORTED = {
    errno.EOPNOTSUPP,
    errno.ENOTSUP,
    errno.ENOTTY,
    errno.EXDEV,
    errno.EINVAL,
    errno.ENOSYS,
    errno.EPERM,
    errno.EBADF,
}
_FICLONE = 0x40049409  # _IOW(0x94, 9, int), linux/fs.h
_CHUNK = 16 << 20  # per call: progress and cancel between chunks
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


def forced_route() -> str | None:
    """The route :data:`ROUTE_VARIABLE` forces, or ``None``."""
    value = os.environ.get(ROUTE_VARIABLE, "").strip().lower()
    return value if value in ROUTES else None


def _into_new_file(
    source: str, source_fd: int | None, target: str, write: Callable[[int, int], bool]
) -> bool:
    """Run ``write(src, dst)`` from ``source`` into the new file ``target``.

    ``source_fd`` is borrowed (else ``source`` is opened and closed here).  When
    ``write`` returns ``False`` or raises, nothing is left at ``target``.
    """
    src = os.open(source, os.O_RDONLY) if source_fd is None else source_fd
    try:
        # Read and write: Windows asks for both to copy a file's integrity setting.
        dst = os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL | _BINARY, 0o644)
        try:
            done = write(src, dst)
        except BaseException:
            os.close(dst)
            os.unlink(target)
            raise
        os.close(dst)
        if not done:
            os.unlink(target)
        return done
    finally:
        if source_fd is None:
            os.close(src)


def _ficlone(src: int, dst: int) -> bool:
    import fcntl

    try:
        fcntl.ioctl(dst, _FICLONE, src)
    except OSError as err:
        if err.errno in _UNSUPPORTED:
            return False
        raise
    return True


def _clone_macos(source: str, target: str) -> bool:  # pragma: no cover - not on Linux
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    clonefile = getattr(libc, "clonefile", None)
    if clonefile is None:
        return False
    if clonefile(os.fsencode(source), os.fsencode(target), 0) == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), target)


# Windows (winioctl.h, winnt.h): the control codes and flags block cloning needs.
_FSCTL_DUPLICATE_EXTENTS_TO_FILE = 0x00098344
_FSCTL_GET_INTEGRITY_INFORMATION = 0x0009027C
_FSCTL_SET_INTEGRITY_INFORMATION = 0x0009C280
_FSCTL_SET_SPARSE = 0x000900C4
_FILE_SUPPORTS_BLOCK_REFCOUNTING = 0x08000000
_FILE_ATTRIBUTE_SPARSE_FILE = 0x200
_WINDOWS_CHUNK = 1 << 30  # a call clones less than 4 GiB; a multiple of any cluster


if sys.platform == "win32":  # pragma: no cover - Windows only (mypy --platform win32)

    def _block_clone(src: int, dst: int) -> bool:
        """ReFS block cloning of the open file ``src`` into the new, empty ``dst``.

        As the file system asks: the volume must count block references; the copy gets
        the source's integrity-stream setting and sparseness, then its size; extents are
        duplicated in whole clusters (the last one may reach past the end of the file).
        Any refusal means "cannot clone here" (the caller falls back): ``False``.
        """
        import ctypes
        import msvcrt
        from ctypes import wintypes

        class Integrity(ctypes.Structure):
            _fields_ = (
                ("algorithm", wintypes.WORD),
                ("reserved", wintypes.WORD),
                ("flags", wintypes.DWORD),
                ("chunk_size", wintypes.DWORD),
                ("cluster_size", wintypes.DWORD),
            )

        class SetIntegrity(ctypes.Structure):
            _fields_ = (
                ("algorithm", wintypes.WORD),
                ("reserved", wintypes.WORD),
                ("flags", wintypes.DWORD),
            )

        class DuplicateExtents(ctypes.Structure):
            _fields_ = (
                ("handle", wintypes.HANDLE),
                ("source_offset", ctypes.c_longlong),
                ("target_offset", ctypes.c_longlong),
                ("count", ctypes.c_longlong),
            )

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        source = wintypes.HANDLE(msvcrt.get_osfhandle(src))
        target = wintypes.HANDLE(msvcrt.get_osfhandle(dst))
        returned = wintypes.DWORD()

        def control(
            handle: wintypes.HANDLE,
            code: int,
            given: ctypes.Structure | None = None,
            wanted: ctypes.Structure | None = None,
        ) -> bool:
            return bool(
                kernel32.DeviceIoControl(
                    handle,
                    code,
                    None if given is None else ctypes.byref(given),
                    0 if given is None else ctypes.sizeof(given),
                    None if wanted is None else ctypes.byref(wanted),
                    0 if wanted is None else ctypes.sizeof(wanted),
                    ctypes.byref(returned),
                    None,
                )
            )

        flags = wintypes.DWORD()
        if not kernel32.GetVolumeInformationByHandleW(
            source, None, 0, None, None, ctypes.byref(flags), None, 0
        ):
            return False
        if not flags.value & _FILE_SUPPORTS_BLOCK_REFCOUNTING:
            return False
        integrity = Integrity()
        if not control(source, _FSCTL_GET_INTEGRITY_INFORMATION, wanted=integrity):
            return False
        found = os.fstat(src)
        if getattr(found, "st_file_attributes", 0) & _FILE_ATTRIBUTE_SPARSE_FILE and not control(
            target, _FSCTL_SET_SPARSE
        ):
            return False
        same = SetIntegrity(integrity.algorithm, integrity.reserved, integrity.flags)
        if not control(target, _FSCTL_SET_INTEGRITY_INFORMATION, given=same):
            return False
        size = found.st_size
        os.ftruncate(dst, size)
        cluster = max(int(integrity.cluster_size), 1)
        whole = -(-size // cluster) * cluster
        offset = 0
        while offset < whole:
            count = min(_WINDOWS_CHUNK, whole - offset)
            if not control(
                target,
                _FSCTL_DUPLICATE_EXTENTS_TO_FILE,
                given=DuplicateExtents(source, offset, offset, count),
            ):
                return False
            offset += count
        return os.fstat(dst).st_size == size


def clone(source: str, target: str, *, source_fd: int | None = None) -> bool:
    """Make ``target`` (which must not exist) a copy-on-write clone of ``source``.

    :param source_fd: a descriptor open on ``source`` to clone from (borrowed, not
        closed); without it ``source`` is opened and closed here.
    :return: ``False`` when the file system or system cannot clone (nothing is left
        at ``target`` then).
    :raises OSError: a real failure (a full disk, no permission, ...).
    """
    if sys.platform.startswith("linux"):
        return _into_new_file(source, source_fd, target, _ficlone)
    if sys.platform == "darwin":  # pragma: no cover - not on Linux
        return _clone_macos(source, target)  # by path: no descriptor is opened
    if sys.platform == "win32":  # pragma: no cover - not on Linux
        # Windows locks belong to a handle: opening and closing another drops none.
        return _into_new_file(source, source_fd, target, _block_clone)
    return False


def kernel_copy(
    source: str,
    target: str,
    progress: Callable[[int, int], None] | None = None,
    *,
    source_fd: int | None = None,
) -> bool:
    """Copy ``source`` to the new file ``target`` inside the kernel (Linux).

    :param progress: called with (bytes copied, bytes) after each chunk; what it
        raises stops the copy (``target`` is removed) and is raised.
    :param source_fd: a descriptor open on ``source`` to read (borrowed, not closed;
        read at explicit offsets, so its position is left alone); without it
        ``source`` is opened and closed here.
    :return: ``False`` when the system has no kernel-side copy for these files
        (nothing is left at ``target`` then).
    :raises OSError: the copy failed (``target`` is removed).
    """
    if not sys.platform.startswith("linux"):  # pragma: no cover - see the module
        return False

    def copy(src: int, dst: int) -> bool:
        return _copy_range(src, dst, os.fstat(src).st_size, progress)

    return _into_new_file(source, source_fd, target, copy)


def _copy_range(src: int, dst: int, size: int, progress: Callable[[int, int], None] | None) -> bool:
    """Copy ``size`` bytes from ``src`` to ``dst``; ``False`` if the kernel cannot (or
    ``src`` stopped being the file it was)."""
    done = 0
    use_range = hasattr(os, "copy_file_range")
    started_as = identity(src)
    while done < size:
        # A borrowed descriptor could be closed (and its number reused for another
        # file) by its owner between two chunks: then stop rather than copy that file.
        if identity(src) != started_as:
            return False
        count = min(_CHUNK, size - done)
        try:
            if use_range:
                sent = os.copy_file_range(src, dst, count, done, done)
            else:
                os.lseek(dst, done, os.SEEK_SET)
                sent = os.sendfile(dst, src, done, count)
        except OSError as err:
            if err.errno not in _UNSUPPORTED or err.errno == errno.EBADF:
                raise
            if not use_range:
                return False  # neither call works here
            use_range = False  # e.g. an older kernel across file systems: sendfile
            continue
        if sent == 0:
            msg = f"the file shrank while it was copied ({done} of {size} bytes)"
            raise OSError(errno.EIO, msg)
        done += sent
        if progress is not None:
            progress(done, size)
    return True
