"""``frozen-alembic verify`` on real builds: it passes only if old documents migrate.

The second test app, ledgerly (``tests/apps/ledgerly``: migrations inside the
package, revisions importing the app's helpers), is built four times, all builds
started together as soon as the first test needs one, each in its own copy:

- cx_Freeze with the README's ``setup.py`` (good);
- cx_Freeze without ``packages: ["ledgerly"]`` and with ``ledgerly._migration_helpers``
  filtered out of the includes (a missing submodule);
- PyInstaller ``--onefile`` with the README's command line (good), and the same
  without its ``--add-data`` (no migrations bundled).

Other broken builds are copies of the good cx_Freeze build (or of its source tree)
changed after building: a revision edited under its old id, an edited heads file, the
migrations folder deleted.  ``verify`` runs as the real command line
(``python -m frozen_alembic verify``) from an empty working directory, with the
app's ``src`` on ``PYTHONPATH`` (it makes the old documents by running the
revisions), and each failure must name its fix.

The generic filler has fast tests of its own (not marked slow): every table of the
reference migrations gets a row at every revision, and a schema with the awkward
cases (cycles, self-references, composite keys, ``CHECK`` lists, ``WITHOUT ROWID``,
generated columns, a virtual table) is filled whole.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from frozen_alembic import Migrator, main
from frozen_alembic._headsfile import write_heads
from frozen_alembic.build import BuildError
from frozen_alembic.build._documents import (
    fill_document,
    make_documents,
    normalised_schema,
    row_counts,
    schema_differences,
    user_tables,
)
from frozen_alembic.build._verify import _command, load_data_hook

from .builds import (
    LEDGERLY_SCRIPTS,
    LEDGERLY_SETUP,
    LEDGERLY_TARGET,
    BuildJob,
    copy_build,
    copy_ledgerly,
    ledgerly_cx_freeze_job,
    ledgerly_pyinstaller_job,
)
from .conftest import REVISIONS

BUILD_TIMEOUT = 900.0
VERIFY_TIMEOUT = 300.0
MANIFEST = "frozen-alembic-manifest.json"
HEADS_FILE = "frozen-alembic-heads.txt"
# A setup.py that forgets a module the revisions import: no packages=["ledgerly"],
# and the staged includes filtered (as a hand-made list that missed one would be).
SETUP_WITHOUT_HELPER = """\
from cx_Freeze import Executable, setup

from frozen_alembic.build import cx_freeze_options

build_exe = cx_freeze_options("src/ledgerly/db_migrations", target="db_migrations")
build_exe["includes"] = [m for m in build_exe["includes"] if m != "ledgerly._migration_helpers"]
setup(
    name="ledgerly",
    executables=[Executable("src/ledgerly/__main__.py", target_name="ledgerly")],
    options={"build_exe": build_exe},
)
"""
# The application's own rows for an old ledger (the --data hook).
DATA_HOOK = '''\
"""Realistic rows for an old ledgerly document, at whatever revision it is."""

import sqlite3


def fill(conn: sqlite3.Connection, revision: str) -> None:
    conn.execute("INSERT INTO account (id, name, kind) VALUES (10, 'Bank', 'asset')")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    if "entry" not in tables:
        return
    columns = {r[1] for r in conn.execute("PRAGMA table_info(entry)")}
    if "amount" in columns:
        conn.execute(
            "INSERT INTO entry (id, account_id, memo, amount) VALUES (7, 10, 'Rent', '12.34')"
        )
'''


# --- the builds -----------------------------------------------------------------------


class LedgerlyBuilds:
    """The four builds of this module, all started together on first use."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        good = copy_ledgerly(factory.mktemp("ledgerly-good") / "ledgerly")
        broken = copy_ledgerly(factory.mktemp("ledgerly-no-helper") / "ledgerly")
        self.project = good
        self.jobs: dict[str, BuildJob] = {
            "cx_freeze": ledgerly_cx_freeze_job(good, LEDGERLY_SETUP),
            "cx_freeze_no_helper": ledgerly_cx_freeze_job(broken, SETUP_WITHOUT_HELPER),
            "onefile": ledgerly_pyinstaller_job(good, factory.mktemp("onefile"), onefile=True),
            "onefile_no_data": ledgerly_pyinstaller_job(
                good, factory.mktemp("onefile-no-data"), onefile=True, add_data=False
            ),
        }
        # The slow ones first, so they overlap with everything else.
        for name in ("onefile", "onefile_no_data", "cx_freeze", "cx_freeze_no_helper"):
            self.jobs[name].start()

    def wait(self, name: str) -> Path:
        return self.jobs[name].wait(BUILD_TIMEOUT)

    def stop(self) -> None:
        for job in self.jobs.values():
            job.stop()


