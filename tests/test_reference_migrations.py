"""Run the notekeeper reference migrations with plain Alembic on real SQLite files.

What the migrations do to schemas and rows — every revision and release upgraded to
the head with data, every upgrade undone by its downgrade, the head against the
models — is checked by frozen-alembic's own migration kit (``test_migration_kit.py``).
This module keeps what is about Alembic itself: the chain, ``env.py``, offline SQL, and
the hazard of running a rebuild with foreign keys on.

Every migration run here happens inside ONE SQLite transaction: the engine
turns off pysqlite's implicit transaction handling and emits ``BEGIN`` itself,
and ``PRAGMA foreign_keys`` is set on connect, before that transaction (SQLite
ignores the pragma inside a transaction). The connection handed to Alembic is
already in a transaction, so Alembic runs all steps inside it.
"""

from __future__ import annotations

import datetime
import io
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from notekeeper.models import HEAD

if TYPE_CHECKING:
    from collections.abc import Iterator

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


def current(path: Path) -> str | None:
    with document(path) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def rows(connection: sa.Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in connection.exec_driver_sql(sql)]


def test_revision_chain_is_linear_and_matches_head_constant() -> None:
    script = ScriptDirectory.from_config(make_config())
    chain = [rev.revision for rev in script.walk_revisions("base", "heads")]
    assert tuple(reversed(chain)) == REVISIONS
    assert script.get_heads() == [HEAD]


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


def test_rebuilt_tables_still_cascade(tmp_path: Path) -> None:
    """0004 and 0005 rebuild notebook and note; their ON DELETE CASCADE survives.

    (What becomes of every row on the way is the migration kit's job:
    ``test_migration_kit.py``.)
    """
    db = tmp_path / "data.notes"
    insert_sample_data(db)
    upgrade(db, "head", foreign_keys=False)  # as frozen-alembic runs migrations
    assert current(db) == HEAD

    # Reopen as the app would, with foreign keys enforced.
    with document(db, foreign_keys=True) as conn:
        assert rows(conn, "PRAGMA foreign_key_check") == []
        # Deleting a notebook removes its notes and their tag links.
        conn.exec_driver_sql("DELETE FROM notebook WHERE id = 2")
        assert rows(conn, "SELECT id FROM note ORDER BY id") == [(1,)]
        assert rows(conn, "SELECT count(*) FROM note_tag") == [(0,)]


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
