"""The ready-made tests of the migration kit: import them into one of your test modules.

::

    from frozen_alembic.testing.tests import *  # noqa: F403  (or name the ones you want)

Each uses the ``frozen_alembic_kit`` fixture (see :mod:`frozen_alembic.testing.plugin`),
so your ``conftest.py`` must define ``frozen_alembic_config``.  A failure reads like a
user's bug report: "a document from release 1.2 loses note.pinned when upgraded to
1.5 (0006_attachments) ...".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from . import KitFailure

if TYPE_CHECKING:
    from collections.abc import Callable

    from . import MigrationKit

__all__ = [
    "test_every_downgrade_runs",
    "test_every_release_upgrades_to_head",
    "test_every_revision_upgrades_to_head",
    "test_head_matches_metadata",
    "test_one_head",
    "test_release_schemas_match_the_migrations",
    "test_released_revisions_are_unchanged",
    "test_revisions_import_only_what_ships",
    "test_upgrade_then_downgrade_leaves_no_trace",
]

_NO_RELEASES = (
    "no release is recorded: record each one you ship with "
    "`frozen-alembic release NAME --scripts DIR`"
)


def _check(check: Callable[[], None]) -> None:
    """Run a kit check; its problems are the test's failure message, without a traceback."""
    try:
        check()
    except KitFailure as err:
        pytest.fail(str(err), pytrace=False)


def test_one_head(frozen_alembic_kit: MigrationKit) -> None:
    """The migrations have one head."""
    _check(frozen_alembic_kit.check_one_head)


def test_revisions_import_only_what_ships(frozen_alembic_kit: MigrationKit) -> None:
    """Every module env.py and the revisions import can be found, so a build can ship it."""
    _check(frozen_alembic_kit.check_imports_ship)


def test_released_revisions_are_unchanged(frozen_alembic_kit: MigrationKit) -> None:
    """No revision file of a recorded release changed since (Flyway's checksum rule)."""
    if not frozen_alembic_kit.releases:
        pytest.skip(_NO_RELEASES)
    _check(frozen_alembic_kit.check_releases_unchanged)


def test_every_revision_upgrades_to_head(frozen_alembic_kit: MigrationKit) -> None:
    """A filled document at every revision with a child upgrades to the head: the schema of
    a new document, every row, and the data hook's expectations."""
    _check(frozen_alembic_kit.check_every_revision_upgrades_to_head)


def test_every_release_upgrades_to_head(frozen_alembic_kit: MigrationKit) -> None:
    """A filled document built from every recorded release's schema upgrades to the head
    the same way."""
    if not frozen_alembic_kit.releases:
        pytest.skip(_NO_RELEASES)
    _check(frozen_alembic_kit.check_every_release_upgrades_to_head)


def test_release_schemas_match_the_migrations(frozen_alembic_kit: MigrationKit) -> None:
    """Each release's recorded schema is what a new document downgraded to it has."""
    if not frozen_alembic_kit.releases:
        pytest.skip(_NO_RELEASES)
    _check(frozen_alembic_kit.check_release_schemas)


def test_upgrade_then_downgrade_leaves_no_trace(frozen_alembic_kit: MigrationKit) -> None:
    """Each revision, upgraded to and downgraded again, leaves schema and rows as they were."""
    _check(frozen_alembic_kit.check_upgrade_then_downgrade_leaves_no_trace)


def test_every_downgrade_runs(frozen_alembic_kit: MigrationKit) -> None:
    """Each revision's downgrade runs on a filled document and gives its parent's schema."""
    _check(frozen_alembic_kit.check_every_downgrade_runs)


def test_head_matches_metadata(frozen_alembic_kit: MigrationKit) -> None:
    """A new document matches the app's MetaData (Alembic's compare_metadata)."""
    if frozen_alembic_kit.config.metadata is None:
        pytest.skip("KitConfig has no metadata to compare the head with")
    _check(frozen_alembic_kit.check_head_matches_metadata)
