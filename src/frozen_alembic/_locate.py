"""Find the application's migrations folder from how the process was started."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ._exceptions import ScriptsNotFound
from ._locators.cx_freeze import CxFreeze
from ._locators.nuitka import Nuitka
from ._locators.pyinstaller import PyInstaller
from ._locators.source import Source

if TYPE_CHECKING:
    from ._locators._base import Backend

ENV_VAR = "FROZEN_ALEMBIC_SCRIPTS"

_FROZEN_BACKENDS: tuple[Backend, ...] = (PyInstaller(), Nuitka(), CxFreeze())


def frozen_backend() -> Backend | None:
    """The freezer that built the running process, or ``None`` when run from source."""
    return next((b for b in _FROZEN_BACKENDS if b.active()), None)


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
    searched: list[Path] = []
    override = os.fspath(path) if path is not None else os.environ.get(ENV_VAR)
    if override:
        candidate = Path(override).absolute()
        if (candidate / "versions").is_dir():
            return candidate
        source = "the path given" if path is not None else f"${ENV_VAR}"
        msg = f"{source} points to {candidate}, which has no versions/ folder."
        raise ScriptsNotFound(msg, (candidate,))
    backends: list[Backend] = []
    frozen = frozen_backend()
    if frozen is not None:
        backends.append(frozen)
    backends.append(Source(anchor))
    for backend in backends:
        for candidate in backend.places(folder):
            searched.append(candidate)
            if (candidate / "versions").is_dir():
                return candidate
    how = f"a {frozen.name} build" if frozen is not None else "source (not frozen)"
    places = "\n  ".join(str(p) for p in searched) or "(nowhere: give an anchor package)"
    msg = (
        f"The migrations folder {folder!r} was not found. Running as {how}; looked in:\n"
        f"  {places}\nCheck that the build bundled it (frozen_alembic.build), or set "
        f"${ENV_VAR} to its path."
    )
    raise ScriptsNotFound(msg, tuple(searched))
