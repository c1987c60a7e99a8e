"""A child process that upgrades one file, for the crash-safety and concurrency tests.

The tests start it with :class:`subprocess.Popen`, then kill it (``SIGKILL``) or let
several of them race for the same file::

    python tests/crash_worker.py SCRIPTS DB
        upgrade DB to the newest revision of SCRIPTS, then print "done"
    python tests/crash_worker.py --report --ready R --go G SCRIPTS DB
        load everything, create R, wait until G exists, upgrade DB, then print
        the report as JSON: {"before": [...], "after": [...], "applied": [...],
        "backup": "..." or null, "started": T, "finished": T} (T: time.time())
    python tests/crash_worker.py --events E SCRIPTS DB
        as the first form, and append one line "T EVENT" to E (T: time.monotonic())
        at each phase, so that whoever kills the worker can tell where it died:
            upgrade          upgrade() is about to be called (lock, plan, backup follow)
            backup           the backup starts (the write lock is held)
            revision REV     the progress callback announced REV: its script runs next
            revisions done   the checks started: the commit follows
            done             upgrade() returned: the file is committed
        Each line is flushed at once; the OS keeps it when the process is killed.
    python tests/crash_worker.py --run-env-py ...
        any of the above with Migrator(run_env_py=True): the project's env.py runs
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from frozen_alembic import Migrator, Phase

if TYPE_CHECKING:
    from frozen_alembic import Progress


class Events:
    """The ``--events`` file: one flushed line per phase of the upgrade."""

    def __init__(self, file: TextIO) -> None:
        self._file = file
        self._last: str | None = None

    def note(self, event: str) -> None:
        self._file.write(f"{time.monotonic():.6f} {event}\n")
        self._file.flush()

    def progress(self, progress: Progress) -> None:
        """The ``progress=`` callback of :meth:`Migrator.upgrade` (one line per step)."""
        if progress.phase is Phase.BACKUP:
            event = "backup"
        elif progress.phase is Phase.MIGRATE and progress.revision is not None:
            event = f"revision {progress.revision}"
        elif progress.phase is Phase.CHECK:
            event = "revisions done"
        else:
            return
        if event != self._last:
            self._last = event
            self.note(event)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("scripts", type=Path, help="the Alembic script directory")
    parser.add_argument("db", type=Path, help="the SQLite file to upgrade")
    parser.add_argument("--report", action="store_true", help="print the report as JSON")
    parser.add_argument("--ready", type=Path, help="create this file once loaded")
    parser.add_argument("--go", type=Path, help="wait until this file exists, then upgrade")
    parser.add_argument("--timeout", type=float, default=30.0, help="lock timeout, seconds")
    parser.add_argument("--events", type=Path, help="append a line to this file at each phase")
    parser.add_argument("--run-env-py", action="store_true", help="run the project's env.py")
    args = parser.parse_args(argv)

    migrator = Migrator(args.scripts, timeout=args.timeout, run_env_py=args.run_env_py)
    migrator.heads()  # import Alembic and load the revisions before the barrier
    if args.ready is not None:
        args.ready.touch()
    if args.go is not None:
        while not args.go.exists():
            time.sleep(0.001)
    events_file = args.events.open("a", encoding="utf-8") if args.events is not None else None
    started = time.time()
    if events_file is None:
        report = migrator.upgrade(args.db)
    else:
        events = Events(events_file)
        events.note("upgrade")
        report = migrator.upgrade(args.db, progress=events.progress)
        events.note("done")
        events_file.close()
    finished = time.time()
    if args.report:
        print(
            json.dumps(
                {
                    "before": list(report.before),
                    "after": list(report.after),
                    "applied": list(report.applied),
                    "backup": str(report.backup) if report.backup is not None else None,
                    "started": started,
                    "finished": finished,
                }
            )
        )
    else:
        print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
