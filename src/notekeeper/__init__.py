"""Reference desktop app for frozen-alembic: a PySide6 window on notekeeper documents
(:mod:`notekeeper.gui`), with a console check that never imports Qt (:mod:`notekeeper.app`)."""