@pytest.fixture(scope="module")
def ledgerly_builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerlyBuilds]:
    builds = LedgerlyBuilds(tmp_path_factory)
    yield builds
    builds.stop()


@pytest.fixture(scope="module")
def project(ledgerly_builds: LedgerlyBuilds) -> Path:
    """The ledgerly copy the good builds were made from (do not change it)."""
    return ledgerly_builds.project


@pytest.fixture(scope="module")
def cx_freeze_build(ledgerly_builds: LedgerlyBuilds) -> Path:
    """The good cx_Freeze build, ``dist/ledgerly`` (copy it before changing anything)."""
    return ledgerly_builds.wait("cx_freeze")


@pytest.fixture(scope="module")
def with_child(cx_freeze_build: Path) -> list[str]:
    """Every revision that has a child, from the build's manifest: one document each."""
    manifest = json.loads((cx_freeze_build / LEDGERLY_TARGET / MANIFEST).read_text())
    graph: dict[str, list[str]] = manifest["revisions"]
    parents = {down for downs in graph.values() for down in downs}
    assert parents, graph
    return sorted(parents)


# --- running verify -------------------------------------------------------------------

_counter = itertools.count()


def verify(
    tmp_path: Path,
    project: Path,
    build: Path,
    *args: str,
    run: Path | str | None = None,
    pythonpath: tuple[Path, ...] = (),
) -> tuple[int, str]:
    """``python -m frozen_alembic verify BUILD ARGS --run "PROGRAM {db}"`` from an empty
    working directory, with the app's ``src`` on ``PYTHONPATH``; the working directory
    must stay empty."""
    cwd = tmp_path / f"verify-cwd{next(_counter)}"
    cwd.mkdir()
    argv = [sys.executable, "-m", "frozen_alembic", "verify", str(build), *args]
    if run is not None:
        argv += ["--run", f"{shlex.quote(str(run))} {{db}}" if isinstance(run, Path) else run]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FROZEN_ALEMBIC")}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (project / "src", *pythonpath))
    proc = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=VERIFY_TIMEOUT, check=False
    )
    output = proc.stdout + proc.stderr
    assert list(cwd.iterdir()) == [], f"verify wrote into its working directory\n{output}"
    return proc.returncode, output


def document_lines(output: str) -> dict[str, str]:
    """``{revision: line}`` for each ``document at REV`` line of the report."""
    found = re.findall(r"^  (ok     |PROBLEM)  document at (\S+): (.*)$", output, re.MULTILINE)
    return {rev: f"{status.strip()} {rest}" for status, rev, rest in found}


def assert_migrated_every_document(output: str, with_child: list[str]) -> None:
    lines = document_lines(output)
    assert sorted(lines) == with_child, output
    for revision, line in lines.items():
        assert line.startswith("ok exit 0;"), f"{revision}: {line}\n{output}"
        assert "the built app brought a scratch database to" in line


def problems(output: str) -> list[str]:
    return re.findall(r"^  PROBLEM  (.*)$", output, re.MULTILINE)


def source_scripts(project: Path) -> Path:
    return project / LEDGERLY_SCRIPTS


# --- good builds ----------------------------------------------------------------------


