"""How much work a change is, so that a progress bar moves evenly.

Units are database pages.  The backup copies every page; the checks read about half
as much; a revision costs a little for itself plus three times the pages of the
tables it touches (a table rebuild reads, writes and re-indexes them).  Which tables
a revision touches is read from its source (the table names it mentions, as words);
a table's pages are estimated from its share of the rows (``max(rowid)``, which
SQLite answers without a scan) — cheap, and right where it matters: a revision that
rebuilds a million-row table outweighs one that adds an index to an empty one.
"""

from __future__ import annotations

import re
import sqlite3

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

REVISION_BASE = 8
"""Units for a revision that touches no table with rows (its DDL, its version row)."""
COMMIT_UNITS = 8
OPS_PER_PAGE = 400
"""About how many SQLite instructions rewriting one page of a table takes."""


def _rows(raw: sqlite3.Connection, table: str) -> int:
    quoted = '"' + table.replace('"', '""') + '"'
    try:
        row = raw.execute(f"SELECT max(rowid) FROM {quoted}").fetchone()
    except sqlite3.Error:  # WITHOUT ROWID tables, virtual tables
        return 0
    return int(row[0] or 0) if row else 0


def _source(step: Any) -> str:
    path = getattr(getattr(step, "revision", None), "path", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return ""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return ""


class Work:
    """The units of one change: ``backup``, one per revision, ``check``, ``commit``.

    :param raw: the change's connection (inside its transaction).
    :param steps: Alembic's steps for the change.
    :param backup: whether a backup will be taken.
    """

    def __init__(self, raw: sqlite3.Connection, steps: Sequence[Any], *, backup: bool) -> None:
        pages = int(raw.execute("PRAGMA page_count").fetchone()[0])
        tables = [
            str(r[0])
            for r in raw.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            )
        ]
        rows = {t: _rows(raw, t) for t in tables}
        all_rows = sum(rows.values()) or 1
        table_pages = {t: pages * n // all_rows for t, n in rows.items()}
        self.backup = pages if backup else 0
        self.revisions: list[int] = []
        self.expected_ops: list[int] = []
        for step in steps:
            source = _source(step)
            touched = [t for t in tables if source and re.search(rf"\b{re.escape(t)}\b", source)]
            if not source and type(step).__name__ != "StampStep":
                touched = tables  # bytecode only: assume the worst, spread evenly
            touched_pages = sum(table_pages[t] for t in touched)
            if not source and touched:
                touched_pages //= max(len(steps), 1)
            self.revisions.append(REVISION_BASE + 3 * touched_pages)
            self.expected_ops.append(OPS_PER_PAGE * max(touched_pages, 1))
        self.check = max(REVISION_BASE, pages // 2)
        self.check_ops = OPS_PER_PAGE * max(pages, 1) // 4
        self.commit = COMMIT_UNITS
        self.total = self.backup + sum(self.revisions) + self.check + self.commit

    def revision_start(self, index: int) -> int:
        """Units done when revision ``index`` (0-based) starts."""
        return self.backup + sum(self.revisions[:index])

    @property
    def check_start(self) -> int:
        """Units done when the checks start."""
        return self.backup + sum(self.revisions)

    @property
    def commit_start(self) -> int:
        """Units done when the commit starts."""
        return self.check_start + self.check
