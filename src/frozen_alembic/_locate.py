"""Find the application's migrations folder from how the process was started.

Plain strings and :mod:`os.path` only: this runs on the start-up path.
"""

from __future__ import annotations

import os
import stat

from ._exceptions import ScriptsError, ScriptsNotFound
from ._locators.cx_freeze import CxFreeze
from ._locators.nuitka import Nuitka
from ._locators.pyinstaller import PyInstaller

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from ._locators._base import Backend

ENV_VAR = "FROZEN_ALEMBIC_SCRIPTS"

_FROZEN_BACKENDS = (PyInstaller(), Nuitka(), CxFreeze())


def frozen_backend() -> Backend | None:
    """The freezer that built the running process, or ``None`` when run from source."""
    return next((b for b in _FROZEN_BACKENDS if b.active()), None)


def _is_scripts(folder: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(os.path.join(folder, "versions")).st_mode)
    except PermissionError as err:
        msg = (
            f"The migrations folder {folder} cannot be read: permission was denied. "
            "The application must be able to read its migrations: check the folder's "
            "permissions (or reinstall the application)."
        )
        raise ScriptsError(msg) from err
    except OSError:
        return False


def find(folder: str, anchor: str | None, path: str | os.PathLike[str] | None) -> str:
    """:func:`locate_migrations` as a string, without importing :mod:`pathlib`."""
    override = os.fspath(path) if path is not None else os.environ.get(ENV_VAR)
    if override:
        candidate = os.path.abspath(override)
        if _is_scripts(candidate):
            return candidate
        source = "the path given" if path is not None else f"${ENV_VAR}"
        msg = f"{source} points to {candidate}, which has no versions/ folder."
        raise ScriptsNotFound(msg, _paths(candidate))
    frozen = frozen_backend()
    searched = frozen.places(folder) if frozen is not None else []
    for candidate in searched:
        if _is_scripts(candidate):
            return candidate
    from ._locators.source import Source

    for candidate in Source(anchor).places(folder):
        searched.append(candidate)
        if _is_scripts(candidate):
            return candidate
    how = f"a {frozen.name} build" if frozen is not None else "source (not frozen)"
    places = "\n  ".join(searched) or "(nowhere: give an anchor package)"
    msg = (
        f"The migrations folder {folder!r} was not found. Running as {how}; looked in:\n"
        f"  {places}\nCheck that the build bundled it (frozen_alembic.build), or set "
        f"${ENV_VAR} to its path."
    )
    raise ScriptsNotFound(msg, _paths(*searched))


def _paths(*names: str) -> tuple[Path, ...]:
    from pathlib import Path

    return tuple(Path(name) for name in names)


def locate_migrations(
    folder: str = "migrations",
    *,
    anchor: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Path:
    """Find the Alembic script directory that was bundled with the application.

    The search order is fixed: an explicit ``path``; the ``FROZEN_ALEMBIC_SCRIPTS``
    environment variable (for support engineers); the folder the running freezer
    (PyInstaller, Nuitka, cx_Freeze) bundled; then ``folder`` inside or beside the
    ``anchor`` package (an installed package or a source tree).  The current
    working directory is never looked at, and nothing is written anywhere.

    :param folder: the bundled folder's name (the build helper's ``target``).
    :param anchor: the application's top-level package, e.g. ``"notekeeper"``.
    :param path: an explicit script directory, which wins over everything.
    :return: the absolute path of a folder that contains ``versions/``.
    :raises ScriptsNotFound: nothing found; ``searched`` lists every place tried.
    """
    from pathlib import Path

    return Path(find(folder, anchor, path))