@pytest.mark.slow
def test_a_good_cx_freeze_build_passes_and_migrates_every_old_document(
    cx_freeze_build: Path, project: Path, with_child: list[str], tmp_path: Path
) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "ledgerly_rows.py").write_text(DATA_HOOK)
    keep = tmp_path / "kept"
    exe = cx_freeze_build / "ledgerly"
    code, output = verify(
        tmp_path,
        project,
        cx_freeze_build,
        "--source",
        str(source_scripts(project)),
        "--data",
        "ledgerly_rows:fill",
        "--keep",
        str(keep),
        run=exe,
        pythonpath=(hooks,),
    )
    assert code == 0, output
    assert "result: OK" in output
    assert "(cx_Freeze)" in output
    assert "PROBLEM" not in output
    assert_migrated_every_document(output, with_child)
    for phrase in (
        "bundled files match the manifest",
        "the heads file agrees with the manifest",
        "modules the migrations import are bundled",
        "are the ones the build was made from",
        "equal the source tree's",
        "filled with the --data hook, then with a generic row in every empty table",
    ):
        assert phrase in output, output
    # The documents really were old, filled, and brought to the heads by the app.
    heads = Migrator(cx_freeze_build / LEDGERLY_TARGET).heads()
    for revision in with_child:
        before, after = keep / f"{revision}.before.sqlite", keep / f"{revision}.after.sqlite"
        with closing(sqlite3.connect(before)) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
                (revision,)
            ]
            assert all(row_counts(conn).values()), f"{revision}: an empty table"
            assert (10, "Bank") in conn.execute("SELECT id, name FROM account").fetchall()
        with closing(sqlite3.connect(after)) as conn:
            assert tuple(r[0] for r in conn.execute("SELECT version_num FROM alembic_version")) == (
                heads
            )
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            entries = conn.execute(
                "SELECT memo, amount_cents, meta FROM entry WHERE id = 7"
            ).fetchall()
        if revision == "b2c3d4e5f6a1":  # the hook's entry, through two data migrations
            assert entries == [("Rent", 1234, '{"source": "ledgerly"}')]
        elif revision == "c3d4e5f6a1b2":
            assert entries == [("Rent", 1234, None)]


@pytest.mark.slow
def test_without_source_the_documents_come_from_the_bundled_migrations(
    cx_freeze_build: Path, project: Path, with_child: list[str], tmp_path: Path
) -> None:
    # No {db} in the command: the document's path is appended.
    code, output = verify(tmp_path, project, cx_freeze_build, run=str(cx_freeze_build / "ledgerly"))
    assert code == 0, output
    assert "made with the build's own migrations" in output
    assert_migrated_every_document(output, with_child)


@pytest.mark.slow
def test_verify_without_run_does_not_pass(
    cx_freeze_build: Path, project: Path, tmp_path: Path
) -> None:
    code, output = verify(tmp_path, project, cx_freeze_build)
    assert code == 1, output
    assert problems(output) == [
        'the built app was not run on old documents: pass --run "PROGRAM {db}"'
    ]


# --- broken builds --------------------------------------------------------------------


@pytest.mark.slow
def test_a_missing_submodule_fails_statically_and_in_the_run(
    ledgerly_builds: LedgerlyBuilds, project: Path, with_child: list[str], tmp_path: Path
) -> None:
    build = ledgerly_builds.wait("cx_freeze_no_helper")
    code, output = verify(
        tmp_path, project, build, "--source", str(source_scripts(project)), run=build / "ledgerly"
    )
    assert code == 1, output
    lacks = re.search(r"the build lacks modules the migrations need: ([^\n]*)", output)
    assert lacks, output
    assert lacks.group(1).split(" (")[0].split(", ") == ["ledgerly._migration_helpers"]
    assert "build_exe 'includes'" in lacks.group(1)
    assert "frozen_alembic.build.cx_freeze_options" in lacks.group(1)
    # The run: every document fails in the app, and verify says the build is at fault.
    lines = document_lines(output)
    assert sorted(lines) == with_child, output
    for line in lines.values():
        assert line.startswith("PROBLEM exit 1; the app exited with 1"), line
        assert "outside the build, so the build is at fault" in line
    assert output.count("_migration_helpers") > len(with_child), "no app output shown"
    # The frozen app itself says what is missing and the build option that ships it.
    assert "ScriptsError" in output
    assert "includes=['ledgerly._migration_helpers']" in output
    assert "--hidden-import ledgerly._migration_helpers" in output


