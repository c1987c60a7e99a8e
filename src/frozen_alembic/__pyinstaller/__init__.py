"""PyInstaller's entry point into frozen-alembic: where its hook lives.

Registered as ``[project.entry-points.pyinstaller40] hook-dirs`` in the package's
metadata, so a plain ``pyinstaller`` run finds ``hook-frozen_alembic.py`` and
collects what the library, Alembic and SQLAlchemy's SQLite dialect load by name.
The application adds only its own migrations (see :func:`frozen_alembic.build.pyinstaller_args`).
"""

from __future__ import annotations

import os


def get_hook_dirs() -> list[str]:
    """The folders holding frozen-alembic's PyInstaller hooks.

    :return: this package's folder.
    """
    return [os.path.dirname(__file__)]
