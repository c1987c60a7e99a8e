"""Concurrency: processes racing to upgrade one file, and other programs holding its lock.

Real processes (``tests/crash_worker.py``) start together behind a file barrier and
upgrade the same file: SQLite's write lock lets exactly one of them migrate it, and
every other one waits, then finds the file current and does nothing (no second
backup, no second run of any script).  A process that cannot get the lock within
its timeout gets :class:`DatabaseBusy` and leaves the file byte-for-byte unchanged.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from frozen_alembic import DatabaseBusy, Migrator

from .conftest import HEAD, REVISIONS, fill_release_1, sha256, versions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

WORKER = Path(__file__).resolve().with_name("crash_worker.py")
NOTEBOOKS = 7
NOTES = 300

# Holds a transaction on a file until its stdin is closed: "BEGIN IMMEDIATE" takes
# the write lock, "BEGIN" plus a read holds a read lock (SQLite's SHARED lock).
HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute(sys.argv[2])
conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
print("holding", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
conn.close()
"""


def _fill(path: Path) -> None:
    """Some notebooks and notes, at revision 0001_initial."""
    fill_release_1(path, NOTEBOOKS, NOTES)


def _backups(db: Path) -> list[Path]:
    return sorted(db.parent.glob(f"{db.name}.*.bak"))


def _leftovers(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.glob(f"{db.name}.*.partial*"))


@pytest.mark.parametrize("processes", [2, 8])
def test_processes_racing_to_upgrade_one_file(
    db_at: Callable[[str], Path], scripts: Path, tmp_path: Path, processes: int
) -> None:
    db = db_at("0001_initial")
    _fill(db)
    assert _backups(db) == []  # the fixture's downgrade takes none
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    go = barrier / "go"
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                "--report",
                "--ready",
                str(barrier / f"ready{i}"),
                "--go",
                str(go),
                str(scripts),
                str(db),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    try:
        deadline = time.monotonic() + 120
        while len(list(barrier.glob("ready*"))) < processes:
            assert all(w.poll() is None for w in workers), "a worker died before the barrier"
            assert time.monotonic() < deadline, "the workers never got ready"
            time.sleep(0.01)
        go.touch()
        outputs = [w.communicate(timeout=120) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
            w.communicate()

    for w, (_out, err) in zip(workers, outputs, strict=True):
        assert w.returncode == 0, err
    reports: list[dict[str, Any]] = [json.loads(out) for out, _err in outputs]
    winners = [r for r in reports if r["applied"]]
    assert len(winners) == 1, reports
    winner = winners[0]
    assert winner["applied"] == list(REVISIONS[1:])
    assert winner["before"] == ["0001_initial"]
    assert winner["backup"] is not None
    losers = [r for r in reports if r is not winner]
    for loser in losers:
        assert loser["applied"] == [], loser
        assert (loser["before"], loser["after"], loser["backup"]) == ([HEAD], [HEAD], None)
    assert winner["after"] == [HEAD]
    # They really raced: some other process asked while the winner held the lock.
    assert min(r["started"] for r in losers) < winner["finished"], reports

    assert versions(db) == [HEAD]
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM notebook").fetchone() == (NOTEBOOKS,)
        assert conn.execute("SELECT count(*) FROM note").fetchone() == (NOTES,)
    assert _backups(db) == [Path(winner["backup"])]
    assert versions(Path(winner["backup"])) == ["0001_initial"]
    assert _leftovers(db) == []


@contextmanager
def _held(db: Path, begin: str) -> Iterator[None]:
    """Another process keeps a transaction open on ``db`` for the ``with`` block."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), begin],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "holding\n", "the holder did not start"
        yield
    finally:
        _out, err = holder.communicate(input="", timeout=60)  # EOF: roll back, exit
    assert holder.returncode == 0, err


def test_a_short_timeout_gives_database_busy_while_another_process_writes(
    db_at: Callable[[str], Path], scripts: Path
) -> None:
    db = db_at("0001_initial")
    _fill(db)
    before = sha256(db)
    backups = _backups(db)
    with _held(db, "BEGIN IMMEDIATE"):
        start = time.monotonic()
        with pytest.raises(DatabaseBusy, match="in use by another program"):
            Migrator(scripts, timeout=0.5).upgrade(db)
        waited = time.monotonic() - start
    assert 0.4 <= waited < 10, waited
    assert sha256(db) == before
    assert _backups(db) == backups
    assert _leftovers(db) == []
    # Once the other process lets go, the same call goes through.
    report = Migrator(scripts, timeout=0.5).upgrade(db)
    assert report.applied == REVISIONS[1:]
    assert versions(db) == [HEAD]


def test_a_reader_holding_the_file_past_the_timeout_gives_database_busy(
    db_at: Callable[[str], Path], scripts: Path
) -> None:
    db = db_at("0001_initial")
    before = sha256(db)
    with _held(db, "BEGIN"), pytest.raises(DatabaseBusy):
        Migrator(scripts, timeout=0.5).upgrade(db)
    assert sha256(db) == before
    assert not list(db.parent.glob(f"{db.name}.*.bak")), "the unused backup is removed"
