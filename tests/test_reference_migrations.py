"""Run the notekeeper reference migrations with plain Alembic on real SQLite files.

Every migration run here happens inside ONE SQLite transaction: the engine
turns off pysqlite's implicit transaction handling and emits ``BEGIN`` itself,
and ``PRAGMA foreign_keys`` is set on connect, before that transaction (SQLite
ignores the pragma inside a transaction). The connection handed to Alembic is
already in a transaction, so Alembic runs all steps inside it.
"""

from __future__ import annotations

import datetime
import io
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from frozen_alembic import Migrator
from notekeeper.models import HEAD, metadata

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

from .conftest import REFERENCE_SCRIPTS as MIGRATIONS
from .conftest import REVISIONS

CREATED = datetime.datetime(2024, 5, 1, 12, 30)


def make_config(
    connection: sa.Connection | None = None, output: io.StringIO | None = None
) -> Config:
    config = Config(output_buffer=output or io.StringIO())
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def make_engine(path: Path, *, foreign_keys: bool) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}")

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        value = "ON" if foreign_keys else "OFF"
        dbapi_connection.execute(f"PRAGMA foreign_keys={value}")

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def document(path: Path, *, foreign_keys: bool = False) -> Iterator[sa.Connection]:
    """A connection to the SQLite file at ``path`` inside one transaction."""
    engine = make_engine(path, foreign_keys=foreign_keys)
    try:
        with engine.connect() as connection, connection.begin():
            yield connection
    finally:
        engine.dispose()


def upgrade(path: Path, revision: str, *, foreign_keys: bool = False) -> None:
    with document(path, foreign_keys=foreign_keys) as connection:
        command.upgrade(make_config(connection), revision)


def downgrade(path: Path, revision: str) -> None:
    with document(path) as connection:
        command.downgrade(make_config(connection), revision)


def current(path: Path) -> str | None:
    with document(path) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def snapshot(connection: sa.Connection) -> dict[str, Any]:
    """Reflected schema (tables, constraints, indexes, views) for comparison."""
    inspector = sa.inspect(connection)
    tables: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        if name == "alembic_version":
            continue
        tables[name] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c["default"])
                for c in inspector.get_columns(name)
            ],
            "pk": inspector.get_pk_constraint(name),
            "fks": sorted(inspector.get_foreign_keys(name), key=lambda fk: str(fk["name"])),
            "indexes": sorted(inspector.get_indexes(name), key=lambda ix: str(ix["name"])),
            "uniques": sorted(
                inspector.get_unique_constraints(name), key=lambda uq: str(uq["name"])
            ),
        }
    return {"tables": tables, "views": sorted(inspector.get_view_names())}


def rows(connection: sa.Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in connection.exec_driver_sql(sql)]


def schema_of(path: Path) -> dict[str, Any]:
    with document(path) as connection:
        return snapshot(connection)


def _unquote(default: str | None) -> str | None:
    if default is None:
        return None
    default = default.strip()
    while default.startswith("(") and default.endswith(")"):
        default = default[1:-1].strip()
    if len(default) >= 2 and default[0] == default[-1] == "'":
        default = default[1:-1]
    return default


def same_default(
    _context: MigrationContext,
    _inspected_column: sa.Column[Any],
    _metadata_column: sa.Column[Any],
    inspected_default: str | None,
    _metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool:
    """compare_server_default hook: True when the defaults really differ.

    Alembic's own SQLite comparison only unquotes non-empty literals, so it
    reports a false difference for ``server_default=""`` (reflected as ``''``
    or, after a batch rebuild, ``('')``).
    """
    return _unquote(inspected_default) != _unquote(rendered_metadata_default)


def test_revision_chain_is_linear_and_matches_head_constant() -> None:
    script = ScriptDirectory.from_config(make_config())
    chain = [rev.revision for rev in script.walk_revisions("base", "heads")]
    assert tuple(reversed(chain)) == REVISIONS
    assert script.get_heads() == [HEAD]


def test_upgrade_empty_file_to_head_matches_models(tmp_path: Path) -> None:
    db = tmp_path / "empty.notes"
    upgrade(db, "head")
    assert current(db) == HEAD
    with document(db) as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
        strict = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "compare_server_default": same_default},
        )
        assert compare_metadata(strict, metadata) == []
        assert sa.inspect(connection).get_view_names() == ["note_summary"]
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []


