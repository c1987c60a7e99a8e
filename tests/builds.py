"""Real builds of the notekeeper reference app, and the folders they are installed in.

Each build is a :class:`BuildJob`: a freezer's command line, run as a subprocess
with its output in a log file.  Jobs can be started together and waited for one by
one, so the slow builds overlap.  An :class:`Install` is a copy of a finished build
made read-only, with a snapshot of every file and folder in it, so a test can prove
that running the app wrote nothing into its own installation (tests run as root,
who may write into read-only folders, so the permission bits alone prove nothing).
:func:`package_job` makes the Linux installers (``setup.py bdist_deb``) from a
private copy of the project (:func:`copy_project`), optionally one release further.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import tomllib

from frozen_alembic.build import nuitka_args, pyinstaller_args

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
MIGRATIONS = ROOT / "migrations"
APP_NAME = "notekeeper"
ENTRY = SRC / APP_NAME / "__main__.py"
FREEZE_CONFIG = ROOT / "freeze_config" / "notekeeper.toml"


def app_excludes() -> list[str]:
    """The modules the app's own build configuration leaves out (``build_exe.excludes``).

    setup.py gives them to cx_Freeze; the PyInstaller and Nuitka builds get the same
    list, so the three builds hold the same code.
    """
    with FREEZE_CONFIG.open("rb") as fh:
        config = tomllib.load(fh)
    excludes = config["build_exe"]["excludes"]
    assert isinstance(excludes, list)
    return [str(name) for name in excludes]


@dataclass
class BuildJob:
    """One freezer run: started with :meth:`start`, finished with :meth:`wait`.

    :ivar name: for messages, e.g. ``"cx_Freeze"``.
    :ivar argv: the command line.
    :ivar cwd: its working directory.
    :ivar log: where its stdout and stderr go.
    :ivar product: the path the build must produce (a folder or a file); a glob
        pattern is allowed in its last part.
    :ivar env: extra environment variables.
    """

    name: str
    argv: list[str]
    cwd: Path
    log: Path
    product: Path
    env: dict[str, str] = field(default_factory=dict)
    seconds: float | None = None
    _process: subprocess.Popen[bytes] | None = None
    _started: float = 0.0

    def start(self) -> BuildJob:
        """Start the build in the background (once)."""
        if self._process is None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("wb") as out:
                self._process = subprocess.Popen(
                    self.argv,
                    cwd=self.cwd,
                    env={**os.environ, **self.env},
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            self._started = time.monotonic()
        return self

    def wait(self, timeout: float) -> Path:
        """Wait for the build; fail the test with the end of its log if it failed.

        :return: the product path.
        """
        process = self.start()._process
        assert process is not None
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"the {self.name} build took more than {timeout:.0f} s\n{self._tail()}")
        if self.seconds is None:
            self.seconds = time.monotonic() - self._started
        if code != 0:
            pytest.fail(f"the {self.name} build failed with exit code {code}\n{self._tail()}")
        found = sorted(self.product.parent.glob(self.product.name))
        if len(found) != 1:
            pytest.fail(f"the {self.name} build did not produce {self.product}\n{self._tail()}")
        return found[0]

    def stop(self) -> None:
        """Kill the build if it is still running (on teardown)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def _tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- last lines of {self.log} ---\n" + "\n".join(text)


def cx_freeze_job(out: Path) -> BuildJob:
    """``python setup.py build_exe --build-exe OUT`` in the project root.

    setup.py stages the migrations into ``build/frozen-alembic`` of the project.
    """
    return BuildJob(
        name="cx_Freeze",
        argv=[sys.executable, "setup.py", "-q", "build_exe", "--build-exe", str(out)],
        cwd=ROOT,
        log=out.parent / "cx_freeze.log",
        product=out,
    )


