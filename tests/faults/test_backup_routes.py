"""The three routes a backup can take, on real file systems, with real readers and kills.

A backup taken while the write lock is held is a copy-on-write clone where the file
system can make one (XFS and btrfs on loop devices here), else a kernel-side copy
(ext4, the suite's own disk), else SQLite's backup API (always, for a file that
cannot be locked for writing).  ``FROZEN_ALEMBIC_BACKUP_ROUTE`` forces one route, for
tests; the route taken is read from the library's debug log record, and a clone is
also seen in the file system itself (``filefrag`` flags its extents ``shared``).

Every route, in both journal modes, while another connection holds a read
transaction (and, in WAL mode, keeps committed pages in the ``-wal`` that nobody has
checkpointed): the backup opens, passes ``integrity_check``, is a rollback-journal
database with nothing beside it, and holds exactly the rows the file held before the
change.  Then ``kill -9`` during each route: the document is never damaged, and no
partial backup is ever left under a final name.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from frozen_alembic import Migrator, Phase, backup

from ..conftest import HEAD, REFERENCE_SCRIPTS, REVISIONS, fill_release_1, sha256, versions
from ..workers import kill_worker
from . import mounts

if TYPE_CHECKING:
    from collections.abc import Iterator

    from frozen_alembic import Progress

ROUTE_VARIABLE = "FROZEN_ALEMBIC_BACKUP_ROUTE"
MODES = ("delete", "wal")
REFLINKS = ("xfs", "btrfs")  # file systems that clone
ROUTES = ("clone", "copy", "sqlite")
R1 = REVISIONS[0]


@contextmanager
def routes_taken() -> Iterator[list[str]]:
    """The route of every backup taken inside the block, from the library's debug log."""
    taken: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if message.startswith("backup of "):
                taken.append(message.split(" by ", 1)[1].split(" ", 1)[0])

    logger = logging.getLogger("frozen_alembic._backup")
    handler, level = Catch(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield taken
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _folder(where: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """A folder on ``where`` ("disk", "xfs" or "btrfs") and its file system's type."""
    if where == "disk":
        entry = mounts.containing_mount(tmp_path)
        return tmp_path, entry.fs_type if entry is not None else "unknown"
    folder: Path = request.getfixturevalue(f"{where}_dir")
    return folder, where


def _old_document(path: Path, mode: str, notes: int) -> None:
    """A release-1 document with ``notes`` notes in journal mode ``mode``."""
    migrator = Migrator(REFERENCE_SCRIPTS)
    migrator.create(path)
    migrator.downgrade(path, R1, backup=False)
    fill_release_1(path, 40, notes, body=" and some more text" * 10)
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        assert conn.execute(f"PRAGMA journal_mode = {mode}").fetchone() == (mode,)


def _dump(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        return list(conn.iterdump())


def _shared_extents(path: Path) -> bool:
    """Whether ``filefrag`` reports extents of ``path`` shared with another file."""
    out = subprocess.run(["filefrag", "-v", str(path)], capture_output=True, text=True, check=True)
    return "shared" in out.stdout


def _check_backup(path: Path, before: list[str], context: str) -> None:
    """A whole, self-contained backup holding exactly ``before``."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], context
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",), context
    beside = [p.name for p in path.parent.iterdir() if p.name.startswith(f"{path.name}-")]
    assert beside == [], f"{context}: {beside} beside the backup"
    assert _dump(path) == before, f"{context}: the backup's rows differ from the file's"


def _expected(route: str | None, fs_type: str) -> str:
    """The route a backup must take on ``fs_type`` when ``route`` is forced (or not)."""
    clones = fs_type in REFLINKS
    if route is None:
        return "clone" if clones else "copy"
    if route == "clone" and not clones:
        return "sqlite"  # a forced clone that cannot be made takes the backup API
    return route


@pytest.mark.parametrize("where", ["disk", *REFLINKS])
def test_every_route_makes_a_whole_backup_while_another_connection_reads(
    where: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, fs_type = _folder(where, request, tmp_path)
    print(f"{where}: {folder} is {fs_type}")
    for mode in MODES:
        base = folder / f"base-{mode}.notes"
        _old_document(base, mode, 3000)
        for route in (None, "clone", "copy", "sqlite"):
            context = f"[{where} ({fs_type}), {mode}, route {route or 'automatic'}]"
            if route is None:
                monkeypatch.delenv(ROUTE_VARIABLE, raising=False)
            else:
                monkeypatch.setenv(ROUTE_VARIABLE, route)
            doc = folder / f"doc-{mode}-{route}.notes"
            shutil.copyfile(base, doc)
            reader = sqlite3.connect(doc, isolation_level=None)
            try:
                # Committed rows the backup must hold; in WAL mode they stay in the -wal
                # (the reader's connection keeps it from being checkpointed on close).
                reader.execute("UPDATE note SET body = body || ' (edited)' WHERE id % 7 = 0")
                if mode == "wal":
                    assert Path(f"{doc}-wal").stat().st_size > 0, context
                before = _dump(doc)
                reader.execute("BEGIN")
                reader.execute("SELECT count(*) FROM note").fetchone()  # a read transaction

                shared: list[bool] = []

                def release(
                    progress: Progress,
                    reader: sqlite3.Connection = reader,
                    doc: Path = doc,
                    shared: list[bool] = shared,
                ) -> None:
                    # The backup ran under the reader; let the commit through afterwards.
                    if progress.phase is Phase.MIGRATE and reader.in_transaction:
                        reader.execute("COMMIT")
                        # Before any revision writes: does the backup share the file's
                        # extents?  (The upgrade rewrites most of them.)
                        made = list(folder.glob(f"{doc.name}.*.bak"))
                        shared.extend(_shared_extents(p) for p in made)

                with routes_taken() as taken:
                    report = Migrator(REFERENCE_SCRIPTS).upgrade(doc, progress=release)
            finally:
                reader.close()
            assert taken == [_expected(route, fs_type)], context
            assert report.backup is not None, context
            _check_backup(report.backup, before, context)
            assert versions(doc) == [HEAD], context
            # (copy_file_range may share extents itself where the file system can: XFS.)
            if taken != ["copy"]:
                assert shared == [taken == ["clone"]], f"{context}: extents shared {shared}"
            doc.unlink()
            report.backup.unlink()


def test_backup_clones_when_it_may_lock_and_uses_the_backup_api_when_it_may_not(
    xfs_dir: Path,
) -> None:
    doc = xfs_dir / "doc.notes"
    _old_document(doc, "wal", 2000)
    before, digest = _dump(doc), sha256(doc)
    with routes_taken() as taken:
        cloned = backup(doc)
    assert taken == ["clone"]
    _check_backup(cloned, before, "backup() of a writable file")
    assert _shared_extents(cloned)
    doc.chmod(0o444)  # cannot take the write lock: only the backup API is consistent
    with routes_taken() as taken:
        copied = backup(doc)
    assert taken == ["sqlite"]
    _check_backup(copied, before, "backup() of a read-only file")
    assert sha256(doc) == digest
    assert versions(doc) == [R1]


def _can_write_from_another_process(path: Path) -> str:
    """Try to take the write lock on ``path`` from a new process, without waiting."""
    code = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
        "try:\n"
        "    conn.execute('BEGIN IMMEDIATE')\n"
        "except sqlite3.OperationalError as err:\n"
        "    print(err)\n"
        "else:\n"
        "    print('got the write lock')\n"
        "    conn.execute('ROLLBACK')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.parametrize("where", ["disk", "xfs"])
def test_the_write_lock_outlives_the_backup_on_every_route(
    where: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing any descriptor of a file drops every POSIX lock the process holds on
    it: a backup that opened and closed the file itself would let another process
    write between the backup and the commit."""
    folder, fs_type = _folder(where, request, tmp_path)
    for mode in MODES:
        base = folder / f"base-{mode}.notes"
        _old_document(base, mode, 200)
        for route in ROUTES:
            context = f"[{where} ({fs_type}), {mode}, route {route}]"
            monkeypatch.setenv(ROUTE_VARIABLE, route)
            doc = folder / f"doc-{mode}-{route}.notes"
            shutil.copyfile(base, doc)
            seen: list[str] = []

            def probe(progress: Progress, doc: Path = doc, seen: list[str] = seen) -> None:
                if progress.phase is Phase.MIGRATE and not seen:
                    seen.append(_can_write_from_another_process(doc))

            with routes_taken() as taken:
                Migrator(REFERENCE_SCRIPTS).upgrade(doc, progress=probe)
            assert taken == [_expected(route, fs_type)], context
            assert seen == ["database is locked"], context
            assert versions(doc) == [HEAD], context


# --- kill -9 during each route ---------------------------------------------------------------


def _kill_during_backup(doc: Path, events: Path, route: str, delay: float) -> str:
    """Upgrade ``doc`` in a worker forced onto ``route``; ``kill -9`` it ``delay`` s
    after the backup started.  Return the last event the worker wrote."""
    env = {**os.environ, ROUTE_VARIABLE: route}
    return kill_worker(
        [], REFERENCE_SCRIPTS, doc, events, after="backup", delay=delay, env=env, poll=0.0005
    )


@pytest.mark.slow
@pytest.mark.parametrize("route", ["clone", "copy", "sqlite"])
def test_kill_9_during_each_route_damages_nothing(route: str, xfs_dir: Path) -> None:
    seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    landed = []
    for mode in MODES:
        base = xfs_dir / f"base-{mode}.notes"
        _old_document(base, mode, 60_000)  # ~25 MB: the backup API takes tens of ms
        before, digest = _dump(base), sha256(base)
        for number, delay in enumerate([0.0, 0.0005, *(rng.uniform(0, 0.05) for _ in range(3))]):
            context = f"[{route}, {mode}, kill {number} after {delay * 1000:.1f} ms, seed {seed}]"
            work = xfs_dir / f"kill-{mode}-{number}"
            work.mkdir()
            doc = work / "doc.notes"
            shutil.copyfile(base, doc)
            last = _kill_during_backup(doc, work / "events.log", route, delay)
            landed.append(last)
            names = sorted(p.name for p in work.iterdir())
            finals = [work / n for n in names if n.endswith(".bak")]
            for final in finals:  # a backup under its final name is always whole
                _check_backup(final, before, f"{context} {final.name}")
            with closing(sqlite3.connect(doc, isolation_level=None)) as conn:  # recovers
                assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], context
            if last in ("backup", "upgrade") or last.startswith("revision "):
                assert versions(doc) == [R1], f"{context} killed at {last!r}"
                assert _dump(doc) == before, context
                if mode == "delete":
                    assert sha256(doc) == digest, f"{context} not byte for byte as it was"
            assert versions(doc) in ([R1], [HEAD]), context
            # The next upgrade clears what the killed one left and makes a whole backup.
            report = Migrator(REFERENCE_SCRIPTS).upgrade(doc)
            left = sorted(p.name for p in work.iterdir() if ".partial" in p.name)
            assert left == [], f"{context}: {left} left after the next upgrade"
            if report.backup is not None:
                _check_backup(report.backup, before, f"{context} the next backup")
            shutil.rmtree(work)
        base.unlink()
    print(f"{route}: kills landed at {landed} (seed {seed})")
    assert "backup" in landed, f"no kill landed in the backup: {landed}"
