"""The README's guide "Coming from …", run: every "after" block exactly as printed.

Each block is read from README.md by its ``<!-- example: coming-from-N -->`` marker (a
marker that is missing, doubled or not followed by a code block fails the tests that need
it, naming it) and run with :func:`exec` in a namespace holding the names the guide's
blocks use, as the guide's first paragraph says:

- ``document_path`` (str): a user's document, made by release 1.2 (``0003_pinned``) with
  notebooks and notes in it (at the head for the ad-hoc steps of pattern 6);
- ``migrations_dir`` (str): the app's Alembic script directory, a copy of ``migrations/``
  in the package ``myapp`` (``myapp/migrations``);
- ``new_path`` (str): where a new document goes (nothing there yet);
- ``app``: a stand-in for the Flask app of pattern 5 (its ``config`` alone is read);
- ``tell_user(message)``: how the app shows an error (the test records the messages);
- ``app_dir`` (str, "before" of pattern 1 only): the folder the old code changed into,
  holding ``alembic.ini``, ``migrations/`` and ``notes.db``.

The package ``myapp`` (``myapp/__init__.py``, ``myapp/models.py`` re-exporting the
reference app's schema, ``myapp/migrations/``) is put on ``sys.path``, and taken off with
its modules afterwards.

Every "after" block runs from an empty working directory and must leave it as it was
(the same directory, nothing written into it), and must leave logging as it was: the
level, handlers, ``disabled`` flag and ``propagate`` of every logger that existed before,
and no handler on a logger it made. The outcome is checked on the files: the document at
the head with every row kept and one backup beside it (or, after a failure, byte for byte
as it was and no backup), a new file with its rows and the schema of a new document.

The "before" blocks (``<!-- example: coming-from-N-before -->``) that need only Alembic
run too, on their own copies, to show they did the same job — and, for pattern 3, what
the old error handling did to a user's file. That of pattern 4 runs in a fresh
interpreter, since it reconfigures logging; patterns 2 and 5 have none (pattern 2's
"after" ``env.py`` is run by Alembic's command line instead; Flask is not installed).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import types
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

# Imported before any block runs, so that the loggers they create on import exist before
# the logging snapshot (SQLAlchemy, which Alembic imports, sets the level of "sqlalchemy").
import alembic.command
import alembic.config
import alembic.operations
import alembic.runtime.migration
import pytest
import sqlalchemy
import sqlalchemy.exc

from frozen_alembic import DatabaseExists, Migrator
from notekeeper.models import metadata

from .conftest import HEAD, REFERENCE_SCRIPTS, fill_release_1, schema, sha256, versions

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SECTION = "## Coming from …"

AFTER_BLOCKS = (
    "coming-from-1",
    "coming-from-2-env",
    "coming-from-2",
    "coming-from-3",
    "coming-from-4",
    "coming-from-5",
    "coming-from-6",
    "coming-from-7",
)
BEFORE_BLOCKS = (
    "coming-from-1-before",
    "coming-from-3-before",
    "coming-from-4-before",
    "coming-from-6-before",
    "coming-from-7-before",
)

OLD_RELEASE = "0003_pinned"  # release 1.2: what the user's document was made by


# --- the README's blocks ----------------------------------------------------------------


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def readme_block(name: str) -> str:
    """The fenced Python block right after ``<!-- example: NAME -->``, as printed."""
    text = _readme()
    marker = f"<!-- example: {name} -->"
    count = text.count(marker)
    if count != 1:
        pytest.fail(
            f"README.md must hold {marker} exactly once, right before its code block in "
            f'"{SECTION}"; it has {count}'
        )
    found = re.match(r"\n*```python\n(.*?)^```$", text.split(marker)[1], re.DOTALL | re.M)
    if found is None or not found.group(1).strip():
        pytest.fail(f"README.md: no ```python block right after {marker}")
    return found.group(1)


def test_the_guide_has_every_block_in_its_section() -> None:
    """Fails plainly, before anything runs, if a block is gone, renamed or moved."""
    text = _readme()
    if text.count(SECTION + "\n") != 1:
        pytest.fail(f"README.md must have one section {SECTION!r}")
    start = text.index(SECTION + "\n")
    end = text.index("\n## ", start)
    for name in AFTER_BLOCKS + BEFORE_BLOCKS:
        readme_block(name)
        where = text.index(f"<!-- example: {name} -->")
        assert start < where < end, f"<!-- example: {name} --> is outside {SECTION!r}"
    assert "os.remove" in readme_block("coming-from-3-before")  # the failure mode shown
    assert "except FrozenAlembicError" in readme_block("coming-from-3")  # and its cure


# --- the world the blocks run in --------------------------------------------------------


def logging_state() -> dict[str, tuple[object, ...]]:
    """Level, handlers, ``disabled`` and ``propagate`` of every logger, root included."""
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    return {lg.name: (lg.level, tuple(lg.handlers), lg.disabled, lg.propagate) for lg in loggers}


def contents(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """The notebooks and notes of a document: what the user would not want to lose."""
    with closing(sqlite3.connect(path)) as conn:
        return {
            "notebook": conn.execute("SELECT id, title FROM notebook ORDER BY id").fetchall(),
            "note": conn.execute("SELECT id, notebook_id, body FROM note ORDER BY id").fetchall(),
        }


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.*.bak"))


@dataclass
class Guide:
    """A user's documents, the app ``myapp`` with its migrations, and a place to run from."""

    root: Path
    package: Path  # <root>/site/myapp
    documents: Path  # where the user keeps documents
    workdir: Path  # the empty working directory every block runs from
    told: list[str] = field(default_factory=list)

    @property
    def migrations(self) -> Path:
        return self.package / "migrations"

    def document(self, name: str = "Notes.notes", revision: str = OLD_RELEASE) -> Path:
        """A document at ``revision`` with two notebooks and five notes in it."""
        path = self.documents / name
        migrator = Migrator(self.migrations)
        migrator.create(path)
        if revision == HEAD:
            with closing(sqlite3.connect(path, isolation_level=None)) as conn:
                conn.execute("INSERT INTO notebook (id, title) VALUES (1, 'Work'), (2, 'Home')")
                conn.executemany(
                    "INSERT INTO note (id, notebook_id, body, created_at) VALUES (?, ?, ?, ?)",
                    [(i, i % 2 + 1, f"Note {i}", f"2026-01-0{i}") for i in range(1, 5)],
                )
                conn.execute(
                    "INSERT INTO note (id, notebook_id, body, created_at) "
                    "VALUES (5, 1, 'TODO: call Ada', '2026-01-05')"
                )
        else:
            migrator.downgrade(path, revision, backup=False)
            fill_release_1(path, notebooks=2, notes=5)
        return path

    def namespace(self, **names: object) -> dict[str, object]:
        def tell_user(message: str) -> None:
            self.told.append(message)

        return {
            "__name__": "readme_example",
            "migrations_dir": str(self.migrations),
            "tell_user": tell_user,
            **names,
        }

    def run(self, name: str, **names: object) -> dict[str, object]:
        """Run an "after" block; it must leave the working directory and logging alone."""
        code = readme_block(name)
        namespace = self.namespace(**names)
        logs = logging_state()
        exec(compile(code, f"README.md <!-- example: {name} -->", "exec"), namespace)
        assert Path.cwd() == self.workdir, f"{name} changed the working directory"
        assert list(self.workdir.iterdir()) == [], f"{name} wrote into the working directory"
        now = logging_state()
        assert {n: now[n] for n in logs} == logs, f"{name} changed the logging set-up"
        assert [n for n in now.keys() - logs.keys() if now[n][1]] == [], "handlers were added"
        return namespace

    def run_before(self, name: str, **names: object) -> dict[str, object]:
        """Run a "before" block, as the old code ran (it may change the working directory)."""
        namespace = self.namespace(**names)
        exec(compile(readme_block(name), f"README.md <!-- example: {name} -->", "exec"), namespace)
        return namespace


