"""The fast paths keep every guarantee: what they import, what they return, when they step aside.

No timings here (those live in scripts/bench): these tests assert behaviour.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from frozen_alembic import Migrator, TamperedScripts, ensure_current
from frozen_alembic.build import stage

from .conftest import HEAD, REFERENCE_SCRIPTS, REVISIONS, modules_after, schema, versions

MARKER_LINE = "with open({marker!r}, 'a') as _log:\n    _log.write('loaded\\n')\n"


@pytest.fixture
def bundle(tmp_path: Path, scripts: Path) -> tuple[Path, Path]:
    """A staged bundle whose first revision records every time it is imported."""
    marker = tmp_path / "revision-imports.log"
    first = scripts / "versions" / "0001_initial.py"
    first.write_text(first.read_text() + MARKER_LINE.format(marker=str(marker)))
    staged = stage(scripts, stage_dir=tmp_path / "stage")
    marker.unlink()  # staging ran the revisions; start counting now
    return staged.folder, marker


def test_current_file_check_imports_nothing_heavy(
    bundle: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, marker = bundle
    db = tmp_path / "doc.notes"
    Migrator(folder).create(db)
    baseline = modules_after("import sqlite3", tmp_path)
    code = (
        "import frozen_alembic\n"
        f"report = frozen_alembic.ensure_current({str(db)!r}, scripts={str(folder)!r})\n"
        "assert not report.changed, report\n"
    )
    loaded = modules_after(code, tmp_path)
    extra = {m for m in loaded - baseline if not m.startswith("frozen_alembic")}
    heavy = {"sqlalchemy", "alembic", "mako", "typing", "dataclasses", "json", "pathlib", "enum"}
    assert {m.split(".")[0] for m in extra} & heavy == set(), sorted(extra)
    assert not [
        m for m in loaded if m.startswith(("frozen_alembic.build", "frozen_alembic._migrator"))
    ]
    assert not marker.exists(), "no revision file may be imported for a current file"


def test_a_file_that_needs_work_takes_the_full_route(
    bundle: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, marker = bundle
    db = tmp_path / "doc.notes"
    Migrator(REFERENCE_SCRIPTS).create(db)
    Migrator(REFERENCE_SCRIPTS).downgrade(db, "0002_tags", backup=False)
    progress: list[str | None] = []
    report = ensure_current(db, scripts=folder, progress=lambda p: progress.append(p.revision))
    assert report.applied == REVISIONS[2:]
    assert report.backup is not None
    assert list(dict.fromkeys(rev for rev in progress if rev)) == list(REVISIONS[2:])
    assert versions(db) == [HEAD]
    assert marker.read_text() == "loaded\n"
    again = ensure_current(db, scripts=folder)
    assert not again.changed
    assert again.path == db


def test_a_stale_bundle_is_not_trusted_by_the_fast_path(
    bundle: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, _marker = bundle
    db = tmp_path / "doc.notes"
    Migrator(folder).create(db)
    # A revision planted after the build: the heads file no longer describes the folder.
    (folder / "versions" / "0007_planted.py").write_text(
        'revision = "0007_planted"\ndown_revision = "0006_attachments"\n'
    )
    with pytest.raises(TamperedScripts, match="0007_planted"):
        ensure_current(db, scripts=folder)
    assert versions(db) == [HEAD]


def test_ensure_current_reports_bad_files_like_the_migrator(
    bundle: tuple[Path, Path], tmp_path: Path
) -> None:
    from frozen_alembic import DatabaseNotFound, DatabaseTooNew

    folder, _marker = bundle
    with pytest.raises(DatabaseNotFound):
        ensure_current(tmp_path / "missing.notes", scripts=folder)
    assert not (tmp_path / "missing.notes").exists()
    db = tmp_path / "future.notes"
    Migrator(folder).create(db)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_future'")
    conn.close()
    with pytest.raises(DatabaseTooNew):
        ensure_current(db, scripts=folder)


def test_create_copies_the_bundled_template_without_running_revisions(
    bundle: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, marker = bundle
    fresh = tmp_path / "fresh.notes"
    report = Migrator(folder).create(fresh)
    assert (report.before, report.after, report.applied) == ((), (HEAD,), ())
    assert not marker.exists()
    chain = tmp_path / "chain.notes"
    assert Migrator(REFERENCE_SCRIPTS).create(chain).applied == REVISIONS
    assert schema(fresh) == schema(chain)
    assert versions(fresh) == [HEAD]
    conn = sqlite3.connect(fresh)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


@pytest.mark.parametrize("damage", ["bytes", "version"])
def test_a_mismatching_template_falls_back_to_the_chain(
    tmp_path: Path, scripts: Path, damage: str
) -> None:
    staged = stage(scripts, stage_dir=tmp_path / "stage")
    template = staged.folder / "frozen-alembic-template.sqlite"
    manifest = staged.folder / "frozen-alembic-manifest.json"
    if damage == "bytes":
        template.chmod(0o644)
        conn = sqlite3.connect(template)
        with conn:
            conn.execute("CREATE TABLE planted (x)")
        conn.close()
        # keep the manifest's record of it, so the template no longer matches it
    else:
        # a template at another revision, its SHA-256 recorded in the manifest (but
        # not its size and CRC-32, which create() checks)
        conn = sqlite3.connect(template)
        with conn:
            conn.execute("UPDATE alembic_version SET version_num = '0003_pinned'")
        conn.close()
        import hashlib
        import json

        data = json.loads(manifest.read_text())
        data["files"][template.name] = hashlib.sha256(template.read_bytes()).hexdigest()
        manifest.write_text(json.dumps(data))
    fresh = tmp_path / "fresh.notes"
    migrator = Migrator(staged.folder)
    if damage == "bytes":
        # The chain verifies every file first: a changed bundle is refused outright.
        with pytest.raises(TamperedScripts):
            migrator.create(fresh)
        assert not fresh.exists()
        return
    assert migrator.create(fresh).applied == REVISIONS
    assert versions(fresh) == [HEAD]
    assert "planted" not in str(schema(fresh))


def test_later_creates_copy_the_first_one(scripts: Path, tmp_path: Path) -> None:
    migrator = Migrator(scripts)
    first = migrator.create(tmp_path / "one.notes")
    second = migrator.create(tmp_path / "two.notes")
    assert first.applied == REVISIONS
    assert second.applied == ()
    assert schema(tmp_path / "one.notes") == schema(tmp_path / "two.notes")
    assert versions(tmp_path / "two.notes") == [HEAD]


def test_revision_files_are_loaded_once_per_migrator(
    bundle: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, marker = bundle
    migrator = Migrator(folder)
    for index in range(3):
        db = tmp_path / f"doc{index}.notes"
        Migrator(REFERENCE_SCRIPTS).create(db)
        Migrator(REFERENCE_SCRIPTS).downgrade(db, "0001_initial", backup=False)
        migrator.upgrade(db)
        migrator.status(db)
        migrator.history()
    assert marker.read_text() == "loaded\n"


def test_bundle_copies_keep_working(bundle: tuple[Path, Path], tmp_path: Path) -> None:
    folder, _marker = bundle
    copy = tmp_path / "installed" / "migrations"
    shutil.copytree(folder, copy)
    db = tmp_path / "doc.notes"
    Migrator(copy, require_manifest=True).create(db)
    assert not ensure_current(db, scripts=copy).changed


def test_an_edited_heads_file_never_makes_a_behind_file_current(
    bundle: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, _marker = bundle
    heads_file = folder / "frozen-alembic-heads.txt"
    text = heads_file.read_text()
    heads_file.write_text(text.replace(f"heads {HEAD}", "heads 0003_pinned"))
    db = tmp_path / "doc.notes"
    Migrator(REFERENCE_SCRIPTS).create(db)
    Migrator(REFERENCE_SCRIPTS).downgrade(db, "0003_pinned", backup=False)
    report = ensure_current(db, scripts=folder)
    assert report.applied == REVISIONS[3:]
    assert versions(db) == [HEAD]


def test_a_heads_file_of_another_build_is_not_believed(
    bundle: tuple[Path, Path], scripts: Path, tmp_path: Path
) -> None:
    folder, _marker = bundle
    older = tmp_path / "older-scripts"
    shutil.copytree(scripts, older)
    for late in REVISIONS[3:]:
        (older / "versions" / f"{late}.py").unlink()
    old_build = stage(older, stage_dir=tmp_path / "old-stage")
    # The old build's heads file (heads 0003_pinned), its versions/ listing made to
    # match: only the manifest stamp in it tells that it belongs to another build.
    old_heads = (old_build.folder / "frozen-alembic-heads.txt").read_text()
    new_heads = (folder / "frozen-alembic-heads.txt").read_text()
    versions_line = next(line for line in new_heads.splitlines() if line.startswith("versions"))
    lines = [
        versions_line if line.startswith("versions") else line
        for line in old_heads.splitlines()
        if not line.startswith("check")
    ]
    import zlib

    body = "\n".join(lines) + "\n"
    (folder / "frozen-alembic-heads.txt").write_text(f"{body}check {zlib.crc32(body.encode())}\n")
    db = tmp_path / "doc.notes"
    Migrator(REFERENCE_SCRIPTS).create(db)
    Migrator(REFERENCE_SCRIPTS).downgrade(db, "0003_pinned", backup=False)
    report = ensure_current(db, scripts=folder)
    assert report.applied == REVISIONS[3:]
    assert versions(db) == [HEAD]


@pytest.mark.parametrize("recorded", ["crc", "sha256 only"])
def test_create_from_a_bundle_loads_nothing_heavy(
    tmp_path: Path, scripts: Path, recorded: str
) -> None:
    """create() from a bundle whose heads file holds reads the template's size and
    CRC-32 from it (zlib): no pathlib, JSON, hashlib or SQLite.  A bundle whose
    manifest lacks them is checked by SHA-256 and by reading the template."""
    import json

    staged = stage(scripts, stage_dir=tmp_path / "stage")
    manifest = staged.folder / "frozen-alembic-manifest.json"
    if recorded == "sha256 only":
        data = json.loads(manifest.read_text())
        del data["template_check"]
        manifest.write_text(json.dumps(data))
    fresh = tmp_path / "fresh.notes"
    code = (
        "import sys\n"
        "from frozen_alembic import Migrator\n"
        f"report = Migrator({str(staged.folder)!r}).create({str(fresh)!r})\n"
        "assert report.applied == (), report"
    )
    loaded = modules_after(code, tmp_path)
    assert versions(fresh) == [HEAD]
    heavy = {"hashlib", "sqlite3", "json", "pathlib", "logging", "threading", "alembic"} & loaded
    # An edited manifest no longer matches the heads file: the full route reads it.
    full_route = {"hashlib", "sqlite3", "json", "pathlib"}
    assert heavy == (full_route if recorded == "sha256 only" else set())
