"""What a desktop app needs around a migration: a cheap plan, read-only opening, exports."""

from __future__ import annotations

import ast
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from frozen_alembic import (
    DatabaseExists,
    FrozenAlembicError,
    Migrator,
    ReadOnlyDatabase,
    State,
    open_read_only,
    read_only_engine,
)
from frozen_alembic.build import stage

from .conftest import HEAD, REVISIONS, fill_release_1, schema, versions

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """The reference migrations staged with a manifest, as a frozen app ships them."""
    from .conftest import REFERENCE_SCRIPTS

    return stage(REFERENCE_SCRIPTS, stage_dir=tmp_path / "stage").folder


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- plan() and status() -----------------------------------------------------------------


def test_plan_lists_pending_revisions_and_where_the_backup_would_go(
    bundle: Path, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0003_pinned")
    names = _listing(path.parent)
    plan = Migrator(bundle).plan(path)
    assert plan.needs_upgrade
    assert plan.status.state is State.BEHIND
    assert [p.id for p in plan.pending] == list(REVISIONS[3:])
    assert plan.pending[0].message.startswith("Release 1.3: notebook.sort_key becomes INTEGER")
    assert plan.backup is not None
    assert plan.backup.parent == path.parent
    assert plan.backup.name.startswith(f"{path.name}.")
    assert plan.backup.name.endswith(".0003_pinned.bak")
    assert _listing(path.parent) == names  # nothing written
    report = Migrator(bundle).upgrade(path)
    assert report.backup is not None
    assert report.backup.name.split(".")[-2] == plan.backup.name.split(".")[-2]


def test_plan_of_a_current_file_is_empty(bundle: Path, db_at: Callable[[str], Path]) -> None:
    plan = Migrator(bundle).plan(db_at(HEAD))
    assert not plan.needs_upgrade
    assert plan.pending == ()
    assert plan.backup is None


def test_status_and_plan_need_only_the_standard_library_with_a_manifest(
    bundle: Path, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    path = db_at("0002_tags")
    code = (
        "import sys, frozen_alembic\n"
        f"m = frozen_alembic.Migrator({str(bundle)!r})\n"
        f"assert m.status({str(path)!r}).needs_upgrade\n"
        f"assert len(m.plan({str(path)!r}).pending) == 4\n"
        "print(sorted(sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    loaded = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
    heavy = [m for m in loaded if m.split(".")[0] in ("sqlalchemy", "alembic", "mako")]
    assert heavy == []


# -- open_read_only() --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["delete", "wal"])
def test_read_only_opening_writes_nothing_beside_the_document(
    db_at: Callable[[str], Path], mode: str
) -> None:
    path = db_at(HEAD)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA journal_mode={mode}")
        conn.execute("INSERT INTO notebook (id, title) VALUES (1, 'Diary')")
        conn.commit()
    names = _listing(path.parent)
    conn = open_read_only(path)
    try:
        assert conn.execute("SELECT title FROM notebook").fetchall() == [("Diary",)]
        assert _listing(path.parent) == names  # nothing, even while open
        with pytest.raises(sqlite3.Error):
            conn.execute("INSERT INTO notebook (id, title) VALUES (2, 'no')")
    finally:
        conn.close()
    assert _listing(path.parent) == names
    engine = read_only_engine(path)
    try:
        with engine.connect() as sa_conn:
            assert sa_conn.execute(sa.text("SELECT count(*) FROM notebook")).scalar() == 1
        assert _listing(path.parent) == names
    finally:
        engine.dispose()


def test_read_only_opening_shares_a_writer_s_wal(db_at: Callable[[str], Path]) -> None:
    path = db_at(HEAD)
    with closing(sqlite3.connect(path, isolation_level=None)) as writer:
        writer.execute("PRAGMA journal_mode=wal")
        writer.execute("INSERT INTO notebook (id, title) VALUES (1, 'still in the wal')")
        names = _listing(path.parent)
        assert f"{path.name}-wal" in names
        with closing(open_read_only(path)) as reader:
            rows = reader.execute("SELECT title FROM notebook").fetchall()
        assert rows == [("still in the wal",)]
        assert _listing(path.parent) == names


def test_a_wal_without_its_shm_is_refused_not_created(db_at: Callable[[str], Path]) -> None:
    path = db_at(HEAD)
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=wal")
    Path(f"{path}-wal").write_bytes(b"")
    with pytest.raises(ReadOnlyDatabase, match="-shm"):
        open_read_only(path)
    assert not Path(f"{path}-shm").exists()


# -- create(populate=...) ----------------------------------------------------------------


def _copy_notebooks(source: Path, ids: list[int]) -> Callable[[sa.Connection], None]:
    def populate(conn: sa.Connection) -> None:
        with closing(sqlite3.connect(source)) as src:
            marks = ",".join("?" * len(ids))
            notebooks = src.execute(
                f"SELECT id, title, sort_key FROM notebook WHERE id IN ({marks})", ids
            ).fetchall()
        conn.execute(
            sa.text("INSERT INTO notebook (id, title, sort_key) VALUES (:i, :t, :s)"),
            [{"i": i, "t": t, "s": s} for i, t, s in notebooks],
        )

    return populate


def test_an_export_is_born_at_head_with_exactly_its_rows(
    migrator: Migrator, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    source = db_at(HEAD)
    with closing(sqlite3.connect(source)) as conn, conn:
        conn.executemany(
            "INSERT INTO notebook (id, title, sort_key) VALUES (?, ?, ?)",
            [(i, f"Notebook {i}", i) for i in range(1, 6)],
        )
    export = tmp_path / "export.notes"
    report = migrator.create(export, populate=_copy_notebooks(source, [2, 4]))
    assert report.after == (HEAD,)
    assert versions(export) == [HEAD]
    assert schema(export) == schema(source)
    with closing(sqlite3.connect(export)) as conn:
        assert conn.execute("SELECT id, title FROM notebook ORDER BY id").fetchall() == [
            (2, "Notebook 2"),
            (4, "Notebook 4"),
        ]
    assert _listing(tmp_path) == sorted(["export.notes", source.name, "scripts"])


def test_a_failing_export_creates_nothing(migrator: Migrator, tmp_path: Path) -> None:
    export = tmp_path / "export.notes"

    def broken(conn: sa.Connection) -> None:
        conn.execute(sa.text("INSERT INTO notebook (id, title) VALUES (1, 'half')"))
        raise RuntimeError("the selection changed")

    with pytest.raises(FrozenAlembicError, match=r"populate\(\) raised RuntimeError") as caught:
        migrator.create(export, populate=broken)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert _listing(tmp_path) == ["scripts"]


def test_an_export_into_a_caller_s_connection_shares_its_transaction(
    migrator: Migrator, tmp_path: Path
) -> None:
    path = tmp_path / "empty.notes"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA user_version = 0")
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            migrator.create(
                conn,
                populate=lambda c: c.execute(
                    sa.text("INSERT INTO notebook (id, title) VALUES (7, 'exported')")
                ),
            )
            assert conn.in_transaction()
            conn.rollback()  # the caller's transaction: nothing was committed
        assert versions_or_none(path) is None
        with engine.connect() as conn:
            migrator.create(
                conn,
                populate=lambda c: c.execute(
                    sa.text("INSERT INTO notebook (id, title) VALUES (7, 'exported')")
                ),
            )
            conn.commit()
    finally:
        engine.dispose()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT title FROM notebook").fetchall() == [("exported",)]


def versions_or_none(path: Path) -> list[str] | None:
    with closing(sqlite3.connect(path)) as conn:
        try:
            return [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
        except sqlite3.OperationalError:
            return None


def test_create_still_refuses_an_existing_file(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0001_initial")
    fill_release_1(path, 1, 1)
    with pytest.raises(DatabaseExists):
        migrator.create(path, populate=lambda conn: None)
