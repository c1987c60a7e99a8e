"""Reference desktop app for frozen-alembic."""
