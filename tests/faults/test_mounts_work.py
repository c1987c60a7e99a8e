"""The fault-injection infrastructure itself: each mount is real, writable and of its kind.

These pin the properties the library has to cope with -- no hard links on exFAT and
FAT, a tmpfs that really fills up, a size limit that makes writes fail with EFBIG --
so that a later test relying on them fails here first if the machine changes.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from . import mounts
from .procs import SRC, run_with_fsize_limit

TmpfsFactory = Callable[[int], Path]

# fixture -> (type in /proc/self/mounts, `stat -f -c %T`, blkid TYPE of the mount's source)
KINDS = {
    "exfat_dir": ("fuseblk", "fuseblk", "exfat"),
    "xfs_dir": ("xfs", "xfs", "xfs"),
    "btrfs_dir": ("btrfs", "btrfs", "btrfs"),
}
NO_HARD_LINKS = ["exfat_dir"]


def statfs_type(path: Path) -> str:
    return subprocess.run(
        ["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


def blkid_type(source: str) -> str:
    # -p: probe the device itself, not blkid's cache.
    return subprocess.run(
        ["blkid", "-p", "-o", "value", "-s", "TYPE", source],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.parametrize("fixture", list(KINDS))
def test_mount_is_a_fresh_writable_file_system_of_its_kind(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    folder: Path = request.getfixturevalue(fixture)
    mount_type, statfs, probed = KINDS[fixture]
    entry = mounts.mount_entry(folder)
    assert entry is not None, f"{folder} is not a mount point"
    assert (entry.fs_type, entry.read_write) == (mount_type, True), entry
    assert statfs_type(folder) == statfs
    assert blkid_type(entry.source) == probed, entry.source
    assert [p.name for p in folder.iterdir() if p.name != "lost+found"] == []

    data = os.urandom(3 * 1024 * 1024 + 123)
    target = folder / "Notes document.notes"
    with open(target, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    (folder / "other").write_bytes(b"x")
    os.replace(folder / "other", target.with_suffix(".bak"))
    assert target.read_bytes() == data
    assert sorted(p.name for p in folder.iterdir() if p.name != "lost+found") == [
        "Notes document.bak",
        "Notes document.notes",
    ]


@pytest.mark.parametrize("fixture", NO_HARD_LINKS)
def test_hard_links_fail(fixture: str, request: pytest.FixtureRequest) -> None:
    folder: Path = request.getfixturevalue(fixture)
    (folder / "a").write_bytes(b"a")
    with pytest.raises(OSError, match="not permitted") as caught:
        os.link(folder / "a", folder / "b")
    assert caught.value.errno == errno.EPERM
    assert not (folder / "b").exists()


@pytest.mark.parametrize("fixture", NO_HARD_LINKS)
@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_sqlite_creates_writes_and_reads_a_database(
    fixture: str, journal_mode: str, request: pytest.FixtureRequest
) -> None:
    folder: Path = request.getfixturevalue(fixture)
    path = folder / "Notes.notes"
    with contextlib.closing(sqlite3.connect(path)) as con:
        assert con.execute(f"PRAGMA journal_mode={journal_mode}").fetchone() == (journal_mode,)
        with con:
            con.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body BLOB)")
        for batch in range(40):
            with con:
                con.executemany(
                    "INSERT INTO note (body) VALUES (?)",
                    [(bytes([batch]) * 300,) for _ in range(100)],
                )
    with contextlib.closing(sqlite3.connect(path)) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT count(*), sum(length(body)) FROM note").fetchone() == (
            4000,
            4000 * 300,
        )
        assert con.execute("SELECT body FROM note WHERE id = 4000").fetchone() == (
            bytes([39]) * 300,
        )


def fill(path: Path) -> tuple[int, OSError]:
    """Append 4 KiB blocks to a new file until a write fails: the bytes written, the error."""
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        while True:
            try:
                written += os.write(fd, b"\xa5" * 4096)
            except OSError as exc:
                return written, exc
    finally:
        os.close(fd)


@pytest.mark.parametrize("size", [64 * 1024, 1024 * 1024 + 1])
def test_tmpfs_holds_its_size_then_fails_with_enospc(
    size: int, tmpfs_factory: TmpfsFactory
) -> None:
    folder = tmpfs_factory(size)
    page = os.sysconf("SC_PAGE_SIZE")
    capacity = -(-size // page) * page
    entry = mounts.mount_entry(folder)
    assert entry is not None
    assert (entry.fs_type, entry.read_write) == ("tmpfs", True)
    assert statfs_type(folder) == "tmpfs"
    stat = os.statvfs(folder)
    assert (stat.f_blocks * stat.f_frsize, stat.f_bfree) == (capacity, stat.f_blocks)

    written, error = fill(folder / "fill")
    assert error.errno == errno.ENOSPC, error
    assert written == capacity
    assert os.statvfs(folder).f_bfree == 0


def test_tmpfs_factory_mounts_several(tmpfs_factory: TmpfsFactory) -> None:
    first, second = tmpfs_factory(8192), tmpfs_factory(16384)
    assert first != second
    assert [os.statvfs(f).f_blocks * os.statvfs(f).f_frsize for f in (first, second)] == [
        8192,
        16384,
    ]


class BodyFailed(Exception):
    pass


def fail_inside(
    mount: contextlib.AbstractContextManager[Path],
    seen: list[Path],
    hold_open: contextlib.ExitStack | None = None,
) -> None:
    """Enter ``mount``, note its folder and source, maybe hold a file open in it, then fail."""
    with mount as folder:
        entry = mounts.mount_entry(folder)
        assert entry is not None
        seen += [folder, Path(entry.source)]
        if hold_open is not None:
            # An open file makes a plain umount fail with EBUSY: the lazy unmount steps in.
            hold_open.enter_context(open(folder / "busy", "wb"))  # noqa: SIM115
        raise BodyFailed


def test_unmounted_even_when_the_body_fails_with_a_file_still_open() -> None:
    seen: list[Path] = []
    with contextlib.ExitStack() as hold_open:
        with pytest.raises(BodyFailed):
            fail_inside(mounts.tmpfs(4096), seen, hold_open)
        folder = seen[0]
        assert mounts.mount_entry(folder) is None
        assert not folder.parent.exists()


def test_loop_device_detached_after_a_failing_body() -> None:
    seen: list[Path] = []
    with pytest.raises(BodyFailed):
        fail_inside(mounts.exfat_fuse(), seen)
    folder, device = seen
    assert device.name.startswith("loop"), device
    assert mounts.mount_entry(folder) is None
    assert mounts.loop_backing_file(str(device)) is None
    assert not folder.parent.exists()


WRITE_PAST_LIMIT = """
import json, os, sys
path, size = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
written, error = 0, None
try:
    while written < size:
        written += os.write(fd, b"x" * min(65536, size - written))
