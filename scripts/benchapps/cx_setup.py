"""Freeze one bench app with cx_Freeze, the way the project's setup.py freezes notekeeper.

``python scripts/benchapps/cx_setup.py build_exe --build-exe OUT``, with the app in
environment variables (``scripts/benchfreeze.py`` sets them):

- ``BENCH_SCRIPT``: the app's script; ``BENCH_NAME``: the executable's name;
- ``BENCH_STAGE``: set for an app that uses frozen-alembic: the reference migrations
  are staged there and :func:`frozen_alembic.build.cx_freeze_options` are merged in;
- ``BENCH_NO_EXCLUDES``: set to leave out the app's own excludes.

Both apps get the ``build_exe`` options of ``freeze_config/notekeeper.toml`` (its
excludes), except ``packages``, which names notekeeper's own package.
"""

from __future__ import annotations

import os
from pathlib import Path

import tomllib
from cx_Freeze import Executable, setup

from frozen_alembic.build import cx_freeze_options, merge_options

ROOT = Path(__file__).resolve().parent.parent.parent

with (ROOT / "freeze_config" / "notekeeper.toml").open("rb") as fh:
    config = tomllib.load(fh)

app_options = {key: list(value) for key, value in config["build_exe"].items() if key != "packages"}
if os.environ.get("BENCH_NO_EXCLUDES"):
    app_options.pop("excludes", None)
option_sets = [app_options]
stage_dir = os.environ.get("BENCH_STAGE")
if stage_dir:
    migrations = config["migrations"]
    option_sets.append(
        cx_freeze_options(
            ROOT / migrations["source"],
            target=migrations["target"],
            stage_dir=stage_dir,
            bytecode_only=migrations["bytecode_only"],
        )
    )

setup(
    name=os.environ["BENCH_NAME"],
    version="1.0",
    options={"build_exe": merge_options(*option_sets)},
    executables=[Executable(os.environ["BENCH_SCRIPT"], target_name=os.environ["BENCH_NAME"])],
)
