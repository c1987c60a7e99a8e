"""Litter and waits: what killed processes leave is cleaned up, reading writes nothing,
and ``timeout`` bounds the whole wait for another program's lock.

* ``create()`` builds a new file as ``.NAME.<12 hex>.creating``, locked with
  ``flock``.  A process killed half-way leaves it (and its ``-journal``); the next
  ``create()`` in that folder removes such files once they are a second old and no
  live process holds their lock -- and never a file that one does.
* ``status()`` and ``ensure_current()`` on a WAL file in a read-only folder write
  nothing there (no ``-wal``, no ``-shm``), even as root, which could.
* A reader that keeps its read transaction open past the timeout makes the upgrade
  give up with ``DatabaseBusy`` after about ``timeout`` -- not after one timeout per
  step that waited -- and the file is left as it was.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from frozen_alembic import (
    DatabaseBusy,
    Migrator,
    ReadOnlyDatabase,
    State,
    ensure_current,
)
from frozen_alembic.build import stage

from ..conftest import HEAD, REVISIONS, sha256, versions
from .procs import SRC

AGED = 2.0  # seconds: older than the library's one-second grace for new files

# Creates a temporary file the way create() names it, locks it, and waits.
LOCKER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
fcntl.flock(fd, fcntl.LOCK_EX)
with open(sys.argv[1] + "-journal", "wb") as journal:
    journal.write(b"journal of a live process")
print("locked", flush=True)
sys.stdin.read()
os.close(fd)
"""

# create() on a Migrator with no template: the whole chain runs in the temporary file.
CREATOR = """
import sys
from frozen_alembic import Migrator
Migrator(sys.argv[1]).create(sys.argv[2])
"""

# A revision that stops, mid-transaction, until it is killed.
STALLING_REVISION = '''"""Stalls, mid-transaction, after writing.

Revision ID: 0007_stalls
Revises: 0006_attachments
"""

import os
import time

import sqlalchemy as sa
from alembic import op

revision = "0007_stalls"
down_revision = "0006_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("stalled", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("INSERT INTO stalled (id) VALUES (1)")
    with open(os.environ["FROZEN_ALEMBIC_TEST_MARKER"], "w") as marker:
        marker.write("inside")
    time.sleep(120)


def downgrade() -> None:
    op.drop_table("stalled")
'''

# Many statements that each write megabytes: each one spills SQLite's page cache,
# which in rollback-journal mode needs the exclusive lock a reader holds back.
SPILLING_REVISION = '''"""Ten statements that each write 3 MB.

Revision ID: 0007_spills
Revises: 0006_attachments
"""

from alembic import op

revision = "0007_spills"
down_revision = "0006_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for i in range(10):
        op.execute(
            f"CREATE TABLE scratch_{i} AS WITH RECURSIVE c(x) AS "
            "(SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) "
            "SELECT randomblob(3000) AS data FROM c"
        )


def downgrade() -> None:
    for i in range(10):
        op.execute(f"DROP TABLE scratch_{i}")
'''

# Holds a read transaction (SQLite's SHARED lock) until stdin closes, at most 30 s.
READER = """
import select, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN")
conn.execute("SELECT count(*) FROM note").fetchone()
print("holding", flush=True)
select.select([sys.stdin], [], [], 30)
conn.execute("ROLLBACK")
conn.close()
"""


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra)
    return env


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def age(*paths: Path) -> None:
    """Make files look as if they were last written ``AGED`` seconds ago."""
    then = time.time() - AGED
    for path in paths:
        os.utime(path, (then, then))


def creating(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if ".creating" in n)


@contextmanager
def started(code: str, *args: str, ready: str, env: dict[str, str] | None = None) -> Iterator[None]:
    """A child process running ``code`` that has printed ``ready``; stopped afterwards."""
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or child_env(),
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == f"{ready}\n", (line, child.stderr.read() if child.stderr else "")
        yield
    finally:
        _out, err = child.communicate(input="", timeout=60)  # EOF: let go, exit
    assert child.returncode == 0, err


