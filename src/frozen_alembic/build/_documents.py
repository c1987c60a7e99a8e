"""Old documents for ``frozen-alembic verify``: made, filled with rows, and compared.

``verify`` promises that every user's old document migrates in the shipped build.
To check it, it makes one document at every revision that has a child (the
revisions a released build may have left a user's file at), puts rows into every
table, runs the built app on a copy of each, and compares the result with a new
document.  This module does the database side of that:

* :func:`make_documents` upgrades one empty file step by step through the history
  and copies it at each revision (so the whole chain runs once, not once per
  document), then fills each copy: first with the application's own rows, if it
  supplies a data hook, then with :func:`fill_document`'s generic row in every table
  the hook left empty;
* :func:`fill_document` inserts a row into every empty table, honouring declared
  types (and lengths), ``NOT NULL``, defaults (a column with a default gets it),
  ``CHECK (column IN (...))`` lists and foreign keys (parents first; a cycle or a
  self-reference is closed once the parent row exists);
* :func:`normalised_schema` and :func:`schema_differences` compare two files'
  tables, columns, indexes, foreign keys, views and triggers, independent of how
  each ``CREATE`` statement was written.

Only the standard library's :mod:`sqlite3` is used on the documents themselves.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import traceback
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from .._migrator import Migrator

DataHook = Callable[[sqlite3.Connection, str], object]
"""``fn(conn, revision)``: insert the application's own rows into a document at ``revision``.

