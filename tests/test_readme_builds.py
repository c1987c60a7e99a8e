"""The README's freezing examples, run exactly as printed, on a second app: ledgerly.

``tests/apps/ledgerly`` is laid out the way ``alembic init`` leaves a project: the
migrations inside the package (``src/ledgerly/db_migrations``), revisions that import
the app's helpers as ``from ledgerly import _migration_helpers`` and as
``import ledgerly.helper``, and an ``env.py`` that imports the app's models.

The three code blocks under "In a frozen application" are read from README.md by
their ``<!-- example: ... -->`` markers and run from a copy of the project, with
``PYTHONPATH=src`` and the virtual environment's ``bin`` on ``$PATH``:

- cx_Freeze: the block written as ``setup.py``, built with the command the README
  prints above it;
- PyInstaller one-folder: the bash block, run with ``bash -euo pipefail -c``;
- PyInstaller one-file: the same block with ``--onedir`` replaced by ``--onefile``
  (the README: "``--onefile`` works the same") -- the only edit made to any example;
- PyInstaller ``.spec``: the block written as the file the README's command names,
  built with that command.

The four builds start together (each in its own copy of the project, since they
share ``build/`` and ``dist/``) and overlap.  Each is installed into a read-only
folder (snapshotted: the suite runs as root, who may write there anyway) and run
from an empty working directory, with its own empty ``$TMPDIR``, on documents that
live elsewhere: one at every revision that has a successor (with rows), a current
one, one from a newer release, an empty file and a missing path.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from frozen_alembic import Migrator

from .builds import BuildJob, Install
from .conftest import schema, sha256, versions

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
APP = ROOT / "tests" / "apps" / "ledgerly"
APP_NAME = "ledgerly"
SCRIPTS = "src/ledgerly/db_migrations"  # the script directory, in the project
BUNDLED = "db_migrations"  # the folder's name inside every build
VENV_BIN = Path(sys.executable).parent  # holds pyinstaller and frozen-alembic

REVISIONS = ("a1b2c3d4e5f6", "b2c3d4e5f6a1", "c3d4e5f6a1b2", "d4e5f6a1b2c3")
HEAD = REVISIONS[-1]
OLD = REVISIONS[:-1]  # every revision that has a successor
FUTURE_REVISION = "f0e1d2c3b4a5"  # written by a newer release of ledgerly
DEFAULT_META = '{"source": "ledgerly"}'  # what c3d4e5f6a1b2 gives existing entries
# Modules the migrations and env.py import from the app; PyInstaller cannot see them.
APP_MODULES = (
    "ledgerly._migration_helpers",
    "ledgerly.helper",
    "ledgerly.models",
    "ledgerly.money",
)
# The files frozen-alembic adds to the staged folder, beside the app's own.
STAGED_EXTRAS = (
    "frozen-alembic-heads.txt",
    "frozen-alembic-manifest.json",
    "frozen-alembic-template.sqlite",
)
MANIFEST = "frozen-alembic-manifest.json"

BUILD_TIMEOUT = 900.0
RUN_TIMEOUT = 120.0
BUILD_NAMES = ("cx_freeze", "pyinstaller_onedir", "pyinstaller_onefile", "pyinstaller_spec")


# --- the README's examples ------------------------------------------------------------


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def _split_at_marker(name: str) -> tuple[str, str]:
    """The README before and after ``<!-- example: NAME -->`` (which must occur once)."""
    marker = f"<!-- example: {name} -->"
    text = readme_text()
    count = text.count(marker)
    if count != 1:
        pytest.fail(f"README.md must hold the marker {marker!r} exactly once; it has {count}")
    before, after = text.split(marker)
    return before, after


def readme_example(name: str) -> str:
    """The fenced code block right after ``<!-- example: NAME -->``, as printed."""
    _, after = _split_at_marker(name)
    block = re.match(r"\s*^```[^\n`]*\n(.*?)^```[ \t]*$", after, re.DOTALL | re.MULTILINE)
    if block is None:
        pytest.fail(f"README.md: no fenced code block right after <!-- example: {name} -->")
    code = block.group(1)
    if not code.strip():
        pytest.fail(f"README.md: the code block after <!-- example: {name} --> is empty")
    return code


def readme_command(name: str, program: str) -> str:
    """The inline command (`` `PROGRAM ...` ``) in the paragraph just above a marker."""
    before, _ = _split_at_marker(name)
    paragraph = before.rstrip().rsplit("\n\n", 1)[-1]
    commands: list[str] = [
        span for span in re.findall(r"`([^`\n]+)`", paragraph) if span.split()[0] == program
    ]
    if len(commands) != 1:
        pytest.fail(
            f"README.md: expected one `{program} ...` command in the paragraph above "
            f"<!-- example: {name} -->, found {commands}:\n{paragraph}"
        )
    return commands[0]


def onefile_variant(cli: str) -> str:
    """The command-line example with ``--onedir`` replaced by ``--onefile``."""
    if len(re.findall(r"(?<![\w-])--onedir(?![\w-])", cli)) != 1:
        pytest.fail(f"README.md: the pyinstaller-cli example must say --onedir once:\n{cli}")
    return re.sub(r"(?<![\w-])--onedir(?![\w-])", "--onefile", cli)


def test_the_readme_has_the_three_examples() -> None:
    """Fails fast and plainly, before any build, if an example is gone or renamed."""
    setup = readme_example("cx_freeze-setup")
    assert "cx_freeze_options(" in setup
    cli = readme_example("pyinstaller-cli")
    assert "frozen-alembic pyinstaller-args" in cli
    assert "--onefile" in onefile_variant(cli)
    spec = readme_example("pyinstaller-spec")
    assert "pyinstaller_options(" in spec
    assert shlex.split(readme_command("cx_freeze-setup", "python"))[1] == "setup.py"
    assert shlex.split(readme_command("pyinstaller-spec", "pyinstaller"))[-1].endswith(".spec")


# --- the builds -----------------------------------------------------------------------


@dataclass
class Build:
    """One README build of ledgerly: its project copy and its job."""

    name: str
    project: Path
    job: BuildJob
    onefile: bool = False
    pyinstaller: bool = True
    installed: Installed | None = None


@dataclass(frozen=True)
class Installed:
    """A finished README build, installed read-only, and the folders its runs use.

    :ivar cwd: the empty working directory every run starts in.
    :ivar tmpdir: ``$TMPDIR`` of every run (a one-file build unpacks there).
    :ivar docs: where the documents of this build's runs live, one folder each.
    """

    build: Build
    install: Install
    cwd: Path
    tmpdir: Path
    docs: Path

    @property
    def name(self) -> str:
        return self.build.name


def copy_project(target: Path) -> Path:
    """A fresh copy of the ledgerly project (sources only)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    shutil.copytree(APP, target, ignore=ignore)
    return target


