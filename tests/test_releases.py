"""Recorded releases: ``frozen-alembic release``, the checksum rule, and builds.

The reference app's six releases are recorded in ``migrations/releases.toml`` and
``migrations/schemas/``; recording them again from scratch must give the same bytes.
A released revision file must never change: ``record_release`` and ``verify`` refuse it
(the migration kit's refusal is in ``test_migration_kit_catches.py``).  The records stay
in the source tree: staging leaves them out of builds.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from frozen_alembic import main
from frozen_alembic.build import BuildError, read_releases, record_release, stage, verify_build
from frozen_alembic.build._releases import changed_after_release, revision_hashes
from frozen_alembic.testing import KitConfig, KitFailure, MigrationKit, same_server_default

from .conftest import REFERENCE_SCRIPTS, REVISIONS

RELEASES = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5")
EDITED = (
    "versions/0003_pinned.py changed after release 1.2 shipped: documents from 1.2 already ran "
    "the old version; undo the edit and add a new revision"
)


def copy_migrations(target: Path, *, records: bool = True) -> Path:
    ignored = ["__pycache__"] + ([] if records else ["releases.toml", "schemas"])
    shutil.copytree(REFERENCE_SCRIPTS, target, ignore=shutil.ignore_patterns(*ignored))
    return target


def edit_0003(scripts: Path) -> None:
    path = scripts / "versions" / "0003_pinned.py"
    path.write_text(path.read_text().replace('server_default="0"', 'server_default="1"'))


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdout=out), out.getvalue()


def test_the_recorded_releases_are_what_the_command_writes(tmp_path: Path) -> None:
    scripts = copy_migrations(tmp_path / "migrations", records=False)
    for name, revision in zip(RELEASES[:-1], REVISIONS, strict=False):
        code, out = run_cli("release", name, "--scripts", str(scripts), "--at", revision)
        assert code == 0, out
    code, out = run_cli("--scripts", str(scripts), "release", "1.5")  # at the heads
    assert code == 0
    assert out.startswith("recorded release 1.5 at 0006_attachments: 6 revision file(s)")
    recorded = sorted(p.relative_to(REFERENCE_SCRIPTS) for p in _records(REFERENCE_SCRIPTS))
    assert recorded == sorted(p.relative_to(scripts) for p in _records(scripts))
    for rel in recorded:
        assert (scripts / rel).read_bytes() == (REFERENCE_SCRIPTS / rel).read_bytes(), rel
    releases = read_releases(scripts / "releases.toml")
    assert [(r.name, r.heads) for r in releases] == [
        (name, (rev,)) for name, rev in zip(RELEASES, REVISIONS, strict=True)
    ]
    assert list(releases[2].files) == [f"versions/{rev}.py" for rev in REVISIONS[:3]]


def _records(folder: Path) -> list[Path]:
    return [folder / "releases.toml", *sorted((folder / "schemas").iterdir())]


def test_a_release_is_recorded_once(tmp_path: Path) -> None:
    scripts = copy_migrations(tmp_path / "migrations")
    before = (scripts / "releases.toml").read_bytes()
    with pytest.raises(BuildError, match=r"release 1\.5 is already recorded .* never changed"):
        record_release("1.5", scripts)
    code, _out = run_cli("release", "../1.6", "--scripts", str(scripts))
    assert code == 1
    assert (scripts / "releases.toml").read_bytes() == before


def test_no_release_is_recorded_over_an_edited_released_revision(tmp_path: Path) -> None:
    scripts = copy_migrations(tmp_path / "migrations")
    edit_0003(scripts)
    with pytest.raises(BuildError) as caught:
        record_release("1.6", scripts)
    assert str(caught.value) == EDITED
    assert [r.name for r in read_releases(scripts / "releases.toml")] == list(RELEASES)


def test_line_endings_and_a_bom_are_not_changes(tmp_path: Path) -> None:
    scripts = copy_migrations(tmp_path / "migrations")
    path = scripts / "versions" / "0003_pinned.py"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    releases = read_releases(scripts / "releases.toml")
    assert changed_after_release(releases, revision_hashes(scripts)) == []
    # A released file moved to another name (same bytes) is no change either.
    path.rename(scripts / "versions" / "0003_pinned_notes.py")
    assert changed_after_release(releases, revision_hashes(scripts)) == []


def test_the_kit_refuses_an_edited_released_revision(tmp_path: Path) -> None:
    scripts = copy_migrations(tmp_path / "migrations")
    edit_0003(scripts)
    with MigrationKit(KitConfig(scripts)) as kit, pytest.raises(KitFailure) as caught:
        kit.check_releases_unchanged()
    assert caught.value.problems == [EDITED]


def test_builds_leave_the_release_records_out(tmp_path: Path) -> None:
    staged = stage(REFERENCE_SCRIPTS, stage_dir=tmp_path / "build" / "stage")
    assert not (staged.folder / "releases.toml").exists()
    assert not (staged.folder / "schemas").exists()
    report = verify_build(tmp_path / "build", source=REFERENCE_SCRIPTS)
    assert not [p for p in report.problems if "stale" in p or "release" in p], report
    assert (
        "the 6 revision files of the recorded releases (1.0, 1.1, 1.2, 1.3, 1.4, 1.5) are in "
        "the build as they were released" in report.passed
    )


@pytest.mark.parametrize("bytecode_only", [False, True], ids=["source", "bytecode-only"])
def test_verify_refuses_a_build_with_an_edited_released_revision(
    tmp_path: Path, bytecode_only: bool
) -> None:
    scripts = copy_migrations(tmp_path / "migrations")
    edit_0003(scripts)
    stage(scripts, stage_dir=tmp_path / "build" / "stage", bytecode_only=bytecode_only)
    code, out = run_cli("verify", str(tmp_path / "build"), "--source", str(scripts))
    assert code == 1
    assert f"PROBLEM  in the build, {EDITED}, then rebuild" in out


def test_the_server_default_filter_removes_only_sqlites_false_positives() -> None:
    # server_default="" (rendered ""), reflected as '' — or ('') after a batch rebuild.
    assert same_server_default(None, None, None, "('')", None, "") is False
    assert same_server_default(None, None, None, "''", None, "") is False
    assert same_server_default(None, None, None, "'0'", None, "0") is False
    assert same_server_default(None, None, None, "'it''s'", None, "it's") is False
    assert same_server_default(None, None, None, "'1'", None, "0") is None  # Alembic decides
    assert same_server_default(None, None, None, None, None, "") is None
