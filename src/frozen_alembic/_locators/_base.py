"""The small interface every locator backend implements."""

from __future__ import annotations

import abc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


class Backend(abc.ABC):
    """One way the application can have been started (frozen by X, or from source)."""

    #: A name for messages, e.g. ``"cx_Freeze"``.
    name: str = ""

    @abc.abstractmethod
    def active(self) -> bool:
        """Whether the running process was started this way."""

    @abc.abstractmethod
    def places(self, folder: str) -> list[Path]:
        """Absolute candidate paths of the bundled ``folder``, best first."""
