"""What a notekeeper document holds, read with :mod:`sqlite3`; exports of a selection.

No Qt here: the window (:mod:`notekeeper.gui`) shows what these functions read, and
the console check (:mod:`notekeeper.app`) needs none of it.  Every query reads the
schema at head (:mod:`notekeeper.models`); a document from a newer release is read
with the same queries, as far as its schema still answers them.
"""

from __future__ import annotations

from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Sequence

    from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class Notebook:
    """A notebook as the list shows it."""

    id: int
    title: str
    notes: int


@dataclass(frozen=True)
class Note:
    """A note as the table shows it (tags joined by ``", "``)."""

    id: int
    notebook: str
    body: str
    author: str
    created_at: str
    pinned: bool
    tags: str


def notebooks(conn: sqlite3.Connection) -> list[Notebook]:
    """Every notebook, in the user's order (``sort_key``, then title)."""
    rows = conn.execute(
        "SELECT notebook.id, notebook.title, count(note.id) FROM notebook "
        "LEFT JOIN note ON note.notebook_id = notebook.id GROUP BY notebook.id "
        "ORDER BY notebook.sort_key IS NULL, notebook.sort_key, notebook.title"
    ).fetchall()
    return [Notebook(id, title, count) for id, title, count in rows]


def notes(conn: sqlite3.Connection, notebook_ids: Sequence[int]) -> list[Note]:
    """The notes of the given notebooks, pinned first, then newest first."""
    if not notebook_ids:
        return []
    rows = conn.execute(
        "SELECT note.id, notebook.title, note.body, "
        "trim(note.author_first || ' ' || note.author_last), note.created_at, note.pinned, "
        "(SELECT group_concat(name, ', ') FROM (SELECT tag.name FROM note_tag "
        " JOIN tag ON tag.id = note_tag.tag_id WHERE note_tag.note_id = note.id "
        " ORDER BY tag.name)) "
        "FROM note JOIN notebook ON notebook.id = note.notebook_id "
        f"WHERE note.notebook_id IN ({_marks(notebook_ids)}) "
        "ORDER BY note.pinned DESC, note.created_at DESC, note.id",
        tuple(notebook_ids),
    ).fetchall()
    return [
        Note(id, book, body, author, str(created), bool(pinned), tags or "")
        for id, book, body, author, created, pinned, tags in rows
    ]


def counts(conn: sqlite3.Connection) -> tuple[int, int]:
    """How many notebooks and notes the document holds."""
    books = conn.execute("SELECT count(*) FROM notebook").fetchone()[0]
    total = conn.execute("SELECT count(*) FROM note").fetchone()[0]
    return int(books), int(total)


# Parents first; each query selects the rows that belong to the chosen notebooks.
_SELECTION = {
    "notebook": "SELECT * FROM notebook WHERE id IN ({ids})",
    "note": "SELECT * FROM note WHERE notebook_id IN ({ids})",
    "tag": (
        "SELECT * FROM tag WHERE id IN (SELECT note_tag.tag_id FROM note_tag "
        "JOIN note ON note.id = note_tag.note_id WHERE note.notebook_id IN ({ids}))"
    ),
    "note_tag": (
        "SELECT note_tag.* FROM note_tag JOIN note ON note.id = note_tag.note_id "
        "WHERE note.notebook_id IN ({ids})"
    ),
    "attachment": (
        "SELECT attachment.* FROM attachment JOIN note ON note.id = attachment.note_id "
        "WHERE note.notebook_id IN ({ids})"
    ),
}


@dataclass(frozen=True)
class Selection:
    """The rows of some notebooks — their notes, the notes' tags and attachments.

    Read from the open document (on its thread), written into a new one by
    :meth:`insert_into`, which is what :meth:`frozen_alembic.Migrator.create` is
    given as ``populate``.
    """

    tables: tuple[tuple[str, tuple[str, ...], list[tuple[object, ...]]], ...]

    @classmethod
    def read(cls, conn: sqlite3.Connection, notebook_ids: Sequence[int]) -> Selection:
        """The rows of ``notebook_ids`` in ``conn`` (a document at head)."""
        tables = []
        for table, query in _SELECTION.items():
            cursor = conn.execute(query.format(ids=_marks(notebook_ids)), tuple(notebook_ids))
            columns = tuple(d[0] for d in cursor.description)
            tables.append((table, columns, cursor.fetchall()))
        return cls(tuple(tables))

    def rows(self, table: str) -> int:
        """How many rows of ``table`` the selection holds."""
        return sum(len(rows) for name, _, rows in self.tables if name == table)

    def insert_into(self, conn: Connection) -> None:
        """Insert every row into ``conn``, a new document at head (in its transaction)."""
        for table, columns, rows in self.tables:
            if rows:
                names = ", ".join(f'"{c}"' for c in columns)
                sql = f'INSERT INTO "{table}" ({names}) VALUES ({_marks(columns)})'
                conn.exec_driver_sql(sql, rows)


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))
