"""The reference app's migrations, checked by frozen-alembic's own migration kit.

This module is what an application's test module looks like: a ``frozen_alembic_config``
fixture (here rather than in ``conftest.py``, to keep it beside its data hook) and the
ready-made tests, imported.  The data hook puts realistic rows into a document at any
revision — pinned notes, tags with spaces and ampersands, authors with several words or
one, sort keys that are not plain integers, an attachment — and says what must become of
them at the head.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from frozen_alembic import Migrator
from frozen_alembic.testing import Expectation, KitConfig, same_server_default
from frozen_alembic.testing.tests import *  # noqa: F403
from notekeeper.models import metadata

from .conftest import REFERENCE_SCRIPTS

CREATED = "2024-05-01 12:30:00.000000"  # SQLAlchemy's DateTime format in SQLite
# A notebook's sort key as text before release 1.3 -> (sort_key, legacy_sort_key) after:
# plain integers become integers, anything else keeps its text in legacy_sort_key.
SORT_KEYS: dict[str | None, tuple[int | None, str | None]] = {
    "3": (3, None),
    "-12": (-12, None),
    "0": (0, None),
    None: (None, None),
    "007": (None, "007"),
    "abc": (None, "abc"),
    "": (None, ""),
    "3.7": (None, "3.7"),
    "1e3": (None, "1e3"),
    "12abc": (None, "12abc"),
    "+4": (None, "+4"),
    " 5": (None, " 5"),
    "99999999999999999999": (None, "99999999999999999999"),
}
TITLES = ["Maths", "Philosophy", "Inbox", "Ünïcode ✓ notes"]
NOTEBOOKS = [
    (i, TITLES[i - 1] if i <= len(TITLES) else f"Notebook {i}", text, after)
    for i, (text, after) in enumerate(SORT_KEYS.items(), start=1)
]
# id, notebook, author (one field before release 1.4), body, pinned (from release 1.2)
NOTES = [
    (1, 1, "Ada King Lovelace", "the engine", 1),
    (2, 2, "Plato", "the cave", 0),
    (3, 2, "Jean Paul Sartre", "nausea; 'quoted' \"both\"", 1),
    (4, 4, "Simone de Beauvoir", "", 0),
    (5, 5, "Ada King Lovelace", "second note\nwith two lines", 0),
]
TAGS = [(1, "classic"), (2, "to read"), (3, "maths & logic")]
NOTE_TAGS = [(1, 3), (2, 1), (3, 1), (3, 2)]


def notekeeper_rows(conn: sqlite3.Connection, revision: str) -> dict[str, Expectation]:
    """Rows for a notekeeper document at ``revision``, and what they become at the head."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    note_columns = {r[1] for r in conn.execute("PRAGMA table_info(note)")}
    notebook_columns = {r[1] for r in conn.execute("PRAGMA table_info(notebook)")}
    if "legacy_sort_key" in notebook_columns:  # release 1.3 on: an integer, or the text
        conn.executemany(
            "INSERT INTO notebook (id, title, sort_key, legacy_sort_key) VALUES (?, ?, ?, ?)",
            [(i, title, *after) for i, title, _text, after in NOTEBOOKS],
        )
    else:
        conn.executemany(
            "INSERT INTO notebook (id, title, sort_key) VALUES (?, ?, ?)",
            [(i, title, text) for i, title, text, _after in NOTEBOOKS],
        )
    pinned = "pinned" in note_columns
    for note_id, notebook, author, body, pin in NOTES:
        row = {"id": note_id, "notebook_id": notebook, "body": body, "created_at": CREATED}
        if "author_name" in note_columns:
            row["author_name"] = author
        else:  # release 1.4 on
            first, _, last = author.partition(" ")
            row |= {"author_first": first, "author_last": last}
        if pinned:
            row["pinned"] = pin
        names = ", ".join(row)
        conn.execute(
            f"INSERT INTO note ({names}) VALUES ({', '.join('?' * len(row))})", [*row.values()]
        )
    expect: dict[str, Expectation] = {
        "notebook.sort_key": (
            "SELECT id, title, sort_key, legacy_sort_key FROM notebook ORDER BY id",
            [(i, title, *after) for i, title, _text, after in NOTEBOOKS],
        ),
        "note.author": (
            "SELECT id, author_first, author_last FROM note ORDER BY id",
            [(i, *_split(author)) for i, _nb, author, _body, _pin in NOTES],
        ),
        "note.body": (
            "SELECT id, notebook_id, body, created_at FROM note ORDER BY id",
            [(i, nb, body, CREATED) for i, nb, _author, body, _pin in NOTES],
        ),
        "note.pinned": (
            "SELECT id FROM note WHERE pinned ORDER BY id",
            [i for i, *_rest, pin in NOTES if pin and pinned],
        ),
        "note_summary": (
            "SELECT notebook_title, note_id, pinned FROM note_summary ORDER BY note_id",
            [(NOTEBOOKS[nb - 1][1], i, pin if pinned else 0) for i, nb, _a, _b, pin in NOTES],
        ),
    }
    if "tag" in tables:  # release 1.1 on
        conn.executemany("INSERT INTO tag (id, name) VALUES (?, ?)", TAGS)
        conn.executemany("INSERT INTO note_tag (note_id, tag_id) VALUES (?, ?)", NOTE_TAGS)
        expect["note_tag"] = (
            "SELECT note_id, name FROM note_tag JOIN tag ON tag.id = tag_id ORDER BY 1, 2",
            sorted((note, dict(TAGS)[tag]) for note, tag in NOTE_TAGS),
        )
    if "attachment" in tables:  # release 1.5 on
        conn.execute(
            "INSERT INTO attachment (id, note_id, filename, data) VALUES (1, 3, 'a b.png', ?)",
            (b"\x89PNG\r\n\x00",),
        )
        expect["attachment"] = ("SELECT note_id, data FROM attachment", [(3, b"\x89PNG\r\n\x00")])
    return expect


def _split(author: str) -> tuple[str, str]:
    first, _, last = author.partition(" ")
    return first, last


@pytest.fixture
def frozen_alembic_config() -> KitConfig:
    """The reference app, as an application's conftest.py would configure the kit."""
    return KitConfig(REFERENCE_SCRIPTS, metadata=metadata, data=notekeeper_rows)


def test_the_metadata_check_filters_exactly_sqlites_empty_string_defaults(tmp_path: Path) -> None:
    """The one false positive the reference app hits, and that it is the only one.

    note.author_first and author_last have ``server_default=""``. SQLite keeps it as
    ``DEFAULT ''`` and, once 0005's batch rebuild has copied the table, as
    ``DEFAULT ('')``; Alembic's SQLite comparison unquotes non-empty literals only, so it
    reports both columns on every run. Types and every other default compare clean.
    """
    path = tmp_path / "new.notes"
    Migrator(REFERENCE_SCRIPTS).create(path)
    engine = sa.create_engine(sa.engine.URL.create("sqlite", database=str(path)))
    try:
        with engine.connect() as conn:

            def differences(hook: object) -> list[tuple[str, str, str]]:
                opts = {"compare_type": True, "compare_server_default": hook}
                diffs = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
                flat = [d for diff in diffs for d in (diff if isinstance(diff, list) else [diff])]
                return [(d[0], d[2], d[3]) for d in flat]

            assert differences(True) == [
                ("modify_default", "note", "author_first"),
                ("modify_default", "note", "author_last"),
            ]
            assert differences(same_server_default) == []
    finally:
        engine.dispose()
