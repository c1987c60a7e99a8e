"""Real frozen builds of two start-up apps, for scripts/bench.py's ``frozen`` section.

Two tiny apps (``scripts/benchapps/``) are frozen with each real freezer, as
subprocesses, the same way:

- *ours* (``startup_ours.py``): ``ensure_current(DOC, anchor="notekeeper")``, what an
  application does on start-up, with the reference migrations bundled by
  frozen-alembic's build helpers (``cx_freeze_options``; ``pyinstaller_args`` and
  the hook that PyInstaller finds through the ``pyinstaller40`` entry point);
- *floor* (``startup_floor.py``): ``sqlite3.connect(DOC)`` and a read of the version
  row, without frozen-alembic.

Both get the reference app's build configuration: the ``build_exe.excludes`` of
``freeze_config/notekeeper.toml``, which the project's own builds give every
freezer.  The cx_Freeze builds go through ``benchapps/cx_setup.py`` (the project's
``setup.py`` for one script), the PyInstaller builds through the command line of
``tests/builds.py`` (one-folder and one-file).  One more pair of PyInstaller
one-folder builds leaves the app's excludes out, to show what they are worth.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import tomllib

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "scripts" / "benchapps"
MIGRATIONS = ROOT / "migrations"
FREEZE_CONFIG = ROOT / "freeze_config" / "notekeeper.toml"
EXE_NAME = "benchapp"
APP_SCRIPTS = {"floor": APPS / "startup_floor.py", "ours": APPS / "startup_ours.py"}
HEAVY = ("alembic", "sqlalchemy", "mako")


@dataclass(frozen=True)
class Variant:
    """One way of freezing both apps: a freezer, a mode, and whether the app's excludes apply."""

    label: str
    freezer: str  # "cx_Freeze" or "PyInstaller"
    onefile: bool = False
    app_excludes: bool = True
    goal: float | None = None  # the ours/floor ratio to meet, if any

    @property
    def slug(self) -> str:
        return "-".join("".join(c if c.isalnum() else " " for c in self.label.lower()).split())


VARIANTS = (
    Variant("cx_Freeze", "cx_Freeze", goal=1.3),
    Variant("PyInstaller one-folder", "PyInstaller", goal=1.3),
    Variant("PyInstaller one-file", "PyInstaller", onefile=True),
    Variant("PyInstaller one-folder, no app excludes", "PyInstaller", app_excludes=False),
)


def app_excludes() -> list[str]:
    """The reference app's ``build_exe.excludes`` (what tests/builds.py gives every freezer)."""
    with FREEZE_CONFIG.open("rb") as fh:
        excludes = tomllib.load(fh)["build_exe"]["excludes"]
    return [str(name) for name in excludes]


@dataclass
class Build:
    """One freezer run of one app: started with :meth:`start`, finished with :meth:`wait`."""

    variant: Variant
    app: str
    work: Path
    argv: list[str]
    product: Path  # the folder (or, one-file, the program) the freezer makes
    exe: Path
    env: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    _process: subprocess.Popen[bytes] | None = None
    _started: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.variant.label} build of {self.app}"

    @property
    def log(self) -> Path:
        return self.work / "build.log"

    def start(self) -> Build:
        self.work.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                self.argv,
                cwd=self.work,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._started = time.monotonic()
        return self

    def wait(self) -> Build:
        if self._process is None:
            self.start()
        assert self._process is not None
        code = self._process.wait()
        self.seconds = time.monotonic() - self._started
        if code != 0 or not self.exe.is_file():
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
            msg = f"the {self.name} failed (exit code {code}); {self.log}:\n{tail}"
            raise RuntimeError(msg)
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def size(self) -> int:
        """Bytes on disk of what would be installed (the folder, or the one-file program)."""
        if self.product.is_file():
            return self.product.stat().st_size
        return sum(p.stat().st_size for p in self.product.rglob("*") if p.is_file())

    def runtime_hooks(self) -> list[str]:
        """The PyInstaller run-time hooks in the program's archive (none for cx_Freeze)."""
        if self.variant.freezer != "PyInstaller":
            return []
        from PyInstaller.archive.readers import CArchiveReader

        toc = CArchiveReader(str(self.exe)).toc
        return [name.removeprefix("pyi_rth_") for name in toc if name.startswith("pyi_rth_")]


def cx_freeze_build(variant: Variant, app: str, work: Path) -> Build:
    out = work / "exe"
    env = {"BENCH_SCRIPT": str(APP_SCRIPTS[app]), "BENCH_NAME": EXE_NAME}
    if app == "ours":
        env["BENCH_STAGE"] = str(work / "stage")
    if not variant.app_excludes:
        env["BENCH_NO_EXCLUDES"] = "1"
    argv = [sys.executable, str(APPS / "cx_setup.py"), "-q", "build_exe", "--build-exe", str(out)]
    return Build(variant, app, work, argv, out, out / EXE_NAME, env)


def pyinstaller_build(variant: Variant, app: str, work: Path) -> Build:
    from frozen_alembic.build import pyinstaller_args

    args = pyinstaller_args(MIGRATIONS, stage_dir=work / "stage") if app == "ours" else []
    names = app_excludes() if variant.app_excludes else []
    excludes = [arg for name in names for arg in ("--exclude-module", name)]
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
        EXE_NAME,
        *excludes,
        *args,
        *(["--onefile"] if variant.onefile else []),
        str(APP_SCRIPTS[app]),
    ]
    product = work / "dist" / EXE_NAME
    exe = product if variant.onefile else product / EXE_NAME
    env = {"PYINSTALLER_CONFIG_DIR": str(work / "cache")}
    return Build(variant, app, work, argv, product, exe, env)


