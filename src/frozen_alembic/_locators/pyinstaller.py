"""PyInstaller: data files are under ``sys._MEIPASS``.

That is ``_internal/`` beside the executable for a one-folder build, and a
temporary extraction folder for a one-file build; ``sys.executable``'s folder
is only a fallback (data placed there by hand).
"""

from __future__ import annotations

import os
import sys

from ._base import Backend


class PyInstaller(Backend):
    """A process frozen by PyInstaller (``sys.frozen`` and ``sys._MEIPASS`` set)."""

    name = "PyInstaller"

    def active(self) -> bool:
        return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")

    def places(self, folder: str) -> list[str]:
        exe_dir = os.path.dirname(os.path.realpath(sys.executable))
        return [os.path.join(getattr(sys, "_MEIPASS", ""), folder), os.path.join(exe_dir, folder)]
