"""Running a project's own ``env.py`` safely (``Migrator(run_env_py=True)``).

Whatever style an ``env.py`` is written in — the one ``alembic init`` writes (an engine
from ``sqlalchemy.url``), the cookbook's (``config.attributes["connection"]``), or
either with options for ``context.configure`` (``version_table``, ``render_as_batch``,
``include_object``, ``target_metadata``, ...) — the migrations must run on *our*
connection, inside our one transaction, under our lock, with foreign keys handled.

So ``env.py`` runs as Alembic runs it, but its ``context.configure(...)`` is taken
over: the options it gives are kept, and the connection is always ours.
``sqlalchemy.url`` is set to the file being migrated, so the template's
``engine_from_config`` builds an engine for the same file (the connection it opens is
never used for the migration); ``config.attributes["connection"]`` holds our
connection for the cookbook style.  An ``env.py`` that would connect to another
database (by a connection, an ``Engine`` or a URL) is refused before any revision runs,
with the change that fixes it.
``transaction_per_migration`` is ignored: every revision of a call commits together.
"""

from __future__ import annotations

import os

from ._exceptions import ScriptsError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from sqlalchemy.engine import Connection

# Options of context.configure that do not fit a run in one transaction on our
# connection, and are dropped (said in the module's docstring and the README).
IGNORED = ("transaction_per_migration", "dialect_name", "dialect_opts", "as_sql")

THREE_LINES = """\
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return"""


def sqlite_url(path: Path | None) -> str:
    """The SQLAlchemy URL of ``path`` (an in-memory database for ``None``).

    The path is quoted as SQLAlchemy's URL quotes it, so that it reads back as the same
    path: ``?`` would otherwise start the URL's query, and ``%20`` be read as a space.
    """
    if path is None:
        return "sqlite://"
    from sqlalchemy.engine import URL

    url = URL.create("sqlite", database=os.path.abspath(path))
    return url.render_as_string(hide_password=False)


def _same_file(url: object, path: Path) -> bool:
    """Whether the SQLAlchemy URL ``url`` names the SQLite file ``path``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if str(url) == sqlite_url(path):
        return True
    try:
        parsed = make_url(str(url))
    except ArgumentError:
        return False
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return False
    return os.path.realpath(database) == os.path.realpath(path)


def _shown(url: object) -> str:
    """``url`` for a message (a password hidden)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(str(url)).render_as_string()
    except ArgumentError:
        return str(url)


def _where(connection: object, path: Path) -> str | None:
    """Where ``connection`` (from ``env.py``) leads, if not to ``path`` (``None``: it does)."""
    from sqlalchemy.engine import Connection, Engine

    if isinstance(connection, Engine):  # not what Alembic takes, but its URL says where
        return None if _same_file(connection.url, path) else connection.url.render_as_string()
    if not isinstance(connection, Connection):
        return f"a {type(connection).__module__}.{type(connection).__qualname__}"
    if connection.dialect.name != "sqlite":
        return connection.engine.url.render_as_string()
    theirs = _file_of(connection)
    if theirs == os.path.realpath(path):
        return None
    return theirs or "an in-memory database"


def _file_of(connection: Connection) -> str | None:
    raw = connection.connection.dbapi_connection
    if raw is None:
        return None
    for _seq, name, file in raw.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return os.path.realpath(file) if file else None
    return None


def _elsewhere(where: str, path: Path | None) -> ScriptsError:
    ours = str(path) if path is not None else "the database it is given"
    msg = (
        f"env.py connects to {where}, not to {ours}: frozen-alembic runs env.py with "
        "its own connection to the document, inside one transaction, and will not let "
        "it migrate another database. In env.py's run_migrations_online(), use the "
        "connection frozen-alembic provides; at its start add:\n" + THREE_LINES
    )
    return ScriptsError(msg)


def take_over_configure(
    real_configure: Callable[..., None],
    ours: Connection,
    path: Path | None,
    version_table: str,
) -> Callable[..., None]:
    """A ``configure`` for ``env.py`` that keeps its options and uses ``ours``.

    :param real_configure: the ``EnvironmentContext.configure`` it replaces.
    :param ours: the connection the migration must run on.
    :param path: the file being migrated (``None``: a database without a file).
    :param version_table: the version table the Migrator reads; ``env.py`` gets it
        unless it names one, which must then be the same.
    :raises ScriptsError: ``env.py`` connects to another database, or names another
        version table.
    """

    def configure(connection: Connection | None = None, url: object = None, **given: Any) -> None:
        theirs = None
        if path is not None and connection is not None and connection is not ours:
            theirs = _where(connection, path)
        elif path is not None and connection is None and url is not None:
            theirs = None if _same_file(url, path) else _shown(url)
        if theirs is not None:
            raise _elsewhere(theirs, path)
        for name in IGNORED:
            given.pop(name, None)
        named = given.setdefault("version_table", version_table)
        if named != version_table:
            msg = (
                f"env.py uses the version table {named!r}, but this Migrator reads "
                f"{version_table!r}: pass Migrator(..., version_table={named!r})."
            )
            raise ScriptsError(msg)
        real_configure(connection=ours, **given)

    return configure
