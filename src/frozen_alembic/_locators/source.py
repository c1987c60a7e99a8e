"""Plain source tree or installed package: relative to an anchor module.

The anchor is the application's package (``"notekeeper"``); the folder may be a
package resource inside it, or beside it in a source tree (``src/`` layout
included).  Without an anchor, the ``__main__`` script's folder is used.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from ._base import Backend


class Source(Backend):
    """Not frozen: the folder is found next to the application's code."""

    name = "source"

    def __init__(self, anchor: str | None) -> None:
        self.anchor = anchor

    def active(self) -> bool:
        return True

    def _base(self) -> Path | None:
        if self.anchor is None:
            main_file = getattr(sys.modules.get("__main__"), "__file__", None)
            return Path(main_file).resolve().parent if main_file else None
        try:
            spec = importlib.util.find_spec(self.anchor)
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.origin or not Path(spec.origin).is_file():
            return None
        return Path(spec.origin).resolve().parent

    def places(self, folder: str) -> list[Path]:
        base = self._base()
        if base is None:
            return []
        # the package itself, its parent (src/), and the project root above src/
        return [base / folder, base.parent / folder, base.parent.parent / folder]