def build_env(project: Path) -> dict[str, str]:
    """``PYTHONPATH=src`` and the virtual environment first on ``$PATH``.

    Each build also gets its own PyInstaller cache folder, so builds running at the
    same time (here and in other test modules) never share one.
    """
    for tool in ("python", "pyinstaller", "frozen-alembic"):
        if not (VENV_BIN / tool).exists():
            pytest.fail(
                f"{VENV_BIN / tool} is missing: pip install -e '.[dev]' into {VENV_BIN.parent}"
            )
    return {
        "PYTHONPATH": "src",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYINSTALLER_CONFIG_DIR": str(project.parent / "pyinstaller-cache"),
    }


def bash_job(name: str, project: Path, script: str, product: str) -> BuildJob:
    """``bash -euo pipefail -c SCRIPT`` in ``project``."""
    return BuildJob(
        name=name,
        argv=["bash", "-euo", "pipefail", "-c", script],
        cwd=project,
        log=project.parent / "build.log",
        product=project / product,
        env=build_env(project),
    )


def make_builds(tmp: pytest.TempPathFactory, wanted: set[str]) -> dict[str, Build]:
    """Copy the project once per build, write the README's files, start the builds."""
    builds: dict[str, Build] = {}
    for name in BUILD_NAMES:
        if name not in wanted:
            continue
        project = copy_project(tmp.mktemp(f"readme-{name}") / "ledgerly")
        if name == "cx_freeze":
            (project / "setup.py").write_text(readme_example("cx_freeze-setup"))
            command = readme_command("cx_freeze-setup", "python")
            argv = shlex.split(command)
            product = argv[argv.index("--build-exe") + 1]
            job = bash_job("cx_Freeze (README)", project, command, product)
            builds[name] = Build(name, project, job, pyinstaller=False)
        elif name == "pyinstaller_spec":
            command = readme_command("pyinstaller-spec", "pyinstaller")
            (project / shlex.split(command)[-1]).write_text(readme_example("pyinstaller-spec"))
            job = bash_job("PyInstaller .spec (README)", project, command, f"dist/{APP_NAME}")
            builds[name] = Build(name, project, job)
        else:
            onefile = name == "pyinstaller_onefile"
            cli = readme_example("pyinstaller-cli")
            script = onefile_variant(cli) if onefile else cli
            label = "PyInstaller one-file (README)" if onefile else "PyInstaller (README)"
            job = bash_job(label, project, script, f"dist/{APP_NAME}")
            builds[name] = Build(name, project, job, onefile=onefile)
    for build in builds.values():
        build.job.start()
    return builds


