"""Build-time helpers: bundle the migrations into a frozen application, and check it.

Used from ``setup.py`` (cx_Freeze), a PyInstaller ``.spec`` or a Nuitka command
line.  Never imported by the running application, and imports no freezer itself.
"""

from __future__ import annotations

from ._adopt import AdoptReport, Finding, adopt
from ._freezers import (
    cx_freeze_options,
    merge_options,
    nuitka_args,
    pyinstaller_args,
    pyinstaller_options,
)
from ._imports import ImportScan, ImportSite, scan_imports
from ._releases import Release, read_releases, record_release
from ._stage import BuildError, Staged, default_stage_dir, stage
from ._verify import VerifyReport, verify_build

__all__ = [
    "AdoptReport",
    "BuildError",
    "Finding",
    "ImportScan",
    "ImportSite",
    "Release",
    "Staged",
    "VerifyReport",
    "adopt",
    "cx_freeze_options",
    "default_stage_dir",
    "merge_options",
    "nuitka_args",
    "pyinstaller_args",
    "pyinstaller_options",
    "read_releases",
    "record_release",
    "scan_imports",
    "stage",
    "verify_build",
]