@pytest.mark.slow
def test_a_revision_edited_after_the_build_is_a_stale_build(
    cx_freeze_build: Path, project: Path, tmp_path: Path
) -> None:
    source = tmp_path / "db_migrations"
    shutil.copytree(source_scripts(project), source, ignore=shutil.ignore_patterns("__pycache__"))
    edited = source / "versions" / "c3d4e5f6a1b2_entry_meta.py"
    text = edited.read_text()
    new = text.replace(
        '    op.add_column("entry", sa.Column("meta", JSON(), nullable=True))\n',
        '    op.add_column("entry", sa.Column("meta", JSON(), nullable=True))\n'
        '    op.create_index("ix_entry_memo", "entry", ["memo"])\n',
    )
    assert new != text
    edited.write_text(new)  # same revision id, new content
    code, output = verify(
        tmp_path,
        project,
        cx_freeze_build,
        "--source",
        str(source),
        run=cx_freeze_build / "ledgerly",
    )
    assert code == 1, output
    assert f"stale build: {edited} differs from the copy the build was made from" in output
    stale = [p for p in problems(output) if p.startswith("stale build")]
    assert len(stale) == 1, output
    assert stale[0].endswith("rebuild")
    # The documents from before that revision miss the new index in the build.
    lines = document_lines(output)
    for revision in ("a1b2c3d4e5f6", "b2c3d4e5f6a1"):
        assert "its schema differs from a new document's" in lines[revision], output
        assert "ix_entry_memo missing" in lines[revision]
        assert "the build's migrations are not the source tree's: rebuild" in lines[revision]


@pytest.mark.slow
@pytest.mark.parametrize("edit", ["text", "another_build"])
def test_an_edited_heads_file_fails(
    cx_freeze_build: Path, project: Path, with_child: list[str], tmp_path: Path, edit: str
) -> None:
    copy = copy_build(cx_freeze_build, tmp_path / "build")
    folder = copy / LEDGERLY_TARGET
    heads_file = folder / HEADS_FILE
    old = with_child[-1]
    if edit == "text":  # its own check no longer holds: the app takes the full route
        heads_file.write_text(heads_file.read_text().replace("heads ", f"heads {old} ", 1))
    else:  # a well-formed heads file that names an old revision
        write_heads(str(folder), (old,))
    code, output = verify(
        tmp_path,
        project,
        copy,
        "--source",
        str(source_scripts(project)),
        run=copy / "ledgerly",
    )
    assert code == 1, output
    heads_problem = [p for p in problems(output) if p.startswith(f"the heads file {HEADS_FILE}")]
    assert len(heads_problem) == 1, output
    assert heads_problem[0].endswith(
        "the heads file was edited or belongs to another build: rebuild"
    )
    assert "bundled files match the manifest" in output  # the heads file is not in it
    lines = document_lines(output)
    if edit == "text":
        assert all(line.startswith("ok exit 0") for line in lines.values()), output
    else:
        # The app believes a document at that revision is current and leaves it there.
        assert f"says {old}" in heads_problem[0]
        assert f"the app exited 0 but left the document at ['{old}']" in lines[old], output


@pytest.mark.slow
def test_a_build_without_its_migrations_folder_fails(
    cx_freeze_build: Path, project: Path, with_child: list[str], tmp_path: Path
) -> None:
    copy = copy_build(cx_freeze_build, tmp_path / "build")
    shutil.rmtree(copy / LEDGERLY_TARGET)
    code, output = verify(
        tmp_path, project, copy, "--source", str(source_scripts(project)), run=copy / "ledgerly"
    )
    assert code == 1, output
    found = [p for p in problems(output) if p.startswith("no bundled migrations folder")]
    assert len(found) == 1, output
    assert "cx_freeze_options()" in found[0]
    assert "--add-data" in found[0]
    lines = document_lines(output)
    assert sorted(lines) == with_child
    assert all(line.startswith("PROBLEM exit 1") for line in lines.values()), output
    assert re.search(r"last output: ledgerly: Scripts(Error|NotFound): ", output), output


