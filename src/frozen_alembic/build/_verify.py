"""``frozen-alembic verify``: check a finished build before it ships.

The promise: if ``verify`` passes, every user's old document migrates in the
shipped build.  Two kinds of checks make it:

* **static** — the bundled migrations folder is found (cx_Freeze, PyInstaller
  one-folder ``_internal/``, Nuitka ``.dist``; inside a PyInstaller one-file program
  it is extracted to a scratch folder first); every bundled file matches the
  manifest; the heads file agrees with the manifest; with ``--source``, every file
  of the source tree equals what was staged (a revision edited under an old id is a
  stale build) and the revisions and heads are the same; every module the
  manifest's ``imports`` lists is in the build (cx_Freeze's ``lib/`` and
  ``library.zip``, PyInstaller's archives read with PyInstaller's own readers); when
  the source tree records releases (``releases.toml``), every revision file of a
  release is in the build exactly as released (Flyway's checksum rule);
* **run** — an old document is made at every revision that has a child, with rows
  in every table (the application's ``--data`` hook first, then a generic row in
  every table still empty), and the built program (``--run "CMD {db}"``) is run on
  a copy of each, from a scratch working directory.  Each must exit 0 and leave the
  document at the heads, with the schema of a new document, passing
  ``PRAGMA integrity_check`` and ``foreign_key_check``, and with rows in every table
  that had rows.

Every problem names its fix.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import io
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _manifest
from .._exceptions import FrozenAlembicError
from .._headsfile import read_heads_file
from .._names import HEADS_NAME, MANIFEST_NAME
from .._sqlitefile import read_versions
from ._documents import (
    DataHook,
    Document,
    make_documents,
    normalised_schema,
    row_counts,
    schema_differences,
)
from ._installers import is_installer, unpack_installer
from ._releases import (
    RELEASES_NAME,
    changed_after_release,
    is_release_record,
    read_releases,
    release_hash,
)
from ._stage import BuildError

if TYPE_CHECKING:
    from collections.abc import Callable

CX_FREEZE = "cx_Freeze"
PYINSTALLER_ONEDIR = "PyInstaller one-folder"
PYINSTALLER_ONEFILE = "PyInstaller one-file"
NUITKA = "Nuitka standalone"
TAIL_LINES = 8
_IGNORED_IN_SOURCE = ("__pycache__",)
_IGNORED_SUFFIXES = (".pyc", ".pyo")
_BUNDLE_HOWTO = (
    "bundle it with frozen_alembic.build — cx_Freeze: cx_freeze_options() (its "
    "include_files); PyInstaller: --add-data from `frozen-alembic pyinstaller-args` "
    "(pyinstaller_options() in a .spec); Nuitka: nuitka_args() — then rebuild"
)
_PYINSTALLER_FIX = (
    "add --hidden-import NAME for each: `frozen-alembic pyinstaller-args` prints them all; "
    "in a .spec, use pyinstaller_options()['hiddenimports']"
)


@dataclass
class DocumentRun:
    """The built app run on one old document.

    :ivar revision: the revision the document was at.
    :ivar exit_code: the app's exit code (``None``: it could not be run, or timed out).
    :ivar problems: what was wrong afterwards (empty: the document migrated).
    :ivar output: the last lines of the app's output, kept when something failed.
    :ivar rows: rows per table before the run.
    :ivar after: the revisions the document was at after the run.
    """

    revision: str
    exit_code: int | None = None
    problems: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    after: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """``True`` when the document reached the heads with everything intact."""
        return not self.problems

    def __str__(self) -> str:
        code = "not run" if self.exit_code is None else f"exit {self.exit_code}"
        if self.ok:
            kept = ", ".join(f"{t} {n}" for t, n in sorted(self.rows.items()) if n) or "none"
            return (
                f"document at {self.revision}: {code}; the built app brought a scratch database "
                f"to {list(self.after)}; schema as a new document's, integrity ok, rows kept "
                f"(before: {kept})"
            )
        text = f"document at {self.revision}: {code}; " + "; ".join(self.problems)
        if self.output:
            text += "\n             last output: " + "\n                          ".join(
                self.output
            )
        return text


@dataclass
class VerifyReport:
    """The outcome of :func:`verify_build`.

    :ivar build_dir: the build that was checked (a folder, or a one-file program).
    :ivar kind: what kind of build it looked like (``"cx_Freeze"``, ...).
    :ivar folder: the bundled migrations folder, if one was found (for a one-file
        program, where it was extracted to; gone once :func:`verify_build` returns).
    :ivar passed: the checks that passed, one sentence each.
    :ivar notes: what could not be checked, or was learnt on the way.
    :ivar problems: the checks that failed, one sentence each, with the fix.
    :ivar documents: the built app's run on each old document.
    :ivar version_table: the table the build records a document's revision in (its
        manifest's ``version_table``; ``None`` when no manifest could be read, and the
        migrations' own ``env.py`` then says).
    """

    build_dir: Path
    kind: str = "unknown"
    folder: Path | None = None
    passed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    documents: list[DocumentRun] = field(default_factory=list)
    version_table: str | None = None

    @property
    def ok(self) -> bool:
        """``True`` when no check failed (every document included)."""
        return not self.problems and all(d.ok for d in self.documents)

    def __str__(self) -> str:
        lines = [f"verify {self.build_dir} ({self.kind})"]
        lines += [f"  ok       {text}" for text in self.passed]
        lines += [f"  note     {text}" for text in self.notes]
        lines += [f"  PROBLEM  {text}" for text in self.problems]
        if self.documents:
            lines.append(f"  documents: {len(self.documents)} (one at each revision with a child)")
            lines += [f"  {'ok     ' if d.ok else 'PROBLEM'}  {d}" for d in self.documents]
        failed = len(self.problems) + sum(1 for d in self.documents if not d.ok)
        lines.append("result: OK" if self.ok else f"result: {failed} problem(s)")
        return "\n".join(lines)


# --- reading PyInstaller archives -----------------------------------------------------


def _pyinstaller_readers() -> Any | None:
    """``PyInstaller.archive.readers``, or ``None`` when PyInstaller is not installed."""
    try:
        return importlib.import_module("PyInstaller.archive.readers")
    except ImportError:
        return None


def _carchive(path: Path) -> Any | None:
    """A ``CArchiveReader`` on ``path``, or ``None`` if it holds no PyInstaller archive."""
    readers = _pyinstaller_readers()
    if readers is None or not path.is_file():
        return None
    try:
        return readers.CArchiveReader(str(path))
    except Exception:  # ArchiveReadError, struct.error, OSError: not an archive
        return None


def _module_of(rel: str) -> str | None:
    """The dotted module a bundled file provides (``a/b.pyc``, ``a/__init__.py``, ``_x.so``)."""
    rel = rel.replace("\\", "/")
    if "lib-dynload/" in rel:
        rel = rel.rpartition("lib-dynload/")[2]
    parts = rel.split("/")
    name = parts[-1]
    for suffix in (*importlib.machinery.EXTENSION_SUFFIXES, ".pyc", ".py"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            break
    else:
        return None
    if not stem or not all(p.isidentifier() for p in [*parts[:-1], stem]):
        return None
    dotted = parts[:-1] if stem == "__init__" else [*parts[:-1], stem]
    return ".".join(dotted) or None


def _zip_modules(data: bytes | Path) -> set[str]:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    with zipfile.ZipFile(source) as archive:
        return {m for m in map(_module_of, archive.namelist()) if m}


def _interpreter_modules() -> set[str]:
    """Modules built into (or frozen into) the interpreter, which every build has."""
    names = set(sys.builtin_module_names)
    import _imp

    frozen: Callable[[], list[str]] | None = getattr(_imp, "_frozen_module_names", None)
    if frozen is not None:
        names.update(frozen())
    return names


def _archive_modules(archive: Any) -> set[str]:
    """The modules a PyInstaller CArchive holds (its PYZ, scripts, binaries, zips)."""
    modules: set[str] = set()
    for name, entry in archive.toc.items():
        typecode = entry[-1]
        if typecode == "z":
            modules.update(archive.open_embedded_archive(name).toc)
        elif typecode in "mMs":
            modules.add(name)
        elif typecode == "x" and name.endswith("base_library.zip"):
            modules |= _zip_modules(archive.extract(name))
        elif typecode in "bx":
            module = _module_of(name)
            if module:
                modules.add(module)
    return modules


def _contents_dir(archive: Any, exe: Path) -> Path:
    for option in archive.options:
        if option.startswith("pyi-contents-directory "):
            return exe.parent / str(option).split(" ", 1)[1]
    return exe.parent


def _folder_modules(root: Path) -> set[str]:
    """Modules lying as files under ``root`` (and in any ``*.zip`` of Python code there)."""
    modules: set[str] = set()
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".zip":
            try:
                modules |= _zip_modules(path)
            except (OSError, zipfile.BadZipFile):
                continue
        else:
            module = _module_of(rel)
            if module:
                modules.add(module)
    return modules


# --- what the build is ----------------------------------------------------------------


@dataclass
class _Build:
    kind: str
    folders: list[Path] = field(default_factory=list)
    modules: set[str] | None = None
    freezer_fix: str = ""
    one_file: Any | None = None


def _executables(folder: Path) -> list[Path]:
    skip = (".so", ".dll", ".dylib", ".pyd", ".zip", ".json", ".txt", ".pyc", ".py")
    found = []
    for path in sorted(folder.iterdir()):
        program = os.access(path, os.X_OK) or path.suffix == ".exe"
        if path.is_file() and program and not path.name.endswith(skip) and ".so." not in path.name:
            found.append(path)
    return found


def _manifest_folders(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob(MANIFEST_NAME))


def _cx_freeze_modules(build_dir: Path) -> set[str] | None:
    """Module names a cx_Freeze build contains (``lib/`` and ``lib/library.zip``)."""
    libs = [p for p in build_dir.rglob("library.zip") if p.parent.name == "lib"]
    if not libs:
        return None
    return _folder_modules(libs[0].parent)


def _inspect_folder(report: VerifyReport, build_dir: Path) -> _Build:
    folders = _manifest_folders(build_dir)
    cx_modules = _cx_freeze_modules(build_dir)
    if cx_modules is not None:
        build = _Build(CX_FREEZE, folders, cx_modules)
        build.freezer_fix = (
            "add them to build_exe 'includes', or use frozen_alembic.build.cx_freeze_options, "
            "which lists them all"
        )
        return build
    for exe in _executables(build_dir):
        archive = _carchive(exe)
        if archive is None:
            continue
        has_data = any(entry[-1] in "bx" for entry in archive.toc.values())
        if has_data and not folders:  # a folder that holds a one-file program
            report.notes.append(f"{build_dir} holds the one-file program {exe.name}: checked that")
            return _inspect_one_file(report, exe, archive)
        contents = _contents_dir(archive, exe)
        modules = _archive_modules(archive) | _folder_modules(contents)
        return _Build(PYINSTALLER_ONEDIR, folders, modules, _PYINSTALLER_FIX)
    if (build_dir / "_internal" / "base_library.zip").is_file():
        why = (
            "PyInstaller is not installed in this Python (pip install pyinstaller to read it)"
            if _pyinstaller_readers() is None
            else "no program in it holds a readable PyInstaller archive"
        )
        report.notes.append(
            f"the program's archive cannot be read: {why}; the modules the migrations "
            "import are checked by the run only"
        )
        return _Build(PYINSTALLER_ONEDIR, folders, None, _PYINSTALLER_FIX)
    if build_dir.name.endswith(".dist"):
        report.notes.append(
            "Nuitka compiles the modules into the program, so they cannot be listed: "
            "the run is what checks that the migrations' imports are there"
        )
        return _Build(NUITKA, folders, None, "")
    report.notes.append(
        "not a cx_Freeze, PyInstaller or Nuitka layout: the modules the migrations import "
        "are checked by the run only"
    )
    return _Build("folder", folders, None, "")


def _inspect_one_file(report: VerifyReport, exe: Path, archive: Any | None) -> _Build:
    report.build_dir = exe
    if archive is None:
        readers = _pyinstaller_readers()
        why = (
            "PyInstaller is not installed in this Python (pip install pyinstaller to read it)"
            if readers is None
            else "it is not a PyInstaller archive (a Nuitka --onefile or another packer)"
        )
        report.notes.append(
            f"the one-file program cannot be looked into: {why}; the run on old documents "
            "is the check"
        )
        return _Build("one-file program")
    prefixes = sorted(
        name[: -len(MANIFEST_NAME)]
        for name in archive.toc
        if name.endswith("/" + MANIFEST_NAME) and archive.toc[name][-1] == "x"
    )
    build = _Build(PYINSTALLER_ONEFILE, [], _archive_modules(archive), _PYINSTALLER_FIX)
    build.one_file = archive
    build.folders = [Path(prefix.rstrip("/")) for prefix in prefixes]  # inside the archive
    return build


def _extract(archive: Any, inside: Path, scratch: Path) -> Path:
    """Extract the folder ``inside`` of a one-file archive into ``scratch``."""
    prefix = inside.as_posix() + "/"
    out = scratch / "extracted" / inside
    for name, entry in archive.toc.items():
        if entry[-1] != "x" or not name.startswith(prefix):
            continue
        rel = Path(name[len(prefix) :])
        if rel.is_absolute() or ".." in rel.parts:
            continue
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(archive.extract(name))
    return out


def _choose(report: VerifyReport, build: _Build, target: str | None) -> Path | None:
    found = build.folders
    if target is not None:
        found = [p for p in found if p.name == target]
    where = "in the one-file program" if build.one_file is not None else f"under {report.build_dir}"
    if not found:
        named = f"{target!r} " if target is not None else ""
        others = (
            f" (found {', '.join(p.name for p in build.folders)}: pass --target NAME)"
            if build.folders
            else ""
        )
        report.problems.append(
            f"no bundled migrations folder {named}with a {MANIFEST_NAME} {where}{others}: "
            f"the app cannot find its migrations; {_BUNDLE_HOWTO}"
        )
        return None
    if len(found) > 1:
        names = ", ".join(str(p) for p in found)
        report.problems.append(
            f"several bundled migrations folders {where} ({names}): say which with --target NAME"
        )
        return None
    return found[0]


# --- static checks --------------------------------------------------------------------


def _check_files(report: VerifyReport, folder: Path, manifest: dict[str, object]) -> bool:
    expected = manifest.get("files")
    if not isinstance(expected, dict):
        report.problems.append(f"the manifest in {folder} lists no files: rebuild")
        return False
    actual = _manifest.file_hashes(folder)
    changed = sorted(n for n in expected.keys() & actual.keys() if expected[n] != actual[n])
    missing = sorted(expected.keys() - actual.keys())
    extra = sorted(actual.keys() - expected.keys())
    if not (changed or missing or extra):
        report.passed.append(f"all {len(expected)} bundled files match the manifest")
        return True
    parts = [
        f"{label}: {', '.join(names)}"
        for label, names in (("changed", changed), ("missing", missing), ("extra", extra))
        if names
    ]
    report.problems.append(
        f"the migration scripts in {folder} do not match the build's manifest "
        f"({'; '.join(parts)}): the build was changed after frozen-alembic staged it, and the "
        "app will refuse to run them; rebuild (and change nothing inside the build)"
    )
    return False


def _check_heads_file(report: VerifyReport, folder: Path, manifest: dict[str, object]) -> None:
    try:
        expected = _manifest.heads(manifest)
    except FrozenAlembicError as err:
        report.problems.append(f"{err}")
        return
    recorded = read_heads_file(str(folder))
    found = recorded[0] if recorded is not None else None
    if recorded is not None and found == expected:
        table = manifest.get("version_table")
        if isinstance(table, str) and recorded[1] != table:
            report.problems.append(
                f"the heads file {HEADS_NAME} names the version table {recorded[1]}, the "
                f"manifest {table}: the heads file belongs to another build: rebuild"
            )
            return
        report.passed.append(f"the heads file agrees with the manifest ({', '.join(expected)})")
        return
    what = "is missing" if not (folder / HEADS_NAME).exists() else "does not agree with them"
    if found is not None:
        what = f"says {', '.join(found)}"
    report.problems.append(
        f"the heads file {HEADS_NAME} {what} (the manifest's heads: {', '.join(expected)}): "
        "the heads file was edited or belongs to another build: rebuild"
    )


def _source_hashes(source: Path) -> dict[str, str]:
    """SHA-256 of the source tree's files, leaving out what staging leaves out."""
    hashes = _manifest.file_hashes(source)
    return {
        rel: digest
        for rel, digest in hashes.items()
        if not any(part in _IGNORED_IN_SOURCE for part in rel.split("/"))
        and not rel.endswith(_IGNORED_SUFFIXES)
        and not is_release_record(rel)
    }


