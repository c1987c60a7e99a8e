"""frozen-alembic test suite."""
