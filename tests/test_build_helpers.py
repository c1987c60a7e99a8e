"""The build side: staging, manifest, freezer options, and tamper refusal at run time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from frozen_alembic import Migrator, ScriptsError, TamperedScripts
from frozen_alembic.build import (
    BuildError,
    cx_freeze_options,
    merge_options,
    nuitka_args,
    pyinstaller_args,
    pyinstaller_options,
    scan_imports,
    stage,
)

from .conftest import HEAD, REFERENCE_SCRIPTS, REVISIONS, versions

MANIFEST = "frozen-alembic-manifest.json"


def test_stage_copies_cleanly_and_writes_the_manifest(scripts: Path, tmp_path: Path) -> None:
    cache = scripts / "versions" / "__pycache__"
    cache.mkdir()
    (cache / "0009_stale.cpython-311.pyc").write_bytes(b"stale bytecode")
    (scripts / "versions" / "0010_orphan.pyc").write_bytes(b"orphan bytecode")
    staged = stage(scripts, stage_dir=tmp_path / "stage")
    assert staged.folder == (tmp_path / "stage" / "migrations").resolve()
    assert staged.heads == (HEAD,)
    names = sorted(p.relative_to(staged.folder).as_posix() for p in staged.folder.rglob("*"))
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    manifest = json.loads((staged.folder / MANIFEST).read_text())
    assert manifest["heads"] == [HEAD]
    assert list(manifest["revisions"]) == sorted(REVISIONS)
    assert manifest["revisions"]["0002_tags"] == ["0001_initial"]
    # Every file but the manifest and the heads file (which checks itself against it).
    assert set(manifest["files"]) == {n for n in names if (staged.folder / n).is_file()} - {
        MANIFEST,
        "frozen-alembic-heads.txt",
    }
    for needed in ("notekeeper.models", "logging.config", "sqlalchemy.dialects.sqlite"):
        assert needed in manifest["imports"]
    assert "frozen_alembic._migrator" in manifest["imports"]
    assert not [m for m in manifest["imports"] if m.startswith("frozen_alembic.build")]


def test_scan_imports_reads_env_py_and_revisions() -> None:
    found = scan_imports(REFERENCE_SCRIPTS)
    needed = {"alembic", "alembic.op", "sqlalchemy", "notekeeper", "notekeeper.models"}
    assert needed <= found.modules
    assert found.app_modules == {"notekeeper.models"}
    assert found.missing == []


def test_a_missing_import_fails_the_build_early(scripts: Path, tmp_path: Path) -> None:
    (scripts / "versions" / "0007_needs.py").write_text(
        'import not_installed_anywhere\nrevision = "0007_needs"\n'
        'down_revision = "0006_attachments"\n'
    )
    with pytest.raises(BuildError, match="not_installed_anywhere"):
        stage(scripts, stage_dir=tmp_path / "stage")


def test_bytecode_only_bundle_works(tmp_path: Path) -> None:
    staged = stage(REFERENCE_SCRIPTS, stage_dir=tmp_path / "stage", bytecode_only=True)
    assert not list((staged.folder / "versions").glob("*.py"))
    assert len(list((staged.folder / "versions").glob("*.pyc"))) == len(REVISIONS)
    bundled = Migrator(staged.folder, require_manifest=True)
    path = tmp_path / "doc.notes"
    Migrator(REFERENCE_SCRIPTS).create(path)
    Migrator(REFERENCE_SCRIPTS).downgrade(path, "base", backup=False)
    assert bundled.upgrade(path).applied == REVISIONS
    assert versions(path) == [HEAD]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("edit", "changed: versions/0003_pinned.py"),
        ("plant", "extra: versions/0007_evil.py"),
        ("delete", "missing: versions/0006_attachments.py"),
        ("pycache", "extra: versions/__pycache__/0003_pinned.cpython-311.pyc"),
    ],
)
def test_a_tampered_bundle_is_refused_before_any_code_runs(
    tmp_path: Path, change: str, words: str
) -> None:
    staged = stage(REFERENCE_SCRIPTS, stage_dir=tmp_path / "stage")
    versions_dir = staged.folder / "versions"
    marker = tmp_path / "evil-ran"
    evil = f"open({str(marker)!r}, 'w').close()\n"
    if change == "edit":
        with (versions_dir / "0003_pinned.py").open("a") as fh:
            fh.write(evil)
    elif change == "plant":
        (versions_dir / "0007_evil.py").write_text(evil)
    elif change == "delete":
        (versions_dir / "0006_attachments.py").unlink()
    else:
        (versions_dir / "__pycache__").mkdir()
        (versions_dir / "__pycache__" / "0003_pinned.cpython-311.pyc").write_bytes(b"x")
    migrator = Migrator(staged.folder)  # nothing is loaded yet
    document = tmp_path / "doc.notes"
    Migrator(REFERENCE_SCRIPTS).create(document)
    Migrator(REFERENCE_SCRIPTS).downgrade(document, "0001_initial", backup=False)
    with pytest.raises(TamperedScripts, match="do not match") as caught:
        migrator.upgrade(document)
    assert words in str(caught.value)
    assert versions(document) == ["0001_initial"]
    with pytest.raises(TamperedScripts):
        migrator.history()
    assert caught.value.files
    assert not marker.exists()


def test_an_unreadable_manifest_is_an_error(tmp_path: Path) -> None:
    staged = stage(REFERENCE_SCRIPTS, stage_dir=tmp_path / "stage")
    (staged.folder / MANIFEST).write_text("{not json")
    with pytest.raises(ScriptsError, match="cannot be read"):
        Migrator(staged.folder)
    (staged.folder / MANIFEST).write_text('{"format": 99}')
    with pytest.raises(ScriptsError, match="format 2"):
        Migrator(staged.folder)


def test_freezer_options(tmp_path: Path) -> None:
    cx = cx_freeze_options(REFERENCE_SCRIPTS, stage_dir=tmp_path / "cx", target="db_scripts")
    assert cx["include_files"] == [(str((tmp_path / "cx" / "db_scripts").resolve()), "db_scripts")]
    assert "notekeeper.models" in cx["includes"]
    assert "alembic.ddl" in cx["packages"]
    assert "alembic.testing" in cx["excludes"]
    merged = merge_options({"packages": ["notekeeper", "alembic.ddl"], "excludes": ["tkinter"]}, cx)
    assert merged["packages"].count("alembic.ddl") == 1
    assert merged["excludes"][:2] == ["tkinter", "alembic.testing"]

    pyi = pyinstaller_options(REFERENCE_SCRIPTS, stage_dir=tmp_path / "pyi")
    assert pyi["datas"] == [(str((tmp_path / "pyi" / "migrations").resolve()), "migrations")]
    args = pyinstaller_args(REFERENCE_SCRIPTS, stage_dir=tmp_path / "pyi")
    assert args[:2] == [
        "--add-data",
        f"{(tmp_path / 'pyi' / 'migrations').resolve()}{os.pathsep}migrations",
    ]
    assert args[args.index("notekeeper.models") - 1] == "--hidden-import"

    nuitka = nuitka_args(REFERENCE_SCRIPTS, stage_dir=tmp_path / "nk")
    assert nuitka[0] == f"--include-raw-dir={(tmp_path / 'nk' / 'migrations').resolve()}=migrations"
    assert "--include-module=notekeeper.models" in nuitka


def test_the_runtime_never_imports_build_code_or_freezers(tmp_path: Path) -> None:
    db = tmp_path / "doc.notes"
    code = (
        "import sys, json\n"
        "from frozen_alembic import Migrator\n"
        f"m = Migrator.locate(anchor='notekeeper')\n"
        f"m.create({str(db)!r}); m.status({str(db)!r})\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    loaded = set(json.loads(proc.stdout))
    assert not [m for m in loaded if m.startswith("frozen_alembic.build")]
    assert not loaded & {"cx_Freeze", "PyInstaller", "nuitka"}


def test_staging_replaces_an_old_stage(tmp_path: Path, scripts: Path) -> None:
    first = stage(scripts, stage_dir=tmp_path / "stage")
    (first.folder / "leftover.txt").write_text("from an older build")
    shutil.copy(scripts / "versions" / "0006_attachments.py", scripts / "versions" / "copy.txt")
    second = stage(scripts, stage_dir=tmp_path / "stage")
    assert not (second.folder / "leftover.txt").exists()
    assert (second.folder / "versions" / "copy.txt").exists()