def _check_releases(
    report: VerifyReport, manifest: dict[str, object], folder: Path, source: Path
) -> None:
    """Flyway's checksum rule: every revision file of a recorded release (the source
    tree's ``releases.toml``) must be in the build exactly as it was released."""
    try:
        releases = read_releases(source / RELEASES_NAME)
    except BuildError as err:
        report.problems.append(str(err))
        return
    if not releases:
        return
    recorded = manifest.get("sources")
    staged = recorded if isinstance(recorded, dict) else {}
    in_build: dict[str, str] = {}
    for rel, raw in staged.items():
        if not rel.startswith("versions/"):
            continue
        bundled, original = folder / rel, source / rel
        if bundled.is_file():  # the build's own copy
            in_build[rel] = release_hash(bundled.read_bytes())
        elif original.is_file() and _sha256(original) == raw:  # bytecode only: its source
            in_build[rel] = release_hash(original.read_bytes())
        else:
            in_build[rel] = str(raw)
    problems = changed_after_release(releases, in_build, fix=", then rebuild")
    report.problems += [f"in the build, {problem}" for problem in problems]
    if not problems:
        count = len({path for release in releases for path in release.files})
        names = ", ".join(release.name for release in releases)
        report.passed.append(
            f"the {count} revision files of the recorded releases ({names}) are in the build "
            "as they were released"
        )


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _compare_with_source(report: VerifyReport, manifest: dict[str, object], source: Path) -> None:
    from .._scripts import Scripts

    recorded = manifest.get("sources")
    if not isinstance(recorded, dict):
        report.problems.append(
            "the manifest records no hashes of the source files (an older frozen-alembic "
            "built it): rebuild, so a stale build can be told"
        )
    else:
        actual = _source_hashes(source)
        edited = sorted(n for n in recorded.keys() & actual.keys() if recorded[n] != actual[n])
        added = sorted(actual.keys() - recorded.keys())
        gone = sorted(recorded.keys() - actual.keys())
        for name in edited:
            report.problems.append(
                f"stale build: {source / name} differs from the copy the build was made from "
                "(a revision edited under an old id is never run again on documents already "
                "past it): rebuild"
            )
        for name in added:
            report.problems.append(f"stale build: {source / name} is not in the build: rebuild")
        for name in gone:
            report.problems.append(
                f"stale build: the build has {name}, which {source} no longer has: rebuild "
                "(or point --source at the tree the build was made from)"
            )
        if not (edited or added or gone):
            report.passed.append(
                f"all {len(actual)} files of {source} are the ones the build was made from"
            )
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
            f"stale build: its heads are {built_heads}, the source tree's are {source_heads}: "
            "rebuild"
        )
    else:
        report.passed.append(f"heads {source_heads} equal the source tree's")
    if source_revs - built_revs:
        report.problems.append(
            f"revisions missing from the build: {', '.join(sorted(source_revs - built_revs))}: "
            "rebuild"
        )
    if built_revs - source_revs:
        report.problems.append(
            f"revisions in the build but not in the source: "
            f"{', '.join(sorted(built_revs - source_revs))}: rebuild from this source tree"
        )