What it returns is ignored here (the migration kit's hooks return expectations, so one
function serves both)."""

VERSION_TABLE = "alembic_version"
TEXT_VALUE = "verify 1"
DATETIME_VALUE = "2024-05-01 12:30:00.000000"  # SQLAlchemy's SQLite storage format
_LENGTH = re.compile(r"\(\s*(\d+)")


@dataclass
class FillResult:
    """What :func:`fill_document` did.

    :ivar filled: the tables it put a row into.
    :ivar skipped: tables that already had rows (left as they were).
    :ivar problems: tables it could not fill, and why, one sentence each.
    """

    filled: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Document:
    """An old document made by :func:`make_documents`.

    :ivar revision: the revision it is at.
    :ivar path: the file (filled; copy it before running anything on it).
    :ivar rows: rows per table after filling.
    :ivar problems: what went wrong while making or filling it.
    """

    revision: str
    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


# --- the tables of a document -------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


@dataclass
class _Column:
    name: str
    type: str
    notnull: bool
    default: str | None
    pk: int


@dataclass
class _ForeignKey:
    parent: str
    columns: list[str]
    targets: list[str | None]


@dataclass
class _Table:
    name: str
    sql: str
    columns: list[_Column]
    foreign_keys: list[_ForeignKey]
    virtual: bool

    @property
    def rowid_alias(self) -> str | None:
        """The ``INTEGER PRIMARY KEY`` column, which SQLite numbers itself."""
        pks = [c for c in self.columns if c.pk]
        if self.virtual or len(pks) != 1 or pks[0].type.strip().upper() != "INTEGER":
            return None
        if re.search(r"\)\s*WITHOUT\s+ROWID\b", self.sql, re.IGNORECASE):
            return None
        return pks[0].name

    @property
    def primary_key(self) -> list[str]:
        return [c.name for c in sorted((c for c in self.columns if c.pk), key=lambda c: c.pk)]


def user_tables(conn: sqlite3.Connection, version_table: str = VERSION_TABLE) -> list[str]:
    """The application's tables: not SQLite's own, not the version table, not the
    shadow tables of a virtual table (which SQLite fills itself).

    :param version_table: the project's version table (``alembic_version`` unless its
        ``env.py`` names another; see :attr:`Migrator.version_table`).
    """
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"
    ).fetchall()
    virtual = [name for name, sql in rows if sql and sql.upper().startswith("CREATE VIRTUAL")]
    shadow: set[str] = set()
    try:
        shadow = {r[1] for r in conn.execute("PRAGMA table_list") if r[2] == "shadow"}
    except sqlite3.Error:  # SQLite < 3.37: guess by name
        shadow = {n for n, _ in rows if any(n.startswith(v + "_") for v in virtual)}
    return [
        name
        for name, _sql in rows
        if not name.startswith("sqlite_") and name != version_table and name not in shadow
    ]


def _table(conn: sqlite3.Connection, name: str) -> _Table:
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0] or ""
    columns = [
        _Column(row[1], row[2] or "", bool(row[3]), row[4], row[5])
        for row in conn.execute(f"PRAGMA table_xinfo({_literal(name)})")
        if row[6] == 0  # hidden and generated columns cannot be written
    ]
    groups: dict[int, _ForeignKey] = {}
    for row in conn.execute(f"PRAGMA foreign_key_list({_literal(name)})"):
        fk = groups.setdefault(row[0], _ForeignKey(row[2], [], []))
        fk.columns.append(row[3])
        fk.targets.append(row[4])
    return _Table(name, sql, columns, list(groups.values()), sql.upper().startswith("CREATE VIRT"))


def row_counts(conn: sqlite3.Connection, version_table: str = VERSION_TABLE) -> dict[str, int]:
    """Rows per application table (see :func:`user_tables`)."""
    return {
        name: conn.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]
        for name in user_tables(conn, version_table)
    }


# --- the generic filler ---------------------------------------------------------------


def _check_values(sql: str, column: str) -> object:
    """The first literal of a ``CHECK (column IN (...))`` on ``column``, if any."""
    name = re.escape(column)
    pattern = (
        rf'(?:"{name}"|`{name}`|\[{name}\]|\b{name}\b)\s+IN\s*\(\s*'
        r"('(?:[^']|'')*'|-?\d+(?:\.\d+)?)"
    )
    found = re.search(pattern, sql, re.IGNORECASE)
    if found is None:
        return None
    literal = found.group(1)
    if literal.startswith("'"):
        return literal[1:-1].replace("''", "'")
    return float(literal) if "." in literal else int(literal)


def value_for(column_type: str) -> object:
    """A value of a column's declared type, as SQLAlchemy would store it in SQLite.

    Text is cut to a declared length (``VARCHAR(5)``); dates and times are text in
    SQLAlchemy's format; ``BOOLEAN`` is 1; ``JSON`` a small object.
    """
    declared = column_type.upper()
    if "BOOL" in declared:
        return 1
    if "DATETIME" in declared or "TIMESTAMP" in declared:
        return DATETIME_VALUE
    if "DATE" in declared:
        return DATETIME_VALUE[:10]
    if "TIME" in declared:
        return DATETIME_VALUE[11:]
    if "JSON" in declared:
        return '{"verify": 1}'
    if "INT" in declared:
        return 1
    if any(word in declared for word in ("CHAR", "CLOB", "TEXT", "STRING")) or not declared:
        length = _LENGTH.search(declared)
        limit = int(length.group(1)) if length else 0
        return TEXT_VALUE[:limit] if limit else TEXT_VALUE
    if "BLOB" in declared or "BINARY" in declared:
        return b"verify"
    if any(word in declared for word in ("REAL", "FLOA", "DOUB")):
        return 1.5
    return 1  # NUMERIC, DECIMAL and anything else of numeric affinity


def _has_default(column: _Column) -> bool:
    return column.default is not None and column.default.strip().upper() != "NULL"


def _parent_row(
    conn: sqlite3.Connection, parent: _Table, targets: list[str | None]
) -> tuple[object, ...] | None:
    """Values of the referenced columns of one row of ``parent``, or ``None`` if empty."""
    names = [t for t in targets if t is not None]
    if len(names) != len(targets):  # REFERENCES parent: its primary key (or rowid)
        names = parent.primary_key or ["rowid"]
    if len(names) != len(targets):
        return None
    select = ", ".join(_quote(n) if n != "rowid" else "rowid" for n in names)
    row = conn.execute(f"SELECT {select} FROM {_quote(parent.name)} LIMIT 1").fetchone()
    return tuple(row) if row is not None else None


def _order(tables: dict[str, _Table]) -> list[str]:
    """Parents before children; a cycle is broken at the table with fewest open parents."""
    waiting = {
        name: {fk.parent for fk in t.foreign_keys if fk.parent in tables and fk.parent != name}
        for name, t in tables.items()
    }
    order: list[str] = []
    while waiting:
        ready = sorted(n for n, parents in waiting.items() if not parents)
        if not ready:
            ready = [min(sorted(waiting), key=lambda n: len(waiting[n]))]
        for name in ready:
            order.append(name)
            del waiting[name]
            for parents in waiting.values():
                parents.discard(name)
    return order


def _insert_row(
    conn: sqlite3.Connection, table: _Table, tables: dict[str, _Table]
) -> list[_ForeignKey]:
    """Insert the generic row into ``table``; return the foreign keys still to close."""
    values: dict[str, object] = {}
    alias = table.rowid_alias
    for column in table.columns:
        if column.name == alias or (_has_default(column) and not column.pk):
            continue  # SQLite numbers the rowid; a default is the application's own value
        allowed = _check_values(table.sql, column.name)
        values[column.name] = allowed if allowed is not None else value_for(column.type)
    open_keys: list[_ForeignKey] = []
    nullable = {c.name: not c.notnull for c in table.columns}
    for fk in table.foreign_keys:
        if fk.parent == table.name and alias is not None:
            values.setdefault(alias, 1)  # a self-reference points at the row itself
        parent = tables.get(fk.parent)
        row = _parent_row(conn, parent, fk.targets) if parent is not None else None
        if fk.parent == table.name and row is None:
            targets = [t or alias or "" for t in fk.targets]
            if all(t in values for t in targets):
                row = tuple(values[t] for t in targets)
        if row is None:
            open_keys.append(fk)
            for name in fk.columns:  # NULL where allowed, else closed after the parent is filled
                values[name] = None if nullable.get(name, True) else values.get(name, 1)
            continue
        for name, value in zip(fk.columns, row, strict=True):
            values[name] = value
    if values:
        names = ", ".join(_quote(n) for n in values)
        marks = ", ".join("?" for _ in values)
        sql = f"INSERT INTO {_quote(table.name)} ({names}) VALUES ({marks})"
        conn.execute(sql, tuple(values.values()))
    else:
        conn.execute(f"INSERT INTO {_quote(table.name)} DEFAULT VALUES")
    return open_keys


def _close(
    conn: sqlite3.Connection, table: _Table, tables: dict[str, _Table], fk: _ForeignKey
) -> bool:
    """Point the generic row's open foreign key at a parent row that now exists."""
    parent = tables.get(fk.parent)
    row = _parent_row(conn, parent, fk.targets) if parent is not None else None
    without_rowid = re.search(r"WITHOUT\s+ROWID", table.sql, re.IGNORECASE)
    if row is None or (table.rowid_alias is None and without_rowid):
        return False
    sets = ", ".join(f"{_quote(name)} = ?" for name in fk.columns)
    rowid = conn.execute(f"SELECT max(rowid) FROM {_quote(table.name)}").fetchone()[0]
    conn.execute(f"UPDATE {_quote(table.name)} SET {sets} WHERE rowid = ?", (*row, rowid))
    return True


