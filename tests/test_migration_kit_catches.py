"""The migration kit in pytest sessions of its own, as an application gets it.

Each session (``pytester``, in a new process) loads the plugin through its entry point.
The README's example runs as printed on the ledgerly app; and the kit fails on broken
copies of the reference migrations, saying what a user would see:

* a downgrade that forgets to drop an index (a bug that shipped: the releases are
  recorded from the broken copy);
* a revision of the coming release that rebuilds ``note`` without copying
  ``note.pinned`` (releases 1.0 to 1.4 are recorded; 1.5 is in development);
* a revision file edited after its release shipped (the whole run is refused).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from frozen_alembic.build import read_releases, record_release
from frozen_alembic.build._releases import render_releases

from .builds import LEDGERLY
from .conftest import REFERENCE_SCRIPTS, REVISIONS, ROOT

pytest_plugins = ["pytester"]

RELEASES = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5")
KIT_TESTS = 9
CONFTEST = """
import pytest

from frozen_alembic.testing import KitConfig
from notekeeper.models import metadata
from tests.test_migration_kit import notekeeper_rows


@pytest.fixture
def frozen_alembic_config():
    return KitConfig({scripts!r}, metadata=metadata, data=notekeeper_rows)
"""
TESTS = "from frozen_alembic.testing.tests import *  # noqa: F403\n"


def copy_migrations(target: Path, *, records: bool) -> Path:
    """The reference migrations, with or without their release records."""
    ignored = ["__pycache__"] + ([] if records else ["releases.toml", "schemas"])
    shutil.copytree(REFERENCE_SCRIPTS, target, ignore=shutil.ignore_patterns(*ignored))
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(autouse=True)
def _subprocess_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sessions run as new processes (pytest loads the plugin from its entry point,
    and SQLAlchemy is imported once), with this project importable for the data hook."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("COLUMNS", "400")  # whole summary lines


def run(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-rfE")


def run_kit(pytester: pytest.Pytester, scripts: Path) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST.format(scripts=str(scripts)))
    pytester.makepyfile(test_migrations=TESTS)
    return run(pytester)


def output(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines)


def failed(result: pytest.RunResult) -> set[str]:
    """The kit tests that failed (named in the short summary)."""
    return {
        line.split("::")[1].split(" ")[0]
        for line in result.outlines
        if line.startswith("FAILED test_migrations.py::")
    }


def test_a_downgrade_that_forgets_an_index(pytester: pytest.Pytester, tmp_path: Path) -> None:
    scripts = copy_migrations(tmp_path / "migrations", records=False)
    edit(
        scripts / "versions" / "0002_tags.py",
        '    op.drop_index("ix_note_notebook_id", table_name="note")\n',
        "",
    )
    for name, revision in zip(RELEASES, REVISIONS, strict=True):  # the bug shipped
        record_release(name, scripts, at=revision)
    result = run_kit(pytester, scripts)
    result.assert_outcomes(passed=KIT_TESTS - 3, failed=3)
    assert failed(result) == {
        "test_upgrade_then_downgrade_leaves_no_trace",
        "test_every_downgrade_runs",
        "test_release_schemas_match_the_migrations",
    }
    text = output(result)
    leaves = (
        "downgrading release 1.1 to 1.0 (0002_tags to 0001_initial) leaves index "
        "ix_note_notebook_id on note behind"
    )
    for test in ("test_upgrade_then_downgrade_leaves_no_trace", "test_every_downgrade_runs"):
        assert f"FAILED test_migrations.py::{test} - Failed: {leaves}" in text
    assert (
        "release 1.0's recorded schema (schemas/1.0.sql) is not what a new document "
        "downgraded to 0001_initial has: only the migrations give index ix_note_notebook_id "
        "on note" in text
    )


def test_a_rebuild_that_does_not_copy_a_column(pytester: pytest.Pytester, tmp_path: Path) -> None:
    scripts = copy_migrations(tmp_path / "migrations", records=True)
    # Release 1.5 is still in development: not recorded yet.
    releases = read_releases(scripts / "releases.toml")[:-1]
    (scripts / "releases.toml").write_text(render_releases(releases), encoding="utf-8")
    (scripts / "schemas" / "1.5.sql").unlink()
    edit(
        scripts / "versions" / "0006_attachments.py",
        "def upgrade() -> None:\n",
        "def upgrade() -> None:\n"
        '    op.execute("DROP VIEW note_summary")\n'
        '    with op.batch_alter_table("note", recreate="always") as batch_op:\n'
        '        batch_op.drop_column("pinned")  # moved to the end, its values forgotten\n'
        '    op.add_column("note", sa.Column("pinned", sa.Boolean(), nullable=False, '
        'server_default="0"))\n'
        "    op.execute(CREATE_NOTE_SUMMARY)\n",
    )
    result = run_kit(pytester, scripts)
    result.assert_outcomes(passed=KIT_TESTS - 3, failed=3)
    assert failed(result) == {
        "test_every_revision_upgrades_to_head",
        "test_every_release_upgrades_to_head",
        "test_upgrade_then_downgrade_leaves_no_trace",
    }
    text = output(result)
    lost = (
        "loses note.pinned when upgraded to the head (0006_attachments): SELECT id FROM note "
        "WHERE pinned ORDER BY id gives [], expected [1, 3]"
    )
    for release in ("1.2", "1.3", "1.4"):  # the releases whose documents can pin notes
        assert f"- a document from release {release} {lost}" in text
        assert f"(release {release}) {lost}" in text
    assert "a document from release 1.1 loses note.pinned" not in text
    assert (
        "upgrading release 1.4 (0005_split_author) to 0006_attachments and downgrading again "
        "changes note.pinned in 2 row(s) (e.g. id=1: 1 became 0)" in text
    )


def test_a_released_revision_edited_afterwards_refuses_the_run(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    scripts = copy_migrations(tmp_path / "migrations", records=True)
    edit(
        scripts / "versions" / "0003_pinned.py",
        'server_default="0"',
        'server_default="1"',  # "new notes should start pinned"
    )
    result = run_kit(pytester, scripts)
    result.assert_outcomes(errors=KIT_TESTS)
    refused = (
        "versions/0003_pinned.py changed after release 1.2 shipped: documents from 1.2 already "
        "ran the old version; undo the edit and add a new revision"
    )
    assert output(result).count(refused) >= KIT_TESTS


def test_a_released_revision_removed_afterwards_refuses_the_run(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    scripts = copy_migrations(tmp_path / "migrations", records=True)
    (scripts / "versions" / "0006_attachments.py").unlink()
    result = run_kit(pytester, scripts)
    result.assert_outcomes(errors=KIT_TESTS)
    assert (
        "versions/0006_attachments.py was removed after release 1.5 shipped: documents from "
        "1.5 need it to be upgraded; put it back" in output(result)
    )


def test_a_session_without_the_config_fixture_is_told_what_to_write(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_migrations=TESTS)
    result = run(pytester)
    result.assert_outcomes(errors=KIT_TESTS)
    assert "define a frozen_alembic_config fixture in conftest.py" in output(result)


def test_a_session_that_asks_for_no_kit_fixture_is_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_nothing_of_the_kit_is_loaded():
            loaded = [m for m in sys.modules if m.startswith("frozen_alembic")]
            assert sorted(loaded) == [
                "frozen_alembic", "frozen_alembic.testing", "frozen_alembic.testing.plugin"
            ]
            assert "sqlalchemy" not in sys.modules
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert not list(pytester.path.rglob("*frozen-alembic-kit*"))


def readme_block(name: str) -> str:
    """The fenced code block after ``<!-- example: NAME -->`` in the README."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"<!-- example: {name} -->\n```\w*\n(.*?)```", readme, re.DOTALL)
    assert found, f"README.md has no example {name}"
    return found.group(1)


