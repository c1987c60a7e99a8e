"""Progress in phases and units of work, and a cancel that stops a change before its commit."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from frozen_alembic import (
    CancelToken,
    FrozenAlembicError,
    MigrationCancelled,
    Migrator,
    Phase,
    Progress,
)
from frozen_alembic._cli import ProgressPrinter

from .conftest import HEAD, fill_release_1, sha256, versions
from .slowdoc import slow_document

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.fixture
def slow(tmp_path: Path) -> tuple[Migrator, Path]:
    """A document at r1 whose upgrade spends seconds inside one statement of r3."""
    return slow_document(tmp_path, spin=300)


@pytest.fixture
def quick(tmp_path: Path) -> tuple[Migrator, Path]:
    """The same, with r3 quick."""
    return slow_document(tmp_path, spin=1)


def _cancel_when(
    token: CancelToken, condition: Callable[[Progress], bool], seen: list[Progress]
) -> Callable[[Progress], None]:
    def progress(event: Progress) -> None:
        seen.append(event)
        if condition(event):
            token.cancel()

    return progress


def _assert_untouched(db: Path, before: str, err: MigrationCancelled) -> None:
    assert sha256(db) == before
    assert versions(db) == ["r1"]
    assert err.backup is None
    assert not err.restored
    assert sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name)) == [db.name]
    assert "cancelled" in str(err)


def test_events_come_in_phases_weighted_by_the_tables_touched(
    quick: tuple[Migrator, Path],
) -> None:
    migrator, db = quick
    events: list[Progress] = []
    migrator.upgrade(db, progress=events.append)
    starts: dict[str | None, int] = {}
    for event in events:
        if event.phase is Phase.MIGRATE:
            starts.setdefault(event.revision, event.done)
    total = events[-1].total
    weight = {
        "r2": starts["r3"] - starts["r2"],  # an index on an empty table
        "r3": min(e.done for e in events if e.phase is Phase.CHECK) - starts["r3"],
    }
    assert weight["r3"] > 10 * weight["r2"]  # r3 rewrites the big table
    backup = [e for e in events if e.phase is Phase.BACKUP]
    assert backup[0].done == 0
    assert starts["r2"] > 0  # the backup has its share of the bar
    assert events[-1].phase is Phase.DONE
    assert events[-1].done == total


def test_a_long_statement_reports_progress_from_inside(slow: tuple[Migrator, Path]) -> None:
    migrator, db = slow
    events: list[Progress] = []
    migrator.upgrade(db, progress=events.append)
    inside = [e for e in events if e.revision == "r3"]
    assert len(inside) > 3, "a statement of seconds reports while it runs"
    dones = [e.done for e in inside]
    assert dones == sorted(dones)
    assert len(set(dones)) > 2


def test_cancel_between_revisions(quick: tuple[Migrator, Path]) -> None:
    migrator, db = quick
    before = sha256(db)
    token = CancelToken()
    seen: list[Progress] = []
    progress = _cancel_when(token, lambda e: e.revision == "r3", seen)
    with pytest.raises(MigrationCancelled) as caught:
        migrator.upgrade(db, progress=progress, cancel=token)
    _assert_untouched(db, before, caught.value)


def test_cancel_inside_a_long_statement_stops_it_at_once(slow: tuple[Migrator, Path]) -> None:
    migrator, db = slow
    before = sha256(db)
    token = CancelToken()
    started = threading.Event()

    def progress(event: Progress) -> None:
        if event.revision == "r3":
            started.set()

    undisturbed = time.monotonic()
    Migrator(migrator.script_location).upgrade(
        _copy(db), backup=False
    )  # how long r3 takes when left alone
    undisturbed = time.monotonic() - undisturbed

    outcome: list[BaseException] = []

    def run() -> None:
        try:
            migrator.upgrade(db, progress=progress, cancel=token)
        except BaseException as err:
            outcome.append(err)

    worker = threading.Thread(target=run)
    worker.start()
    assert started.wait(60)
    time.sleep(0.2)  # well inside r3's statement
    clicked = time.monotonic()
    token.cancel()
    worker.join(60)
    delay = time.monotonic() - clicked
    assert len(outcome) == 1
    assert isinstance(outcome[0], MigrationCancelled), outcome
    _assert_untouched(db, before, outcome[0])
    print(f"\ncancel took {delay * 1000:.0f} ms of a {undisturbed:.1f} s upgrade")
    assert delay < undisturbed / 4


def _copy(db: Path) -> Path:
    copy = db.with_name("undisturbed.db")
    copy.write_bytes(db.read_bytes())
    return copy


def test_cancel_during_the_backup(quick: tuple[Migrator, Path]) -> None:
    migrator, db = quick
    before = sha256(db)
    token = CancelToken()
    seen: list[Progress] = []
    progress = _cancel_when(token, lambda e: e.phase is Phase.BACKUP, seen)
    with pytest.raises(MigrationCancelled) as caught:
        migrator.upgrade(db, progress=progress, cancel=token)
    _assert_untouched(db, before, caught.value)
    assert [e.phase for e in seen] == [Phase.LOCK, Phase.BACKUP]


def test_once_the_commit_starts_a_cancel_is_too_late(quick: tuple[Migrator, Path]) -> None:
    migrator, db = quick
    token = CancelToken()
    seen: list[Progress] = []
    progress = _cancel_when(token, lambda e: e.phase is Phase.COMMIT, seen)
    report = migrator.upgrade(db, progress=progress, cancel=token)
    assert report.after == ("r3",)
    assert versions(db) == ["r3"]
    commit = [e for e in seen if e.phase is Phase.COMMIT]
    assert commit[0].cancellable is False
    assert seen[-1].phase is Phase.DONE


def test_a_cancelled_token_before_the_call_changes_nothing(quick: tuple[Migrator, Path]) -> None:
    migrator, db = quick
    before = sha256(db)
    token = CancelToken()
    token.cancel()
    with pytest.raises(MigrationCancelled) as caught:
        migrator.upgrade(db, cancel=token)
    _assert_untouched(db, before, caught.value)


def test_a_progress_callback_that_raises_stops_the_change_cleanly(
    quick: tuple[Migrator, Path],
) -> None:
    migrator, db = quick
    before = sha256(db)

    def broken(event: Progress) -> None:
        if event.revision == "r2":
            raise ValueError("the dialog is gone")

    with pytest.raises(FrozenAlembicError, match="progress callback raised ValueError") as caught:
        migrator.upgrade(db, progress=broken)
    assert isinstance(caught.value.__cause__, ValueError)
    assert sha256(db) == before
    assert caught.value.backup is None


def test_the_command_line_draws_a_bar_on_a_terminal(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    path = db_at("0001_initial")
    fill_release_1(path, 3, 30)
    out = Terminal()
    migrator.upgrade(path, progress=ProgressPrinter(out))
    text = out.getvalue()
    assert text.count("\r[") > 5
    assert "100% Done: the document is up to date." in text
    assert text.endswith("\n")
    assert versions(path) == [HEAD]
