"""Threads: any number of threads may call any verb of any Migrator on any file at once.

Alembic's ``op`` and ``context`` are process-wide proxies, so two threads migrating
two files could run each other's DDL on the wrong file; the library serialises what
must be serialised.  These tests run real upgrades, downgrades, creates and status
reads from several threads released together by a barrier, and check that every
result is what running the same calls one after another gives: the same reports,
the same schema, the same rows, one backup per changed file.
"""

from __future__ import annotations

import functools
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from frozen_alembic import DatabaseBusy, Migrator, Report, State, Status

from ..conftest import HEAD, REVISIONS, fill_release_1, schema, versions

# Rounds of N threads each upgrading its own file, per N: 48 upgrades per (N, shared
# or own Migrators), 288 in all, in 288 concurrent pairs (a round of N has N(N-1)/2).
ROUNDS = {2: 24, 3: 16, 4: 12}
SAME_FILE_RACES = 35
MIXED_ROUNDS = 16
JOIN_TIMEOUT = 120.0


class Outcome:
    """What one thread's call gave: a value or an exception, and when it ran."""

    def __init__(self) -> None:
        self.value: object = None
        self.error: BaseException | None = None
        self.started = 0.0
        self.finished = 0.0

    def report(self) -> Report:
        assert self.error is None, repr(self.error)
        assert isinstance(self.value, Report), self.value
        return self.value


