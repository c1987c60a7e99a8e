"""The notekeeper reference app: open a document, make it current, show what it holds.

This is how a desktop application uses frozen-alembic on startup or when the user
opens a file; a GUI would show the progress in a dialog instead of printing it.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from frozen_alembic import FrozenAlembicError, Migrator, Progress, State

from . import models


def _print_progress(progress: Progress) -> None:
    if progress.revision is not None:
        print(f"  [{progress.done + 1}/{progress.total}] {progress.message}", flush=True)


def open_document(path: Path) -> int:
    """Create or upgrade the document at ``path``, then print a summary.

    :return: the process exit code.
    """
    migrator = Migrator.locate("migrations", anchor="notekeeper", metadata=models.metadata)
    print(f"notekeeper {models.HEAD}: migrations from {migrator.script_location}")
    if not path.exists():
        migrator.create(path)
        print(f"created {path} at {models.HEAD}")
    else:
        status = migrator.status(path)
        if status.state is State.TOO_NEW:
            print(f"{path} was written by a newer release ({', '.join(status.current)}).")
            print("Opening it read-only; nothing will be changed.")
        elif status.is_current:
            print(f"{path} is current ({', '.join(status.current)})")
        else:
            print(f"upgrading {path} from {', '.join(status.current) or 'nothing'}")
            report = migrator.upgrade(path, progress=_print_progress)
            print(f"upgraded to {', '.join(report.after)}; backup: {report.backup}")
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
