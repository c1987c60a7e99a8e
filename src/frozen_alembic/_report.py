"""The small result objects of the changing verbs, kept light for the start-up path.

They are plain classes rather than dataclasses: :mod:`dataclasses` alone costs
more to import than the whole "already current" check.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


class Record:
    """Base of the small value classes: ``repr`` and equality from ``__slots__``."""

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Report:
    """What a changing verb did.

    :ivar before: the revision(s) the database was at.
    :ivar after: the revision(s) it is at now.
    :ivar applied: the revisions whose scripts ran, in order (empty for a stamp).
    :ivar backup: the backup taken before the change, if one was taken.
    """

    __slots__ = ("_backup", "_path", "after", "applied", "before")

    def __init__(
        self,
        before: tuple[str, ...],
        after: tuple[str, ...],
        applied: tuple[str, ...],
        path: str | os.PathLike[str] | None,
        backup: str | os.PathLike[str] | None = None,
    ) -> None:
        self.before = before
        self.after = after
        self.applied = applied
        self._path = os.fspath(path) if path is not None else None
        self._backup = os.fspath(backup) if backup is not None else None

    @property
    def path(self) -> Path | None:
        """The database file, or ``None`` for an in-memory database."""
        return _as_path(self._path)

    @property
    def backup(self) -> Path | None:
        """The backup taken before the change, or ``None``."""
        return _as_path(self._backup)

    @property
    def changed(self) -> bool:
        """Whether the database was changed at all."""
        return self.before != self.after or bool(self.applied)

    def _key(self) -> tuple[object, ...]:
        return (self.before, self.after, self.applied, self._path, self._backup)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Report) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Report(before={self.before!r}, after={self.after!r}, applied={self.applied!r}, "
            f"path={self._path!r}, backup={self._backup!r})"
        )


def _as_path(name: str | None) -> Path | None:
    if name is None:
        return None
    from pathlib import Path

    return Path(name)
