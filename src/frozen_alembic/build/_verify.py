"""``frozen-alembic verify``: check a finished build before it ships."""

from __future__ import annotations

import os
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import _manifest
from .._exceptions import FrozenAlembicError
from .._names import MANIFEST_NAME


@dataclass
class VerifyReport:
    """The outcome of :func:`verify_build`.

    :ivar build_dir: the build that was checked.
    :ivar folder: the bundled migrations folder, if one was found.
    :ivar passed: the checks that passed, one sentence each.
    :ivar problems: the checks that failed, one sentence each.
    """

    build_dir: Path
    folder: Path | None = None
    passed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """``True`` when no check failed."""
        return not self.problems

    def __str__(self) -> str:
        lines = [f"verify {self.build_dir}"]
        lines += [f"  ok       {text}" for text in self.passed]
        lines += [f"  PROBLEM  {text}" for text in self.problems]
        lines.append("result: OK" if self.ok else f"result: {len(self.problems)} problem(s)")
        return "\n".join(lines)


def _find_folder(build_dir: Path, target: str) -> list[Path]:
    found = sorted(p.parent for p in build_dir.rglob(MANIFEST_NAME))
    preferred = [p for p in found if p.name == target]
    return preferred or found


def _bundled_modules(build_dir: Path) -> set[str] | None:
    """Module names a cx_Freeze build contains (``lib/`` and ``lib/library.zip``)."""
    libs = [p for p in build_dir.rglob("library.zip") if p.parent.name == "lib"]
    if not libs:
        return None
    lib = libs[0].parent
    paths: list[str] = []
    with zipfile.ZipFile(libs[0]) as archive:
        paths += archive.namelist()
    paths += [p.relative_to(lib).as_posix() for p in lib.rglob("*") if p.is_file()]
    modules: set[str] = set()
    for rel in paths:
        parts = rel.split("/")
        name = parts[-1].split(".")[0]
        if not parts[-1].endswith((".py", ".pyc", ".so", ".pyd")):
            continue
        dotted = [*parts[:-1]] if name == "__init__" else [*parts[:-1], name]
        modules.add(".".join(dotted))
    return modules


def _check_imports(report: VerifyReport, manifest: dict[str, object]) -> None:
    present = _bundled_modules(report.build_dir)
    imports = manifest.get("imports")
    if present is None or not isinstance(imports, list):
        report.passed.append("imports not checked statically (not a cx_Freeze layout): use --run")
        return
    tops = {name.split(".")[0] for name in present}
    # Start-up modules (collections, __future__, ...) are frozen into cx_Freeze's
    # bootstrap rather than stored in lib/: a standard-library module whose whole
    # top-level package is absent from lib/ is one of those.
    missing = [
        m
        for m in imports
        if m not in present
        and not (m.split(".")[0] in sys.stdlib_module_names and m.split(".")[0] not in tops)
    ]
    if missing:
        report.problems.append(
            f"the build lacks modules the migrations need: {', '.join(missing)} "
            "(add them to build_exe 'includes', or use frozen_alembic.build.cx_freeze_options)"
        )
    else:
        report.passed.append(f"all {len(imports)} modules the migrations import are bundled")


def _compare_with_source(report: VerifyReport, manifest: dict[str, object], source: Path) -> None:
    from .._scripts import Scripts

    try:
        scripts = Scripts(source)
        source_heads = list(scripts.heads)
        source_revs = set(scripts.graph)
    except FrozenAlembicError as err:
        report.problems.append(f"the source scripts cannot be read: {err}")
        return
    revisions = manifest.get("revisions")
    built_revs = set(revisions) if isinstance(revisions, dict) else set()
    built_heads = manifest.get("heads")
    if built_heads != source_heads:
        report.problems.append(
            f"stale build: its heads are {built_heads}, the source tree's are {source_heads}"
        )
    else:
        report.passed.append(f"heads {source_heads} equal the source tree's")
    if source_revs - built_revs:
        report.problems.append(
            f"revisions missing from the build: {', '.join(sorted(source_revs - built_revs))}"
        )
    if built_revs - source_revs:
        report.problems.append(
            f"revisions in the build but not in the source: "
            f"{', '.join(sorted(built_revs - source_revs))}"
        )


def _run_app(report: VerifyReport, command: str, heads: object, timeout: float) -> None:
    with tempfile.TemporaryDirectory(prefix="frozen-alembic-verify-") as tmp:
        scratch = Path(tmp, "scratch.db")
        argv = [part.replace("{db}", str(scratch)) for part in shlex.split(command)]
        if os.sep in argv[0]:  # a path to the built program, relative to the caller
            argv[0] = str(Path(argv[0]).absolute())
        if not any("{db}" in part for part in shlex.split(command)):
            argv.append(str(scratch))
        try:
            proc = subprocess.run(
                argv, cwd=tmp, capture_output=True, text=True, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            report.problems.append(f"running {argv[0]} failed: {err}")
            return
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            report.problems.append(
                f"the app exited with {proc.returncode} on a scratch file: {' | '.join(tail)}"
            )
            return
        if not scratch.exists():
            report.problems.append("the app ran but did not create the scratch database")
            return
        conn = sqlite3.connect(scratch)
        try:
            found = sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))
        except sqlite3.Error as err:
            report.problems.append(f"the scratch database has no version: {err}")
            return
        finally:
            conn.close()
        if found != heads:
            report.problems.append(f"the app left the scratch database at {found}, not {heads}")
        else:
            report.passed.append(f"the built app brought a scratch database to {found}")


def verify_build(
    build_dir: str | os.PathLike[str],
    *,
    source: str | os.PathLike[str] | None = None,
    target: str = "migrations",
    run: str | None = None,
    timeout: float = 300.0,
) -> VerifyReport:
    """Check a finished build: bundled folder, manifest, heads, imports, and a real run.

    :param build_dir: the build's folder (e.g. ``build/exe.linux-x86_64-3.11``).
    :param source: the source tree's script directory, to catch a stale build.
    :param target: the bundled folder's name.
    :param run: a command that runs the built app on a database file; ``{db}`` is
        replaced by a scratch path (appended when absent).  The app must leave the
        file at the manifest's heads.
    :param timeout: seconds the run may take.
    :return: a :class:`VerifyReport`; ``report.ok`` is ``False`` on any problem.
    """
    report = VerifyReport(Path(build_dir))
    if not report.build_dir.is_dir():
        report.problems.append(f"{report.build_dir} is not a folder")
        return report
    folders = _find_folder(report.build_dir, target)
    if not folders:
        report.problems.append(
            f"no bundled migrations folder with a {MANIFEST_NAME} under {report.build_dir}"
        )
        manifest: dict[str, object] | None = None
    else:
        report.folder = folders[0]
        report.passed.append(f"bundled migrations at {report.folder}")
        try:
            manifest = _manifest.read(report.folder)
            assert manifest is not None
            _manifest.verify(report.folder, manifest)
            report.passed.append(f"all {len(manifest['files'])} files match the manifest")  # type: ignore[arg-type]
        except FrozenAlembicError as err:
            report.problems.append(str(err))
            manifest = _manifest.read(report.folder) if manifest is None else manifest
    if manifest is not None:
        _check_imports(report, manifest)
        if source is not None:
            _compare_with_source(report, manifest, Path(source))
    if run is not None:
        heads = manifest.get("heads") if manifest is not None else None
        _run_app(report, run, heads, timeout)
    return report
