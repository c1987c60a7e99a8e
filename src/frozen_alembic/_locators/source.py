"""Plain source tree or installed package: relative to an anchor module.

The anchor is the application's package (``"notekeeper"``); the folder may be a
package resource inside it, or beside it in a source tree (``src/`` layout
included).  Without an anchor, the ``__main__`` script's folder is used.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from ._base import Backend


class Source(Backend):
    """Not frozen: the folder is found next to the application's code."""

    name = "source"

    def __init__(self, anchor: str | None) -> None:
        self.anchor = anchor

    def active(self) -> bool:
        return True

    def _base(self) -> str | None:
        if self.anchor is None:
            main_file = getattr(sys.modules.get("__main__"), "__file__", None)
            return os.path.dirname(os.path.realpath(main_file)) if main_file else None
        try:
            spec = importlib.util.find_spec(self.anchor)
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.origin or not os.path.isfile(spec.origin):
            return None
        return os.path.dirname(os.path.realpath(spec.origin))

    def places(self, folder: str) -> list[str]:
        base = self._base()
        if base is None:
            return []
        # the package itself, its parent (src/), and the project root above src/
        parent = os.path.dirname(base)
        return [os.path.join(d, folder) for d in (base, parent, os.path.dirname(parent))]