@pytest.fixture(scope="module")
def readme_builds(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Build]]:
    """Every README build a selected test needs, all started at once (they overlap)."""
    module = request.node
    wanted = {
        callspec.params["build_name"]
        for item in request.session.items
        if item.parent is module and (callspec := getattr(item, "callspec", None)) is not None
        if "build_name" in callspec.params
    }
    builds = make_builds(tmp_path_factory, wanted)
    yield builds
    for build in builds.values():
        build.job.stop()
        if build.installed is not None:
            build.installed.install.remove_protection()
    times = ", ".join(
        f"{b.job.name} {b.job.seconds:.0f} s" for b in builds.values() if b.job.seconds is not None
    )
    if times:
        show(request.config, f"README builds took: {times}")


def show(config: pytest.Config, line: str) -> None:
    """Write a line to the terminal, past pytest's output capturing."""
    reporter: Any = config.pluginmanager.get_plugin("terminalreporter")
    capture: Any = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.write_line(line)


@pytest.fixture(scope="module", params=BUILD_NAMES)
def build_name(request: pytest.FixtureRequest) -> str:
    name = request.param
    assert isinstance(name, str)
    return name


@pytest.fixture(scope="module")
def build(
    build_name: str,
    readme_builds: dict[str, Build],
    tmp_path_factory: pytest.TempPathFactory,
) -> Installed:
    """The finished build, installed into a read-only folder."""
    found = readme_builds[build_name]
    if found.installed is None:
        product = found.job.wait(BUILD_TIMEOUT)
        where = tmp_path_factory.mktemp(f"install-{build_name}")
        install = Install.make(
            product,
            where / ("bin" if found.onefile else APP_NAME),
            unpacks_to_temp=found.onefile,
            exe_name=APP_NAME,
        )
        found.installed = Installed(
            found,
            install,
            cwd=tmp_path_factory.mktemp(f"cwd-{build_name}"),
            tmpdir=tmp_path_factory.mktemp(f"tmpdir-{build_name}"),
            docs=tmp_path_factory.mktemp(f"docs-{build_name}"),
        )
    return found.installed


# --- user documents -------------------------------------------------------------------


@contextlib.contextmanager
def importable_app(src: Path) -> Iterator[None]:
    """``ledgerly`` importable from ``src`` in this process, and forgotten afterwards."""
    sys.path.insert(0, str(src))
    try:
        yield
    finally:
        sys.path.remove(str(src))
        for module in [m for m in sys.modules if m == APP_NAME or m.startswith(f"{APP_NAME}.")]:
            del sys.modules[module]