def _check_imports(report: VerifyReport, build: _Build, manifest: dict[str, object]) -> None:
    imports = manifest.get("imports")
    if build.modules is None or not isinstance(imports, list):
        if build.modules is not None:
            report.problems.append("the manifest lists no imports: rebuild")
        return
    present = build.modules | _interpreter_modules()
    tops = {name.split(".")[0] for name in build.modules}
    bootstrap_stdlib = build.kind == CX_FREEZE
    # cx_Freeze freezes start-up modules (collections, __future__, ...) into its
    # bootstrap rather than lib/: a standard-library module whose whole top-level
    # package is absent from lib/ is one of those.
    missing = [
        m
        for m in imports
        if m not in present
        and not (
            bootstrap_stdlib
            and m.split(".")[0] in sys.stdlib_module_names
            and m.split(".")[0] not in tops
        )
    ]
    if missing:
        report.problems.append(
            f"the build lacks modules the migrations need: {', '.join(missing)} "
            f"({build.freezer_fix})"
        )
    else:
        report.passed.append(f"all {len(imports)} modules the migrations import are bundled")


# --- the run on old documents ---------------------------------------------------------


def load_data_hook(spec: str) -> DataHook:
    """The function ``MODULE:FUNCTION`` names (``MODULE`` may also be a ``.py`` file).

    A module name is imported with the current directory on ``sys.path`` first,
    as ``python -m`` would.

    :raises BuildError: the module or the function cannot be found.
    """
    module_name, sep, function = spec.rpartition(":")
    if not sep or not module_name or not function:
        msg = f"--data {spec!r}: give MODULE:FUNCTION (or path/to/file.py:FUNCTION)"
        raise BuildError(msg)
    try:
        if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
            path = Path(module_name).resolve()
            loader_spec = importlib.util.spec_from_file_location(
                f"_frozen_alembic_data_{abs(hash(path))}", path
            )
            if loader_spec is None or loader_spec.loader is None:
                msg = f"--data {spec!r}: {path} cannot be loaded as a Python file"
                raise BuildError(msg)
            module = importlib.util.module_from_spec(loader_spec)
            loader_spec.loader.exec_module(module)
        else:
            sys.path.insert(0, os.getcwd())
            try:
                module = importlib.import_module(module_name)
            finally:
                sys.path.remove(os.getcwd())
    except BuildError:
        raise
    except Exception as err:
        msg = f"--data {spec!r}: the module cannot be loaded ({type(err).__name__}: {err})"
        raise BuildError(msg) from err
    found: Any = module
    for part in function.split("."):
        found = getattr(found, part, None)
    if not callable(found):
        msg = f"--data {spec!r}: {module_name} has no function {function}"
        raise BuildError(msg)
    hook: DataHook = found
    return hook


