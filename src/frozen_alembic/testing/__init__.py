"""A test kit for an application's migrations: ready-made pytest tests, and their checks.

frozen-alembic registers :mod:`frozen_alembic.testing.plugin` with pytest (the
``pytest11`` entry point); its fixtures do nothing until a test asks for them.  Your
``conftest.py`` says where the migrations are::

    import pytest
    from frozen_alembic.testing import KitConfig

    from myapp.models import metadata

    @pytest.fixture
    def frozen_alembic_config() -> KitConfig:
        return KitConfig("src/myapp/migrations", metadata=metadata, data=my_rows)

and a test module takes the tests it wants (or all: ``import *``)::

    from frozen_alembic.testing.tests import *  # noqa: F403

Each check is also a :class:`MigrationKit` method, for use outside pytest.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._kit import (
        DataHook,
        Expectation,
        KitConfig,
        KitFailure,
        MigrationKit,
        same_server_default,
    )


def __getattr__(name: str) -> object:
    # Imported on first use: pytest loads the plugin (a submodule) in every session.
    if name not in __all__:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    from . import _kit

    value = getattr(_kit, name)
    globals()[name] = value
    return value


__all__ = [
    "DataHook",
    "Expectation",
    "KitConfig",
    "KitFailure",
    "MigrationKit",
    "same_server_default",
]