@pytest.fixture
def guide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Guide]:
    site = tmp_path / "site"
    package = site / "myapp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""The app of the README\'s guide."""\n')
    (package / "models.py").write_text(
        '"""The app\'s schema: the reference app\'s."""\n\n'
        "from notekeeper.models import metadata, note, notebook\n\n"
        '__all__ = ["metadata", "note", "notebook"]\n'
    )
    shutil.copytree(
        REFERENCE_SCRIPTS, package / "migrations", ignore=shutil.ignore_patterns("__pycache__")
    )
    documents = tmp_path / "documents"
    workdir = tmp_path / "elsewhere"
    documents.mkdir()
    workdir.mkdir()
    monkeypatch.delenv("FROZEN_ALEMBIC_SCRIPTS", raising=False)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.chdir(workdir)  # and back, whatever a "before" block does
    logging.getLogger("myapp").addHandler(logging.NullHandler())  # the app's own logging
    yield Guide(tmp_path, package, documents, workdir)
    for name in [m for m in sys.modules if m == "myapp" or m.startswith("myapp.")]:
        del sys.modules[name]
    logging.getLogger("myapp").handlers.clear()
    logging.getLogger("myapp").disabled = False


def assert_upgraded(path: Path, kept: dict[str, list[tuple[object, ...]]]) -> None:
    """At the head, every notebook and note kept, one backup beside it."""
    assert versions(path) == [HEAD]
    assert contents(path) == kept
    assert len(backups(path)) == 1


