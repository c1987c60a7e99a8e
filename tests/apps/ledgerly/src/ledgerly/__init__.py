"""ledgerly: a small bookkeeping app, written the way a new frozen-alembic user would.

A test fixture of frozen-alembic (not the reference app): its Alembic scripts live
inside the package (``ledgerly/db_migrations``, made by ``alembic init``), ``env.py``
imports the app's models, and the revisions import the app's own helper modules in
the two usual spellings.
"""

APP_VERSION = "2.0"