def fill_connection(conn: sqlite3.Connection, version_table: str = VERSION_TABLE) -> FillResult:
    """Insert one row into every empty application table, in one transaction.

    The connection must be in autocommit mode (``isolation_level=None``) and outside a
    transaction: foreign keys are switched off while filling (so a cycle can be
    filled), then checked.  The version table is never filled.

    :param version_table: the project's version table (see :func:`user_tables`).

    :return: what was filled, skipped, and could not be filled.
    """
    result = FillResult()
    names = user_tables(conn, version_table)
    tables = {name: _table(conn, name) for name in names}
    keys_were_on = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("BEGIN")
    try:
        todo: list[tuple[_Table, _ForeignKey]] = []
        for name in _order(tables):
            table = tables[name]
            if conn.execute(f"SELECT 1 FROM {_quote(name)} LIMIT 1").fetchone():
                result.skipped.append(name)
                continue
            conn.execute("SAVEPOINT fill_row")
            try:
                todo += [(table, fk) for fk in _insert_row(conn, table, tables)]
            except sqlite3.Error as err:
                conn.execute("ROLLBACK TO fill_row")
                result.problems.append(f"table {name}: {err}")
            else:
                result.filled.append(name)
            finally:
                conn.execute("RELEASE fill_row")
        for table, fk in todo:
            if table.name in result.filled and not _close(conn, table, tables, fk):
                cols = ", ".join(fk.columns)
                result.problems.append(
                    f"table {table.name}: no row in {fk.parent} for its foreign key ({cols})"
                )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        if keys_were_on:
            conn.execute("PRAGMA foreign_keys = ON")
    return result