def pyinstaller_job(work: Path, *, onefile: bool) -> BuildJob:
    """``pyinstaller ... notekeeper/__main__.py`` with :func:`pyinstaller_args`.

    Everything (stage, spec, work, dist, PyInstaller's cache) stays under ``work``,
    so two builds can run at the same time.
    """
    args = pyinstaller_args(MIGRATIONS, stage_dir=work / "stage")
    excludes = [arg for name in app_excludes() for arg in ("--exclude-module", name)]
    argv = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--clean",
        "--log-level",
        "WARN",
        "--distpath",
        str(work / "dist"),
        "--workpath",
        str(work / "work"),
        "--specpath",
        str(work / "spec"),
        "--name",
        APP_NAME,
        "--paths",
        str(SRC),
        *excludes,
        *args,
        *(["--onefile"] if onefile else []),
        str(ENTRY),
    ]
    return BuildJob(
        name=f"PyInstaller {'onefile' if onefile else 'onedir'}",
        argv=argv,
        cwd=work,
        log=work / "pyinstaller.log",
        product=work / "dist" / APP_NAME,
        env={"PYINSTALLER_CONFIG_DIR": str(work / "cache")},
    )


def nuitka_job(work: Path) -> BuildJob:
    """``python -m nuitka --standalone ... src/notekeeper/__main__.py`` with :func:`nuitka_args`."""
    args = nuitka_args(MIGRATIONS, stage_dir=work / "stage")
    argv = [
        sys.executable,
        "-m",
        "nuitka",
        "--standalone",
        "--assume-yes-for-downloads",
        f"--output-dir={work / 'out'}",
        f"--output-filename={APP_NAME}",
        f"--include-package={APP_NAME}",
        *[f"--nofollow-import-to={name}" for name in app_excludes()],
        # The console mode only (`notekeeper FILE`, what the test runs): the window
        # would need --enable-plugin=pyside6 and compiling PySide6 besides an hour's build.
        *[f"--nofollow-import-to={name}" for name in ("PySide6", "shiboken6")],
        *args,
        str(ENTRY),
    ]
    return BuildJob(
        name="Nuitka standalone",
        argv=argv,
        cwd=ROOT,
        log=work / "nuitka.log",
        product=work / "out" / "*.dist",
        env={"PYTHONPATH": str(SRC)},
    )


@dataclass(frozen=True)
class Snapshot:
    """Every file (by SHA-256; symlinks by target) and every folder under a root."""

    files: dict[str, str]
    dirs: frozenset[str]

    @classmethod
    def of(cls, root: Path) -> Snapshot:
        files: dict[str, str] = {}
        dirs: set[str] = set()
        for folder, dirnames, filenames in os.walk(root):
            base = Path(folder)
            for name in dirnames:
                path = base / name
                rel = path.relative_to(root).as_posix()
                if path.is_symlink():
                    files[rel] = f"-> {os.readlink(path)}"
                else:
                    dirs.add(rel)
            for name in filenames:
                path = base / name
                rel = path.relative_to(root).as_posix()
                if path.is_symlink():
                    files[rel] = f"-> {os.readlink(path)}"
                else:
                    files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        return cls(files, frozenset(dirs))

    def differences(self, other: Snapshot) -> list[str]:
        """What changed from ``self`` to ``other``, one line each (empty: nothing)."""
        out = [f"new file {n}" for n in sorted(other.files.keys() - self.files.keys())]
        out += [f"removed file {n}" for n in sorted(self.files.keys() - other.files.keys())]
        out += [
            f"changed file {n}"
            for n in sorted(self.files.keys() & other.files.keys())
            if self.files[n] != other.files[n]
        ]
        out += [f"new folder {n}" for n in sorted(other.dirs - self.dirs)]
        out += [f"removed folder {n}" for n in sorted(self.dirs - other.dirs)]
        return out