def test_each_revision_upgrades_and_downgrades(tmp_path: Path) -> None:
    db = tmp_path / "walk.notes"
    schemas = [schema_of(db)]  # index 0 is base
    assert schemas[0] == {"tables": {}, "views": []}
    previous = "base"
    for revision in REVISIONS:
        upgrade(db, revision)
        assert current(db) == revision
        schemas.append(schema_of(db))
        downgrade(db, previous)
        assert schema_of(db) == schemas[-2], f"downgrade of {revision}"
        upgrade(db, revision)
        assert schema_of(db) == schemas[-1], f"re-upgrade of {revision}"
        previous = revision

    # ... and all the way back down, one step at a time.
    for index in range(len(REVISIONS), 0, -1):
        downgrade(db, "-1")
        assert schema_of(db) == schemas[index - 1]
    assert current(db) is None


def insert_sample_data(db: Path) -> None:
    upgrade(db, "0001_initial")
    with document(db) as connection:
        connection.execute(
            sa.text("INSERT INTO notebook (id, title, sort_key) VALUES (:id, :t, :k)"),
            [
                {"id": 1, "t": "Maths", "k": "3"},
                {"id": 2, "t": "Philosophy", "k": "10"},
                {"id": 3, "t": "Inbox", "k": None},
            ],
        )
        connection.execute(
            sa.text(
                "INSERT INTO note (id, notebook_id, author_name, body, created_at)"
                " VALUES (:id, :nb, :author, :body, :created)"
            ),
            [
                {"id": 1, "nb": 1, "author": "Ada Lovelace", "body": "engine", "created": CREATED},
                {"id": 2, "nb": 2, "author": "Plato", "body": "cave", "created": CREATED},
                {
                    "id": 3,
                    "nb": 2,
                    "author": "Jean Paul Sartre",
                    "body": "nausea",
                    "created": CREATED,
                },
            ],
        )
    upgrade(db, "0002_tags")
    with document(db) as connection:
        connection.exec_driver_sql("INSERT INTO tag (id, name) VALUES (1, 'classic')")
        connection.exec_driver_sql("INSERT INTO note_tag (note_id, tag_id) VALUES (2, 1), (3, 1)")


def test_sample_data_survives_upgrade_to_head(tmp_path: Path) -> None:
    db = tmp_path / "data.notes"
    insert_sample_data(db)
    upgrade(db, "head", foreign_keys=False)  # as frozen-alembic runs migrations
    assert current(db) == HEAD

    # Reopen as the app would, with foreign keys enforced.
    with document(db, foreign_keys=True) as conn:
        assert rows(conn, "SELECT id, title, sort_key, archived FROM notebook ORDER BY id") == [
            (1, "Maths", 3, 0),
            (2, "Philosophy", 10, 0),
            (3, "Inbox", None, 0),
        ]
        assert rows(conn, "SELECT typeof(sort_key) FROM notebook ORDER BY id") == [
            ("integer",),
            ("integer",),
            ("null",),
        ]
        assert rows(
            conn,
            "SELECT id, notebook_id, author_first, author_last, body, pinned FROM note ORDER BY id",
        ) == [
            (1, 1, "Ada", "Lovelace", "engine", 0),
            (2, 2, "Plato", "", "cave", 0),
            (3, 2, "Jean", "Paul Sartre", "nausea", 0),
        ]
        assert rows(conn, "SELECT note_id, tag_id FROM note_tag ORDER BY note_id") == [
            (2, 1),
            (3, 1),
        ]
        assert rows(conn, "SELECT id, name FROM tag") == [(1, "classic")]
        assert rows(
            conn, "SELECT notebook_title, note_id, pinned FROM note_summary ORDER BY note_id"
        ) == [("Maths", 1, 0), ("Philosophy", 2, 0), ("Philosophy", 3, 0)]
        assert rows(conn, "PRAGMA foreign_key_check") == []

        # The rebuilt tables still cascade: deleting a notebook removes its notes
        # and their tag links.
        conn.exec_driver_sql("DELETE FROM notebook WHERE id = 2")
        assert rows(conn, "SELECT id FROM note ORDER BY id") == [(1,)]
        assert rows(conn, "SELECT count(*) FROM note_tag") == [(0,)]