@pytest.mark.slow
def test_a_one_file_program_that_cannot_be_read_is_checked_by_the_run(
    cx_freeze_build: Path, project: Path, with_child: list[str], tmp_path: Path
) -> None:
    # A launcher script stands in for an unreadable one-file program (Nuitka --onefile).
    launcher = tmp_path / "ledgerly-onefile"
    launcher.write_text(f'#!/bin/sh\nexec {shlex.quote(str(cx_freeze_build / "ledgerly"))} "$@"\n')
    launcher.chmod(0o755)
    code, output = verify(
        tmp_path, project, launcher, "--source", str(source_scripts(project)), run=launcher
    )
    assert code == 0, output
    assert "the one-file program cannot be looked into" in output
    assert "the run on old documents is the check" in output
    assert_migrated_every_document(output, with_child)


# --- PyInstaller one-file builds (last: they take longest to build) ----------------


@pytest.mark.slow
def test_a_good_pyinstaller_onefile_build_passes(
    ledgerly_builds: LedgerlyBuilds, project: Path, with_child: list[str], tmp_path: Path
) -> None:
    program = ledgerly_builds.wait("onefile")
    hook = tmp_path / "rows.py"
    hook.write_text(DATA_HOOK)
    code, output = verify(
        tmp_path,
        project,
        program,
        "--source",
        str(source_scripts(project)),
        "--data",
        f"{hook}:fill",
        run=program,
    )
    assert code == 0, output
    assert f"verify {program} (PyInstaller one-file)" in output
    assert "bundled migrations db_migrations/ in the one-file program" in output
    assert "bundled files match the manifest" in output
    assert "modules the migrations import are bundled" in output
    assert "equal the source tree's" in output
    assert_migrated_every_document(output, with_child)


@pytest.mark.slow
def test_a_pyinstaller_onefile_build_without_its_migrations_fails(
    ledgerly_builds: LedgerlyBuilds, project: Path, with_child: list[str], tmp_path: Path
) -> None:
    program = ledgerly_builds.wait("onefile_no_data")
    code, output = verify(
        tmp_path, project, program, "--source", str(source_scripts(project)), run=program
    )
    assert code == 1, output
    assert "(PyInstaller one-file)" in output
    found = [p for p in problems(output) if p.startswith("no bundled migrations folder")]
    assert len(found) == 1, output
    assert "in the one-file program" in found[0]
    assert "--add-data from `frozen-alembic pyinstaller-args`" in found[0]
    lines = document_lines(output)
    assert sorted(lines) == with_child
    assert all(line.startswith("PROBLEM exit 1") for line in lines.values()), output


# --- the generic filler (fast) --------------------------------------------------------


def test_the_filler_puts_a_row_in_every_reference_table_at_every_revision(
    db_at: Callable[[str], Path], migrator: Migrator
) -> None:
    for revision in REVISIONS:
        db = db_at(revision)
        result = fill_document(db)
        assert result.problems == [], revision
        with closing(sqlite3.connect(db)) as conn:
            counts = row_counts(conn)
            assert counts, revision
            assert all(n == 1 for n in counts.values()), (revision, counts)
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        migrator.upgrade(db, backup=False)
        with closing(sqlite3.connect(db)) as conn:
            after = row_counts(conn)
        assert all(after[table] for table in counts), (revision, after)


def test_make_documents_runs_the_hook_first_and_fills_what_it_left_empty(
    migrator: Migrator, tmp_path: Path
) -> None:
    seen: list[str] = []

    def hook(conn: sqlite3.Connection, revision: str) -> None:
        seen.append(revision)
        conn.execute("INSERT INTO notebook (id, title, sort_key) VALUES (5, 'Home', '7')")

    documents = make_documents(migrator, tmp_path, data=hook)
    assert [d.revision for d in documents] == list(REVISIONS[:-1])
    assert seen == list(REVISIONS[:-1])
    for document in documents:
        assert document.problems == []
        assert all(document.rows.values()), document
        with closing(sqlite3.connect(document.path)) as conn:
            assert conn.execute("SELECT id, title FROM notebook").fetchall() == [(5, "Home")]
            assert conn.execute("SELECT notebook_id FROM note").fetchall() == [(5,)]