def set_read_only(root: Path, read_only: bool) -> None:
    """``chmod -R a-w`` (or give the owner write access back) on ``root``."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        path.chmod(mode & ~0o222 if read_only else mode | stat.S_IWUSR)


@dataclass(frozen=True)
class Install:
    """A finished build copied into an installation folder and made read-only.

    :ivar folder: the installation folder.
    :ivar exe: the program to run.
    :ivar snapshot: the folder's contents right after installing.
    :ivar unpacks_to_temp: the program unpacks its bundle into ``$TMPDIR``
        (PyInstaller ``--onefile``) instead of using the installation folder.
    """

    folder: Path
    exe: Path
    snapshot: Snapshot
    unpacks_to_temp: bool = False

    @classmethod
    def make(
        cls,
        product: Path,
        folder: Path,
        *,
        unpacks_to_temp: bool = False,
        exe_name: str = APP_NAME,
    ) -> Install:
        """Copy ``product`` (a build folder, or a single program) into ``folder``."""
        if product.is_dir():
            shutil.copytree(product, folder, symlinks=True)
        else:
            folder.mkdir(parents=True)
            shutil.copy2(product, folder / product.name)
        return cls.seal(folder, unpacks_to_temp=unpacks_to_temp, exe_name=exe_name)

    @classmethod
    def seal(
        cls, folder: Path, *, unpacks_to_temp: bool = False, exe_name: str = APP_NAME
    ) -> Install:
        """Make ``folder`` (holding the program ``exe_name``) read-only, and snapshot it."""
        exe = folder / exe_name
        assert exe.is_file(), f"no {exe_name} program in {folder}"
        set_read_only(folder, True)
        return cls(folder, exe, Snapshot.of(folder), unpacks_to_temp)

    def assert_unchanged(self) -> None:
        """Fail if anything was written into, or removed from, the installation."""
        changes = self.snapshot.differences(Snapshot.of(self.folder))
        assert not changes, f"the installation {self.folder} changed: " + "; ".join(changes)

    def remove_protection(self) -> None:
        """Make the folder writable again, so the temporary folder can be deleted."""
        set_read_only(self.folder, False)

    def __enter__(self) -> Install:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove_protection()


def copy_build(product: Path, folder: Path) -> Path:
    """A writable copy of a build folder (to tamper with, then :meth:`Install.seal`)."""
    shutil.copytree(product, folder, symlinks=True)
    return folder


# --- Linux installers (setup.py bdist_deb, which makes the .rpm first) ----------------

# What setup.py needs to freeze and package the app, and the library's pyproject.toml
# that sits beside it (which setup.py must not mistake for the app's metadata); a copy
# of these is a project that can be changed (one more revision, a new version) and
# built on its own.
PROJECT_FILES = (
    "setup.py",
    "pyproject.toml",
    "freeze_config",
    "src/frozen_alembic",
    "src/notekeeper",
    "migrations",
)
# A release after the newest recorded one: one more revision, a trivial one.
NEXT_VERSION = "1.6.0"
NEXT_REVISION = "0007_color"
NEXT_REVISION_SOURCE = (
    '"""Release 1.6: notebooks get a colour."""\n\n'
    "import sqlalchemy as sa\nfrom alembic import op\n\n"
    'revision = "0007_color"\ndown_revision = "0006_attachments"\n'
    "branch_labels = None\ndepends_on = None\n\n\n"
    "def upgrade() -> None:\n"
    '    op.add_column("notebook", sa.Column("color", sa.String(20), nullable=True))\n\n\n'
    "def downgrade() -> None:\n"
    '    op.drop_column("notebook", "color")\n'
)


def app_version() -> str:
    """The app's version, as setup.py gives it to the packages (``[app] version``)."""
    with FREEZE_CONFIG.open("rb") as fh:
        return str(tomllib.load(fh)["app"]["version"])


def add_next_revision(scripts: Path) -> Path:
    """Write :data:`NEXT_REVISION` into the script directory ``scripts``."""
    path = scripts / "versions" / f"{NEXT_REVISION}.py"
    path.write_text(NEXT_REVISION_SOURCE)
    return path


def copy_project(folder: Path, *, next_release: bool = False) -> Path:
    """A private copy of what setup.py builds from (:data:`PROJECT_FILES`).

    :param next_release: add :data:`NEXT_REVISION` and make the app's version
        :data:`NEXT_VERSION`.
    """
    for name in PROJECT_FILES:
        source, target = ROOT / name, folder / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if next_release:
        add_next_revision(folder / "migrations")
        config = folder / "freeze_config" / "notekeeper.toml"
        text = config.read_text()
        old = f'version = "{app_version()}"'
        assert text.count(old) == 1, f"no single {old} in {config}"
        config.write_text(text.replace(old, f'version = "{NEXT_VERSION}"'))
    return folder


