"""The notekeeper reference app: open a document, make it current, show what it holds.

This is how a desktop application uses frozen-alembic on startup or when the user
opens a file; a GUI would show the progress in a dialog instead of printing it.
Opening an existing document imports only what ``ensure_current`` needs (the
standard library, when the file is current): SQLAlchemy and Alembic, through
:class:`~frozen_alembic.Migrator` and :mod:`notekeeper.models`, are imported only
to create a new document, or by ``ensure_current`` when the file needs upgrading.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from frozen_alembic import DatabaseTooNew, FrozenAlembicError, ensure_current, locate_migrations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from frozen_alembic import Progress


def _print_progress(progress: Progress) -> None:
    if progress.revision is not None:
        print(f"  [{progress.done + 1}/{progress.total}] {progress.message}", flush=True)


def open_document(path: Path) -> int:
    """Create or upgrade the document at ``path``, then print a summary.

    :return: the process exit code.
    """
    location = locate_migrations("migrations", anchor="notekeeper")
    print(f"notekeeper: migrations from {location}")
    if not path.exists():
        # Only a new document needs the schema (and so SQLAlchemy and Alembic).
        from frozen_alembic import Migrator

        from . import models

        migrator = Migrator.locate("migrations", anchor="notekeeper", metadata=models.metadata)
        migrator.create(path)
        print(f"created {path} at {models.HEAD}")
    else:
        try:
            # The start-up call: cheap when the file is current, safe when it is not.
            report = ensure_current(path, anchor="notekeeper", progress=_print_progress)
        except DatabaseTooNew as err:
            print(f"{path} was written by a newer release ({err.revision}).")
            print("Opening it read-only; nothing will be changed.")
        else:
            if report.changed:
                print(f"upgraded {path} from {', '.join(report.before) or 'nothing'}")
                print(f"now at {', '.join(report.after)}; backup: {report.backup}")
            else:
                print(f"{path} is current ({', '.join(report.after)})")
    conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        notebooks = conn.execute("SELECT count(*) FROM notebook").fetchone()[0]
        notes = conn.execute("SELECT count(*) FROM note").fetchone()[0]
    finally:
        conn.close()
    print(f"{notebooks} notebooks, {notes} notes")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``notekeeper FILE``: open (or create) a notekeeper document.

    :return: the process exit code.
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: notekeeper FILE", file=sys.stderr)
        return 2
    try:
        return open_document(Path(args[0]))
    except FrozenAlembicError as err:
        print(f"notekeeper: {err}", file=sys.stderr)
        return 1
