"""cx_Freeze: data files sit beside the executable (``include_files``).

On macOS, ``bdist_mac`` moves them into the bundle's ``Contents/Resources``.
``__file__`` of frozen modules points into ``lib/library.zip``, so the
executable's real folder is the anchor.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ._base import Backend


class CxFreeze(Backend):
    """A process frozen by cx_Freeze (``sys.frozen`` set, no ``sys._MEIPASS``)."""

    name = "cx_Freeze"

    def active(self) -> bool:
        return bool(getattr(sys, "frozen", False)) and not hasattr(sys, "_MEIPASS")

    def places(self, folder: str) -> list[Path]:
        exe_dir = Path(sys.executable).resolve().parent
        places = [exe_dir / folder, exe_dir / "lib" / folder]
        if exe_dir.name == "MacOS" and exe_dir.parent.name == "Contents":
            places.insert(0, exe_dir.parent / "Resources" / folder)
        return places
