"""Other connections of the same process keep their locks while the library works.

Closing *any* descriptor of a file drops every POSIX lock the process holds on it —
also the locks of the application's own SQLite connections to that file (another
window showing the document, a caller's engine).  Another process could then write
the file under a reader's feet, or, in WAL mode, take the exclusive lock that lets
it checkpoint and delete a ``-wal`` still in use here.  SQLite protects its own
descriptors from this; the library must not open and close the file behind them.

Each test holds a read transaction on a document in this process, makes a library
call on the same file, then asks a *new process* for the exclusive lock without
waiting: it must be refused, because the reader still holds its shared lock.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from frozen_alembic import Migrator, backup, ensure_current, open_read_only

from ..conftest import HEAD, REFERENCE_SCRIPTS

# What a shared lock on the database file refuses to another process: in rollback
# mode an exclusive transaction; in WAL mode (where readers never block a writer)
# leaving WAL mode, which needs the file to itself — as does the checkpoint-and-delete
# of the -wal by the last connection to close.
PROBES = {
    "delete": "conn.execute('BEGIN EXCLUSIVE'); conn.execute('ROLLBACK')",
    "wal": "conn.execute('PRAGMA journal_mode = DELETE').fetchall()",
}
PROBE = (
    "import sqlite3, sys\n"
    "conn = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
    "try:\n"
    "    {probe}\n"
    "except sqlite3.OperationalError as err:\n"
    "    print(err)\n"
    "else:\n"
    "    print('got the file to itself')\n"
)

CALLS: dict[str, Callable[[Path], object]] = {
    "status": lambda doc: Migrator(REFERENCE_SCRIPTS).status(doc),
    "plan": lambda doc: Migrator(REFERENCE_SCRIPTS).plan(doc),
    "upgrade (nothing to do)": lambda doc: Migrator(REFERENCE_SCRIPTS).upgrade(doc),
    "ensure_current": lambda doc: ensure_current(doc, scripts=REFERENCE_SCRIPTS),
    "backup": lambda doc: backup(doc),
    "open_read_only": lambda doc: open_read_only(doc).close(),
}


def _exclusive_from_another_process(path: Path, mode: str) -> str:
    code = PROBE.format(probe=PROBES[mode])
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.parametrize("mode", ["delete", "wal"])
@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_reader_in_this_process_keeps_its_lock(call: str, mode: str, tmp_path: Path) -> None:
    doc = tmp_path / "doc.notes"
    Migrator(REFERENCE_SCRIPTS).create(doc)
    reader = sqlite3.connect(doc, isolation_level=None)
    try:
        assert reader.execute(f"PRAGMA journal_mode = {mode}").fetchone() == (mode,)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM note").fetchone()  # a shared lock, held
        assert _exclusive_from_another_process(doc, mode) == "database is locked"
        CALLS[call](doc)
        assert _exclusive_from_another_process(doc, mode) == "database is locked", (
            f"{call} dropped this process's lock on the file"
        )
        assert reader.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
    finally:
        reader.close()