def test_sample_data_survives_downgrade_to_0002(tmp_path: Path) -> None:
    db = tmp_path / "roundtrip.notes"
    insert_sample_data(db)
    upgrade(db, "head")
    downgrade(db, "0002_tags")
    with document(db) as conn:
        assert rows(conn, "SELECT id, sort_key, typeof(sort_key) FROM notebook ORDER BY id") == [
            (1, "3", "text"),
            (2, "10", "text"),
            (3, None, "null"),
        ]
        assert rows(conn, "SELECT id, notebook_id, author_name, body FROM note ORDER BY id") == [
            (1, 1, "Ada Lovelace", "engine"),
            (2, 2, "Plato", "cave"),
            (3, 2, "Jean Paul Sartre", "nausea"),
        ]
        assert rows(conn, "SELECT count(*) FROM note_tag") == [(2,)]


def test_foreign_keys_on_during_parent_rebuild_deletes_children(tmp_path: Path) -> None:
    """DOCUMENTS A HAZARD: never run these migrations with foreign_keys=ON.

    0004 rebuilds notebook (move-and-copy). With ``PRAGMA foreign_keys=ON`` the
    ``DROP TABLE notebook`` in that rebuild acts as an implicit
    ``DELETE FROM notebook``, whose ON DELETE CASCADE empties note and, in
    turn, note_tag. The migration itself "succeeds"; the data is just gone.
    """
    db = tmp_path / "fk_on.notes"
    insert_sample_data(db)
    upgrade(db, "0003_pinned")
    upgrade(db, "0004_sort_key_integer", foreign_keys=True)
    assert current(db) == "0004_sort_key_integer"
    with document(db) as conn:
        counts = {
            table: rows(conn, f"SELECT count(*) FROM {table}")[0][0]
            for table in ("notebook", "note", "note_tag", "tag")
        }
    # The rebuilt parent keeps its rows, but every child note was cascaded away,
    # and so were their tag links.
    assert counts == {"notebook": 3, "note": 0, "note_tag": 0, "tag": 1}


def test_offline_sql_for_non_batch_revisions() -> None:
    output = io.StringIO()
    config = make_config(output=output)
    config.set_main_option("sqlalchemy.url", "sqlite://")
    command.upgrade(config, "0003_pinned", sql=True)
    sql = output.getvalue()
    assert "CREATE TABLE notebook" in sql
    assert "CREATE VIEW note_summary" in sql


ODD_SORT_KEYS = {
    # text before 1.3: (sort_key after, legacy_sort_key after)
    "3": (3, None),
    "-12": (-12, None),
    "0": (0, None),
    "abc": (None, "abc"),
    "": (None, ""),
    "3.7": (None, "3.7"),
    "007": (None, "007"),
    "1e3": (None, "1e3"),
    "12abc": (None, "12abc"),
    "+4": (None, "+4"),
    " 5": (None, " 5"),
    "99999999999999999999": (None, "99999999999999999999"),
}


def test_release_1_3_keeps_every_sort_key_that_is_not_a_plain_integer(
    migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0003_pinned")
    texts = [*ODD_SORT_KEYS, None]
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO notebook (id, title, sort_key) VALUES (?, ?, ?)",
            [(i, f"Notebook {i}", text) for i, text in enumerate(texts, start=1)],
        )
    conn.close()
    migrator.upgrade(path, "0004_sort_key_integer")
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT sort_key, legacy_sort_key FROM notebook ORDER BY id").fetchall()
    conn.close()
    assert rows == [*ODD_SORT_KEYS.values(), (None, None)]
    migrator.downgrade(path, "0003_pinned")
    conn = sqlite3.connect(path)
    back = [r[0] for r in conn.execute("SELECT sort_key FROM notebook ORDER BY id")]
    conn.close()
    assert back == texts  # the downgrade puts every text back exactly
