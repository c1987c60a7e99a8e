"""Nuitka: no ``sys.frozen``; compiled modules carry a ``__compiled__`` global.

Folders bundled with ``--include-raw-dir`` (``--include-data-dir`` silently drops
``.py`` files and ``__pycache__``) sit in ``__compiled__.python_runtime_dir``: the
``.dist`` folder of a ``--standalone`` build, or the temporary folder a
``--onefile`` build unpacks into.  That is also ``sys.executable``'s folder.
(``__compiled__.containing_dir`` is the folder *around* the program, not the
bundle, so it is not used.)
"""

from __future__ import annotations

import os
import sys

from ._base import Backend


def _compiled() -> object | None:
    # Nuitka defines ``__compiled__`` in every module it compiles, this one included.
    return globals().get("__compiled__")


class Nuitka(Backend):
    """A process compiled by Nuitka (``--standalone`` or ``--onefile``)."""

    name = "Nuitka"

    def active(self) -> bool:
        return _compiled() is not None

    def places(self, folder: str) -> list[str]:
        runtime_dir = getattr(_compiled(), "python_runtime_dir", None)
        places = [os.path.join(runtime_dir, folder)] if runtime_dir else []
        places.append(os.path.join(os.path.dirname(sys.executable), folder))
        return places
