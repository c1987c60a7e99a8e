"""Alembic environment for the notekeeper reference app.

Logging is deliberately left alone: in a frozen desktop app the host
application owns logging configuration, so there is no ``fileConfig`` call.

A live :class:`sqlalchemy.engine.Connection` may be handed in through
``config.attributes["connection"]``; if it is already inside a transaction,
Alembic runs every migration inside that one transaction.
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
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
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
