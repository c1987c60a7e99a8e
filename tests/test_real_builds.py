"""Real frozen builds of the reference app, run as real programs on real user files.

The notekeeper app is built with cx_Freeze (``setup.py build_exe``), with PyInstaller
(one-folder and one-file) and, opt-in, with Nuitka.  Every build is copied into an
"installation" folder made read-only and snapshotted (path and SHA-256 of every
file, every folder); the program is run from another, empty working directory on a
document that lives somewhere else, and after every run the installation, the
working directory and ``$TMPDIR`` must be exactly as before.

The builds run as subprocesses, all started together as soon as the first test
needs one (only those the selected tests use), so they overlap.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from .builds import (
    MIGRATIONS,
    BuildJob,
    Install,
    add_next_revision,
    copy_build,
    cx_freeze_job,
    nuitka_job,
    pyinstaller_job,
)
from .conftest import HEAD, REVISIONS, schema, sha256, versions

pytestmark = pytest.mark.slow

BUILD_TIMEOUT = 900.0
NUITKA_TIMEOUT = 7200.0  # compiles ~700 modules to C: about an hour on 2 busy cores
RUN_TIMEOUT = 120.0
FUTURE_REVISION = "0099_from_a_newer_release"
BUILDERS: dict[str, Callable[[Path], BuildJob]] = {
    "cx_freeze_build": lambda tmp: cx_freeze_job(tmp / "exe"),
    "pyinstaller_onedir_build": lambda tmp: pyinstaller_job(tmp, onefile=False),
    "pyinstaller_onefile_build": lambda tmp: pyinstaller_job(tmp, onefile=True),
}
# The fixtures that need each build, directly or through an installation of it.
USERS = {
    "cx_freeze_build": {"cx_freeze_build", "cx_freeze_install"},
    "pyinstaller_onedir_build": {
        "pyinstaller_onedir_build",
        "pyinstaller_onedir_install",
        "pyinstaller_install",
    },
    "pyinstaller_onefile_build": {
        "pyinstaller_onefile_build",
        "pyinstaller_onefile_install",
        "pyinstaller_install",
    },
}


# --- builds and installations ---------------------------------------------------------


class Builds:
    """The build jobs of this session, each started at most once."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.jobs: dict[str, BuildJob] = {}

    def start(self, name: str) -> BuildJob:
        if name not in self.jobs:
            self.jobs[name] = BUILDERS[name](self.tmp_path_factory.mktemp(name)).start()
        return self.jobs[name]

    def wait(self, name: str) -> Path:
        return self.start(name).wait(BUILD_TIMEOUT)


@pytest.fixture(scope="session")
def builds(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Builds]:
    """Start, all at once, every build that a selected test needs (they overlap)."""
    builds = Builds(tmp_path_factory)
    used = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    for name, users in USERS.items():
        if used & users:
            builds.start(name)
    yield builds
    for job in builds.jobs.values():
        job.stop()


@pytest.fixture(scope="session")
def cx_freeze_build(builds: Builds) -> Path:
    """The cx_Freeze build folder (writable; copy it before changing anything)."""
    return builds.wait("cx_freeze_build")


@pytest.fixture(scope="module")
def pyinstaller_onedir_build(builds: Builds) -> Path:
    """PyInstaller's one-folder build: ``dist/notekeeper/`` (writable)."""
    return builds.wait("pyinstaller_onedir_build")


@pytest.fixture(scope="module")
def pyinstaller_onefile_build(builds: Builds) -> Path:
    """PyInstaller's one-file build: ``dist/notekeeper``, a single program."""
    return builds.wait("pyinstaller_onefile_build")


def _install(product: Path, folder: Path, *, unpacks_to_temp: bool = False) -> Iterator[Install]:
    with Install.make(product, folder, unpacks_to_temp=unpacks_to_temp) as install:
        yield install


@pytest.fixture(scope="session")
def cx_freeze_install(
    cx_freeze_build: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Install]:
    """The cx_Freeze build, installed read-only."""
    yield from _install(cx_freeze_build, tmp_path_factory.mktemp("install") / "notekeeper")


@pytest.fixture(scope="module")
def pyinstaller_onedir_install(
    pyinstaller_onedir_build: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Install]:
    """The PyInstaller one-folder build, installed read-only."""
    folder = tmp_path_factory.mktemp("install") / "notekeeper"
    yield from _install(pyinstaller_onedir_build, folder)


@pytest.fixture(scope="module")
def pyinstaller_onefile_install(
    pyinstaller_onefile_build: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Install]:
    """The PyInstaller one-file program, alone in a read-only folder."""
    folder = tmp_path_factory.mktemp("install") / "bin"
    yield from _install(pyinstaller_onefile_build, folder, unpacks_to_temp=True)


