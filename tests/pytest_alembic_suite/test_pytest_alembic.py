"""Every test pytest-alembic ships, built-in and experimental, on ``migrations/``.

Imported here, so pytest collects them as tests of this module without ``--test-alembic``
and its ini options (which work as well: ``--test-alembic --alembic-tests-path
tests/pytest_alembic_suite/conftest.py`` and ``pytest_alembic_include_experimental``).
"""

from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from pytest_alembic.tests.experimental import (
    test_all_models_register_on_metadata,
    test_downgrade_leaves_no_trace,
)

__all__ = [
    "test_all_models_register_on_metadata",
    "test_downgrade_leaves_no_trace",
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]
