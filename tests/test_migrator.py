"""Every verb of the Migrator on real SQLite files."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from frozen_alembic import (
    DatabaseExists,
    InvalidTarget,
    Migrator,
    Phase,
    Progress,
    State,
)
from notekeeper.models import metadata

from .conftest import HEAD, REVISIONS, schema, versions

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def test_heads_and_history(migrator: Migrator) -> None:
    assert migrator.heads() == (HEAD,)
    history = migrator.history()
    assert [r.id for r in history] == list(REVISIONS)
    assert history[0].down_revisions == ()
    assert history[1].down_revisions == (REVISIONS[0],)
    assert [r.is_head for r in history] == [False] * 5 + [True]
    assert history[3].doc.startswith("Release 1.3")
    assert history[0].path.name == "0001_initial.py"


def test_create_makes_a_new_file_at_head(migrator: Migrator, tmp_path: Path) -> None:
    path = tmp_path / "new.notes"
    report = migrator.create(path)
    assert report.after == (HEAD,)
    assert report.applied == REVISIONS
    assert versions(path) == [HEAD]
    assert migrator.status(path).state is State.CURRENT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.notes", "scripts"]


def test_create_refuses_to_overwrite(migrator: Migrator, tmp_path: Path) -> None:
    path = tmp_path / "existing.notes"
    path.write_bytes(b"my precious data")
    with pytest.raises(DatabaseExists, match="already exists"):
        migrator.create(path)
    assert path.read_bytes() == b"my precious data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.notes", "scripts"]


def test_create_with_metadata_matches_the_full_chain(scripts: Path, tmp_path: Path) -> None:
    chain = tmp_path / "chain.notes"
    Migrator(scripts).create(chain)
    quick = tmp_path / "quick.notes"
    report = Migrator(scripts, metadata=metadata).create(quick)
    assert report.applied == ()
    assert versions(quick) == [HEAD]
    assert schema(quick) == schema(chain)


# What each upgrade and downgrade does to the schema and the rows is the migration
# kit's to check (test_migration_kit.py): here, what the verbs report.


@pytest.mark.parametrize("start", ["base", *REVISIONS])
def test_upgrade_from_every_revision_applies_the_rest(
    migrator: Migrator, db_at: Callable[[str], Path], start: str
) -> None:
    path = db_at(start)
    report = migrator.upgrade(path)
    expected = REVISIONS[REVISIONS.index(start) + 1 :] if start != "base" else REVISIONS
    assert report.applied == expected
    assert (report.before, report.after) == (() if start == "base" else (start,), (HEAD,))
    assert migrator.current(path) == (HEAD,)


@pytest.mark.parametrize("target", ["base", *REVISIONS[:-1]])
def test_downgrade_to_every_revision_and_back(
    migrator: Migrator, db_at: Callable[[str], Path], target: str
) -> None:
    path = db_at(HEAD)
    report = migrator.downgrade(path, target)
    assert report.after == (() if target == "base" else (target,))
    undone = REVISIONS[REVISIONS.index(target) + 1 :] if target != "base" else REVISIONS
    assert report.applied == tuple(reversed(undone))
    assert migrator.current(path) == report.after
    assert migrator.upgrade(path).applied == undone


def test_each_step_up_and_down(migrator: Migrator, db_at: Callable[[str], Path]) -> None:
    path = db_at("base")
    for rev in REVISIONS:
        assert migrator.upgrade(path, "+1").after == (rev,)
    for index in range(len(REVISIONS) - 1, 0, -1):
        assert migrator.downgrade(path, "-1").after == (REVISIONS[index - 1],)


def test_status_reports_every_state(
    migrator: Migrator, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    behind = db_at("0003_pinned")
    status = migrator.status(behind)
    assert status.state is State.BEHIND
    assert status.needs_upgrade
    assert status.current == ("0003_pinned",)
    assert status.pending == REVISIONS[3:]
    assert status.path == behind

    current = migrator.status(db_at(HEAD))
    assert current.is_current
    assert current.pending == ()

    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).execute("PRAGMA user_version = 1").connection.close()
    assert migrator.status(empty).state is State.EMPTY
    assert migrator.status(empty).pending == REVISIONS

    unversioned = tmp_path / "legacy.sqlite"
    conn = sqlite3.connect(unversioned)
    conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    conn.close()
    assert migrator.status(unversioned).state is State.UNVERSIONED

    newer = db_at(HEAD)
    conn = sqlite3.connect(newer)
    conn.execute("UPDATE alembic_version SET version_num = '0099_future'")
    conn.commit()
    conn.close()
    too_new = migrator.status(newer)
    assert too_new.state is State.TOO_NEW
    assert too_new.is_too_new
    assert too_new.current == ("0099_future",)


def test_upgrade_of_an_empty_sqlite_file_builds_everything(
    migrator: Migrator, tmp_path: Path
) -> None:
    path = tmp_path / "blank.sqlite"
    sqlite3.connect(path).execute("PRAGMA user_version = 7").connection.close()
    assert migrator.upgrade(path).applied == REVISIONS
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (7,)
    conn.close()


def test_upgrade_when_current_changes_nothing(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at(HEAD)
    before = path.read_bytes()
    report = migrator.upgrade(path)
    assert not report.changed
    assert report.applied == ()
    assert path.read_bytes() == before


def test_stamp_moves_the_version_without_running_scripts(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at(HEAD)
    before = schema(path)
    report = migrator.stamp(path, "0002_tags")
    assert (report.before, report.after, report.applied) == ((HEAD,), ("0002_tags",), ())
    assert versions(path) == ["0002_tags"]
    assert schema(path) == before


def test_stamp_adopts_an_unversioned_file(migrator: Migrator, tmp_path: Path) -> None:
    path = tmp_path / "adopt.notes"
    base = tmp_path / "made.notes"
    migrator.create(base)
    migrator.downgrade(base, "0001_initial")
    conn = sqlite3.connect(base)
    conn.execute("DROP TABLE alembic_version")
    conn.commit()
    conn.close()
    base.rename(path)
    assert migrator.status(path).state is State.UNVERSIONED
    migrator.stamp(path, "0001_initial")
    assert migrator.upgrade(path).applied == REVISIONS[1:]


def test_stamp_purge_recovers_from_an_unknown_revision(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at(HEAD)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = 'bogus'")
    conn.commit()
    conn.close()
    migrator.stamp(path, HEAD, purge=True)
    assert versions(path) == [HEAD]


def test_progress_is_reported_for_each_revision(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0002_tags")
    reports: list[Progress] = []
    on_disk_at_done: list[list[str]] = []

    def record(progress: Progress) -> None:
        reports.append(progress)
        if progress.phase is Phase.DONE:
            on_disk_at_done.append(versions(path))  # read by another connection

    migrator.upgrade(path, progress=record)
    phases = [p.phase for p in reports]
    migrate = [p for p in reports if p.phase is Phase.MIGRATE]
    assert phases[:2] == [Phase.LOCK, Phase.BACKUP]
    # A long revision may report more than once (a tick from inside its statements).
    assert list(dict.fromkeys(p.revision for p in migrate)) == [
        "0003_pinned",
        "0004_sort_key_integer",
        "0005_split_author",
        "0006_attachments",
    ]
    assert phases[-3:] == [Phase.CHECK, Phase.COMMIT, Phase.DONE]
    # Units of work, never going back, ending at the total (known once the lock is
    # held); the last event after the commit (another connection sees the new revision).
    dones = [p.done for p in reports]
    assert dones == sorted(dones)
    assert {p.total for p in reports[1:]} == {reports[-1].total}
    assert reports[-1].done == reports[-1].total
    assert on_disk_at_done == [[HEAD]]
    # A short sentence for the user, the detail for the developer.
    assert migrate[0].message == "Updating the document (step 1 of 4)…"
    assert "Release 1.2" in migrate[0].detail
    assert [p.cancellable for p in reports[-2:]] == [False, False]
    assert all(p.cancellable for p in reports[:-2])


def test_invalid_targets_are_refused(migrator: Migrator, db_at: Callable[[str], Path]) -> None:
    path = db_at("0002_tags")
    with pytest.raises(InvalidTarget) as caught:
        migrator.upgrade(path, "nonexistent")
    assert caught.value.target == "nonexistent"
    with pytest.raises(InvalidTarget):
        migrator.downgrade(path, "0004_sort_key_integer")
    with pytest.raises(InvalidTarget):
        migrator.stamp(path, "nonexistent")
    assert versions(path) == ["0002_tags"]


def test_engine_and_connection_are_accepted(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0001_initial")
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        assert migrator.current(engine) == ("0001_initial",)
        assert migrator.upgrade(engine, "0003_pinned").path == path
        with engine.connect() as conn:
            assert migrator.status(conn).current == ("0003_pinned",)
            migrator.upgrade(conn)
            assert migrator.current(conn) == (HEAD,)
    finally:
        engine.dispose()
    assert versions(path) == [HEAD]


def test_a_connection_in_a_transaction_is_left_to_its_owner(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0003_pinned")
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            conn.begin()
            migrator.upgrade(conn, "0004_sort_key_integer")
            assert migrator.current(conn) == ("0004_sort_key_integer",)
            conn.rollback()
    finally:
        engine.dispose()
    assert versions(path) == ["0003_pinned"]


def test_create_fills_an_empty_in_memory_database(migrator: Migrator) -> None:
    engine = sa.create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            assert migrator.create(conn).after == (HEAD,)
            assert migrator.current(conn) == (HEAD,)
            with pytest.raises(DatabaseExists):
                migrator.create(conn)
    finally:
        engine.dispose()


def test_paths_with_percent_signs_and_spaces(tmp_path: Path, scripts: Path) -> None:
    odd = tmp_path / "100% sure (v2)"
    scripts.rename(odd)
    migrator = Migrator(odd)
    path = tmp_path / "50% off.notes"
    migrator.create(path)
    assert migrator.current(str(path)) == (HEAD,)
    assert migrator.script_location == odd


def test_operations_api_on_the_migrators_connection(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at(HEAD)
    with migrator.operations(path) as op:
        op.add_column("tag", sa.Column("color", sa.String(7)))
        op.create_index("ix_tag_color", "tag", ["color"])
    conn = sqlite3.connect(path)
    assert "color" in [row[1] for row in conn.execute("PRAGMA table_info(tag)")]
    conn.close()

    def change_then_fail() -> None:
        with migrator.operations(path) as op:
            op.add_column("tag", sa.Column("weight", sa.Integer))
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        change_then_fail()
    conn = sqlite3.connect(path)
    assert "weight" not in [row[1] for row in conn.execute("PRAGMA table_info(tag)")]
    conn.close()
