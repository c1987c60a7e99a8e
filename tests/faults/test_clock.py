"""Clocks: backups are named in UTC, so they sort by age whatever the time zone.

A user who travels (or whose app runs under another ``TZ``) must never lose the
backup just made to pruning, and the backups kept must be the newest by real time.
Backups made within one second are numbered (``...Z-2``) in the order they were
made; backups named in local time by earlier versions (no ``Z``) count as oldest.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from frozen_alembic import Migrator

from ..conftest import REVISIONS, versions

# East to west, twice, with the UTC offsets (seconds) each may have.
ZONES = {
    "Asia/Tokyo": {9 * 3600},
    "UTC": {0},
    "America/Los_Angeles": {-8 * 3600, -7 * 3600},
    "Pacific/Honolulu": {-10 * 3600},
}
NAME = re.compile(
    r"^doc\.notes\.(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d)Z(?:-(\d+))?\."
    + re.escape(REVISIONS[0])
    + r"\.bak$"
)


@contextlib.contextmanager
def time_zone(zone: str) -> Iterator[None]:
    """This process's local time zone is ``zone`` inside the block."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        assert time.localtime().tm_gmtoff in ZONES[zone], f"no zone data for {zone}"
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def stamp_of(backup: Path) -> tuple[datetime, int]:
    """The UTC time and the within-the-second number in a backup's name."""
    match = NAME.match(backup.name)
    assert match is not None, backup.name
    when = datetime.strptime(match.group(1), "%Y-%m-%dT%H-%M-%S").replace(tzinfo=timezone.utc)
    return when, int(match.group(2) or 1)


def backups(doc: Path) -> list[Path]:
    return sorted(p for p in doc.parent.iterdir() if p.name.endswith(".bak"))


@pytest.fixture
def doc(migrator: Migrator, tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    path = folder / "doc.notes"
    migrator.create(path)
    return path


def upgrade_again(migrator: Migrator, doc: Path) -> Path:
    """Take ``doc`` back to 0001_initial (no backup) and upgrade it; return the backup."""
    migrator.downgrade(doc, REVISIONS[0], backup=False)
    report = migrator.upgrade(doc)
    assert report.applied == REVISIONS[1:]
    assert report.backup is not None
    return report.backup


def test_backups_are_named_in_utc_and_the_newest_kept_in_every_time_zone(
    scripts: Path, doc: Path
) -> None:
    migrator = Migrator(scripts, keep_backups=3)
    made: list[Path] = []
    for zone in [*ZONES, *ZONES]:
        with time_zone(zone):
            before = datetime.now(timezone.utc).replace(microsecond=0)
            backup = upgrade_again(migrator, doc)
            after = datetime.now(timezone.utc)
        assert backup.exists(), f"the backup just made was pruned under {zone}"
        when, _number = stamp_of(backup)
        assert before <= when <= after, (zone, backup.name, before, after)
        made.append(backup)
        assert backups(doc) == sorted(made[-3:]), zone
        assert versions(backup) == [REVISIONS[0]]


def test_backups_within_one_second_are_numbered_in_the_order_they_were_made(
    scripts: Path, doc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every backup of this test is made "at" the same UTC second.
    second = datetime(2026, 11, 25, 8, 51, 24, tzinfo=timezone.utc)
    frozen = second.timestamp() + 0.5
    real_gmtime: Callable[[float | None], time.struct_time] = time.gmtime

    def gmtime(secs: float | None = None) -> time.struct_time:
        return real_gmtime(frozen if secs is None else secs)

    monkeypatch.setattr(time, "gmtime", gmtime)
    migrator = Migrator(scripts, keep_backups=3)
    made = [upgrade_again(migrator, doc) for _ in range(11)]

    assert [stamp_of(b) for b in made] == [(second, n) for n in range(1, 12)]
    assert made[0].name == f"doc.notes.2026-11-25T08-51-24Z.{REVISIONS[0]}.bak"
    assert made[1].name == f"doc.notes.2026-11-25T08-51-24Z-2.{REVISIONS[0]}.bak"
    # The three kept are the last three made: -9, -10, -11 (numbers, not strings).
    assert backups(doc) == sorted(made[-3:])


def test_backups_named_in_local_time_count_as_the_oldest(scripts: Path, doc: Path) -> None:
    migrator = Migrator(scripts, keep_backups=3)
    migrator.downgrade(doc, REVISIONS[0], backup=False)
    # Left by earlier versions, named in local time without a Z; one even looks newer
    # than any real backup (a clock that was wrong, or a zone far ahead).
    legacy = [
        doc.with_name(f"doc.notes.2026-01-01T10-00-00.{REVISIONS[0]}.bak"),
        doc.with_name(f"doc.notes.2099-01-01T00-00-00.{REVISIONS[0]}.bak"),
    ]
    for old in legacy:
        shutil.copyfile(doc, old)
    unrelated = doc.with_name(f"other.notes.2026-01-01T10-00-00.{REVISIONS[0]}.bak")
    shutil.copyfile(doc, unrelated)

    made = []
    report = migrator.upgrade(doc)
    assert report.backup is not None
    made.append(report.backup)
    assert backups(doc) == sorted([*legacy, made[0], unrelated])

    made.append(upgrade_again(migrator, doc))
    assert backups(doc) == sorted([legacy[1], *made, unrelated])

    made.append(upgrade_again(migrator, doc))
    assert backups(doc) == sorted([*made, unrelated])

    made.append(upgrade_again(migrator, doc))
    assert backups(doc) == sorted([*made[-3:], unrelated])
    assert all(stamp_of(b)[0] > datetime.now(timezone.utc) - timedelta(hours=1) for b in made)
