"""Options for each freezer: what to bundle and what to import that they cannot see."""

from __future__ import annotations

import os
from pathlib import Path

from ._stage import stage

# Packages to take whole: Alembic loads its DDL implementations and SQLAlchemy its
# dialects by name.  (frozen_alembic's own lazily imported modules are listed one
# by one in the staged imports.)
LIBRARY_PACKAGES = (
    "alembic.ddl",
    "alembic.operations",
    "alembic.runtime",
    "alembic.script",
    "alembic.util",
    "sqlalchemy.dialects.sqlite",
)
# What the packages above can reach but a migrating app never runs: test suites
# (which pull in pytest and mypy), syntax highlighting for Mako's error pages, and
# frozen-alembic's own build and test side.  Not here: multiprocessing and setuptools, which
# SQLAlchemy and Alembic only reach (asyncio -> concurrent.futures.process; the
# Python < 3.11 `import tomli`, which PyInstaller resolves to setuptools' vendored
# copy) but which make PyInstaller run their run-time hooks at every start.  This
# list is a global exclude for cx_Freeze and Nuitka, where an application may well
# use them (and they cost no start-up time); the PyInstaller hook's
# excludedimports only filter frozen_alembic's own imports.  The application
# excludes them itself (see freeze_config/notekeeper.toml).
NOT_AT_RUN_TIME = (
    "alembic.testing",
    "sqlalchemy.testing",
    "pygments",
    "mypy",
    "pytest",
    "frozen_alembic.build",
    "frozen_alembic.testing",
    "frozen_alembic.__pyinstaller",
)


def cx_freeze_options(
    script_location: str | os.PathLike[str],
    *,
    target: str = "migrations",
    stage_dir: str | os.PathLike[str] | None = None,
    bytecode_only: bool = False,
) -> dict[str, list[object]]:
    """``build_exe`` options that bundle the migrations into a cx_Freeze build.

    Merge them into your own with :func:`merge_options`.  The script directory is
    staged without ``__pycache__`` and with a manifest, and lands beside the
    executable as ``target``; every module the revisions, ``env.py``, Alembic and
    SQLAlchemy load dynamically is listed in ``includes``.

    :param script_location: the Alembic script directory in the source tree.
    :param target: the folder's name in the build.
    :param stage_dir: where to stage the copy (see :func:`stage`).
    :param bytecode_only: ship the revisions as ``.pyc`` only.
    :return: a dict with ``include_files``, ``includes``, ``packages`` and ``excludes``.
    """
    staged = stage(script_location, target=target, stage_dir=stage_dir, bytecode_only=bytecode_only)
    # Migrations kept inside the app's package would be copied a second time (its
    # non-Python files) when the app lists its package in "packages": leave them out.
    inside = _dotted_name(Path(script_location).resolve())
    return {
        "include_files": [(str(staged.folder), target)],
        "includes": list(staged.imports),
        "packages": list(LIBRARY_PACKAGES),
        "excludes": [*NOT_AT_RUN_TIME, *([inside] if inside else [])],
    }


def _dotted_name(folder: Path) -> str | None:
    """``app.db_migrations`` for a folder inside the package ``app``, else ``None``."""
    parts = [folder.name]
    parent = folder.parent
    while (parent / "__init__.py").exists():
        parts.insert(0, parent.name)
        parent = parent.parent
    return ".".join(parts) if len(parts) > 1 else None


def merge_options(*option_sets: dict[str, list[object]]) -> dict[str, list[object]]:
    """Merge freezer option dicts: lists are concatenated without duplicates.

    :param option_sets: dicts such as the one :func:`cx_freeze_options` returns.
    :return: one dict.
    """
    merged: dict[str, list[object]] = {}
    for options in option_sets:
        for key, values in options.items():
            bucket = merged.setdefault(key, [])
            bucket.extend(v for v in values if v not in bucket)
    return merged


def pyinstaller_options(
    script_location: str | os.PathLike[str],
    *,
    target: str = "migrations",
    stage_dir: str | os.PathLike[str] | None = None,
    bytecode_only: bool = False,
) -> dict[str, list[object]]:
    """``datas`` and ``hiddenimports`` for a PyInstaller ``.spec`` (``Analysis(...)``).

    What frozen-alembic, Alembic and SQLAlchemy load by name comes from the hook
    frozen-alembic registers with PyInstaller (``pyinstaller40`` entry point); these
    options add the application's own part: the staged migrations folder, which
    lands in ``sys._MEIPASS/target`` (``_internal/`` for one-folder builds, the
    unpack folder for one-file builds), and every module the scripts import —
    ``from app import helper`` included, which PyInstaller cannot see.

    :return: a dict with ``datas`` (``(source, target)`` pairs) and ``hiddenimports``.
    """
    staged = stage(script_location, target=target, stage_dir=stage_dir, bytecode_only=bytecode_only)
    return {
        "datas": [(str(staged.folder), target)],
        "hiddenimports": list(staged.script_imports),
    }


def pyinstaller_args(
    script_location: str | os.PathLike[str],
    *,
    target: str = "migrations",
    stage_dir: str | os.PathLike[str] | None = None,
    bytecode_only: bool = False,
) -> list[str]:
    """The same as :func:`pyinstaller_options`, as ``pyinstaller`` command-line arguments.

    On a shell, ``frozen-alembic pyinstaller-args DIR`` prints them, one per line.

    :return: ``--add-data`` and ``--hidden-import`` arguments.
    """
    staged = stage(script_location, target=target, stage_dir=stage_dir, bytecode_only=bytecode_only)
    args = ["--add-data", f"{staged.folder}{os.pathsep}{target}"]
    for module in staged.script_imports:
        args += ["--hidden-import", module]
    return args


def nuitka_args(
    script_location: str | os.PathLike[str],
    *,
    target: str = "migrations",
    stage_dir: str | os.PathLike[str] | None = None,
    bytecode_only: bool = False,
) -> list[str]:
    """Nuitka command-line flags that bundle the migrations.

    ``--include-raw-dir`` is used because ``--include-data-dir`` silently drops
    ``.py`` files.

    :return: ``--include-raw-dir``, ``--include-module``, ``--include-package`` and
        ``--nofollow-import-to`` flags.
    """
    staged = stage(script_location, target=target, stage_dir=stage_dir, bytecode_only=bytecode_only)
    args = [f"--include-raw-dir={staged.folder}={target}"]
    args += [f"--include-module={module}" for module in staged.imports]
    args += [f"--include-package={package}" for package in LIBRARY_PACKAGES]
    args += [f"--nofollow-import-to={module}" for module in NOT_AT_RUN_TIME]
    return args