def package_job(project: Path, work: Path) -> BuildJob:
    """``python setup.py build_exe bdist_deb`` in ``project``: the .rpm, then the .deb.

    Everything it writes (the build, rpmbuild's tree, both packages in ``work/dist``)
    stays under ``project`` and ``work``, so two can run at the same time.
    """
    argv = [sys.executable, "setup.py", "-q", "build_exe", "--build-exe", str(work / "exe")]
    argv += ["bdist_deb", "--dist-dir", str(work / "dist"), "--bdist-base", str(work / "bdist")]
    return BuildJob(
        name=f"bdist_deb ({project.name})",
        argv=argv,
        cwd=project,
        log=work / "bdist.log",
        product=work / "dist" / "*.deb",
    )


# --- the ledgerly test app (tests/apps/ledgerly) ---------------------------------------

LEDGERLY = ROOT / "tests" / "apps" / "ledgerly"
LEDGERLY_SCRIPTS = Path("src") / "ledgerly" / "db_migrations"
LEDGERLY_TARGET = "db_migrations"
# The README's cx_Freeze example (<!-- example: cx_freeze-setup -->), as printed.
LEDGERLY_SETUP = """\
# setup.py
from cx_Freeze import Executable, setup

from frozen_alembic.build import cx_freeze_options, merge_options

build_exe = merge_options(
    {"packages": ["ledgerly"]},
    cx_freeze_options("src/ledgerly/db_migrations", target="db_migrations"),
)
setup(
    name="ledgerly",
    executables=[Executable("src/ledgerly/__main__.py", target_name="ledgerly")],
    options={"build_exe": build_exe},
)
"""


def copy_ledgerly(folder: Path) -> Path:
    """A private copy of the ledgerly project (``src/ledgerly``), without bytecode."""
    shutil.copytree(LEDGERLY, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def ledgerly_cx_freeze_job(project: Path, setup_py: str = LEDGERLY_SETUP) -> BuildJob:
    """``python setup.py build_exe --build-exe dist/ledgerly`` in a ledgerly copy.

    :param setup_py: the ``setup.py`` to write first (default: the README's).
    """
    (project / "setup.py").write_text(setup_py)
    return BuildJob(
        name="cx_Freeze (ledgerly)",
        argv=[sys.executable, "setup.py", "build_exe", "--build-exe", "dist/ledgerly"],
        cwd=project,
        log=project / "cx_freeze.log",
        product=project / "dist" / "ledgerly",
        env={"PYTHONPATH": str(project / "src")},
    )


def ledgerly_pyinstaller_job(
    project: Path, work: Path, *, onefile: bool, add_data: bool = True
) -> BuildJob:
    """The README's PyInstaller command line (<!-- example: pyinstaller-cli -->) in bash.

    Stage, work, spec and dist folders (and PyInstaller's cache) stay under ``work``,
    so builds can run side by side.

    :param add_data: ``False`` leaves out the ``--add-data`` that bundles the
        migrations (a broken build; the hidden imports stay).
    """
    drop = "" if add_data else 'fa=("${fa[@]:2}")  # without --add-data SRC:DEST\n'
    script = (
        "set -euo pipefail\n"
        f"args=$(frozen-alembic pyinstaller-args {LEDGERLY_SCRIPTS} "
        f'--target {LEDGERLY_TARGET} --stage-dir "$WORK/stage")\n'
        'mapfile -t fa <<< "$args"\n'
        '[ "${fa[0]}" = --add-data ] || { echo "--add-data not first: ${fa[*]}"; exit 3; }\n'
        f"{drop}"
        f"pyinstaller --noconfirm --{'onefile' if onefile else 'onedir'} --name ledgerly "
        '--log-level WARN --distpath "$WORK/dist" --workpath "$WORK/work" '
        f'--specpath "$WORK/spec" "${{fa[@]}}" src/ledgerly/__main__.py\n'
    )
    bin_dir = str(Path(sys.executable).parent)
    return BuildJob(
        name=f"PyInstaller {'onefile' if onefile else 'onedir'} (ledgerly)",
        argv=["bash", "-c", script],
        cwd=project,
        log=work / "pyinstaller.log",
        product=work / "dist" / "ledgerly",
        env={
            "WORK": str(work),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(project / "src"),
            "PYINSTALLER_CONFIG_DIR": str(work / "cache"),
        },
    )