def make_build(base: Path, variant: Variant, app: str) -> Build:
    work = base / f"{variant.slug}-{app}"
    if variant.freezer == "cx_Freeze":
        return cx_freeze_build(variant, app, work)
    return pyinstaller_build(variant, app, work)


def build_both(base: Path, variant: Variant) -> dict[str, Build]:
    """Build the two apps of one variant side by side (two builds at a time)."""
    pair = {app: make_build(base, variant, app).start() for app in ("floor", "ours")}
    try:
        for build in pair.values():
            build.wait()
    finally:
        for build in pair.values():
            build.stop()
    return pair


class Runner:
    """Runs a built program on a document, from an empty working directory, as a user would.

    ``$TMPDIR`` is a folder of its own (a one-file program unpacks itself there); both
    folders must be empty again after every checked run.  The environment carries no
    ``PYTHON*`` or ``FROZEN_ALEMBIC*`` variables.
    """

    def __init__(self, folder: Path) -> None:
        self.cwd = folder / "cwd"
        self.tmp = folder / "tmp"
        self.cwd.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        prefixes = ("PYTHON", "FROZEN_ALEMBIC")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
        self.env["TMPDIR"] = str(self.tmp)

    def run(self, build: Build, *args: str) -> str:
        """Run once; fail unless it exits 0 and leaves nothing behind.  :return: stdout."""
        proc = subprocess.run(
            [str(build.exe), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            msg = f"the {build.name} failed on {' '.join(args)} (exit code {proc.returncode}):\n"
            raise RuntimeError(msg + proc.stdout + proc.stderr)
        litter = [*self.cwd.iterdir(), *self.tmp.iterdir()]
        if litter:
            msg = f"the {build.name} left files behind: {litter}"
            raise RuntimeError(msg)
        return proc.stdout

    def timer(self, build: Build, db: Path) -> Callable[[], float]:
        """A function that runs the program on ``db`` once and returns the wall time."""
        argv = [str(build.exe), str(db)]

        def run() -> float:
            start = time.perf_counter()
            code = subprocess.call(
                argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            elapsed = time.perf_counter() - start
            if code != 0:
                self.run(build, str(db))  # again, to raise with its output
            return elapsed

        return run

    def report(self, build: Build, db: Path) -> dict[str, object]:
        facts = json.loads(self.run(build, str(db), "--report"))
        need(isinstance(facts, dict), f"the {build.name} printed no report")
        return dict(facts)


def need(condition: bool, message: str) -> None:
    """``assert`` that survives ``python -O``."""
    if not condition:
        raise RuntimeError(message)


def version(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [str(r[0]) for r in conn.execute("SELECT version_num FROM alembic_version")]
    finally:
        conn.close()


@dataclass(frozen=True)
class Documents:
    """A document at head and one at the first revision, made by the reference migrations."""

    current: Path
    old: Path
    head: str
    first: str

    @classmethod
    def make(cls, folder: Path) -> Documents:
        from frozen_alembic import Migrator

        folder.mkdir(parents=True, exist_ok=True)
        migrator = Migrator(MIGRATIONS)
        history = migrator.history()
        first, head = history[0].id, history[-1].id
        current, old = folder / "current.notes", folder / "old.notes"
        migrator.create(current)
        migrator.create(old)
        migrator.downgrade(old, first, backup=False)
        return cls(current, old, head, first)


@dataclass(frozen=True)
class Checked:
    """What one variant's two builds were seen to do (see :func:`check`)."""

    modules: dict[str, list[str]]  # by app: ``sys.modules`` at the end of a start-up
    migrated: str  # "FIRST → HEAD": a real migration ran in the *ours* build


def _modules(facts: dict[str, object]) -> list[str]:
    listed = facts["modules"]
    need(isinstance(listed, list), f"no module list in {facts}")
    assert isinstance(listed, list)
    return [str(m) for m in listed]


def check(runner: Runner, builds: dict[str, Build], docs: Documents) -> Checked:
    """Prove what the timed runs do, and that the *ours* build can really migrate.

    - *floor* read the head from the current document;
    - *ours*, on the current document, changed nothing, found the bundled migrations
      inside the build (one-file: inside the folder it unpacked in ``$TMPDIR``) and
      imported neither Alembic, SQLAlchemy nor Mako: the fast path;
    - *ours*, on a copy of a document at the first revision, brought it to head: the
      full route (lock, backup, Alembic, SQLAlchemy, every revision) works in the build.
    """
    floor, ours = builds["floor"], builds["ours"]
    facts = runner.report(floor, docs.current)
    need(facts["after"] == [docs.head], f"the {floor.name} read {facts['after']}")
    modules = {"floor": _modules(facts)}

    facts = runner.report(ours, docs.current)
    need(facts["changed"] is False, f"the {ours.name} changed a current document")
    need(facts["after"] == [docs.head], f"the {ours.name} left it at {facts['after']}")
    home = runner.tmp if ours.variant.onefile else ours.product
    where = Path(str(facts["migrations"]))
    need(where.is_relative_to(home), f"the {ours.name} used migrations from {where}")
    modules["ours"] = _modules(facts)
    heavy = [m for m in modules["ours"] if m.split(".")[0] in HEAVY]
    need(not heavy, f"the start-up check in the {ours.name} imported {heavy[:5]}...")

    folder = docs.old.parent / f"migrate-{ours.variant.slug}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    doc = folder / docs.old.name
    shutil.copyfile(docs.old, doc)
    facts = runner.report(ours, doc)
    need(facts["changed"] is True, f"the {ours.name} did not upgrade an old document")
    need(version(doc) == [docs.head], f"the {ours.name} left an old document at {version(doc)}")
    shutil.rmtree(folder)
    return Checked(modules, f"{docs.first} → {docs.head}")
