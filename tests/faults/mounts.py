"""Real, throw-away file systems for the fault-injection suite.

Each context manager makes a fresh file system, mounts it on an empty folder in a new
temporary directory, yields that folder as a :class:`~pathlib.Path`, and on the way
out -- also when the body raised -- unmounts it, detaches its loop device and deletes
the temporary directory (image included)::

    with exfat_fuse() as folder:       # exFAT through FUSE: no hard links
        ...

=================  ==========================================================
``tmpfs(n)``       a tmpfs of ``n`` bytes (rounded up to whole pages): disk full
``exfat_fuse()``   ``mkfs.exfat`` image on a loop device, ``mount.exfat-fuse``
``xfs_loop()``     ``mkfs.xfs`` image on a loop device (reflink clones)
``btrfs_loop()``   ``mkfs.btrfs`` image on a loop device (reflink clones)
=================  ==========================================================

The kernel these tests run on has no ``vfat`` or ``exfat`` driver, so exFAT goes
through FUSE.  (FAT would too, but Debian's only FUSE FAT driver, fusefat 0.1a, damages
files written through its experimental ``-o rw+``: SQLite databases on it read back
"malformed".  exFAT stands in for the FAT family: same lack of hard links, same
permission model.)  Mounting needs Linux, root, the tools of the Debian packages
exfat-fuse, exfatprogs, xfsprogs and btrfs-progs (``scripts/test`` installs them) and
``/dev/fuse`` or ``/dev/loop-control``. When a mount cannot be made the test is
skipped with the failing command and its output in the reason; set
``FROZEN_ALEMBIC_REQUIRE_MOUNTS=1`` to make such a test fail instead.

Unmounting retries a plain ``umount`` briefly (a just-killed child may still hold a
file open), then falls back to ``umount -l``. For FUSE mounts it waits for the
file-system daemon to exit before the loop device is detached with ``losetup -d``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

MIB = 1024 * 1024
#: ``mkfs.xfs`` refuses smaller file systems since xfsprogs 5.19.
XFS_MIN_MB = 300
#: ``mkfs.btrfs`` (6.x) refuses devices under 109 MiB.
BTRFS_MIN_MB = 110
#: Set to a non-empty value to turn "cannot mount here" skips into failures (CI).
REQUIRE_MOUNTS_ENV = "FROZEN_ALEMBIC_REQUIRE_MOUNTS"

#: Debian package for each command these helpers run (scripts/test installs them).
PACKAGES = {
    "mkfs.exfat": "exfatprogs",
    "mount.exfat-fuse": "exfat-fuse",
    "mkfs.xfs": "xfsprogs",
    "mkfs.btrfs": "btrfs-progs",
    "mkfs.ext4": "e2fsprogs",
    "losetup": "mount",
    "mount": "mount",
    "umount": "mount",
}
# Where mkfs.* and mount.* live when the caller's PATH has no sbin folders.
_SBIN = "/usr/local/sbin:/usr/sbin:/sbin"
_COMMAND_TIMEOUT = 120.0
_DAEMON_EXIT_TIMEOUT = 15.0
_UMOUNT_RETRY_DELAYS = (0.0, 0.05, 0.2, 0.5)


class MountError(RuntimeError):
    """Cleaning up a mount failed: something is left mounted or attached."""


@dataclass(frozen=True)
class MountEntry:
    """One line of ``/proc/self/mounts``."""

    source: str
    mount_point: Path
    fs_type: str
    options: tuple[str, ...]

    @property
    def read_write(self) -> bool:
        return "rw" in self.options


# --- looking at the system ---------------------------------------------------------


def _unescape(field: str) -> str:
    # /proc/self/mounts writes space, tab, newline and backslash as \ooo.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mount_entries() -> list[MountEntry]:
    """Every mount of this process's mount namespace, in mount order."""
    entries = []
    with open("/proc/self/mounts", encoding="utf-8", errors="surrogateescape") as table:
        for line in table:
            fields = line.split()
            if len(fields) >= 4:
                entries.append(
                    MountEntry(
                        source=_unescape(fields[0]),
                        mount_point=Path(_unescape(fields[1])),
                        fs_type=fields[2],
                        options=tuple(fields[3].split(",")),
                    )
                )
    return entries


