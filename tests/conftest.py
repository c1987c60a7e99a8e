"""Shared fixtures: a private copy of the reference migrations and real SQLite files."""

from __future__ import annotations

import ast
import hashlib
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from frozen_alembic import Migrator

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_SCRIPTS = ROOT / "migrations"
REVISIONS = (
    "0001_initial",
    "0002_tags",
    "0003_pinned",
    "0004_sort_key_integer",
    "0005_split_author",
    "0006_attachments",
)
HEAD = REVISIONS[-1]


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    """A copy of the reference script directory that a test may change freely."""
    target = tmp_path / "scripts"
    shutil.copytree(REFERENCE_SCRIPTS, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture
def migrator(scripts: Path) -> Migrator:
    """A :class:`Migrator` on the copied reference scripts."""
    return Migrator(scripts)


@pytest.fixture
def db_at(migrator: Migrator, tmp_path: Path) -> Callable[[str], Path]:
    """Make a database file at a given reference revision ("base" for none)."""
    counter = iter(range(1_000_000))

    def make(revision: str) -> Path:
        path = tmp_path / f"doc{next(counter)}.notes"
        migrator.create(path)
        if revision != HEAD:
            migrator.downgrade(path, revision, backup=False)
        return path

    return make


def fill_release_1(
    path: Path, notebooks: int, notes: int, *, tag: str = "", body: str = ""
) -> None:
    """Put ``notebooks`` notebooks and ``notes`` notes into a file at ``0001_initial``.

    :param tag: goes into every title and body, to tell files apart.
    :param body: extra text for every note's body (to make the file bigger).
    """
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO notebook (id, title, sort_key) VALUES (?, ?, ?)",
            [(i, f"Notebook {tag}{i}", str(i * 10)) for i in range(1, notebooks + 1)],
        )
        conn.executemany(
            "INSERT INTO note (id, notebook_id, author_name, body, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (i, i % notebooks + 1, "Ada King Lovelace", f"Note {tag}{i}{body}", "2026-01-02")
                for i in range(1, notes + 1)
            ],
        )
        conn.execute("COMMIT")


def sha256(path: Path) -> str:
    """The file's content hash, to prove it was left untouched."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def versions(path: Path) -> list[str]:
    """The rows of the file's version table, read with the standard library."""
    conn = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))
    finally:
        conn.close()


def schema(path: Path) -> dict[str, object]:
    """A normalised description of a file's schema, independent of column order
    and of how each table's CREATE statement was written.
    """
    conn = sqlite3.connect(path)
    try:
        result: dict[str, object] = {}
        objects = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite%' ORDER BY type, name"
        ).fetchall()
        for kind, name in objects:
            if kind == "view":
                result[f"view {name}"] = sorted(
                    row[1] for row in conn.execute(f"PRAGMA table_info('{name}')")
                )
                continue
            columns = sorted(
                (row[1], row[2].upper(), row[3], row[4], row[5])
                for row in conn.execute(f"PRAGMA table_xinfo('{name}')")
            )
            fks = sorted(
                (row[2], row[3], row[4], row[6])
                for row in conn.execute(f"PRAGMA foreign_key_list('{name}')")
            )
            indexes = sorted(
                (
                    # SQLite names the indexes of UNIQUE constraints itself.
                    index if origin == "c" else origin,
                    unique,
                    tuple(r[2] for r in conn.execute(f"PRAGMA index_info('{index}')")),
                )
                for _seq, index, unique, origin, _partial in conn.execute(
                    f"PRAGMA index_list('{name}')"
                )
            )
            result[f"table {name}"] = (columns, fks, indexes)
        return result
    finally:
        conn.close()


def modules_after(code: str, cwd: Path) -> set[str]:
    """The modules loaded once ``code`` has run in a fresh interpreter (in ``cwd``)."""
    proc = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    )
    return set(ast.literal_eval(proc.stdout.strip().splitlines()[-1]))