# --- the seven patterns -----------------------------------------------------------------


def test_1_chdir_and_alembic_config_main(guide: Guide) -> None:
    doc = guide.document()
    kept = contents(doc)
    namespace = guide.run("coming-from-1", document_path=str(doc))
    assert namespace["exit_code"] == 0
    assert_upgraded(doc, kept)

    # Before: the same job, from the folder it changes into.
    app_dir = guide.root / "app"
    shutil.copytree(guide.migrations, app_dir / "migrations")
    (app_dir / "alembic.ini").write_text(
        "[alembic]\nscript_location = migrations\nsqlalchemy.url = sqlite:///notes.db\n"
    )
    old = guide.document("notes.db")
    shutil.move(old, app_dir / "notes.db")
    guide.run_before("coming-from-1-before", app_dir=str(app_dir))
    assert versions(app_dir / "notes.db") == [HEAD]
    assert contents(app_dir / "notes.db") == kept
    assert Path.cwd() == app_dir  # the whole process now runs from there


DBPATH_ENV_PY = '''\
"""env.py in the -x dbPath style; the README's lines find the database."""

from alembic import context
from sqlalchemy import create_engine

from notekeeper.models import metadata

config = context.config

{guide_lines}
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
'''


def test_2_x_db_path_read_in_env_py(guide: Guide) -> None:
    env_lines = readme_block("coming-from-2-env")
    (guide.migrations / "env.py").write_text(DBPATH_ENV_PY.format(guide_lines=env_lines))
    doc = guide.document()
    kept = contents(doc)
    guide.run("coming-from-2", document_path=str(doc))
    assert_upgraded(doc, kept)

    # The same env.py still serves Alembic's command line, with -x dbPath.
    other = guide.document("Other.notes")
    ini = guide.root / "alembic.ini"
    ini.write_text(f"[alembic]\nscript_location = {guide.migrations}\n")
    argv = ["--raiseerr", "-c", str(ini), "-x", f"dbPath={other}", "upgrade", "head"]
    alembic.config.main(argv=argv)
    assert versions(other) == [HEAD]
    assert contents(other) == kept


# A revision of a coming release whose data migration trips over one user's note.
JSON_REVISION = '''\
"""Release 1.6: notes written as JSON take their pinned flag from it."""

from alembic import op

revision = "0007_pinned_from_json"
down_revision = "0006_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE note SET pinned = coalesce(json_extract(body, '$.pinned'), pinned) "
        "WHERE body LIKE '{%'"
    )


def downgrade() -> None:
    pass
'''


def test_3_config_and_command_upgrade(guide: Guide) -> None:
    doc = guide.document()
    kept = contents(doc)
    guide.run("coming-from-3", document_path=str(doc))
    assert_upgraded(doc, kept)
    assert guide.told == []

    # Before: the same job when nothing goes wrong.
    old = guide.document("Old.notes")
    guide.run_before("coming-from-3-before", document_path=str(old))
    assert versions(old) == [HEAD]
    assert contents(old) == kept


def test_3_adopts_a_file_from_before_alembic(guide: Guide) -> None:
    doc = guide.document(revision="0001_initial")
    with closing(sqlite3.connect(doc, isolation_level=None)) as conn:
        conn.execute("DROP TABLE alembic_version")  # tables, no version
    kept = contents(doc)
    guide.run("coming-from-3", document_path=str(doc))
    assert_upgraded(doc, kept)
    assert guide.told == []


def test_3_a_failing_migration_never_costs_the_user_their_file(guide: Guide) -> None:
    (guide.migrations / "versions" / "0007_pinned_from_json.py").write_text(JSON_REVISION)
    doc = guide.document()
    with closing(sqlite3.connect(doc, isolation_level=None)) as conn:
        conn.execute(
            "INSERT INTO note (id, notebook_id, author_name, body, created_at) "
            "VALUES (6, 1, 'Ada', '{draft: not quite JSON', '2026-01-06')"
        )
    old = guide.documents / "Old.notes"
    shutil.copyfile(doc, old)
    digest = sha256(doc)

    guide.run("coming-from-3", document_path=str(doc))
    assert sha256(doc) == digest  # byte for byte as it was
    assert backups(doc) == []  # provably unchanged: the backup was removed
    assert len(guide.told) == 1
    assert "0007_pinned_from_json" in guide.told[0]
    assert guide.told[0].endswith(f"{doc} was not changed.")

    # Before: the same failure deletes the user's file and "starts again", silently.
    guide.run_before("coming-from-3-before", document_path=str(old))
    assert versions(old) == ["0007_pinned_from_json"]
    assert contents(old) == {"notebook": [], "note": []}  # every note gone