def together(calls: list[Callable[[], object]]) -> list[Outcome]:
    """Run every call on its own thread, all released at once; wait for all."""
    barrier = threading.Barrier(len(calls))
    outcomes = [Outcome() for _ in calls]

    def run(call: Callable[[], object], outcome: Outcome) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            outcome.started = time.monotonic()
            outcome.value = call()
        except BaseException as err:  # handed to the test thread
            outcome.error = err
        finally:
            outcome.finished = time.monotonic()

    threads = [
        threading.Thread(target=run, args=(call, outcome), name=f"verb-{i}")
        for i, (call, outcome) in enumerate(zip(calls, outcomes, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return outcomes


def overlapped(outcomes: list[Outcome]) -> bool:
    """Whether every call started before any of them finished."""
    return max(o.started for o in outcomes) < min(o.finished for o in outcomes)


def rows_for(seed: int) -> tuple[int, int]:
    """How many notebooks and notes file number ``seed`` gets (neighbours differ)."""
    return 2 + seed % 5, 20 + seed % 37


def fill(path: Path, seed: int) -> tuple[int, int]:
    """Put notebooks and notes into a file at 0001_initial; return how many."""
    notebooks, notes = rows_for(seed)
    fill_release_1(path, notebooks, notes, tag=f"{seed}/")
    return rows_for(seed)


def count(path: Path, table: str) -> int:
    with closing(sqlite3.connect(path)) as conn:
        (n,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return int(n)


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.*.bak"))


def litter(folder: Path) -> list[str]:
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.name.endswith((".partial", "-journal", "-wal", "-shm", ".creating"))
    )


@pytest.fixture
def empty_at_0001(migrator: Migrator, tmp_path: Path) -> Path:
    """A file at 0001_initial without rows, to copy."""
    path = tmp_path / "template-0001.notes"
    migrator.create(path)
    migrator.downgrade(path, REVISIONS[0], backup=False)
    return path


@pytest.fixture
def fresh_schema(migrator: Migrator, tmp_path: Path) -> dict[str, object]:
    """The schema of a file made by create(), alone on its thread."""
    path = tmp_path / "fresh.notes"
    migrator.create(path)
    return schema(path)


def check_upgraded(
    path: Path, report: Report, fresh: dict[str, object], counts: tuple[int, int]
) -> None:
    """The file as one sequential upgrade from 0001_initial leaves it."""
    assert (report.before, report.after, report.applied) == (
        (REVISIONS[0],),
        (HEAD,),
        REVISIONS[1:],
    )
    assert report.path == path
    assert versions(path) == [HEAD]
    assert schema(path) == fresh
    notebooks, notes = counts
    assert count(path, "notebook") == notebooks
    assert count(path, "note") == notes
    assert backups(path) == [report.backup]
    assert report.backup is not None
    assert versions(report.backup) == [REVISIONS[0]]
    assert count(report.backup, "note") == notes


def mixed_calls(
    ms: list[Migrator], read: Path, create: Path, lower: Path, upgrade: Path, current: Path
) -> list[Callable[[], object]]:
    """status, create, downgrade to 0002_tags, upgrade and current, on five files."""
    return [
        lambda: ms[0].status(read),
        lambda: ms[1].create(create),
        lambda: ms[2].downgrade(lower, "0002_tags"),
        lambda: ms[3].upgrade(upgrade),
        lambda: ms[4].current(current),
    ]


@pytest.mark.parametrize("shared", [False, True], ids=["own-migrators", "one-migrator"])
@pytest.mark.parametrize("threads", sorted(ROUNDS))
def test_threads_upgrading_different_files_get_what_one_after_another_gives(
    scripts: Path,
    migrator: Migrator,
    empty_at_0001: Path,
    fresh_schema: dict[str, object],
    tmp_path: Path,
    threads: int,
    shared: bool,
) -> None:
    seed = 0
    overlaps = 0
    for round_no in range(ROUNDS[threads]):
        folder = tmp_path / f"round{round_no}"
        folder.mkdir()
        files: list[tuple[Path, tuple[int, int]]] = []
        for _ in range(threads):
            path = folder / f"doc{seed}.notes"
            shutil.copyfile(empty_at_0001, path)
            files.append((path, fill(path, seed)))
            seed += 1

        def upgrade(path: Path) -> Callable[[], object]:
            if shared:
                return lambda: migrator.upgrade(path)
            # Each thread builds its own Migrator, so script loading races too.
            return lambda: Migrator(scripts).upgrade(path)

        outcomes = together([upgrade(path) for path, _counts in files])
        overlaps += overlapped(outcomes)
        for (path, counts), outcome in zip(files, outcomes, strict=True):
            check_upgraded(path, outcome.report(), fresh_schema, counts)
        assert litter(folder) == []
    assert overlaps, "the upgrades never ran at the same time: the test proved nothing"


@pytest.mark.parametrize("shared", [False, True], ids=["own-migrators", "one-migrator"])
def test_two_threads_upgrading_one_file_migrate_it_once(
    scripts: Path,
    migrator: Migrator,
    empty_at_0001: Path,
    fresh_schema: dict[str, object],
    tmp_path: Path,
    shared: bool,
) -> None:
    busy = overlaps = 0
    for race in range(SAME_FILE_RACES):
        folder = tmp_path / f"race{race}"
        folder.mkdir()
        path = folder / "shared.notes"
        shutil.copyfile(empty_at_0001, path)
        counts = fill(path, race)
        migrators = [migrator, migrator] if shared else [Migrator(scripts), Migrator(scripts)]
        outcomes = together([functools.partial(m.upgrade, path) for m in migrators])
        overlaps += overlapped(outcomes)

        errors = [o.error for o in outcomes if o.error is not None]
        assert all(isinstance(e, DatabaseBusy) for e in errors), errors
        busy += len(errors)
        reports = [o.report() for o in outcomes if o.error is None]
        winners = [r for r in reports if r.applied]
        assert len(winners) == 1, reports
        winner = winners[0]
        check_upgraded(path, winner, fresh_schema, counts)
        for loser in reports:
            if loser is not winner:
                assert (loser.before, loser.after, loser.applied, loser.backup) == (
                    (HEAD,),
                    (HEAD,),
                    (),
                    None,
                )
        assert backups(path) == [winner.backup]
        assert litter(folder) == []
    # A loser may give up (DatabaseBusy), but with the default 30 s timeout most wait
    # for the winner and find the file current: that path was taken.
    assert busy < SAME_FILE_RACES
    assert overlaps, "the two threads never ran at the same time: the test proved nothing"


def test_status_create_downgrade_and_upgrade_at_once_on_different_files(
    scripts: Path,
    migrator: Migrator,
    empty_at_0001: Path,
    fresh_schema: dict[str, object],
    db_at: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    # What each verb gives when it runs alone.
    at_0002 = db_at("0002_tags")
    schema_0002 = schema(at_0002)
    filled_head = tmp_path / "filled-head.notes"
    shutil.copyfile(empty_at_0001, filled_head)
    head_counts = fill(filled_head, 1000)
    migrator.upgrade(filled_head, backup=False)
    assert versions(filled_head) == [HEAD]

    overlaps = 0
    for round_no in range(MIXED_ROUNDS):
        folder = tmp_path / f"mixed{round_no}"
        folder.mkdir()
        shared = round_no % 2 == 0
        to_read = folder / "read.notes"
        shutil.copyfile(at_0002, to_read)
        to_create = folder / "new.notes"
        to_lower = folder / "lower.notes"
        shutil.copyfile(filled_head, to_lower)
        to_raise = folder / "raise.notes"
        shutil.copyfile(empty_at_0001, to_raise)
        raise_counts = fill(to_raise, round_no)
        to_read_too = folder / "read-head.notes"
        shutil.copyfile(filled_head, to_read_too)

        ms = [migrator] * 5 if shared else [Migrator(scripts) for _ in range(5)]
        outcomes = together(mixed_calls(ms, to_read, to_create, to_lower, to_raise, to_read_too))
        status, created, lowered, raised, current = outcomes
        overlaps += overlapped(outcomes)

        assert status.error is None, repr(status.error)
        assert isinstance(status.value, Status)
        assert status.value.state is State.BEHIND
        assert (status.value.current, status.value.pending) == (("0002_tags",), REVISIONS[2:])
        assert versions(to_read) == ["0002_tags"]
        assert backups(to_read) == []

        report = created.report()
        assert (report.after, report.path, report.backup) == ((HEAD,), to_create, None)
        assert versions(to_create) == [HEAD]
        assert schema(to_create) == fresh_schema
        assert count(to_create, "note") == 0

        report = lowered.report()
        assert (report.before, report.after) == ((HEAD,), ("0002_tags",))
        assert report.applied == tuple(reversed(REVISIONS[2:]))
        assert versions(to_lower) == ["0002_tags"]
        assert schema(to_lower) == schema_0002
        assert count(to_lower, "notebook") == head_counts[0]
        assert count(to_lower, "note") == head_counts[1]
        assert report.backup is not None
        assert backups(to_lower) == [report.backup]
        assert versions(report.backup) == [HEAD]

        check_upgraded(to_raise, raised.report(), fresh_schema, raise_counts)

        assert current.error is None, repr(current.error)
        assert current.value == (HEAD,)
        assert litter(folder) == []
    assert overlaps, "the verbs never ran at the same time: the test proved nothing"