@pytest.fixture(params=["onedir", "onefile"])
def pyinstaller_install(request: pytest.FixtureRequest) -> Install:
    """Each PyInstaller installation in turn."""
    install = request.getfixturevalue(f"pyinstaller_{request.param}_install")
    assert isinstance(install, Install)
    return install


# --- running the app ------------------------------------------------------------------

_counter = itertools.count()


def run_app(
    install: Install,
    db: Path,
    tmp_path: Path,
    *,
    launcher: Path | None = None,
    args: tuple[str, ...] = (),
    window: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the installed app on ``db`` from a fresh, empty working directory.

    Afterwards the working directory and ``$TMPDIR`` must be empty again and the
    installation unchanged.

    :param launcher: a symlink to the program, run by its name through ``$PATH``
        (as from ``/usr/local/bin``) instead of by the program's own path.
    :param args: put before ``db`` (``("--check",)``; without: ``notekeeper FILE``,
        the same console check).
    :param window: run the window on Qt's offscreen platform, driven by its
        automation flags: ``notekeeper --open DB --yes --quit-when-idle``.
    """
    n = next(_counter)
    cwd, temp = tmp_path / f"cwd{n}", tmp_path / f"temp{n}"
    cwd.mkdir()
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FROZEN_ALEMBIC"))}
    env["TMPDIR"] = str(temp)
    env.pop("QT_QPA_PLATFORM", None)
    if window:
        env["QT_QPA_PLATFORM"] = "offscreen"
        args = ("--yes", "--quit-when-idle", *args, "--open")
    program = str(install.exe)
    if launcher is not None:
        env["PATH"] = f"{launcher.parent}{os.pathsep}{env.get('PATH', '')}"
        program = launcher.name
    proc = subprocess.run(
        [program, *args, str(db)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    output = describe(proc)
    assert list(cwd.iterdir()) == [], f"the app wrote into its working directory\n{output}"
    assert list(temp.iterdir()) == [], f"the app left files in $TMPDIR\n{output}"
    install.assert_unchanged()
    if proc.returncode == 0:
        where = re.search(r"migrations from (.+)$", proc.stdout, re.MULTILINE)
        assert where, output
        bundle = Path(where.group(1))
        home = temp if install.unpacks_to_temp else install.folder
        assert bundle.is_relative_to(home), f"migrations not from the bundle\n{output}"
    return proc


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


# --- user documents -------------------------------------------------------------------


def tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def fill(path: Path) -> None:
    """One notebook with one note (tagged, once tags exist), whatever the schema."""
    with closing(sqlite3.connect(path)) as conn, conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(note)")}
        conn.execute("INSERT INTO notebook (id, title, sort_key) VALUES (1, 'Work', '3')")
        note: dict[str, object] = {
            "id": 1,
            "notebook_id": 1,
            "body": "Ship the frozen build",
            "created_at": "2024-05-01 12:30:00.000000",
        }
        if "author_name" in columns:
            note["author_name"] = "Ada Lovelace"
        else:
            note.update(author_first="Ada", author_last="Lovelace")
        if "pinned" in columns:
            note["pinned"] = 1
        marks = ", ".join("?" * len(note))
        conn.execute(f"INSERT INTO note ({', '.join(note)}) VALUES ({marks})", tuple(note.values()))
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'tag'").fetchone():
            conn.execute("INSERT INTO tag (id, name) VALUES (1, 'release')")
            conn.execute("INSERT INTO note_tag (note_id, tag_id) VALUES (1, 1)")


def assert_data_intact(path: Path, revision: str) -> None:
    """The rows :func:`fill` put into a file at ``revision``, as they must be at head."""
    had_tags = revision >= "0002_tags"
    had_pinned = revision >= "0003_pinned"
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT id, title, sort_key, archived FROM notebook").fetchall() == [
            (1, "Work", 3, 0)
        ]
        assert conn.execute(
            "SELECT id, notebook_id, body, author_first, author_last, pinned FROM note"
        ).fetchall() == [(1, 1, "Ship the frozen build", "Ada", "Lovelace", int(had_pinned))]
        links = conn.execute("SELECT note_id, tag_id FROM note_tag").fetchall()
        assert links == ([(1, 1)] if had_tags else [])
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def siblings(db: Path) -> list[str]:
    """The document and every file named after it (backups, journals) in its folder."""
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name))


def backup_path(proc: subprocess.CompletedProcess[str]) -> Path:
    found = re.search(r"\bbackup: (.+)$", proc.stdout, re.MULTILINE)
    assert found, describe(proc)
    return Path(found.group(1))


def check_upgrade(
    install: Install,
    db_at: Callable[[str], Path],
    tmp_path: Path,
    revision: str,
    args: tuple[str, ...] = (),
) -> None:
    """An old document with data, upgraded by the installed app: the core check."""
    db = db_at(revision)
    fill(db)
    proc = run_app(install, db, tmp_path, args=args)
    assert proc.returncode == 0, describe(proc)
    # The wording may change; the facts may not: which file, from where, to where.
    assert re.search(rf"^upgrad\w* {re.escape(str(db))} from {revision}$", proc.stdout, re.M)
    assert re.search(rf"\b{HEAD}; backup: ", proc.stdout), describe(proc)
    assert "1 notebooks, 1 notes" in proc.stdout
    assert versions(db) == [HEAD]
    assert_data_intact(db, revision)
    assert schema(db) == schema(db_at(HEAD))
    backup = backup_path(proc)
    assert backup.is_file(), describe(proc)
    assert backup.parent == db.parent
    assert backup.name.startswith(f"{db.name}.")
    assert backup.name.endswith(f".{revision}.bak")
    assert versions(backup) == [revision]


def check_refused(
    install: Install, db_at: Callable[[str], Path], tmp_path: Path, marker: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """A tampered build run on an old document: refused, and the document untouched."""
    db = db_at("0001_initial")
    fill(db)
    before = sha256(db)
    neighbours = siblings(db)
    proc = run_app(install, db, tmp_path)
    assert proc.returncode == 1, describe(proc)
    assert "do not match the build's manifest" in proc.stderr, describe(proc)
    assert "Nothing was run" in proc.stderr
    assert sha256(db) == before
    assert versions(db) == ["0001_initial"]
    assert siblings(db) == neighbours, "a backup or other file was written"
    if marker is not None:
        assert not marker.exists(), "code from the planted revision ran"
    return proc, db


EVIL_REVISION = '''"""A planted revision: it must never be imported, let alone applied."""

import pathlib

import sqlalchemy as sa
from alembic import op

revision = "0007_evil"
down_revision = "0006_attachments"
branch_labels = None
depends_on = None

pathlib.Path({marker!r}).write_text("imported")


def upgrade() -> None:
    op.create_table("evil", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("evil")
'''


# --- cx_Freeze ------------------------------------------------------------------------


@pytest.mark.parametrize("revision", REVISIONS[:-1])
def test_cx_freeze_upgrades_every_release(
    cx_freeze_install: Install, db_at: Callable[[str], Path], tmp_path: Path, revision: str
) -> None:
    check_upgrade(cx_freeze_install, db_at, tmp_path, revision)


def test_cx_freeze_check_mode_upgrades_an_old_release(
    cx_freeze_install: Install, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    # The non-interactive mode of the GUI app, spelled out (scripts, `verify --run`).
    check_upgrade(cx_freeze_install, db_at, tmp_path, "0001_initial", args=("--check",))


def test_cx_freeze_check_mode_needs_no_qt(
    cx_freeze_build: Path, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    # The console mode never imports Qt: it runs with PySide6 taken out of the build.
    copy = copy_build(cx_freeze_build, tmp_path / "no-qt")
    for name in ("PySide6", "shiboken6"):
        shutil.rmtree(copy / "lib" / name)
    with Install.seal(copy) as install:
        check_upgrade(install, db_at, tmp_path, "0002_tags", args=("--check",))


def check_window_upgrade(install: Install, db_at: Callable[[str], Path], tmp_path: Path) -> None:
    """The frozen window, with Qt's plugins from the build, asked to open an old file."""
    db = db_at("0001_initial")
    fill(db)
    proc = run_app(install, db, tmp_path, window=True)
    assert proc.returncode == 0, describe(proc)
    assert f"upgraded {db} from 0001_initial; backup: " in proc.stdout, describe(proc)
    assert f"opened {db} at {HEAD}: 1 notebooks, 1 notes" in proc.stdout, describe(proc)
    assert versions(db) == [HEAD]
    assert_data_intact(db, "0001_initial")
    backup = backup_path(proc)
    assert backup.parent == db.parent
    assert versions(backup) == ["0001_initial"]


def test_cx_freeze_window_upgrades_an_old_release_offscreen(
    cx_freeze_install: Install, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    check_window_upgrade(cx_freeze_install, db_at, tmp_path)


def test_cx_freeze_window_opens_a_newer_document_read_only_offscreen(
    cx_freeze_install: Install, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    db = db_at(HEAD)
    fill(db)
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (FUTURE_REVISION,))
    before, neighbours = sha256(db), siblings(db)
    proc = run_app(cx_freeze_install, db, tmp_path, window=True)
    assert proc.returncode == 0, describe(proc)
    assert f"opened {db} read-only at {FUTURE_REVISION}: 1 notebooks" in proc.stdout
    assert sha256(db) == before
    assert siblings(db) == neighbours


def test_cx_freeze_creates_a_new_document(cx_freeze_install: Install, tmp_path: Path) -> None:
    db = tmp_path / "Dokumente (Ünïcode)" / "New notes.notes"
    db.parent.mkdir()
    proc = run_app(cx_freeze_install, db, tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert f"created {db} at {HEAD}" in proc.stdout
    assert "0 notebooks, 0 notes" in proc.stdout
    assert versions(db) == [HEAD]
    assert siblings(db) == [db.name]


def test_cx_freeze_runs_through_a_symlink_on_path(
    cx_freeze_install: Install, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    # Like a package that links /usr/local/bin/notekeeper to /opt/notekeeper/notekeeper:
    # the bundled folder is beside the real program, not beside the link.
    launcher = tmp_path / "bin" / "notekeeper"
    launcher.parent.mkdir()
    launcher.symlink_to(cx_freeze_install.exe)
    db = db_at("0003_pinned")
    fill(db)
    proc = run_app(cx_freeze_install, db, tmp_path, launcher=launcher)
    assert proc.returncode == 0, describe(proc)
    assert versions(db) == [HEAD]
    assert_data_intact(db, "0003_pinned")


def test_cx_freeze_leaves_a_current_document_alone(
    cx_freeze_install: Install, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    db = db_at(HEAD)
    fill(db)
    before = sha256(db)
    neighbours = siblings(db)
    proc = run_app(cx_freeze_install, db, tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert f"is current ({HEAD})" in proc.stdout
    assert "1 notebooks, 1 notes" in proc.stdout
    assert sha256(db) == before
    assert siblings(db) == neighbours


def test_cx_freeze_opens_a_newer_document_read_only(
    cx_freeze_install: Install, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    db = db_at(HEAD)
    fill(db)
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (FUTURE_REVISION,))
    before = sha256(db)
    neighbours = siblings(db)
    proc = run_app(cx_freeze_install, db, tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert f"written by a newer release ({FUTURE_REVISION})" in proc.stdout
    assert "read-only" in proc.stdout
    assert "1 notebooks, 1 notes" in proc.stdout
    assert sha256(db) == before
    assert siblings(db) == neighbours


def test_cx_freeze_refuses_an_edited_revision(
    cx_freeze_build: Path, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    copy = copy_build(cx_freeze_build, tmp_path / "edited")
    with (copy / "migrations" / "versions" / "0003_pinned.py").open("a") as fh:
        fh.write("# tampered\n")
    with Install.seal(copy) as install:
        proc, _ = check_refused(install, db_at, tmp_path)
    assert "changed: versions/0003_pinned.py" in proc.stderr


def test_cx_freeze_refuses_a_planted_revision(
    cx_freeze_build: Path, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    marker = tmp_path / "evil-was-imported"
    copy = copy_build(cx_freeze_build, tmp_path / "planted")
    evil = copy / "migrations" / "versions" / "0007_evil.py"
    evil.write_text(EVIL_REVISION.format(marker=str(marker)))
    with Install.seal(copy) as install:
        proc, db = check_refused(install, db_at, tmp_path, marker)
    assert "extra: versions/0007_evil.py" in proc.stderr
    assert "evil" not in tables(db)


# --- frozen-alembic verify ------------------------------------------------------------


def run_verify(
    build: Path, tmp_path: Path, source: Path = MIGRATIONS, run: str | None = None
) -> tuple[int, str]:
    """``python -m frozen_alembic verify BUILD --source SOURCE --run RUN``.

    :param run: the command (default: ``"BUILD/notekeeper {db}"``).
    """
    cwd = tmp_path / f"verify-cwd{next(_counter)}"
    cwd.mkdir()
    command = run if run is not None else f"{shlex.quote(str(build / 'notekeeper'))} {{db}}"
    argv = [sys.executable, "-m", "frozen_alembic", "verify", str(build)]
    argv += ["--source", str(source), "--run", command]
    proc = subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert list(cwd.iterdir()) == []
    return proc.returncode, proc.stdout + proc.stderr


def test_verify_passes_on_the_good_build(cx_freeze_install: Install, tmp_path: Path) -> None:
    code, output = run_verify(cx_freeze_install.folder, tmp_path)
    assert code == 0, output
    assert "result: OK" in output
    assert f"the built app brought a scratch database to ['{HEAD}']" in output
    assert "the 6 revision files of the recorded releases (1.0, 1.1, 1.2, 1.3, 1.4, 1.5)" in output
    assert "PROBLEM" not in output
    cx_freeze_install.assert_unchanged()


def test_verify_fails_on_a_missing_revision(cx_freeze_build: Path, tmp_path: Path) -> None:
    copy = copy_build(cx_freeze_build, tmp_path / "incomplete")
    (copy / "migrations" / "versions" / "0004_sort_key_integer.py").unlink()
    code, output = run_verify(copy, tmp_path)
    assert code == 1, output
    assert "do not match the build's manifest" in output
    assert "missing: versions/0004_sort_key_integer.py" in output
    assert "result: OK" not in output


def test_verify_fails_on_a_stale_build(cx_freeze_install: Install, tmp_path: Path) -> None:
    source = tmp_path / "migrations"
    copy_build(MIGRATIONS, source)
    add_next_revision(source)
    code, output = run_verify(cx_freeze_install.folder, tmp_path, source)
    assert code == 1, output
    assert "stale build" in output
    assert "['0007_color']" in output
    assert "revisions missing from the build: 0007_color" in output
    cx_freeze_install.assert_unchanged()


def test_verify_fails_on_a_missing_module(cx_freeze_build: Path, tmp_path: Path) -> None:
    copy = copy_build(cx_freeze_build, tmp_path / "no-logging-config")
    loose = copy / "lib" / "logging" / "config.pyc"
    if loose.exists():
        loose.unlink()
    else:  # stored in the zip: rebuild it without that module
        library = copy / "lib" / "library.zip"
        with zipfile.ZipFile(library) as old:
            entries = [(info, old.read(info)) for info in old.infolist()]
        names = [info.filename for info, _ in entries]
        assert "logging/config.pyc" in names, "logging.config is nowhere in the build"
        with zipfile.ZipFile(library, "w") as new:
            for info, data in entries:
                if info.filename != "logging/config.pyc":
                    new.writestr(info, data)
    code, output = run_verify(copy, tmp_path)
    assert code == 1, output
    lacks = re.search(r"the build lacks modules the migrations need: ([^\n]*)", output)
    assert lacks, output
    assert "logging.config" in lacks.group(1).split(" (")[0].split(", ")
    assert "result: OK" not in output


# --- PyInstaller ----------------------------------------------------------------------


def test_pyinstaller_upgrades_an_old_release(
    pyinstaller_install: Install, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    check_upgrade(pyinstaller_install, db_at, tmp_path, "0001_initial")


def test_pyinstaller_window_upgrades_an_old_release_offscreen(
    pyinstaller_install: Install, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    # PyInstaller's own PySide6 hooks bring Qt and its plugins: the window works too.
    check_window_upgrade(pyinstaller_install, db_at, tmp_path)


def test_pyinstaller_creates_a_new_document(pyinstaller_install: Install, tmp_path: Path) -> None:
    db = tmp_path / "New notes.notes"
    proc = run_app(pyinstaller_install, db, tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert versions(db) == [HEAD]


def test_pyinstaller_onedir_refuses_an_edited_revision(
    pyinstaller_onedir_build: Path, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    copy = copy_build(pyinstaller_onedir_build, tmp_path / "edited")
    with (copy / "_internal" / "migrations" / "versions" / "0002_tags.py").open("a") as fh:
        fh.write("# tampered\n")
    with Install.seal(copy) as install:
        proc, _ = check_refused(install, db_at, tmp_path)
    assert "changed: versions/0002_tags.py" in proc.stderr


# --- Nuitka (opt-in) ------------------------------------------------------------------


def test_nuitka_standalone_upgrades_an_old_release(
    db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    if os.environ.get("FROZEN_ALEMBIC_SLOW") != "1":
        pytest.skip("opt-in: scripts/test --slow (Nuitka builds take minutes)")
    if importlib.util.find_spec("nuitka") is None:
        pytest.fail(
            "FROZEN_ALEMBIC_SLOW=1 asks for the Nuitka build, but Nuitka is not installed: "
            "pip install -e '.[nuitka]' (and patchelf, a C compiler)"
        )
    job = nuitka_job(tmp_path / "nuitka")
    try:
        dist = job.wait(NUITKA_TIMEOUT)
    finally:
        job.stop()
    with Install.make(dist, tmp_path / "install") as install:
        check_upgrade(install, db_at, tmp_path, "0001_initial")
