"""A child process that upgrades one file, for the crash-safety and concurrency tests.

The tests start it with :class:`subprocess.Popen`, then kill it (``SIGKILL``) or let
several of them race for the same file::

    python tests/crash_worker.py SCRIPTS DB
        upgrade DB to the newest revision of SCRIPTS, then print "done"
    python tests/crash_worker.py --report --ready R --go G SCRIPTS DB
        load everything, create R, wait until G exists, upgrade DB, then print
        the report as JSON: {"before": [...], "after": [...], "applied": [...],
        "backup": "..." or null, "started": T, "finished": T} (T: time.time())
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from frozen_alembic import Migrator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("scripts", type=Path, help="the Alembic script directory")
    parser.add_argument("db", type=Path, help="the SQLite file to upgrade")
    parser.add_argument("--report", action="store_true", help="print the report as JSON")
    parser.add_argument("--ready", type=Path, help="create this file once loaded")
    parser.add_argument("--go", type=Path, help="wait until this file exists, then upgrade")
    parser.add_argument("--timeout", type=float, default=30.0, help="lock timeout, seconds")
    args = parser.parse_args(argv)

    migrator = Migrator(args.scripts, timeout=args.timeout)
    migrator.heads()  # import Alembic and load the revisions before the barrier
    if args.ready is not None:
        args.ready.touch()
    if args.go is not None:
        while not args.go.exists():
            time.sleep(0.001)
    started = time.time()
    report = migrator.upgrade(args.db)
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
