"""pytest-alembic's usual configuration, on the reference app's ``migrations/``.

``scripts/test`` runs this folder in its own virtual environment
(``.venv-pytest-alembic``: pytest-alembic 0.13.1 with pytest<9, see pyproject.toml's
``pytest-alembic`` extra); the main run ignores it (``--ignore`` in pyproject.toml).
The fixtures are the ones pytest-alembic's documentation asks for: ``alembic_config``
and ``alembic_engine`` — an :class:`~sqlalchemy.engine.Engine` on a temporary SQLite
file, which ``migrations/env.py`` accepts as well as a Connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

if TYPE_CHECKING:
    from collections.abc import Iterator

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@pytest.fixture
def alembic_config() -> dict[str, str]:
    """Where the scripts are (the project has no alembic.ini: see :func:`alembic_ini`)."""
    return {"script_location": str(MIGRATIONS)}


@pytest.fixture
def alembic_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """An Engine on a SQLite file of the test's own."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'pytest-alembic.db'}")
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def alembic_ini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ``alembic.ini`` naming the scripts, in the working directory of every test.

    ``all_models_register_on_metadata`` ignores :func:`alembic_config`: it runs env.py
    again in a fresh interpreter, which reads ``alembic.ini`` from the *current
    directory* (``Config("alembic.ini")``) and takes ``script_location`` from it alone.
    """
    ini = tmp_path / "alembic.ini"
    location = str(MIGRATIONS).replace("%", "%%")  # configparser interpolation
    ini.write_text(f"[alembic]\nscript_location = {location}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return ini
