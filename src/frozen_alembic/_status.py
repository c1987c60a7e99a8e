"""What a database file looks like to this application's migrations."""

from __future__ import annotations

import enum

from ._report import Record

TYPE_CHECKING = False

if TYPE_CHECKING:
    from pathlib import Path


class State(enum.Enum):
    """Where a database stands relative to the application's migration scripts."""

    CURRENT = "current"
    """At the newest revision(s): nothing to do."""
    BEHIND = "behind"
    """At an older revision: :meth:`Migrator.upgrade` applies ``Status.pending``."""
    TOO_NEW = "too new"
    """At a revision this application does not know (a newer release wrote it)."""
    UNVERSIONED = "unversioned"
    """Has tables but no Alembic version: adopt it with :meth:`Migrator.stamp`."""
    EMPTY = "empty"
    """Has no tables at all: :meth:`Migrator.upgrade` builds the whole schema."""


class Status(Record):
    """The answer of :meth:`Migrator.status`.

    :ivar state: one of :class:`State`.
    :ivar current: the revision(s) recorded in the database (empty when none).
    :ivar heads: the newest revision(s) of the application's scripts.
    :ivar pending: revisions an upgrade to ``heads`` would apply, oldest first.
    :ivar path: the database file, or ``None`` for an engine or connection.
    """

    __slots__ = ("state", "current", "heads", "pending", "path")  # noqa: RUF023  (repr order)

    def __init__(
        self,
        state: State,
        current: tuple[str, ...],
        heads: tuple[str, ...],
        pending: tuple[str, ...],
        path: Path | None = None,
    ) -> None:
        self.state = state
        self.current = current
        self.heads = heads
        self.pending = pending
        self.path = path

    @property
    def is_current(self) -> bool:
        """``True`` when the database needs no upgrade."""
        return self.state is State.CURRENT

    @property
    def needs_upgrade(self) -> bool:
        """``True`` when :meth:`Migrator.upgrade` would change the database."""
        return self.state in (State.BEHIND, State.EMPTY)

    @property
    def is_too_new(self) -> bool:
        """``True`` when a newer release wrote the file; open it read-only, if at all."""
        return self.state is State.TOO_NEW


def classify(
    current: tuple[str, ...] | None,
    tables: tuple[str, ...],
    graph: dict[str, tuple[str, ...]],
    heads: tuple[str, ...],
    path: Path | None = None,
) -> Status:
    """Build a :class:`Status` from what was read in a database.

    :param current: revisions in the version table, ``None`` when it is absent.
    :param tables: names of the other (non-version, non-internal) tables.
    :param graph: every known revision mapped to its down revisions.
    :param heads: the newest revisions of the scripts.
    :param path: the database file, for the record.
    """
    if not current:
        if tables:
            return Status(State.UNVERSIONED, (), heads, (), path)
        return Status(State.EMPTY, (), heads, pending_revisions(graph, (), heads), path)
    if any(rev not in graph for rev in current):
        return Status(State.TOO_NEW, current, heads, (), path)
    pending = pending_revisions(graph, current, heads)
    state = State.BEHIND if pending else State.CURRENT
    return Status(state, current, heads, pending, path)


def ancestors(graph: dict[str, tuple[str, ...]], revisions: tuple[str, ...]) -> set[str]:
    """Every revision reachable from ``revisions`` through down revisions, inclusive."""
    seen: set[str] = set()
    stack = list(revisions)
    while stack:
        rev = stack.pop()
        if rev not in seen:
            seen.add(rev)
            stack.extend(graph.get(rev, ()))
    return seen


def pending_revisions(
    graph: dict[str, tuple[str, ...]], current: tuple[str, ...], heads: tuple[str, ...]
) -> tuple[str, ...]:
    """Revisions between ``current`` and ``heads``, in an order they can be applied."""
    todo = ancestors(graph, heads) - ancestors(graph, current)
    ordered: list[str] = []
    placed: set[str] = set()

    def place(rev: str) -> None:
        # Iterative depth-first placement: parents before children.
        stack: list[tuple[str, bool]] = [(rev, False)]
        while stack:
            node, expanded = stack.pop()
            if node in placed or node not in todo:
                continue
            if expanded:
                placed.add(node)
                ordered.append(node)
                continue
            stack.append((node, True))
            stack.extend((down, False) for down in reversed(graph.get(node, ())))

    for head in heads:
        place(head)
    return tuple(ordered)


class PlannedRevision(Record):
    """A revision an upgrade would apply, as :meth:`Migrator.plan` lists it.

    :ivar id: the revision identifier.
    :ivar message: the first line of its message (what the release changed).
    """

    __slots__ = ("id", "message")

    def __init__(self, id: str, message: str) -> None:
        self.id = id
        self.message = message


class Plan(Record):
    """What :meth:`Migrator.upgrade` would do to a database now.

    :ivar status: the database's :class:`Status`.
    :ivar pending: the revisions it would apply, oldest first.
    :ivar backup: where the backup would be written if the upgrade started now
        (``None``: no backup, because nothing is pending or the database is not a
        file).  Its folder is certain; the time in its name is the moment the upgrade
        really starts.
    """

    __slots__ = ("status", "pending", "backup")  # noqa: RUF023  (repr order)

    def __init__(
        self, status: Status, pending: tuple[PlannedRevision, ...], backup: Path | None
    ) -> None:
        self.status = status
        self.pending = pending
        self.backup = backup

    @property
    def needs_upgrade(self) -> bool:
        """Whether :meth:`Migrator.upgrade` would change the database."""
        return bool(self.pending)
