"""Staging the migrations for a build: a clean copy, its imports, and its manifest."""

from __future__ import annotations

import datetime
import json
import pkgutil
import py_compile
import shutil
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import _manifest
from .._exceptions import FrozenAlembicError
from .._headsfile import write_heads
from .._names import MANIFEST_NAME, TEMPLATE_NAME
from .._scripts import env_options
from ._imports import ImportScan, scan_imports

_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

# What Alembic and SQLAlchemy load by name at run time, which no freezer can see.
DYNAMIC_IMPORTS = (
    "alembic.op",
    "alembic.context",
    "logging.config",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "alembic.ddl.sqlite",
    "alembic.runtime.environment",
    "alembic.runtime.migration",
    "alembic.operations.toimpl",
)


class BuildError(FrozenAlembicError):
    """The migrations cannot be bundled as they are (the message says why)."""


@dataclass(frozen=True)
class Staged:
    """A staged copy of the migrations, ready to be bundled.

    :ivar folder: the staged script directory (holds the manifest).
    :ivar target: the folder's name inside the build.
    :ivar imports: every module the revisions, ``env.py``, Alembic and frozen-alembic
        need at run time (what a freezer without frozen-alembic's hook must be told).
    :ivar heads: the newest revisions.
    :ivar script_imports: the modules the scripts themselves import (and the
        application modules those import), which only the application can list.
    """

    folder: Path
    target: str
    imports: tuple[str, ...]
    heads: tuple[str, ...]
    script_imports: tuple[str, ...] = ()


def runtime_modules() -> list[str]:
    """frozen_alembic's runtime modules (it imports them lazily, so freezers miss them)."""
    import frozen_alembic

    names = ["frozen_alembic"]
    # The build side, and the optional Qt helper: an app that uses it imports it, so
    # the freezer sees it (listing it here would pull PySide6 into every build).
    build_side = (
        "frozen_alembic.build",
        "frozen_alembic.__pyinstaller",
        "frozen_alembic.qt",
        "frozen_alembic.testing",
    )
    for info in pkgutil.walk_packages(frozen_alembic.__path__, "frozen_alembic."):
        if not info.name.startswith(build_side):
            names.append(info.name)
    return sorted(names)


def _check_imports(scan: ImportScan, folder: Path) -> None:
    """Refuse to build what would fail at run time: imports nothing can satisfy."""
    if not scan.missing and not scan.problems:
        return
    lines = [f"  {site.module}: imported at {site.file}:{site.line}" for site in scan.missing]
    lines += [f"  {problem}" for problem in scan.problems]
    msg = (
        f"The migrations in {folder} import modules the build interpreter cannot "
        "import:\n" + "\n".join(lines) + "\nInstall them in the build environment (or fix "
        "the imports) before building; a frozen app could not load these revisions."
    )
    raise BuildError(msg)


def default_stage_dir(source: Path) -> Path:
    """Where :func:`stage` puts its copy by default: outside every package.

    ``build/frozen-alembic`` in the project's root (the nearest folder above the
    scripts with a ``pyproject.toml``, ``setup.py``, ``setup.cfg`` or ``.git``), or
    else beside the outermost package that contains the scripts.  Inside a package,
    a freezer told to take the package whole would bundle the staged copy a second
    time.
    """
    outside = source.parent
    while (outside / "__init__.py").exists():
        outside = outside.parent
    for folder in (source.parent, *source.parents):
        if any((folder / marker).exists() for marker in _PROJECT_MARKERS):
            if (folder / "__init__.py").exists():
                break  # a package that happens to have a setup.py: not a project root
            return folder / "build" / "frozen-alembic"
    return outside / "build" / "frozen-alembic"


def _graph(folder: Path) -> tuple[dict[str, list[str]], tuple[str, ...], dict[str, str]]:
    from .._scripts import Scripts

    scripts = Scripts(folder)
    graph = {rev: list(downs) for rev, downs in sorted(scripts.graph.items())}
    docs = {revision.id: revision.doc for revision in scripts.history()}
    return graph, scripts.heads, docs


def _make_template(folder: Path, version_table: str | None) -> str:
    """An empty database at the heads, built by running every revision once, now.

    :return: the version table it records the heads in.
    """
    from .._migrator import Migrator

    migrator = Migrator(folder, version_table=version_table)
    migrator.create(folder / TEMPLATE_NAME)
    return migrator.version_table