# -- leftovers of create() ------------------------------------------------------------


def test_leftovers_of_dead_processes_are_removed_by_the_next_create(
    migrator: Migrator, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    leftovers = [
        folder / ".Notes.notes.0123456789ab.creating",
        folder / ".Notes.notes.0123456789ab.creating-journal",
        folder / ".Other.notes.ba9876543210.restoring",
    ]
    # Names that only look alike are the user's, and stay.
    keep = [
        folder / "Notes.notes",
        folder / "Notes.notes.0123456789ab.creating",
        folder / ".Notes.notes.0123456789ab.creating.txt",
        folder / ".Notes.notes.not-hex-1234.creating",
        folder / ".Notes.notes.0123456789AB.creating",
    ]
    for path in [*leftovers, *keep]:
        path.write_bytes(b"SQLite format 3\x00 and then some")
    age(*leftovers, *keep)

    migrator.create(folder / "new.notes")

    assert listing(folder) == sorted(["new.notes", *(p.name for p in keep)])
    assert versions(folder / "new.notes") == [HEAD]


def test_a_temporary_file_locked_by_a_live_process_is_left_alone(
    migrator: Migrator, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    theirs = folder / ".Busy.notes.0123456789ab.creating"
    journal = folder / f"{theirs.name}-journal"
    with started(LOCKER, str(theirs), ready="locked"):
        age(theirs, journal)
        migrator.create(folder / "first.notes")
        assert theirs.exists(), "a file a live process holds was removed"
        assert journal.read_bytes() == b"journal of a live process"
    # The process is gone and its lock with it: now the file is litter.
    migrator.create(folder / "second.notes")
    assert listing(folder) == ["first.notes", "second.notes"]


def test_a_create_killed_mid_chain_leaves_litter_the_next_create_removes(
    scripts: Path, migrator: Migrator, tmp_path: Path
) -> None:
    stalling = tmp_path / "stalling-scripts"
    shutil.copytree(scripts, stalling)
    (stalling / "versions" / "0007_stalls.py").write_text(STALLING_REVISION, encoding="utf-8")
    folder = tmp_path / "docs"
    folder.mkdir()
    marker = tmp_path / "inside"
    target = folder / "killed.notes"
    child = subprocess.Popen(
        [sys.executable, "-c", CREATOR, str(stalling), str(target)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(FROZEN_ALEMBIC_TEST_MARKER=str(marker)),
    )
    try:
        deadline = time.monotonic() + 60
        while not (marker.exists() and creating(folder)):
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the child never reached the stalling revision"
            time.sleep(0.005)
        litter = creating(folder)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL

    assert litter == creating(folder)
    # The temporary file, and the journal of the transaction the kill interrupted.
    assert [n.rsplit(".", 1)[1] for n in litter] == ["creating", "creating-journal"], litter
    assert not target.exists(), "a half-made file appeared under its name"

    age(*(folder / n for n in creating(folder)))
    migrator.create(folder / "later.notes")

    assert listing(folder) == ["later.notes"]
    migrator.create(target)  # the name the killed process wanted is free and works
    assert versions(target) == [HEAD]
    assert listing(folder) == ["killed.notes", "later.notes"]


# -- reading in a read-only folder --------------------------------------------------------


@pytest.fixture(params=["source", "bundle"])
def script_folder(request: pytest.FixtureRequest, scripts: Path, tmp_path: Path) -> Path:
    """The scripts as a source tree, or staged for a build (with the heads file)."""
    if request.param == "source":
        return scripts
    return stage(scripts, stage_dir=tmp_path / "staged").folder


@pytest.mark.parametrize("revision", ["0002_tags", HEAD])
def test_reading_a_wal_file_in_a_read_only_folder_creates_nothing_there(
    migrator: Migrator,
    script_folder: Path,
    tmp_path: Path,
    revision: str,
) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    doc = folder / "doc.notes"
    migrator.create(doc)
    if revision != HEAD:
        migrator.downgrade(doc, revision, backup=False)
    with closing(sqlite3.connect(doc)) as conn:
        assert conn.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    assert listing(folder) == ["doc.notes"]  # the last close took -wal and -shm away
    before = sha256(doc)
    index = REVISIONS.index(revision)

    folder.chmod(0o555)
    try:
        status = migrator.status(doc)
        assert listing(folder) == ["doc.notes"]
        assert migrator.current(doc) == (revision,)
        assert listing(folder) == ["doc.notes"]
        if revision == HEAD:
            report = ensure_current(doc, scripts=script_folder)
            assert (report.before, report.after, report.applied) == ((HEAD,), (HEAD,), ())
            assert (report.changed, report.backup) == (False, None)
        else:
            with pytest.raises(ReadOnlyDatabase):
                ensure_current(doc, scripts=script_folder)
        assert listing(folder) == ["doc.notes"]
    finally:
        folder.chmod(0o755)

    assert status.state is (State.CURRENT if revision == HEAD else State.BEHIND)
    assert (status.current, status.pending) == ((revision,), REVISIONS[index + 1 :])
    assert sha256(doc) == before


# -- waiting for another program's lock -------------------------------------------------


def fill_big(path: Path, megabytes: int) -> None:
    """About ``megabytes`` MB of notes in a file at 0001_initial."""
    body = "n" * 10_000
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO notebook (id, title, sort_key) VALUES (1, 'Inbox', '1')")
        conn.executemany(
            "INSERT INTO note (id, notebook_id, author_name, body, created_at) "
            "VALUES (?, 1, 'Ada Lovelace', ?, '2026-01-02')",
            [(i, body) for i in range(1, megabytes * 100 + 1)],
        )
        conn.execute("COMMIT")


def leftovers(doc: Path) -> list[str]:
    return sorted(n for n in os.listdir(doc.parent) if n != doc.name and n.startswith(doc.name))


def upgrade_against_a_reader(migrator: Migrator, doc: Path) -> float:
    """Upgrade ``doc`` while another process reads it; ``DatabaseBusy`` expected.

    :return: how long the call took.
    """
    before = sha256(doc)
    with started(READER, str(doc), ready="holding"):
        start = time.monotonic()
        with pytest.raises(DatabaseBusy):
            migrator.upgrade(doc)
        waited = time.monotonic() - start
    assert sha256(doc) == before
    assert leftovers(doc) == [], "no backup, .partial or journal is left"
    return waited


def test_a_reader_past_the_timeout_gives_database_busy_within_the_timeout(
    scripts: Path, db_at: Callable[[str], Path]
) -> None:
    doc = db_at("0001_initial")
    for old in doc.parent.glob(f"{doc.name}.*.bak"):
        old.unlink()
    fill_big(doc, 20)
    assert os.path.getsize(doc) > 20_000_000
    with closing(sqlite3.connect(doc)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)

    waited = upgrade_against_a_reader(Migrator(scripts, timeout=2), doc)

    assert 1.0 <= waited < 10, waited
    assert versions(doc) == [REVISIONS[0]]


def test_the_timeout_bounds_the_whole_wait_however_many_statements_wait(
    scripts: Path, db_at: Callable[[str], Path]
) -> None:
    doc = db_at(HEAD)
    (scripts / "versions" / "0007_spills.py").write_text(SPILLING_REVISION, encoding="utf-8")
    timeout = 0.5

    waited = upgrade_against_a_reader(Migrator(scripts, timeout=timeout), doc)

    # One timeout for the call, not one for each of the 10 statements that waited.
    assert waited < 2 * timeout + 2.5, waited
    assert versions(doc) == [HEAD]
