"""Staging the migrations for a build: a clean copy, its imports, and its manifest."""

from __future__ import annotations

import ast
import datetime
import importlib.util
import json
import pkgutil
import py_compile
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import _manifest
from .._exceptions import FrozenAlembicError
from .._fast import write_heads
from .._names import MANIFEST_NAME, TEMPLATE_NAME

if TYPE_CHECKING:
    import os

# What Alembic and SQLAlchemy load by name at run time, which no freezer can see.
DYNAMIC_IMPORTS = (
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
    :ivar imports: every module the revisions, ``env.py`` and Alembic need.
    :ivar heads: the newest revisions.
    """

    folder: Path
    target: str
    imports: tuple[str, ...]
    heads: tuple[str, ...]


def scan_imports(folder: Path) -> set[str]:
    """Every absolute import in ``env.py`` and the revision files (at any depth)."""
    found: set[str] = set()
    files = [folder / "env.py", *sorted((folder / "versions").glob("*.py"))]
    for file in files:
        if not file.is_file():
            continue
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
    return found


def runtime_modules() -> list[str]:
    """frozen_alembic's runtime modules (it imports them lazily, so freezers miss them)."""
    import frozen_alembic

    names = ["frozen_alembic"]
    for info in pkgutil.walk_packages(frozen_alembic.__path__, "frozen_alembic."):
        if not info.name.startswith("frozen_alembic.build"):
            names.append(info.name)
    return sorted(names)


def _check_importable(modules: set[str], folder: Path) -> None:
    missing = []
    for name in sorted(modules):
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except (ImportError, ValueError):
            missing.append(name)
    if missing:
        msg = (
            f"The migrations in {folder} import {', '.join(missing)}, which the build "
            "interpreter cannot import. Install them (or fix the imports) before building."
        )
        raise BuildError(msg)


def _graph(folder: Path) -> tuple[dict[str, list[str]], tuple[str, ...]]:
    from .._scripts import Scripts

    scripts = Scripts(folder)
    graph = {rev: list(downs) for rev, downs in sorted(scripts.graph.items())}
    return graph, scripts.heads


def _make_template(folder: Path) -> None:
    """An empty database at the heads, built by running every revision once, now."""
    from .._migrator import Migrator

    Migrator(folder).create(folder / TEMPLATE_NAME)


def stage(
    script_location: str | os.PathLike[str],
    *,
    target: str = "migrations",
    stage_dir: str | os.PathLike[str] | None = None,
    bytecode_only: bool = False,
) -> Staged:
    """Copy the script directory for bundling and write its manifest.

    The copy leaves out ``__pycache__`` and stray ``.pyc`` files (a stale one could
    run as a migration) and, with ``bytecode_only``, replaces every ``.py`` by its
    compiled ``.pyc`` for this interpreter.  Beside the manifest go the heads (for
    the start-up check) and a template database at the heads, built by running
    every revision once, which ``Migrator.create()`` copies.

    :param script_location: the source Alembic script directory.
    :param target: the folder's name inside the build.
    :param stage_dir: where to stage (default: ``build/frozen-alembic`` beside the
        script directory); the copy goes to ``stage_dir/target``.
    :param bytecode_only: ship ``.pyc`` files only.
    :return: what was staged.
    :raises BuildError: the scripts import modules that cannot be found.
    """
    source = Path(script_location).resolve()
    if not (source / "versions").is_dir():
        msg = f"{source} is not an Alembic script directory (no versions/ folder)."
        raise BuildError(msg)
    base = Path(stage_dir) if stage_dir is not None else source.parent / "build" / "frozen-alembic"
    folder = base.resolve() / target
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))
    imports = scan_imports(folder)
    _check_importable(imports, source)
    graph, heads = _graph(folder)
    _make_template(folder)
    shutil.rmtree(folder / "versions" / "__pycache__", ignore_errors=True)
    if bytecode_only:
        for py in [*folder.glob("*.py"), *(folder / "versions").glob("*.py")]:
            py_compile.compile(str(py), cfile=str(py.with_suffix(".pyc")), doraise=True)
            py.unlink()
    write_heads(str(folder), heads)
    all_imports = tuple(sorted(imports | set(DYNAMIC_IMPORTS) | set(runtime_modules())))
    manifest = {
        "format": _manifest.FORMAT,
        "heads": list(heads),
        "template": TEMPLATE_NAME,
        "template_heads": list(heads),
        "revisions": graph,
        "imports": list(all_imports),
        "bytecode_only": bytecode_only,
        "python": sys.implementation.cache_tag,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "files": _manifest.file_hashes(folder),
    }
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n")
    return Staged(folder, target, all_imports, heads)
