"""``ledgerly FILE``: open a ledger, bringing it to the newest schema first.

Exit codes: 0 opened (upgraded or current), 1 an error (printed), 2 usage,
3 the file was written by a newer release (opened read-only).
"""

from __future__ import annotations

import sys

from frozen_alembic import DatabaseTooNew, FrozenAlembicError, ensure_current


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: ledgerly FILE", file=sys.stderr)
        return 2
    try:
        report = ensure_current(argv[0], folder="db_migrations", anchor="ledgerly")
    except DatabaseTooNew as err:
        print(f"newer: {err.revision}; opened read-only")
        return 3
    except FrozenAlembicError as err:
        print(f"ledgerly: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    state = "upgraded" if report.changed else "current"
    print(f"{state}: {','.join(report.before) or '-'} -> {','.join(report.after)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
