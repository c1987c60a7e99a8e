"""cx_Freeze: data files sit beside the executable (``include_files``).

On macOS, ``bdist_mac`` moves them into the bundle's ``Contents/Resources``.
``__file__`` of frozen modules points into ``lib/library.zip``, so the
executable's real folder is the anchor.
"""

from __future__ import annotations

import os
import sys

from ._base import Backend


class CxFreeze(Backend):
    """A process frozen by cx_Freeze (``sys.frozen`` set, no ``sys._MEIPASS``)."""

    name = "cx_Freeze"

    def active(self) -> bool:
        return bool(getattr(sys, "frozen", False)) and not hasattr(sys, "_MEIPASS")

    def places(self, folder: str) -> list[str]:
        exe_dir = os.path.dirname(os.path.realpath(sys.executable))
        places = [os.path.join(exe_dir, folder), os.path.join(exe_dir, "lib", folder)]
        contents = os.path.dirname(exe_dir)
        if os.path.basename(exe_dir) == "MacOS" and os.path.basename(contents) == "Contents":
            places.insert(0, os.path.join(contents, "Resources", folder))
        return places
