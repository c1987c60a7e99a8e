"""pytest-alembic's tests on the reference migrations (their own virtual environment)."""