def containing_mount(path: Path) -> MountEntry | None:
    """The mount that holds ``path`` (the last one on the longest matching mount point)."""
    resolved = path.resolve()
    found = [e for e in mount_entries() if resolved.is_relative_to(e.mount_point)]
    return max(reversed(found), key=lambda e: len(e.mount_point.parts), default=None)


def mount_entry(mount_point: Path) -> MountEntry | None:
    """The topmost mount on exactly ``mount_point``, or None when nothing is mounted there."""
    found = [entry for entry in mount_entries() if entry.mount_point == mount_point]
    return found[-1] if found else None


def loop_backing_file(device: str) -> str | None:
    """The image behind loop device ``device`` (``/dev/loopN``), or None when detached."""
    backing = Path("/sys/block") / Path(device).name / "loop" / "backing_file"
    try:
        return backing.read_text(encoding="utf-8", errors="surrogateescape").strip()
    except OSError:
        return None


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=_SBIN)


def unavailable(reason: str) -> NoReturn:
    """Skip the current test because a file system cannot be had here (or fail, on CI)."""
    if os.environ.get(REQUIRE_MOUNTS_ENV):
        pytest.fail(f"{reason} [${REQUIRE_MOUNTS_ENV} is set]", pytrace=False)
    pytest.skip(reason)


def _preflight(what: str, devices: Sequence[str] = ()) -> None:
    if sys.platform != "linux":
        unavailable(f"cannot mount {what}: needs Linux, this is {sys.platform}")
    if os.geteuid() != 0:
        unavailable(f"cannot mount {what}: needs root, euid is {os.geteuid()}")
    for device in devices:
        if not os.path.exists(device):
            unavailable(f"cannot mount {what}: {device} does not exist")


def _tool(name: str, what: str) -> str:
    path = _which(name)
    if path is None:
        package = PACKAGES.get(name, "?")
        unavailable(
            f"cannot mount {what}: command {name!r} not found on PATH or in {_SBIN} "
            f"(Debian package {package}; scripts/test installs it)"
        )
    return path


# --- running commands ----------------------------------------------------------------


@dataclass(frozen=True)
class _Result:
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        text = self.stderr or self.stdout
        return f"exit status {self.returncode}: {text or '(no output)'}"