except OSError as exc:
    error = exc.errno
finally:
    os.close(fd)
print(json.dumps({"written": written, "errno": error, "size": os.path.getsize(path)}))
"""


def test_fsize_limit_makes_a_large_write_fail_with_efbig(tmp_path: Path) -> None:
    limit = 100_000
    proc = run_with_fsize_limit(WRITE_PAST_LIMIT, limit, str(tmp_path / "big"), str(10 * limit))
    assert proc.returncode == 0, proc.stderr  # not killed by SIGXFSZ
    assert json.loads(proc.stdout) == {"written": limit, "errno": errno.EFBIG, "size": limit}


def test_fsize_limit_lets_writes_within_it_through(tmp_path: Path) -> None:
    proc = run_with_fsize_limit(WRITE_PAST_LIMIT, 100_000, str(tmp_path / "small"), "99999")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"written": 99_999, "errno": None, "size": 99_999}


def test_fsize_limit_child_finds_the_project_source() -> None:
    code = "import importlib.util; print(importlib.util.find_spec('frozen_alembic').origin)"
    proc = run_with_fsize_limit(code, 1024)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).is_relative_to(SRC)


def test_fsize_limit_does_not_touch_this_process() -> None:
    import resource

    before = resource.getrlimit(resource.RLIMIT_FSIZE)
    run_with_fsize_limit("pass", 10)
    assert resource.getrlimit(resource.RLIMIT_FSIZE) == before
