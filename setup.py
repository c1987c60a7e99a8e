"""Freeze the notekeeper reference app with cx_Freeze (``python setup.py build_exe``).

Packaging metadata lives in pyproject.toml; this file only freezes.  The build
configuration is declarative, in freeze_config/notekeeper.toml; the migrations and
everything Alembic and SQLAlchemy import dynamically come from frozen_alembic.build.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))  # the reference app is not installed

from cx_Freeze import Executable, setup  # noqa: E402

from frozen_alembic.build import cx_freeze_options, merge_options  # noqa: E402

with (ROOT / "freeze_config" / "notekeeper.toml").open("rb") as fh:
    config = tomllib.load(fh)

migrations = config["migrations"]
build_exe = merge_options(
    {key: list(value) for key, value in config["build_exe"].items()},
    cx_freeze_options(
        ROOT / migrations["source"],
        target=migrations["target"],
        stage_dir=ROOT / "build" / "frozen-alembic",
        bytecode_only=migrations["bytecode_only"],
    ),
)

setup(
    name="notekeeper",
    version=config["app"]["version"],
    description="frozen-alembic reference app",
    options={"build_exe": {**build_exe, "path": [str(ROOT / "src"), *sys.path]}},
    executables=[
        Executable(str(ROOT / config["app"]["script"]), target_name=config["app"]["target_name"])
    ],
)