def fill(path: Path, revision: str) -> None:
    """Rows for a document at ``revision``: an account, and entries once they exist."""
    at = REVISIONS.index(revision)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("INSERT INTO account (id, name, kind) VALUES (10, 'Savings', 'asset')")
        entries = [
            (1, 1, "Coffee", "12.34", '{"tag": "food"}'),
            (2, 2, "Refund", "-5.00", None),
            (3, 10, "Interest", "0.99", None),
            (4, 1, "Rent", "100", None),
        ]
        if at == 1:  # entry.amount (text), no meta yet
            conn.executemany(
                "INSERT INTO entry (id, account_id, memo, amount) VALUES (?, ?, ?, ?)",
                [row[:4] for row in entries],
            )
        elif at == 2:  # entry.meta added
            conn.executemany(
                "INSERT INTO entry (id, account_id, memo, amount, meta) VALUES (?, ?, ?, ?, ?)",
                entries,
            )
        elif at == 3:  # amount_cents instead of amount
            conn.execute(
                "INSERT INTO entry (id, account_id, memo, amount_cents, meta) "
                "VALUES (1, 1, 'Coffee', 1234, '{\"tag\": \"food\"}')"
            )


def expected_entries(revision: str) -> list[tuple[object, ...]]:
    """(id, account_id, memo, amount_cents, meta) after upgrading a :func:`fill`-ed file."""
    at = REVISIONS.index(revision)
    if at == 0:
        return []
    metas = ['{"tag": "food"}', None, None, None] if at == 2 else [DEFAULT_META] * 4
    rows = [
        (1, 1, "Coffee", 1234),
        (2, 2, "Refund", -500),
        (3, 10, "Interest", 99),
        (4, 1, "Rent", 10000),
    ]
    return [(*row, meta) for row, meta in zip(rows, metas, strict=True)]


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return [tuple(row) for row in conn.execute(sql)]


