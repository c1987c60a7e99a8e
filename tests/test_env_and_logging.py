"""env.py is optional and not run by default; the application's logging is never touched."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from frozen_alembic import Migrator

from .conftest import HEAD, REVISIONS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

EXPLODING_ENV = 'raise RuntimeError("env.py must not run unless asked to")\n'

RECORDING_ENV = """
from alembic import context

config = context.config
connection = config.attributes["connection"]
with open({log!r}, "a") as log:
    log.write(f"{{connection.in_transaction()}}\\n")
context.configure(connection=connection)
with context.begin_transaction():
    context.run_migrations()
"""


def test_env_py_is_not_run_by_default(scripts: Path, tmp_path: Path) -> None:
    (scripts / "env.py").write_text(EXPLODING_ENV)
    migrator = Migrator(scripts)
    path = tmp_path / "doc.notes"
    assert migrator.create(path).applied == REVISIONS
    migrator.downgrade(path, "base")
    migrator.upgrade(path)
    migrator.stamp(path, HEAD)


def test_env_py_is_optional(scripts: Path, tmp_path: Path) -> None:
    (scripts / "env.py").unlink()
    (scripts / "script.py.mako").unlink()
    path = tmp_path / "doc.notes"
    assert Migrator(scripts).create(path).after == (HEAD,)


def test_env_py_runs_when_asked_with_the_live_connection(scripts: Path, tmp_path: Path) -> None:
    log = tmp_path / "env-runs.log"
    (scripts / "env.py").write_text(RECORDING_ENV.format(log=str(log)))
    migrator = Migrator(scripts, run_env_py=True)
    path = tmp_path / "doc.notes"
    progress: list[str | None] = []
    report = migrator.create(path)
    assert report.applied == REVISIONS
    migrator.downgrade(path, "0003_pinned", progress=lambda p: progress.append(p.revision))
    assert list(dict.fromkeys(rev for rev in progress if rev)) == list(reversed(REVISIONS[3:]))
    assert migrator.current(path) == ("0003_pinned",)
    # env.py ran once per changing call, each time handed our connection inside our
    # transaction (not one of its own).
    assert log.read_text().splitlines() == ["True", "True"]
    migrator.status(path)
    assert len(log.read_text().splitlines()) == 2  # reading runs no env.py


def test_reference_env_py_works_when_asked(scripts: Path, tmp_path: Path) -> None:
    path = tmp_path / "doc.notes"
    assert Migrator(scripts, run_env_py=True).create(path).after == (HEAD,)


def test_reference_env_py_takes_an_engine_too(scripts: Path, tmp_path: Path) -> None:
    """pytest-alembic hands env.py an Engine (tests/pytest_alembic_suite runs its tests)."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from .conftest import versions

    path = tmp_path / "doc.notes"
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        config = Config()
        config.set_main_option("script_location", str(scripts).replace("%", "%%"))
        config.attributes["connection"] = engine
        command.upgrade(config, "head")
        command.downgrade(config, "0003_pinned")
        with engine.connect() as conn:  # still the caller's: not disposed by env.py
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [
                ("0003_pinned",)
            ]
        config.attributes["connection"] = str(path)
        with pytest.raises(TypeError, match="must be a Connection or an Engine, not str"):
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    assert versions(path) == ["0003_pinned"]


def test_failing_env_py_when_asked_is_a_migration_failure(scripts: Path, tmp_path: Path) -> None:
    from frozen_alembic import MigrationFailed

    (scripts / "env.py").write_text(EXPLODING_ENV)
    with pytest.raises(MigrationFailed, match=r"env\.py must not run"):
        Migrator(scripts, run_env_py=True).create(tmp_path / "doc.notes")
    assert not (tmp_path / "doc.notes").exists()


@pytest.fixture
def app_logging() -> Iterator[Callable[[], object]]:
    """Configure logging the way an application would, and restore it afterwards."""
    names = ["", "alembic", "alembic.runtime.migration", "sqlalchemy", "sqlalchemy.engine", "app"]
    saved = {n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers)) for n in names}
    root = logging.getLogger()
    handler = logging.StreamHandler()
    handler.setLevel(logging.DEBUG)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("app").setLevel(logging.DEBUG)
    logging.getLogger("alembic").setLevel(logging.ERROR)

    def snapshot() -> object:
        manager = logging.Logger.manager
        loggers = {
            name: (lg.level, tuple(lg.handlers), lg.disabled, lg.propagate)
            for name, lg in manager.loggerDict.items()
            if isinstance(lg, logging.Logger)
        }
        return (root.level, tuple(root.handlers), handler.level, handler.formatter, loggers)

    yield snapshot
    root.removeHandler(handler)
    for name, (level, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers


@pytest.mark.parametrize("run_env_py", [False, True])
def test_logging_is_never_reconfigured(
    scripts: Path, tmp_path: Path, app_logging: Callable[[], object], run_env_py: bool
) -> None:
    before = app_logging()
    migrator = Migrator(scripts, run_env_py=run_env_py)
    path = tmp_path / "doc.notes"
    migrator.heads()
    migrator.history()
    migrator.create(path)
    migrator.current(path)
    migrator.status(path)
    migrator.downgrade(path, "base")
    migrator.upgrade(path)
    migrator.stamp(path, "0001_initial")
    migrator.stamp(path, HEAD)
    with migrator.operations(path) as op:
        op.execute("SELECT 1")
    after = app_logging()
    assert isinstance(before, tuple)
    assert isinstance(after, tuple)
    assert after[:4] == before[:4]
    # Loggers that existed are unchanged; loggers created since (by imports) are bare.
    for name, state in after[4].items():
        assert state == before[4].get(name, (logging.NOTSET, (), False, True)), name
