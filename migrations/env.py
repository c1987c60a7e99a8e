"""Alembic environment for the notekeeper reference app.

Logging is deliberately left alone: in a frozen desktop app the host
application owns logging configuration, so there is no ``fileConfig`` call.

``config.attributes["connection"]`` may hold a live
:class:`sqlalchemy.engine.Connection` (what frozen-alembic's ``Migrator(run_env_py=True)``
and the cookbook's "sharing a connection" recipe hand in): if it is already inside a
transaction, Alembic runs every migration inside that one transaction. It may instead
hold an :class:`sqlalchemy.engine.Engine` — or anything else whose ``connect()`` gives a
connection in a ``with`` block, as pytest-alembic's ``downgrade_leaves_no_trace`` hands
in — which is then connected to, and left open for its owner to dispose of. With
neither, ``sqlalchemy.url`` is used.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from notekeeper.models import metadata

config = context.config
target_metadata = metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        render_as_batch=True,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run_with(given)
        return
    if given is not None:
        if not callable(getattr(given, "connect", None)):
            raise TypeError(
                'config.attributes["connection"] must be a Connection or an Engine, '
                f"not {type(given).__name__}"
            )
        # An Engine (pytest-alembic's alembic_engine fixture, for one): its owner
        # disposes of it.
        with given.connect() as conn:
            _run_with(conn)
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no connection given and sqlalchemy.url is not set")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run_with(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