def dump(path: Path) -> list[str]:
    """The file's schema and rows as SQL (independent of page layout)."""
    with closing(sqlite3.connect(path)) as conn:
        return list(conn.iterdump())


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One set of originals, made once: copy them before use, never run on them.

    Keys: every old revision, ``"current"`` and ``"newer"``.  They are made with
    :class:`Migrator` on a copy of the app's source migrations (create at the head,
    then downgrade), and filled with :mod:`sqlite3`.
    """
    base = tmp_path_factory.mktemp("ledger-originals")
    app = copy_project(base / "app")
    made: dict[str, Path] = {}
    with importable_app(app / "src"):
        migrator = Migrator(app / SCRIPTS)
        assert migrator.heads() == (HEAD,)
        assert {r.id for r in migrator.history()} == set(REVISIONS)
        for revision in REVISIONS:
            path = base / f"Ledger {revision}.ledger"
            migrator.create(path)
            if revision != HEAD:
                migrator.downgrade(path, revision, backup=False)
            fill(path, revision)
            assert versions(path) == [revision]
            made["current" if revision == HEAD else revision] = path
    newer = base / "Ledger from a newer release.ledger"
    shutil.copyfile(made["current"], newer)
    with closing(sqlite3.connect(newer)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (FUTURE_REVISION,))
    made["newer"] = newer
    return made


def place(build: Installed, original: Path | None, case: str, name: str) -> Path:
    """A document for one run, alone in its own folder (a copy of ``original``)."""
    folder = build.docs / case
    folder.mkdir()
    path = folder / name
    if original is not None:
        shutil.copyfile(original, path)
    return path


# --- running the installed app --------------------------------------------------------


def run_app(build: Installed, db: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed program on ``db`` from the build's empty working directory.

    Afterwards the working directory and ``$TMPDIR`` must be empty again and the
    installation unchanged.
    """
    install, cwd, temp = build.install, build.cwd, build.tmpdir
    assert list(cwd.iterdir()) == []
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FROZEN_ALEMBIC"))}
    env["TMPDIR"] = str(temp)
    proc = subprocess.run(
        [str(install.exe), str(db)],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    output = describe(proc)
    assert list(cwd.iterdir()) == [], f"the app wrote into its working directory\n{output}"
    assert list(temp.iterdir()) == [], f"the app left files in $TMPDIR\n{output}"
    install.assert_unchanged()
    return proc


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


# --- what each build holds ------------------------------------------------------------


def _pyinstaller_readers() -> Any:
    # PyInstaller ships no type information for its archive readers.
    return importlib.import_module("PyInstaller.archive.readers")


def pyinstaller_entries(program: Path) -> list[str]:
    """Everything in a PyInstaller program's archive (the way ``pyi-archive_viewer``
    lists it): ``PKG-NAME`` per entry, and ``PYZ!module`` per module of each PYZ.
    """
    readers = _pyinstaller_readers()
    archive = readers.CArchiveReader(str(program))
    entries: list[str] = []
    for name, toc_entry in archive.toc.items():
        entries.append(name)
        if toc_entry[-1] == readers.PKG_ITEM_PYZ:
            pyz = archive.open_embedded_archive(name)
            entries += [f"{name}!{module}" for module in pyz.toc]
    return entries


def folder_entries(folder: Path) -> list[str]:
    """Every file under a build folder, and every member of the zip files in it."""
    entries: list[str] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_dir() and not path.is_symlink():
            entries.append(f"{rel}/")
            continue
        entries.append(rel)
        if path.suffix == ".zip" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                entries += [f"{rel}!{member}" for member in archive.namelist()]
    return entries


def basename(entry: str) -> str:
    return re.split(r"[/!]", entry.rstrip("/"))[-1]


def expected_bundle() -> set[str]:
    """The files the bundled folder must hold: the source scripts (without bytecode)
    and frozen-alembic's manifest, heads file and template.
    """
    source = APP / SCRIPTS
    files = {
        p.relative_to(source).as_posix()
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    }
    return files | set(STAGED_EXTRAS)


@dataclass(frozen=True)
class Contents:
    """Every entry of a build, and the prefix of its bundled migrations folder."""

    entries: list[str]
    bundle_prefix: str  # e.g. "db_migrations/" or "_internal/db_migrations/"


def contents(build: Installed) -> Contents:
    install = build.install
    if build.build.onefile:
        return Contents(pyinstaller_entries(install.exe), f"{BUNDLED}/")
    entries = folder_entries(install.folder)
    if build.build.pyinstaller:
        entries += [f"{APP_NAME}!{e}" for e in pyinstaller_entries(install.exe)]
        return Contents(entries, f"_internal/{BUNDLED}/")
    return Contents(entries, f"{BUNDLED}/")


# --- the tests ------------------------------------------------------------------------


def test_the_build_bundles_the_migrations_exactly_once(build: Installed) -> None:
    found = contents(build)
    prefix = found.bundle_prefix
    manifests = [e for e in found.entries if basename(e) == MANIFEST]
    assert manifests == [f"{prefix}{MANIFEST}"]
    envs = [
        e
        for e in found.entries
        if (basename(e) in ("env.py", "env.pyc") and "alembic/templates/" not in e)
        or re.search(rf"!(?:[\w.]+\.)?{BUNDLED}\.env$", e)
    ]
    assert envs == [f"{prefix}env.py"]
    for revision in REVISIONS:
        copies = [e for e in found.entries if basename(e).startswith(f"{revision}_")]
        assert len(copies) == 1, copies
        assert copies[0].startswith(f"{prefix}versions/"), copies
    bundled = {
        e.removeprefix(prefix) for e in found.entries if e.startswith(prefix) and e[-1] != "/"
    }
    assert bundled == expected_bundle()


def test_the_build_has_no_other_copy_of_the_migrations_folder(build: Installed) -> None:
    """Not even a partial one (the data files of the source package's folder)."""
    found = contents(build)
    strays = [
        e
        for e in found.entries
        if BUNDLED in re.split(r"[/!.]", e) and not e.startswith(found.bundle_prefix)
    ]
    assert strays == []


def test_the_build_staged_the_migrations_outside_the_package(build: Installed) -> None:
    """The build wrote nothing into the app's package: its files are the sources'."""
    package = build.build.project / "src" / APP_NAME
    original = APP / "src" / APP_NAME

    def files(root: Path) -> set[str]:
        return {
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }

    assert files(package) == files(original)


def test_the_build_holds_the_app_modules_the_migrations_import(build: Installed) -> None:
    found = contents(build)
    for module in APP_MODULES:
        as_file = module.replace(".", "/") + ".pyc"
        assert any(
            e.endswith(f"!{module}") or e.endswith(as_file) or e.endswith(f"!{as_file}")
            for e in found.entries
        ), f"{module} is not in the {build.build.job.name} build"


@pytest.mark.parametrize("revision", OLD)
def test_an_old_document_is_upgraded_with_its_data(
    build: Installed, documents: dict[str, Path], revision: str
) -> None:
    original = documents[revision]
    db = place(build, original, f"old-{revision}", original.name)
    accounts = rows(db, "SELECT id, name, kind, created FROM account ORDER BY id")
    proc = run_app(build, db)
    assert proc.returncode == 0, describe(proc)
    assert re.search(rf"^upgraded: {revision} -> {HEAD}$", proc.stdout, re.MULTILINE), describe(
        proc
    )
    assert versions(db) == [HEAD]
    assert rows(db, "SELECT id, name, kind, created FROM account ORDER BY id") == accounts
    assert rows(
        db, "SELECT id, account_id, memo, amount_cents, meta FROM entry ORDER BY id"
    ) == expected_entries(revision)
    assert schema(db) == schema(documents["current"])
    assert rows(db, "PRAGMA foreign_key_check") == []
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    others = sorted(p for p in db.parent.iterdir() if p != db)
    assert len(others) == 1, f"expected one backup beside the file, found {others}"
    backup = others[0]
    assert re.fullmatch(rf"{re.escape(db.name)}\..+\.{revision}\.bak", backup.name), backup.name
    assert versions(backup) == [revision]
    assert dump(backup) == dump(original)


def test_a_current_document_is_left_alone(build: Installed, documents: dict[str, Path]) -> None:
    db = place(build, documents["current"], "current", "Current.ledger")
    before = sha256(db)
    proc = run_app(build, db)
    assert proc.returncode == 0, describe(proc)
    assert re.search(rf"^current: {HEAD} -> {HEAD}$", proc.stdout, re.MULTILINE), describe(proc)
    assert sha256(db) == before
    assert sorted(db.parent.iterdir()) == [db]


def test_a_document_from_a_newer_release_is_refused(
    build: Installed, documents: dict[str, Path]
) -> None:
    db = place(build, documents["newer"], "newer", "Newer.ledger")
    before = sha256(db)
    proc = run_app(build, db)
    assert proc.returncode == 3, describe(proc)
    assert FUTURE_REVISION in proc.stdout, describe(proc)
    assert sha256(db) == before
    assert sorted(db.parent.iterdir()) == [db]


def test_an_empty_file_is_an_error_and_stays_empty(build: Installed) -> None:
    db = place(build, None, "empty", "Empty.ledger")
    db.write_bytes(b"")
    proc = run_app(build, db)
    assert proc.returncode == 1, describe(proc)
    assert "NotADatabase" in proc.stderr, describe(proc)
    assert db.read_bytes() == b""
    assert sorted(db.parent.iterdir()) == [db]


def test_a_missing_path_is_an_error_and_nothing_is_created(build: Installed) -> None:
    db = place(build, None, "missing", "Missing.ledger")
    proc = run_app(build, db)
    assert proc.returncode == 1, describe(proc)
    assert "DatabaseNotFound" in proc.stderr, describe(proc)
    assert list(db.parent.iterdir()) == []


def test_the_install_and_the_working_directory_are_untouched(build: Installed) -> None:
    """After every run above (each also checked on its own)."""
    build.install.assert_unchanged()
    assert list(build.cwd.iterdir()) == []
    assert list(build.tmpdir.iterdir()) == []
    for path in [build.install.folder, *build.install.folder.rglob("*")]:
        if not path.is_symlink():
            assert path.stat().st_mode & 0o222 == 0, f"{path} is writable"
