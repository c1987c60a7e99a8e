"""The pytest plugin of the migration kit (registered through the ``pytest11`` entry point).

It only defines fixtures, all named ``frozen_alembic_*``, and imports nothing from
frozen-alembic until one of them is used: a test session that asks for none of them
is not touched.

* ``frozen_alembic_config`` — the application's :class:`~frozen_alembic.testing.KitConfig`.
  Define it in your ``conftest.py``; this default fails, saying so.
* ``frozen_alembic_kit`` — a :class:`~frozen_alembic.testing.MigrationKit` on that
  configuration, shared by every test of the session with the same configuration (the
  documents are made once).  It refuses the run — every test using it errors — when a
  revision file of a recorded release changed (Flyway's checksum rule).
* ``frozen_alembic_kits`` — the session's kits, by configuration (used by the above).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from frozen_alembic.testing import KitConfig, MigrationKit


class KitCache:
    """The kits of a test session, one per configuration, each with its own folder.

    :param factory: the session's ``tmp_path_factory``.
    """

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._kits: dict[tuple[object, ...], tuple[KitConfig, MigrationKit]] = {}

    def get(self, config: KitConfig) -> MigrationKit:
        """The kit for ``config`` (made on first use)."""
        from frozen_alembic.testing import MigrationKit

        key = (
            os.path.realpath(config.script_location),
            id(config.metadata),
            id(config.data),
            None if config.releases is None else os.path.realpath(config.releases),
        )
        if key not in self._kits:
            kit = MigrationKit(config, self._factory.mktemp("frozen-alembic-kit"))
            self._kits[key] = (config, kit)  # the config keeps the ids of the key alive
        return self._kits[key][1]


@pytest.fixture
def frozen_alembic_config() -> KitConfig:
    """The application's kit configuration: override this fixture in your conftest.py."""
    pytest.fail(
        "the migration kit needs your configuration: define a frozen_alembic_config fixture "
        "in conftest.py returning frozen_alembic.testing.KitConfig(script_location, "
        "metadata=..., data=...)",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def frozen_alembic_kits(tmp_path_factory: pytest.TempPathFactory) -> KitCache:
    """The session's migration kits, one per configuration."""
    return KitCache(tmp_path_factory)


@pytest.fixture
def frozen_alembic_kit(
    frozen_alembic_config: KitConfig, frozen_alembic_kits: KitCache
) -> MigrationKit:
    """A :class:`~frozen_alembic.testing.MigrationKit` on ``frozen_alembic_config``.

    Refuses the test (an error) when a released revision file changed.
    """
    from frozen_alembic.testing import KitConfig, KitFailure

    if not isinstance(frozen_alembic_config, KitConfig):
        pytest.fail(
            f"frozen_alembic_config returned {frozen_alembic_config!r}: return a "
            "frozen_alembic.testing.KitConfig",
            pytrace=False,
        )
    kit = frozen_alembic_kits.get(frozen_alembic_config)
    try:
        kit.check_releases_unchanged()
    except KitFailure as err:
        pytest.fail(str(err), pytrace=False)
    return kit