def _command(run: str, db: Path) -> list[str]:
    """``run`` as an argument list: ``{db}`` replaced (appended when absent), and
    relative paths made absolute (the app runs in a scratch working directory)."""
    parts = shlex.split(run)
    argv = [part.replace("{db}", str(db)) for part in parts]
    if not any("{db}" in part for part in parts):
        argv.append(str(db))
    for index, arg in enumerate(argv):
        relative = not os.path.isabs(arg) and not arg.startswith("-") and os.sep in arg
        if relative and (index == 0 or os.path.exists(arg)):
            argv[index] = os.path.abspath(arg)
    return argv


def _app_environment(temp: Path) -> dict[str, str]:
    """The caller's environment without what a user's machine would not have."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "FROZEN_ALEMBIC"))
    }
    env["TMPDIR"] = env["TEMP"] = env["TMP"] = str(temp)
    return env


@dataclass
class _Reference:
    heads: tuple[str, ...]
    schema: dict[str, object]
    origin: Path
    version_table: str


def _run_one(
    document: Document, run: str, reference: _Reference, scratch: Path, timeout: float
) -> DocumentRun:
    result = DocumentRun(document.revision, rows=dict(document.rows))
    base = scratch / f"run-{document.path.stem}"
    cwd, temp, home = base / "cwd", base / "tmp", base / "documents"
    for folder in (cwd, temp, home):
        folder.mkdir(parents=True)
    db = home / f"{document.path.stem}.sqlite"
    shutil.copyfile(document.path, db)
    argv = _command(run, db)
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=_app_environment(temp),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        result.problems.append(f"the app did not finish within {timeout:.0f} s")
        return result
    except OSError as err:
        result.problems.append(f"{argv[0]} cannot be run ({err}): check --run")
        return result
    result.exit_code = proc.returncode
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-TAIL_LINES:]
    outside = _Outside(document, reference, base)
    if proc.returncode != 0:
        result.problems.append(f"the app exited with {proc.returncode}")
        if outside.error is not None:
            result.problems.append(
                f"the migrations fail on this document outside the build too "
                f"({outside.error}): fix the revision (or the --data rows)"
            )
        else:
            result.problems.append(
                f"the same document upgrades with {reference.origin} outside the build, so "
                "the build is at fault (see the other problems: a missing module or file, "
                "or the app's own output below)"
            )
    else:
        _check_result(result, db, reference, outside)
    if result.problems:
        result.output = tail
    return result


class _Outside:
    """The same document upgraded outside the build, on demand: tells a build at fault
    from migrations at fault."""

    def __init__(self, document: Document, reference: _Reference, base: Path) -> None:
        self._document, self._reference, self._base = document, reference, base
        self._done = False
        self._path: Path | None = None
        self._error: str | None = None

    def _upgrade(self) -> None:
        from .._migrator import Migrator

        if self._done:
            return
        self._done = True
        copy = self._base / "outside-the-build.sqlite"
        shutil.copyfile(self._document.path, copy)
        try:
            migrator = Migrator(self._reference.origin, version_table=self._reference.version_table)
            migrator.upgrade(copy, backup=False)
        except FrozenAlembicError as err:
            self._error = str(err).splitlines()[0] if str(err) else type(err).__name__
        else:
            self._path = copy

    @property
    def error(self) -> str | None:
        """Why the upgrade outside the build failed (``None``: it worked)."""
        self._upgrade()
        return self._error

    @property
    def path(self) -> Path | None:
        """The document upgraded outside the build, if that worked."""
        self._upgrade()
        return self._path


def _check_result(result: DocumentRun, db: Path, reference: _Reference, outside: _Outside) -> None:
    table = reference.version_table
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            found = read_versions(conn, table)
            if found is None:
                result.problems.append(
                    f"the app exited 0 but the document has no version table {table}: --run "
                    "must bring the existing old document it is given to the newest revision "
                    "(ensure_current(path) or Migrator.upgrade(path))"
                )
                return
            versions = found
            integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            dangling = sorted({str(r[0]) for r in conn.execute("PRAGMA foreign_key_check")})
            rows = row_counts(conn, table)
    except sqlite3.Error as err:
        result.problems.append(f"the document cannot be read afterwards ({err})")
        return
    result.after = versions
    if versions != reference.heads:
        result.problems.append(
            f"the app exited 0 but left the document at {list(versions)}, not at the heads "
            f"{list(reference.heads)}: --run must bring the existing old document it is given "
            "to the newest revision (ensure_current(path) or Migrator.upgrade(path))"
        )
        return
    differences = schema_differences(normalised_schema(db), reference.schema)
    if differences:
        shown = "; ".join(differences[:6]) + ("; ..." if len(differences) > 6 else "")
        there = outside.path
        if there is not None and not schema_differences(normalised_schema(there), reference.schema):
            fix = "the build's migrations are not the source tree's: rebuild"
        else:
            fix = (
                "the revisions give an old document another schema than a new one, outside "
                "the build too: fix the revisions"
            )
        result.problems.append(f"its schema differs from a new document's ({shown}): {fix}")
    if integrity != ["ok"]:
        result.problems.append(
            f"PRAGMA integrity_check: {'; '.join(integrity[:3])}: the file was damaged "
            "during the upgrade; find the revision that does it (--keep DIR keeps the files)"
        )
    if dangling:
        result.problems.append(
            f"rows of {', '.join(dangling)} point at rows that do not exist: a migration "
            "left dangling foreign keys; fix that revision"
        )
    emptied = sorted(t for t, n in result.rows.items() if n and rows.get(t, 1) == 0)
    if emptied:
        there = outside.path
        kept = there is not None and all(_rows(there, table).get(t, 1) for t in emptied)
        fix = (
            "the build's migrations drop rows the source tree's keep: rebuild"
            if kept
            else "a migration drops the users' data: fix it"
        )
        result.problems.append(f"rows were lost: {', '.join(emptied)} had rows and has none: {fix}")


def _rows(path: Path, version_table: str) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as conn:
        return row_counts(conn, version_table)


def _run_documents(
    report: VerifyReport,
    run: str,
    origin: Path,
    scratch: Path,
    *,
    data: DataHook | None,
    version_table: str | None,
    timeout: float,
    keep: Path | None,
) -> None:
    from .._migrator import Migrator

    folder = scratch / "documents"
    folder.mkdir()
    try:
        # The documents record their revision where the built app reads it: the table
        # its manifest names (else the one the migrations' env.py names).
        migrator = Migrator(origin, version_table=version_table)
        heads = migrator.heads()
        migrator.create(scratch / "reference.sqlite")
        documents = make_documents(migrator, folder, data=data)
    except FrozenAlembicError as err:
        hint = ""
        if "import" in str(err).lower():
            hint = (
                " (verify runs the revisions in this Python to make the documents: run it "
                "where the app's modules import, e.g. pip install -e . or PYTHONPATH=src)"
            )
        report.problems.append(f"old documents cannot be made with {origin}: {err}{hint}")
        return
    reference = _Reference(
        heads, normalised_schema(scratch / "reference.sqlite"), origin, migrator.version_table
    )
    if not documents:
        report.notes.append(f"{origin} has no revision with a child: no old document can exist")
    for document in documents:
        report.problems += document.problems
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        report.documents = list(
            pool.map(lambda d: _run_one(d, run, reference, scratch, timeout), documents)
        )
    made = "with the --data hook, then " if data is not None else ""
    where = "the build's own migrations" if origin.parent == scratch else str(origin)
    report.notes.append(
        f"{len(documents)} old document(s) made with {where}, filled {made}with a generic "
        "row in every empty table"
    )
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        for document in documents:
            shutil.copyfile(document.path, keep / f"{document.revision}.before.sqlite")
            after = scratch / f"run-{document.path.stem}" / "documents" / document.path.name
            if after.exists():
                shutil.copyfile(after, keep / f"{document.revision}.after.sqlite")
        report.notes.append(f"the documents, before and after the run, are kept in {keep}")


def verify_build(
    build_dir: str | os.PathLike[str],
    *,
    source: str | os.PathLike[str] | None = None,
    target: str | None = None,
    run: str | None = None,
    data: DataHook | str | None = None,
    timeout: float = 300.0,
    keep: str | os.PathLike[str] | None = None,
) -> VerifyReport:
    """Check a finished build: if this passes, every user's old document migrates in it.

    Static checks: the bundled migrations folder (extracted first from a PyInstaller
    one-file program), its files against the manifest, the heads file against the
    manifest, the source tree against the build (``source``), and the modules the
    migrations import against what the build holds.  The run: an old document at
    every revision that has a child, with rows in every table, is given to the
    built app (``run``), which must bring it to the heads with the schema of a new
    document, its integrity and its rows.

    :param build_dir: the build's folder (cx_Freeze, PyInstaller one-folder, Nuitka
        ``.dist``), a one-file program, or a ``.deb`` or ``.rpm`` installer (unpacked
        into a scratch folder and checked as that folder; absolute paths in ``run``
        that the package holds are run from the unpacked copy).
    :param source: the source tree's script directory: a stale build fails, and the
        documents are made from it (default: from the build's own migrations).
    :param target: the bundled folder's name (default: the only one there is).
    :param run: the command that runs the built app on an existing document,
        ``"dist/app/app {db}"``: ``{db}`` is replaced by the document's path (appended
        when absent); it must make the document current and exit 0.  Without it the
        build is not run, which is a problem.
    :param data: ``fn(conn: sqlite3.Connection, revision: str) -> None`` (or
        ``"MODULE:FUNCTION"``) inserting the application's own rows into each old
        document before the generic filler fills the tables it left empty.
    :param timeout: seconds each run of the app may take.
    :param keep: a folder to keep the documents in, before and after the run.
    :return: a :class:`VerifyReport`; ``report.ok`` is ``False`` on any problem.
    :raises BuildError: ``data`` names no loadable function; an installer cannot be
        unpacked (or ``dpkg-deb``, ``rpm2cpio`` or ``cpio`` is missing).
    """
    hook = load_data_hook(data) if isinstance(data, str) else data
    report = VerifyReport(Path(build_dir))
    with tempfile.TemporaryDirectory(prefix="frozen-alembic-verify-") as tmp:
        scratch = Path(tmp)
        path = report.build_dir
        if is_installer(path):  # checked as the folder it installs
            path, run = unpack_installer(path, scratch / "installer", run, report.notes)
        if path.is_dir():
            build = _inspect_folder(report, path)
        elif path.is_file():
            build = _inspect_one_file(report, path, _carchive(path))
        else:
            report.problems.append(f"{path} does not exist: give the build's folder or program")
            return report
        report.kind = build.kind
        _static_checks(report, build, scratch, target, source)
        origin = Path(source) if source is not None else None
        if origin is None and report.folder is not None:
            origin = scratch / "bundled"
            shutil.copytree(report.folder, origin)
        if run is None:
            report.problems.append(
                'the built app was not run on old documents: pass --run "PROGRAM {db}"'
            )
        elif origin is None:
            report.problems.append(
                "no migrations to make old documents with: pass --source DIR (the source "
                "tree's script directory)"
            )
        else:
            keep_path = Path(keep) if keep is not None else None
            _run_documents(
                report,
                run,
                origin,
                scratch,
                data=hook,
                version_table=report.version_table,
                timeout=timeout,
                keep=keep_path,
            )
    return report


def _static_checks(
    report: VerifyReport,
    build: _Build,
    scratch: Path,
    target: str | None,
    source: str | os.PathLike[str] | None,
) -> None:
    if build.kind == "one-file program":
        if source is not None:
            report.notes.append(
                "the build's manifest cannot be read, so the source tree is not compared with it"
            )
        return
    inside = _choose(report, build, target)
    if inside is None:
        return
    if build.one_file is not None:
        report.folder = _extract(build.one_file, inside, scratch)
        report.passed.append(
            f"bundled migrations {inside.as_posix()}/ in the one-file program "
            "(extracted to a scratch folder to check)"
        )
    else:
        report.folder = inside
        report.passed.append(f"bundled migrations at {inside}")
    try:
        manifest = _manifest.read(report.folder)
    except FrozenAlembicError as err:
        report.problems.append(f"{err}")
        return
    if manifest is None:  # found by its manifest: only a race could get here
        report.problems.append(f"{report.folder} has no {MANIFEST_NAME}: rebuild")
        return
    table = manifest.get("version_table")
    if isinstance(table, str) and table:
        report.version_table = table
    if _check_files(report, report.folder, manifest):
        _check_heads_file(report, report.folder, manifest)
    else:
        report.notes.append("the heads file is not checked: the files already differ")
    _check_imports(report, build, manifest)
    if source is not None:
        _compare_with_source(report, manifest, Path(source))
        _check_releases(report, manifest, report.folder, Path(source))
    optional = manifest.get("optional_imports_missing")
    if isinstance(optional, list) and optional:
        report.notes.append(
            f"optional imports the build interpreter lacked: {', '.join(map(str, optional))}"
        )
