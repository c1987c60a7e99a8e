"""Revisions shipped as bytecode only are found and applied, never silently skipped."""

from __future__ import annotations

import compileall
import py_compile
import shutil
import sqlite3
import sys
from typing import TYPE_CHECKING

import pytest
from alembic import command
from alembic.config import Config

from frozen_alembic import Migrator, ScriptsError

from .conftest import HEAD, REVISIONS, versions

if TYPE_CHECKING:
    from pathlib import Path


def _strip_sources(versions_dir: Path) -> None:
    for source in versions_dir.glob("*.py"):
        source.unlink()


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def test_pycache_layout_is_applied(scripts: Path, tmp_path: Path) -> None:
    versions_dir = scripts / "versions"
    assert compileall.compile_dir(versions_dir, quiet=1)
    _strip_sources(versions_dir)
    assert not list(versions_dir.glob("*.py"))
    path = tmp_path / "doc.notes"
    report = Migrator(scripts).create(path)
    assert report.applied == REVISIONS
    assert versions(path) == [HEAD]
    assert {"notebook", "note", "tag", "note_tag", "attachment"} <= _tables(path)


def test_legacy_layout_is_applied(scripts: Path, tmp_path: Path) -> None:
    versions_dir = scripts / "versions"
    for source in versions_dir.glob("*.py"):
        py_compile.compile(str(source), cfile=str(source.with_suffix(".pyc")), doraise=True)
    _strip_sources(versions_dir)
    path = tmp_path / "doc.notes"
    assert Migrator(scripts).create(path).applied == REVISIONS
    assert Migrator(scripts).downgrade(path, "0002_tags").after == ("0002_tags",)


def test_plain_alembic_silently_applies_nothing_to_bytecode_only_scripts(
    scripts: Path, tmp_path: Path
) -> None:
    """The trap we protect against, shown with Alembic itself."""
    versions_dir = scripts / "versions"
    compileall.compile_dir(versions_dir, quiet=1)
    _strip_sources(versions_dir)
    path = tmp_path / "doc.notes"
    config = Config()
    config.set_main_option("script_location", str(scripts))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{path}")
    (scripts / "env.py").write_text(
        "from alembic import context\n"
        "from sqlalchemy import create_engine\n"
        "engine = create_engine(context.config.get_main_option('sqlalchemy.url'))\n"
        "with engine.begin() as conn:\n"
        "    context.configure(connection=conn)\n"
        "    with context.begin_transaction():\n"
        "        context.run_migrations()\n"
    )
    command.upgrade(config, "heads")
    assert _tables(path) == {"alembic_version"}
    assert versions(path) == []


def test_stale_pycache_entries_are_not_run_beside_sources(scripts: Path, tmp_path: Path) -> None:
    versions_dir = scripts / "versions"
    planted = versions_dir / "0007_deleted.py"
    planted.write_text(
        '"""A revision that was deleted from the source tree."""\n'
        "from alembic import op\n"
        'revision = "0007_deleted"\n'
        'down_revision = "0006_attachments"\n'
        "def upgrade() -> None:\n"
        '    op.execute("CREATE TABLE stale (id INTEGER)")\n'
        "def downgrade() -> None:\n"
        "    pass\n"
    )
    compileall.compile_dir(versions_dir, quiet=1)
    planted.unlink()
    assert list((versions_dir / "__pycache__").glob("0007_deleted.*.pyc"))
    migrator = Migrator(scripts)
    assert migrator.heads() == (HEAD,)
    path = tmp_path / "doc.notes"
    migrator.create(path)
    assert "stale" not in _tables(path)


def test_mixed_sources_and_legacy_bytecode_are_refused(scripts: Path) -> None:
    versions_dir = scripts / "versions"
    last = versions_dir / "0006_attachments.py"
    py_compile.compile(str(last), cfile=str(last.with_suffix(".pyc")), doraise=True)
    last.unlink()
    with pytest.raises(ScriptsError, match=r"0006_attachments\.pyc"):
        Migrator(scripts).heads()


def test_bytecode_for_another_python_is_refused(scripts: Path) -> None:
    versions_dir = scripts / "versions"
    compileall.compile_dir(versions_dir, quiet=1)
    _strip_sources(versions_dir)
    cache = versions_dir / "__pycache__"
    tag = sys.implementation.cache_tag
    for pyc in cache.glob("*.pyc"):
        pyc.rename(pyc.with_name(pyc.name.replace(tag, "cpython-27")))
    with pytest.raises(ScriptsError, match="another Python"):
        Migrator(scripts).heads()


def test_bytecode_only_copy_of_the_reference_scripts_has_the_same_history(
    scripts: Path, tmp_path: Path
) -> None:
    compiled = tmp_path / "compiled"
    shutil.copytree(scripts, compiled)
    compileall.compile_dir(compiled / "versions", quiet=1, legacy=True)
    _strip_sources(compiled / "versions")
    assert [r.id for r in Migrator(compiled).history()] == [
        r.id for r in Migrator(scripts).history()
    ]