def fill_document(path: str | Path, version_table: str = VERSION_TABLE) -> FillResult:
    """Insert one row into every empty table of the SQLite file at ``path``.

    Honours declared types and lengths, ``NOT NULL``, defaults (a column that has
    one is left to it), ``CHECK (column IN (...))`` lists and foreign keys: parent
    rows are inserted first and referenced by their children.  Tables that already
    have rows (from an application's data hook) are left as they are.

    :param path: an SQLite file (at any revision).
    :param version_table: the project's version table, which is never filled.
    :return: a :class:`FillResult`; ``problems`` names every table left empty.
    """
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        return fill_connection(conn, version_table)


# --- making the documents -------------------------------------------------------------


def _empty_database(path: Path) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("VACUUM")  # writes the header: an empty database, not an empty file


def _run_hook(data: DataHook, path: Path, revision: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        data(conn, revision)
        conn.commit()
    except Exception as err:
        last = traceback.format_exception_only(err)[-1].strip()
        where = traceback.extract_tb(err.__traceback__)[-1]
        return [
            f"the --data hook failed on the document at {revision} "
            f"({where.filename}:{where.lineno}: {last}); fix the hook"
        ]
    finally:
        conn.close()
    return []


def _check_document(
    path: Path, revision: str, version_table: str
) -> tuple[dict[str, int], list[str]]:
    problems: list[str] = []
    with closing(sqlite3.connect(path)) as conn:
        rows = row_counts(conn, version_table)
        dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
    empty = sorted(name for name, count in rows.items() if not count)
    if empty:
        problems.append(
            f"the document at {revision} has empty tables the filler could not fill "
            f"({', '.join(empty)}): insert rows into them with --data MODULE:FUNCTION"
        )
    if dangling:
        tables = sorted({str(row[0]) for row in dangling})
        problems.append(
            f"the document at {revision} has rows with dangling foreign keys before the run "
            f"({', '.join(tables)}): fix the --data hook"
        )
    return rows, problems


def make_documents(
    migrator: Migrator, folder: Path, *, data: DataHook | None = None
) -> list[Document]:
    """One filled document at every revision that has a child, oldest first.

    An empty file is upgraded revision by revision (a merge brings in the other
    branches it needs), copied at each revision, and each copy is filled: the data
    hook first, then :func:`fill_document` for every table still empty.

    :param migrator: on the migrations the documents are made with.
    :param folder: where the documents go (it must exist).
    :param data: the application's data hook, ``fn(conn, revision)``.
    :return: the documents; each lists its own problems.
    :raises FrozenAlembicError: the migrations cannot be loaded or run.
    """
    history = migrator.history()
    table = migrator.version_table
    parents = {down for revision in history for down in revision.down_revisions}
    chain: dict[str, Path] = {}
    documents: list[Document] = []
    for number, revision in enumerate(history):
        if revision.id not in parents:
            continue  # a head: no build can have left a document there and not be current
        step = folder / f"chain-{number:04d}.sqlite"
        if revision.down_revisions:
            shutil.copyfile(chain[revision.down_revisions[0]], step)
        else:
            _empty_database(step)
        migrator.upgrade(step, revision.id, backup=False)
        chain[revision.id] = step
        document = Document(revision.id, folder / f"document-{number:04d}.sqlite")
        shutil.copyfile(step, document.path)
        if data is not None:
            document.problems += _run_hook(data, document.path, revision.id)
        filled = fill_document(document.path, table)
        document.problems += [f"at {revision.id}, {p}" for p in filled.problems]
        document.rows, problems = _check_document(document.path, revision.id, table)
        document.problems += problems
        documents.append(document)
    return documents


# --- comparing schemas ----------------------------------------------------------------


def _words(text: str | None) -> str | None:
    return None if text is None else " ".join(text.split())


def normalised_schema(path: str | Path) -> dict[str, object]:
    """The schema of an SQLite file, independent of how it was written.

    Tables (columns by name: type, ``NOT NULL``, default, primary-key position;
    foreign keys; indexes with their columns, uniqueness and partialness — an index
    SQLite made for a constraint is named by the constraint's kind), views (their
    columns) and triggers (their table).

    :return: a dict keyed ``"table NAME"``, ``"view NAME"``, ``"trigger NAME"``.
    """
    with closing(sqlite3.connect(path)) as conn:
        result: dict[str, object] = {}
        objects = conn.execute(
            "SELECT type, name, tbl_name FROM sqlite_master "
            "WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite%' "
            "ORDER BY type, name"
        ).fetchall()
        for kind, name, table in objects:
            pragma = _literal(name)
            if kind == "trigger":
                result[f"trigger {name}"] = {"table": table}
                continue
            if kind == "view":
                columns = [row[1] for row in conn.execute(f"PRAGMA table_info({pragma})")]
                result[f"view {name}"] = {"columns": columns}
                continue
            described: dict[str, object] = {}
            for row in conn.execute(f"PRAGMA table_xinfo({pragma})"):
                type_ = _words((row[2] or "").upper())
                described[f"column {row[1]}"] = (type_, bool(row[3]), _words(row[4]), row[5])
            for row in conn.execute(f"PRAGMA foreign_key_list({pragma})"):
                key = f"foreign key {row[3]} -> {row[2]}.{row[4]}"
                described[key] = {"on update": row[5], "on delete": row[6]}
            for _seq, index, unique, origin, partial in conn.execute(
                f"PRAGMA index_list({pragma})"
            ):
                key_columns = tuple(
                    (r[2], r[3], r[4])
                    for r in conn.execute(f"PRAGMA index_xinfo({_literal(index)})")
                    if r[5]
                )
                label = index if origin == "c" else f"{origin} {key_columns}"
                described[f"index {label}"] = (bool(unique), bool(partial), key_columns)
            result[f"table {name}"] = described
        return result


def schema_differences(actual: dict[str, object], expected: dict[str, object]) -> list[str]:
    """What differs between two :func:`normalised_schema` results, one phrase each."""
    out: list[str] = []
    for key in sorted(expected.keys() - actual.keys()):
        out.append(f"{key} missing")
    for key in sorted(actual.keys() - expected.keys()):
        out.append(f"{key} not in a new document")
    for key in sorted(actual.keys() & expected.keys()):
        mine, theirs = actual[key], expected[key]
        if mine == theirs:
            continue
        if isinstance(mine, dict) and isinstance(theirs, dict):
            for part in sorted(theirs.keys() - mine.keys()):
                out.append(f"{key}: {part} missing")
            for part in sorted(mine.keys() - theirs.keys()):
                out.append(f"{key}: {part} not in a new document")
            for part in sorted(mine.keys() & theirs.keys()):
                if mine[part] != theirs[part]:
                    out.append(f"{key}: {part} is {mine[part]}, in a new document {theirs[part]}")
        else:
            out.append(f"{key} is {mine}, in a new document {theirs}")
    return out