def test_the_filler_handles_awkward_schemas(tmp_path: Path) -> None:
    db = tmp_path / "awkward.sqlite"
    with closing(sqlite3.connect(db)) as conn:
        conn.executescript(
            """
            CREATE TABLE person (
                id INTEGER PRIMARY KEY,
                name VARCHAR(3) NOT NULL,
                boss_id INTEGER NOT NULL REFERENCES person(id),
                team_id INTEGER NOT NULL REFERENCES team(id),
                kind VARCHAR(9) NOT NULL CHECK (kind IN ('staff', 'contractor')),
                born DATE NOT NULL,
                active BOOLEAN NOT NULL DEFAULT 1,
                score REAL,
                photo BLOB,
                upper_name TEXT GENERATED ALWAYS AS (upper(name)) VIRTUAL
            );
            CREATE TABLE team (
                id INTEGER PRIMARY KEY,
                lead_id INTEGER NOT NULL REFERENCES person(id)
            );
            CREATE TABLE region (code TEXT NOT NULL, part INTEGER NOT NULL,
                                 PRIMARY KEY (code, part)) WITHOUT ROWID;
            CREATE TABLE office (
                id INTEGER PRIMARY KEY,
                code TEXT NOT NULL, part INTEGER NOT NULL,
                FOREIGN KEY (code, part) REFERENCES region (code, part)
            );
            CREATE TABLE note (body TEXT NOT NULL CHECK (length(body) > 0));
            CREATE VIRTUAL TABLE search USING fts5(title, body);
            """
        )
    result = fill_document(db)
    assert result.problems == []
    with closing(sqlite3.connect(db)) as conn:
        tables = user_tables(conn)
        assert sorted(tables) == ["note", "office", "person", "region", "search", "team"]
        assert all(row_counts(conn).values()), row_counts(conn)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        person = conn.execute("SELECT name, kind, born, active, boss_id FROM person").fetchone()
        assert person == ("ver", "staff", "2024-05-01", 1, 1)
        team = conn.execute("SELECT id, lead_id FROM team").fetchone()
        assert conn.execute("SELECT team_id FROM person").fetchone() == (team[0],)


def test_schema_differences_name_what_differs(tmp_path: Path) -> None:
    old, new = tmp_path / "old.sqlite", tmp_path / "new.sqlite"
    with closing(sqlite3.connect(old)) as conn:
        conn.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);")
    with closing(sqlite3.connect(new)) as conn:
        conn.executescript(
            'CREATE TABLE "t" ( "id" INTEGER NOT NULL PRIMARY KEY, a   text, b INT);'
            "CREATE INDEX ix_t_a ON t (a); CREATE VIEW v AS SELECT a FROM t;"
        )
    differences = schema_differences(normalised_schema(old), normalised_schema(new))
    assert differences == [
        "view v missing",
        "table t: column b missing",
        "table t: index ix_t_a missing",
        "table t: column id is ('INTEGER', False, None, 1), in a new document "
        "('INTEGER', True, None, 1)",
    ]


# --- the command line's plumbing (fast) -----------------------------------------------


def test_the_run_command_gets_the_documents_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = Path("/data/old ledger.sqlite")
    assert _command("dist/app/app {db} --quiet", db) == [
        str(tmp_path / "dist" / "app" / "app"),
        str(db),
        "--quiet",
    ]
    assert _command("python -m ledgerly", db) == ["python", "-m", "ledgerly", str(db)]
    assert _command("app --file={db}", db) == ["app", f"--file={db}"]


def test_a_data_hook_that_cannot_be_loaded_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(tmp_path), "--data", "no_such_module_for_verify:fill"]) == 1
    err = capsys.readouterr().err
    assert "--data 'no_such_module_for_verify:fill': the module cannot be loaded" in err
    hook = tmp_path / "rows.py"
    hook.write_text("def fill(conn, revision):\n    pass\n")
    assert main(["verify", str(tmp_path), "--data", f"{hook}:nothing"]) == 1
    assert "has no function nothing" in capsys.readouterr().err
    assert load_data_hook(f"{hook}:fill").__name__ == "fill"
    with pytest.raises(BuildError, match="give MODULE:FUNCTION"):
        load_data_hook("rows")