def test_the_readme_example_runs_as_printed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(
        LEDGERLY / "src", pytester.path / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    tests = pytester.mkdir("tests")
    for name in ("kit-conftest", "kit-tests"):
        block = readme_block(name)
        target = block.splitlines()[0].removeprefix("# ")  # "# tests/conftest.py"
        (pytester.path / target).write_text(block, encoding="utf-8")
    assert sorted(p.name for p in tests.iterdir()) == ["conftest.py", "test_migrations.py"]
    monkeypatch.setenv("PYTHONPATH", str(pytester.path / "src"))
    scripts = "src/ledgerly/db_migrations"
    recorded = pytester.run(
        sys.executable, "-m", "frozen_alembic", "release", "2.0", "--scripts", scripts
    )
    assert recorded.ret == 0, recorded.outlines
    assert (pytester.path / scripts / "schemas" / "2.0.sql").is_file()

    result = run(pytester)
    result.assert_outcomes(passed=KIT_TESTS)

    meta = pytester.path / scripts / "versions" / "c3d4e5f6a1b2_entry_meta.py"
    meta.write_text(meta.read_text(encoding="utf-8") + "# tidied up\n", encoding="utf-8")
    result = run(pytester)
    result.assert_outcomes(errors=KIT_TESTS)
    assert (
        "versions/c3d4e5f6a1b2_entry_meta.py changed after release 2.0 shipped: documents from "
        "2.0 already ran the old version; undo the edit and add a new revision" in output(result)
    )
