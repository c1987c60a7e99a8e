"""PyInstaller hook for frozen_alembic: what it, Alembic and SQLite's dialect load by name.

frozen_alembic imports its public names on first use (``frozen_alembic.__getattr__``),
and Alembic runs revision files by path: their ``from alembic import op`` and the
implementations behind ``op`` are invisible to PyInstaller's analysis.  The build
side (``frozen_alembic.build``, this hook's package) stays out of the app.

``excludedimports`` filters only what frozen_alembic itself imports (PyInstaller
applies a hook's excludes to its own package's imports).  multiprocessing and
setuptools, which SQLAlchemy and Alembic merely reach but whose run-time hooks run
at every start, can only be left out by the application: ``--exclude-module``.
"""

from __future__ import annotations

from PyInstaller.utils.hooks import collect_submodules

from frozen_alembic.build._freezers import LIBRARY_PACKAGES, NOT_AT_RUN_TIME
from frozen_alembic.build._stage import DYNAMIC_IMPORTS, runtime_modules

hiddenimports = sorted(
    {
        *runtime_modules(),
        *DYNAMIC_IMPORTS,
        *(module for package in LIBRARY_PACKAGES for module in collect_submodules(package)),
    }
)
excludedimports = list(NOT_AT_RUN_TIME)