def _execute(argv: Sequence[str], timeout: float = _COMMAND_TIMEOUT) -> _Result:
    """Run ``argv`` with its output in files, not pipes.

    FUSE mount helpers fork a daemon that may keep inherited descriptors: reading a
    pipe until end-of-file would then wait for the daemon, not for the command.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            timeout=timeout,
            check=False,
        )
        out.seek(0)
        err.seek(0)
        return _Result(
            proc.returncode,
            out.read().decode(errors="replace").strip(),
            err.read().decode(errors="replace").strip(),
        )


def _run(argv: Sequence[str], what: str) -> str:
    """Run a set-up command; skip the test (with the command and its output) if it fails."""
    command = shlex.join(argv)
    try:
        result = _execute(argv)
    except subprocess.TimeoutExpired:
        unavailable(f"cannot {what}: `{command}` did not finish in {_COMMAND_TIMEOUT:.0f} s")
    except OSError as exc:
        unavailable(f"cannot {what}: `{command}` could not start: {exc}")
    if result.returncode != 0:
        unavailable(f"cannot {what}: `{command}` failed with {result.describe()}")
    return result.stdout


# --- processes (FUSE daemons) ----------------------------------------------------------


def _cmdline(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def _daemon_pids(mount_point: Path) -> list[int]:
    """Processes whose command line names ``mount_point``: the FUSE daemon serving it."""
    wanted = os.fsencode(mount_point)
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid() and wanted in _cmdline(int(name)):
            pids.append(int(name))
    return pids


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (exited, not yet reaped by its parent)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            stat = f.read()
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()[:1]
    return state != ["Z"]


def _wait_until_exited(pids: Sequence[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = [pid for pid in pids if _running(pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [pid for pid in alive if _running(pid)]
    return alive


def _stop_daemons(mount_point: Path, pids: Sequence[int]) -> None:
    """Wait for the FUSE daemons of an unmounted ``mount_point`` to exit; SIGTERM stragglers."""
    alive = _wait_until_exited(pids, _DAEMON_EXIT_TIMEOUT)
    wanted = os.fsencode(mount_point)
    for pid in alive:
        if wanted in _cmdline(pid):  # still our daemon, not a reused pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    alive = _wait_until_exited(alive, 5.0)
    if alive:
        raise MountError(f"FUSE daemon(s) {alive} for {mount_point} did not exit")


# --- setting up and tearing down -------------------------------------------------------


@contextlib.contextmanager
def _scratch(kind: str) -> Iterator[Path]:
    """A new temporary directory, removed afterwards unless something is still mounted in it."""
    root = Path(tempfile.mkdtemp(prefix=f"frozen-alembic-{kind}-")).resolve()
    try:
        yield root
    finally:
        left = [e for e in mount_entries() if e.mount_point.is_relative_to(root)]
        if left:
            raise MountError(f"still mounted, so {root} was kept: {left}")
        shutil.rmtree(root)


def _mount_point(scratch: Path) -> Path:
    mount_point = scratch / "mnt"
    mount_point.mkdir()
    return mount_point


def _sparse_image(path: Path, size_mb: int, written: bool = False) -> None:
    """A new image file of ``size_mb``: sparse, or (``written``) zeros written through,
    so that the loop device's writes never wait for the host to allocate blocks."""
    with open(path, "xb") as image:
        if written:
            zeros = bytes(64 * MIB)
            for _ in range(-(-size_mb // 64)):
                image.write(zeros)
        image.truncate(size_mb * MIB)


def unmount(mount_point: Path, daemons: Sequence[int] = ()) -> None:
    """Unmount everything on ``mount_point`` (lazily as a last resort); no-op if nothing is.

    ``daemons`` are the FUSE daemon pids serving it: wait for them to exit.
    """
    umount = _which("umount") or "umount"
    problems = []
    for delay in _UMOUNT_RETRY_DELAYS:
        if mount_entry(mount_point) is None:
            break
        time.sleep(delay)
        result = _execute([umount, str(mount_point)])
        if result.returncode != 0:
            problems.append(result.describe())
    else:
        while mount_entry(mount_point) is not None:
            result = _execute([umount, "-l", str(mount_point)])
            if result.returncode != 0:
                raise MountError(
                    f"cannot unmount {mount_point}: `umount` said {problems}, "
                    f"`umount -l` said {result.describe()}"
                )
    _stop_daemons(mount_point, daemons)


def _detach_loop(device: str, image: Path) -> None:
    def attached() -> bool:
        backing = loop_backing_file(device)
        # None: detached already; another image: the device was reused, not ours to touch.
        return backing is not None and backing.startswith(str(image))

    losetup = _which("losetup") or "losetup"
    problems = []
    for delay in _UMOUNT_RETRY_DELAYS:
        if not attached():
            return
        time.sleep(delay)
        result = _execute([losetup, "-d", device])
        if result.returncode != 0:
            problems.append(result.describe())
    if attached():
        raise MountError(f"cannot detach {device} from {image}: {problems}")


def _attach_loop(stack: contextlib.ExitStack, image: Path, what: str) -> str:
    losetup = _tool("losetup", what)
    device = _run([losetup, "-f", "--show", str(image)], f"attach {image.name} for {what}")
    if not device.startswith("/dev/loop"):
        unavailable(f"cannot mount {what}: `losetup -f --show` printed {device!r}")
    stack.callback(_detach_loop, device, image)
    return device


def _expect_mounted(mount_point: Path, argv: Sequence[str], fs_types: Sequence[str]) -> None:
    entry = mount_entry(mount_point)
    command = shlex.join(argv)
    if entry is None:
        unavailable(f"`{command}` succeeded but {mount_point} is not in /proc/self/mounts")
    if entry.fs_type not in fs_types:
        unavailable(f"`{command}` mounted {entry.fs_type!r}, expected one of {list(fs_types)}")
    if not entry.read_write:
        unavailable(f"`{command}` mounted read-only: {','.join(entry.options)}")


def _mount(
    stack: contextlib.ExitStack,
    argv: Sequence[str],
    mount_point: Path,
    what: str,
    fs_types: Sequence[str],
    *,
    fuse: bool = False,
) -> None:
    daemons: list[int] = []
    # Registered before mounting: unmount() does nothing if the mount never happened.
    stack.callback(unmount, mount_point, daemons)
    _run(argv, f"mount {what}")
    if fuse:
        daemons.extend(_daemon_pids(mount_point))
    _expect_mounted(mount_point, argv, fs_types)


def _loop_mounted(
    kind: str, size_mb: int, mkfs: Sequence[str], fs_type: str, written: bool = False
) -> contextlib.AbstractContextManager[Path]:
    @contextlib.contextmanager
    def mounted() -> Iterator[Path]:
        what = f"a {size_mb} MB {fs_type} image"
        _preflight(what, ["/dev/loop-control"])
        mkfs_path = _tool(mkfs[0], what)
        mount = _tool("mount", what)
        _tool("umount", what)
        with contextlib.ExitStack() as stack:
            scratch = stack.enter_context(_scratch(kind))
            image = scratch / f"{kind}.img"
            _sparse_image(image, size_mb, written)
            _run([mkfs_path, *mkfs[1:], str(image)], f"format {what}")
            device = _attach_loop(stack, image, what)
            mount_point = _mount_point(scratch)
            _mount(
                stack,
                [mount, "-t", fs_type, device, str(mount_point)],
                mount_point,
                what,
                [fs_type],
            )
            yield mount_point

    return mounted()


# --- the file systems ------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(size_bytes: int) -> Iterator[Path]:
    """A tmpfs that holds ``size_bytes`` of file data, then fails writes with ``ENOSPC``.

    The kernel counts tmpfs space in whole pages, so a size that is not a multiple of
    the page size (4096 here) is rounded up to one; ``os.statvfs`` on the mount shows
    the exact capacity. Takes about 10 ms to mount and unmount.
    """
    if size_bytes <= 0:
        raise ValueError(f"a tmpfs needs a positive size, not {size_bytes}")
    what = f"a {size_bytes}-byte tmpfs"
    _preflight(what)
    mount = _tool("mount", what)
    _tool("umount", what)
    page = os.sysconf("SC_PAGE_SIZE")
    size = -(-size_bytes // page) * page
    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(_scratch("tmpfs"))
        mount_point = _mount_point(scratch)
        argv = [
            mount,
            "-t",
            "tmpfs",
            "-o",
            f"size={size},mode=0755",
            "frozen-alembic",
            str(mount_point),
        ]
        _mount(stack, argv, mount_point, what, ["tmpfs"])
        yield mount_point


@contextlib.contextmanager
def exfat_fuse(size_mb: int = 64) -> Iterator[Path]:
    """An exFAT file system (``mkfs.exfat``) mounted with ``mount.exfat-fuse``.

    exfat-fuse always mounts with FUSE's ``blkdev`` option as root, so the image is put
    on a loop device first (``losetup -f --show``). It mounts as ``fuseblk`` (the
    ``/proc/self/mounts`` source is the loop device). Hard links fail with ``EPERM``,
    symbolic links with ``ENOSYS``; renames, ``os.replace``, ``fsync`` (also of a
    folder) and SQLite in every journal mode work. exfat-fuse falls back to a
    read-only mount when it cannot write; that is checked and skipped.
    """
    what = f"a {size_mb} MB exFAT image with exfat-fuse"
    _preflight(what, ["/dev/fuse", "/dev/loop-control"])
    mkfs = _tool("mkfs.exfat", what)
    mount = _tool("mount.exfat-fuse", what)
    _tool("umount", what)
    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(_scratch("exfat"))
        image = scratch / "exfat.img"
        _sparse_image(image, size_mb)
        _run([mkfs, "-L", "FAULTS", str(image)], f"format {what}")
        device = _attach_loop(stack, image, what)
        mount_point = _mount_point(scratch)
        _mount(stack, [mount, device, str(mount_point)], mount_point, what, ["fuseblk"], fuse=True)
        yield mount_point


def xfs_loop(
    size_mb: int = XFS_MIN_MB, *, written: bool = False
) -> contextlib.AbstractContextManager[Path]:
    """An XFS file system (``mkfs.xfs``, reflink on by default) on a loop device.

    ``mkfs.xfs`` refuses fewer than 300 MB; the image is sparse, so that costs no disk
    (``written``: zeros written through first, for benchmarks).
    """
    if size_mb < XFS_MIN_MB:
        raise ValueError(f"mkfs.xfs needs at least {XFS_MIN_MB} MB, not {size_mb}")
    return _loop_mounted("xfs", size_mb, ["mkfs.xfs", "-q"], "xfs", written)


def btrfs_loop(
    size_mb: int = 256, *, written: bool = False
) -> contextlib.AbstractContextManager[Path]:
    """A btrfs file system (``mkfs.btrfs``) on a loop device.

    ``mkfs.btrfs`` refuses fewer than 109 MiB, and with its default duplicated
    metadata a 128 MB file system has under 50 MB free, hence 256 MB (sparse;
    ``written``: zeros written through first, for benchmarks).
    """
    if size_mb < BTRFS_MIN_MB:
        raise ValueError(f"mkfs.btrfs needs at least {BTRFS_MIN_MB} MB, not {size_mb}")
    return _loop_mounted("btrfs", size_mb, ["mkfs.btrfs", "-q"], "btrfs", written)


@contextlib.contextmanager
def thin_ext4(size_mb: int, backing_bytes: int) -> Iterator[tuple[Path, Path]]:
    """An ext4 file system of ``size_mb`` on a disk that runs out under it.

    The image is a sparse file on a tmpfs of ``backing_bytes``, on a loop device: ext4
    takes every write it has room for, and the write-back of a block never written
    before fails (``fsync`` reports ``EIO``) once that tmpfs is full — a thin-provisioned
    volume, or a dying USB stick. Blocks already written (the file system's metadata,
    the data of files made before) stay writable. No journal (a failing journal would
    make the whole file system read-only, hiding the data write's own error), and every
    inode table written by ``mkfs`` (the kernel's lazy initialisation would take tmpfs
    space later). Yields the mount point and the tmpfs folder: fill the tmpfs to make
    the disk fail, empty it to heal it.
    """
    what = f"a {size_mb} MB ext4 image on a {backing_bytes}-byte tmpfs"
    _preflight(what, ["/dev/loop-control"])
    mkfs = _tool("mkfs.ext4", what)
    mount = _tool("mount", what)
    with tmpfs(backing_bytes) as backing, contextlib.ExitStack() as stack:
        image = backing / "ext4.img"
        _sparse_image(image, size_mb)
        options = "lazy_itable_init=0,lazy_journal_init=0"
        _run([mkfs, "-q", "-O", "^has_journal", "-E", options, str(image)], f"format {what}")
        device = _attach_loop(stack, image, what)
        mount_point = _mount_point(stack.enter_context(_scratch("thin")))
        _mount(stack, [mount, "-t", "ext4", device, str(mount_point)], mount_point, what, ["ext4"])
        yield mount_point, backing


__all__ = [
    "BTRFS_MIN_MB",
    "MIB",
    "PACKAGES",
    "REQUIRE_MOUNTS_ENV",
    "XFS_MIN_MB",
    "MountEntry",
    "MountError",
    "btrfs_loop",
    "exfat_fuse",
    "loop_backing_file",
    "mount_entries",
    "mount_entry",
    "thin_ext4",
    "tmpfs",
    "unavailable",
    "unmount",
    "xfs_loop",
]