PACKAGE_INI = """\
[alembic]
script_location = %(here)s/migrations

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""

# Runs the README's "before" block of pattern 4 in a fresh interpreter: it reconfigures
# logging for the whole process, which must not happen to the test run.
BEFORE_4_DRIVER = """
import json, logging, sys

logging.getLogger("myapp").addHandler(logging.NullHandler())  # the app's own logging
exec(sys.argv[1], {"__name__": "readme_example", "document_path": sys.argv[2]})
print(json.dumps({"myapp disabled": logging.getLogger("myapp").disabled}))
"""


def test_4_config_file_inside_the_package(guide: Guide) -> None:
    (guide.package / "alembic.ini").write_text(PACKAGE_INI)
    env_py = guide.migrations / "env.py"
    text = env_py.read_text()
    stock = "config = context.config\n"
    assert text.count(stock) == 1
    env_py.write_text(  # the fileConfig of the env.py that `alembic init` writes
        text.replace(
            stock,
            f"{stock}if config.config_file_name is not None:\n"
            "    import logging.config\n\n"
            "    logging.config.fileConfig(config.config_file_name)\n",
        )
    )
    doc = guide.document()
    kept = contents(doc)
    guide.run("coming-from-4", document_path=str(doc))
    assert_upgraded(doc, kept)

    old = guide.document("Old.notes")
    proc = subprocess.run(
        [sys.executable, "-c", BEFORE_4_DRIVER, readme_block("coming-from-4-before"), str(old)],
        capture_output=True,
        text=True,
        check=False,
        cwd=guide.workdir,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(guide.package.parent), str(ROOT / "src")]),
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert versions(old) == [HEAD]
    assert contents(old) == kept
    assert json.loads(proc.stdout) == {"myapp disabled": True}  # the app's logger, silenced


def test_5_flask_alembic_upgrade_on_start_up(guide: Guide) -> None:
    doc = guide.document()
    kept = contents(doc)
    app = types.SimpleNamespace(config={"SQLALCHEMY_DATABASE_URI": f"sqlite:///{doc}"})
    guide.run("coming-from-5", app=app)
    assert_upgraded(doc, kept)


def pinned_and_indexes(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with closing(sqlite3.connect(path)) as conn:
        pinned = conn.execute("SELECT id FROM note WHERE pinned ORDER BY id").fetchall()
        indexes = conn.execute("SELECT name FROM pragma_index_list('note') ORDER BY 1").fetchall()
    return pinned, indexes


def test_6_operations_for_ad_hoc_steps(guide: Guide) -> None:
    doc = guide.document(revision=HEAD)
    kept = contents(doc)
    old = guide.documents / "Old.notes"
    shutil.copyfile(doc, old)
    guide.run("coming-from-6", document_path=str(doc))
    expected = ([(5,)], [("ix_note_created_at",), ("ix_note_notebook_id",)])
    assert pinned_and_indexes(doc) == expected
    assert contents(doc) == kept
    assert versions(doc) == [HEAD]

    guide.run_before("coming-from-6-before", document_path=str(old))
    assert pinned_and_indexes(old) == expected


def test_7_create_all_and_stamp_for_a_new_file(guide: Guide) -> None:
    new = guide.documents / "New notes.notes"
    guide.run("coming-from-7", new_path=str(new))
    assert versions(new) == [HEAD]
    assert contents(new) == {"notebook": [(1, "Inbox")], "note": []}
    reference = guide.documents / "reference.notes"
    Migrator(guide.migrations).create(reference)  # every revision run
    assert schema(new) == schema(reference)

    # Never over an existing file.
    digest = sha256(new)
    with pytest.raises(DatabaseExists):
        guide.run("coming-from-7", new_path=str(new))
    assert sha256(new) == digest

    # Before: the same file, but for the Inbox.
    old = guide.documents / "Old way.notes"
    guide.run_before("coming-from-7-before", new_path=str(old))
    assert versions(old) == [HEAD]
    assert schema(old) == schema(reference)

    # Killed between its two commits, it leaves tables without a version, which the
    # next upgrade tries to create again: the OperationalError of pattern 3's "before".
    half = guide.documents / "Half made.notes"
    url = f"sqlite:///{half}"
    engine = sqlalchemy.create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    cfg = alembic.config.Config()
    cfg.set_main_option("script_location", str(guide.migrations))
    cfg.set_main_option("sqlalchemy.url", url)
    with pytest.raises(sqlalchemy.exc.OperationalError, match="already exists"):
        alembic.command.upgrade(cfg, "head")
