"""The small interface every locator backend implements.

Paths are plain strings (``os.path``) here: the locator runs on the start-up path,
where importing :mod:`pathlib` would cost more than the whole "already current"
check.
"""

from __future__ import annotations

import abc


class Backend(abc.ABC):
    """One way the application can have been started (frozen by X, or from source)."""

    #: A name for messages, e.g. ``"cx_Freeze"``.
    name: str = ""

    @abc.abstractmethod
    def active(self) -> bool:
        """Whether the running process was started this way."""

    @abc.abstractmethod
    def places(self, folder: str) -> list[str]:
        """Absolute candidate paths of the bundled ``folder``, best first."""
