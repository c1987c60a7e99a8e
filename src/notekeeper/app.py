"""The notekeeper reference app's entry point: the window, or a console check.

``notekeeper`` (or ``notekeeper --open FILE``) starts the PySide6 window
(:mod:`notekeeper.gui`).  ``notekeeper --check FILE`` — and ``notekeeper FILE``, the
same — is the non-interactive mode for scripts and ``frozen-alembic verify``: it
makes the document current (or creates it), prints what it did and what the document
holds, and never imports Qt.  Opening an existing document that way imports only what
``ensure_current`` needs (the standard library, when the file is current): SQLAlchemy
and Alembic, through :class:`~frozen_alembic.Migrator` and :mod:`notekeeper.models`,
are imported only to create a new document, or by ``ensure_current`` when the file
needs upgrading.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from frozen_alembic import DatabaseTooNew, FrozenAlembicError, ensure_current, locate_migrations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from frozen_alembic import Progress

USAGE = """\
usage: notekeeper [--open FILE] [--yes] [--quit-when-idle] [--screenshot PNG]
       notekeeper --check FILE
       notekeeper FILE            (the same as --check FILE)

  (no arguments)      open the window
  --open FILE         open the window on FILE (an older document is upgraded after
                      asking; a newer one is opened read-only)
  --yes               upgrade without asking (for automation)
  --quit-when-idle    quit once FILE is open or could not be opened, printing what
                      happened (exit code 0: opened, 1: not opened)
  --screenshot PNG    save a picture of the window once FILE is open (or not)
  --check FILE        no window: make FILE current (create it if missing), print
                      what was done and what it holds
"""


def _print_progress(progress: Progress) -> None:
    if progress.revision is not None:
        print(f"  [{progress.done + 1}/{progress.total}] {progress.message}", flush=True)


def check_document(path: Path) -> int:
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


class WindowOptions:
    """The window's command line: what to open, and the automation flags.

    (A plain class: ``dataclasses`` would cost the console check 10 ms of imports.)
    """

    def __init__(
        self,
        open: Path | None = None,
        yes: bool = False,
        quit_when_idle: bool = False,
        screenshot: Path | None = None,
    ) -> None:
        self.open = open
        self.yes = yes
        self.quit_when_idle = quit_when_idle
        self.screenshot = screenshot


def parse_window_args(args: list[str]) -> WindowOptions | None:
    """The window's options from ``args``, or ``None`` when they are not valid."""
    paths: dict[str, Path] = {}
    flags: set[str] = set()
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("--open", "--screenshot") and rest and not rest[0].startswith("-"):
            paths[arg] = Path(rest.pop(0))
        elif arg in ("--yes", "--quit-when-idle"):
            flags.add(arg)
        else:
            return None
    return WindowOptions(
        open=paths.get("--open"),
        yes="--yes" in flags,
        quit_when_idle="--quit-when-idle" in flags,
        screenshot=paths.get("--screenshot"),
    )


def main(argv: list[str] | None = None) -> int:
    """Dispatch: ``--check FILE`` or ``FILE`` to the console check, the rest to the window.

    :return: the process exit code.
    """
    args = sys.argv[1:] if argv is None else argv
    if args in (["-h"], ["--help"]):
        print(USAGE, end="")
        return 0
    is_check = (len(args) == 2 and args[0] == "--check") or (
        len(args) == 1 and not args[0].startswith("-")
    )
    if is_check:
        try:
            return check_document(Path(args[-1]))
        except FrozenAlembicError as err:
            print(f"notekeeper: {err}", file=sys.stderr)
            return 1
    options = parse_window_args(args)
    if options is None:
        print(USAGE, end="", file=sys.stderr)
        return 2
    from .gui import main as window_main  # PySide6 is imported here, and only here

    return window_main(options)