def _plain(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _ignore(source: Path) -> Callable[[str, list[str]], set[str]]:
    """What staging leaves out: compiled files (a stale one could run as a migration)
    and, at the top, the release records (``releases.toml``, ``schemas/``), which stay
    in the source tree: the app never reads them, and recording a release must not
    make a build stale."""
    from ._releases import RELEASES_NAME, SCHEMAS_DIR

    compiled = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")

    def ignore(directory: str, names: list[str]) -> set[str]:
        left_out = set(compiled(directory, names))
        if Path(directory) == source:
            left_out |= {RELEASES_NAME, SCHEMAS_DIR} & set(names)
        return left_out

    return ignore


def _template_check(path: Path) -> str:
    data = path.read_bytes()
    return f"{len(data)} {zlib.crc32(data)}"


def stage(
    script_location: str | os.PathLike[str],
    *,
    target: str = "migrations",
    stage_dir: str | os.PathLike[str] | None = None,
    bytecode_only: bool = False,
    version_table: str | None = None,
) -> Staged:
    """Copy the script directory for bundling and write its manifest.

    The copy leaves out ``__pycache__`` and stray ``.pyc`` files (a stale one could
    run as a migration), the release records (``releases.toml`` and ``schemas/``, see
    :func:`record_release`) and, with ``bytecode_only``, replaces every ``.py`` by its
    compiled ``.pyc`` for this interpreter.  Beside the manifest go the heads (for
    the start-up check) and a template database at the heads, built by running
    every revision once, which ``Migrator.create()`` copies.

    :param script_location: the source Alembic script directory.
    :param target: the folder's name inside the build.
    :param stage_dir: where to stage (default: :func:`default_stage_dir`, outside
        every package); the copy goes to ``stage_dir/target``.
    :param bytecode_only: ship ``.pyc`` files only.
    :param version_table: the project's version table, if not the one ``env.py``
        names (or ``alembic_version``); recorded for the app's start-up check.
    :return: what was staged.
    :raises BuildError: the scripts import modules that cannot be found.
    """
    source = Path(script_location).resolve()
    if not (source / "versions").is_dir():
        msg = f"{source} is not an Alembic script directory (no versions/ folder)."
        raise BuildError(msg)
    base = Path(stage_dir) if stage_dir is not None else default_stage_dir(source)
    folder = base.resolve() / target
    scan = scan_imports(source)
    _check_imports(scan, source)
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(source, folder, ignore=_ignore(source))
    sources = _manifest.file_hashes(folder)
    graph, heads, docs = _graph(folder)
    table = _make_template(folder, version_table)
    options = {k: v for k, v in env_options(folder / "env.py").items() if _plain(v)}
    shutil.rmtree(folder / "versions" / "__pycache__", ignore_errors=True)
    if bytecode_only:
        for py in [*folder.glob("*.py"), *(folder / "versions").glob("*.py")]:
            py_compile.compile(str(py), cfile=str(py.with_suffix(".pyc")), doraise=True)
            py.unlink()
    all_imports = tuple(sorted(scan.modules | set(DYNAMIC_IMPORTS) | set(runtime_modules())))
    template_check = _template_check(folder / TEMPLATE_NAME)
    manifest = {
        "format": _manifest.FORMAT,
        "heads": list(heads),
        "template": TEMPLATE_NAME,
        "template_heads": list(heads),
        # Size and CRC-32 of the template: create() checks it without loading hashlib
        # (the SHA-256 in "files" stays the tamper check of the whole folder).
        "template_check": template_check,
        "revisions": graph,
        # The first line of each revision's message: Migrator.plan() without the code.
        "docs": docs,
        # The table the heads are recorded in, and env.py's literal configure() options
        # (the app reads them from here: a bytecode-only env.py has no text to read).
        "version_table": table,
        "env_options": options,
        "imports": list(all_imports),
        "app_modules": sorted(scan.app_modules),
        "optional_imports_missing": [str(site) for site in scan.optional_missing],
        # SHA-256 of every file of the source tree that was staged, before any
        # compilation: `verify` compares them with the source tree (a stale build).
        "sources": sources,
        "bytecode_only": bytecode_only,
        "python": sys.implementation.cache_tag,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "files": _manifest.file_hashes(folder),
    }
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n")
    write_heads(str(folder), heads, table, template=template_check)
    return Staged(folder, target, all_imports, heads, tuple(sorted(scan.modules)))
