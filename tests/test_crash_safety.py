"""Crash safety: ``kill -9`` a real upgrade inside its transaction, then look at the file.

A child process (``tests/crash_worker.py``) upgrades a copy of a file at ``r1``
holding 1,100,000 rows through three revisions in one call: ``r2`` rebuilds the
parent table of a foreign key, ``r3`` rewrites a column of every row and indexes it,
``r4`` rebuilds the child table and adds two indexes.  The test kills the worker
with ``SIGKILL``, then opens the file with plain :mod:`sqlite3` (which rolls back a
hot journal, or recovers the WAL) and checks that it is exactly at ``r1`` (byte for
byte the file it was) or exactly at ``r4``, with every row.  ``r2`` or ``r3`` in the
version table, or an ``r1`` file with any of their changes, would mean that the
upgrade committed part of its chain.  Then upgrading the file again must work.  Both
journal modes are tried.

Where each kill landed is known, not guessed: the worker appends a line to an events
file when it calls ``upgrade()``, at each progress callback, and when ``upgrade()``
returned.  Three kills in four wait until the first revision has started, then sleep
a random share of the revision phase measured in an undisturbed run (stratified, so
they spread over ``r2``, ``r3``, ``r4`` and a little of the checks and the commit);
every fourth kill comes at a fully random moment from the worker's start (start-up,
lock, backup).  Each kill is classified from the events file, and the file must agree:
killed before the last revision finished, it is at ``r1``; killed after ``upgrade()``
returned, at ``r4``.  At least half of the kills must land inside a revision, and
they must hit at least two different revisions.

The number of kills per journal mode comes from ``FROZEN_ALEMBIC_KILLS`` (default
15; ``scripts/stress`` runs 250), the random seed from ``FROZEN_ALEMBIC_SEED``
(default: a new one each run, printed with every failure).  Run with ``-s`` to see
the statistics.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from frozen_alembic import Migrator

from .conftest import sha256, versions

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow

WORKER = Path(__file__).resolve().with_name("crash_worker.py")
# On a quiet 2-core machine the worker takes ~3 s (the revisions ~1.7 s of it) and
# the retry after each kill ~2 s: this module takes about 3 minutes.
ITEMS = 1_000_000
NOTES = 100_000
KILLS = int(os.environ.get("FROZEN_ALEMBIC_KILLS", "15"))
MODES = ("delete", "wal")
CHAIN = ("r2", "r3", "r4")  # what the killed upgrade applies, in one call
RANDOM_EVERY = 4  # every 4th kill comes at a random moment; the others aim at the revisions
OVERSHOOT = 1.2  # aimed kills spread over 1.2x the revision phase: some hit the commit

# Where a worker was when it was killed, from its events file (see crash_worker.py).
BEFORE = "before the upgrade call"
LOCK = "in the lock and backup"  # upgrade() called, no revision started yet
CHECKS = "in the checks and commit"  # all revisions ran, upgrade() has not returned
AFTER = "after upgrade() returned"
EXITED = "had exited"  # of AFTER: the worker was gone before the kill

R1 = '''"""r1: items and their notes (notes cascade with their item)."""
import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("qty", sa.Text(), nullable=True),
    )
    op.create_table(
        "item_note",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer(),
            sa.ForeignKey("item.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("item_note")
    op.drop_table("item")
'''

R2 = '''"""r2: rebuild item: qty becomes INTEGER, a new weight column, an index on name."""
import sqlalchemy as sa
from alembic import op

revision = "r2"
down_revision = "r1"


def upgrade() -> None:
    with op.batch_alter_table("item", recreate="always") as batch:
        batch.alter_column(
            "qty", existing_type=sa.Text(), type_=sa.Integer(), existing_nullable=True
        )
        batch.add_column(sa.Column("weight", sa.Integer(), nullable=True))
    op.create_index("ix_item_name", "item", ["name"])


def downgrade() -> None:
    op.drop_index("ix_item_name", table_name="item")
    with op.batch_alter_table("item", recreate="always") as batch:
        batch.drop_column("weight")
        batch.alter_column(
            "qty", existing_type=sa.Integer(), type_=sa.Text(), existing_nullable=True
        )
'''

R3 = '''"""r3: every item gets a weight, and an index on it."""
from alembic import op

revision = "r3"
down_revision = "r2"


def upgrade() -> None:
    op.execute("UPDATE item SET weight = qty * 3 + id % 7")
    op.create_index("ix_item_weight", "item", ["weight"])


def downgrade() -> None:
    op.drop_index("ix_item_weight", table_name="item")
    op.execute("UPDATE item SET weight = NULL")
'''

R4 = '''"""r4: rebuild item_note with a NOT NULL stars column; index notes and items."""
import sqlalchemy as sa
from alembic import op

revision = "r4"
down_revision = "r3"


def upgrade() -> None:
    with op.batch_alter_table("item_note", recreate="always") as batch:
        batch.add_column(sa.Column("stars", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE item_note SET stars = id % 6")
    op.create_index("ix_item_note_item_id", "item_note", ["item_id"])
    op.create_index("ix_item_qty_name", "item", ["qty", "name"])


def downgrade() -> None:
    op.drop_index("ix_item_qty_name", table_name="item")
    op.drop_index("ix_item_note_item_id", table_name="item_note")
    with op.batch_alter_table("item_note", recreate="always") as batch:
        batch.drop_column("stars")
'''

FILL_ITEMS = """
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :items)
INSERT INTO item (id, name, qty) SELECT x, 'item ' || x, CAST(x % 997 AS TEXT) FROM n
"""
FILL_NOTES = """
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :notes)
INSERT INTO item_note (id, item_id, body) SELECT x, (x * 7919) % :items + 1, 'note ' || x FROM n
"""

Schema = list[tuple[Any, ...]]
Events = list[tuple[float, str]]  # a worker's events file: (time.monotonic(), event)


@dataclass(frozen=True)
class Contents:
    """What must survive any kill: row counts and sums, and the type of ``qty``."""

    items: tuple[int, int, float]  # count(*), sum(id), total(qty)
    qty_types: tuple[str, ...]  # the distinct typeof(qty) of item
    notes: tuple[int, int, int]  # count(*), sum(id), sum(item_id)


@dataclass(frozen=True)
class Base:
    """The module's script directory and, per journal mode, a file at ``r1``."""

    scripts: Path
    files: dict[str, Path]
    digests: dict[str, str]  # sha256 of each file: a rolled-back upgrade leaves it so
    contents: Contents
    schema: Schema


@dataclass(frozen=True)
class Timeline:
    """An undisturbed worker run, as its events file tells it (seconds)."""

    total: float  # from the worker's start to its exit, measured by the test
    lock: float  # upgrade() called -> the first revision announced (lock, plan, backup)
    revisions: dict[str, float]  # each revision: announced -> the next announcement
    checks: float  # the last revision finished -> upgrade() returned (checks, commit)

    @property
    def window(self) -> float:
        """The revision phase: where the aimed kills land."""
        return sum(self.revisions.values())

    def __str__(self) -> str:
        steps = ", ".join(f"{rev} {took:.2f} s" for rev, took in self.revisions.items())
        return (
            f"a {self.total:.2f} s worker run: lock and backup {self.lock:.2f} s, {steps}, "
            f"checks and commit {self.checks:.2f} s"
        )


@dataclass(frozen=True)
class Kill:
    """When to kill a worker: ``delay`` seconds after the first revision started
    (``aimed``), or after the worker was started."""

    delay: float
    aimed: bool

    def __str__(self) -> str:
        since = "the first revision started" if self.aimed else "the worker started"
        return f"{self.delay:.3f} s after {since}"


# -- the files -------------------------------------------------------------------------


def _connect(path: Path) -> closing[sqlite3.Connection]:
    """A plain read-write connection: opening it recovers a hot journal or the WAL."""
    return closing(sqlite3.connect(path, isolation_level=None))


def _schema(conn: sqlite3.Connection) -> Schema:
    return conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    ).fetchall()


def _schema_change(actual: Schema, expected: Schema) -> str:
    """What differs between two schemas, by object name."""
    have = {row[1]: row for row in actual}
    want = {row[1]: row for row in expected}
    changes = [f"new {have[name][0]} {name}" for name in sorted(have.keys() - want.keys())]
    changes += [f"no {want[name][0]} {name}" for name in sorted(want.keys() - have.keys())]
    changes += [
        f"{have[name][0]} {name} changed to {have[name][3]!r}"
        for name in sorted(have.keys() & want.keys())
        if have[name] != want[name]
    ]
    return "; ".join(changes) or "the same objects in another order"


def _columns(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    return {row[1]: row[2] for row in conn.execute(f"PRAGMA table_info({table})")}


def _contents(conn: sqlite3.Connection) -> Contents:
    count, id_sum, qty_total, low, high = conn.execute(
        "SELECT count(*), sum(id), total(qty), min(typeof(qty)), max(typeof(qty)) FROM item"
    ).fetchone()
    notes = conn.execute("SELECT count(*), sum(id), sum(item_id) FROM item_note").fetchone()
    return Contents((count, id_sum, qty_total), tuple(sorted({low, high})), tuple(notes))


def _versions(conn: sqlite3.Connection) -> list[str]:
    return [str(row[0]) for row in conn.execute("SELECT version_num FROM alembic_version")]


def _check_at(
    conn: sqlite3.Connection, rev: str, base: Base, head_schema: Schema | None, context: str
) -> None:
    """The file is exactly at ``rev`` (r1 or r4): its schema, and every row of the base."""
    contents = _contents(conn)
    if rev == "r1":
        schema = _schema(conn)
        assert schema == base.schema, (
            f"{context} the version table says r1, but the schema is not r1's "
            f"(part of the chain r2..r4 was committed): {_schema_change(schema, base.schema)}"
        )
        assert contents == base.contents, f"{context} rows changed at r1: {contents}"
        return
    assert rev == "r4", rev
    expected = Contents(base.contents.items, ("integer",), base.contents.notes)
    assert contents == expected, f"{context} rows changed at r4: {contents}"
    item = {"id": "INTEGER", "name": "TEXT", "qty": "INTEGER", "weight": "INTEGER"}
    assert _columns(conn, "item") == item, f"{context} the columns of item at r4"
    note = {"id": "INTEGER", "item_id": "INTEGER", "body": "TEXT", "stars": "INTEGER"}
    assert _columns(conn, "item_note") == note, f"{context} the columns of item_note at r4"
    wrong = conn.execute(
        "SELECT (SELECT count(*) FROM item WHERE weight IS NOT (qty * 3 + id % 7)),"
        " (SELECT count(*) FROM item_note WHERE stars IS NOT (id % 6))"
    ).fetchone()
    assert wrong == (0, 0), (
        f"{context} at r4, items without r3's weight, notes without stars: {wrong}"
    )
    if head_schema is not None:
        schema = _schema(conn)
        assert schema == head_schema, (
            f"{context} schema at r4: {_schema_change(schema, head_schema)}"
        )


def _check_after_kill(
    path: Path, base: Base, mode: str, head_schema: Schema | None, context: str
) -> str:
    """Open the killed file as an application would and check it; return its revision."""
    with _connect(path) as conn:
        integrity = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
        assert integrity == ["ok"], f"{context} integrity_check: {integrity[:5]}"
        revs = _versions(conn)
        assert revs not in (["r2"], ["r3"]), (
            f"{context} the file is at {revs[0]}: the upgrade committed part of its chain "
            f"r2..r4 (it must commit all of it or nothing)"
        )
        assert revs in (["r1"], ["r4"]), f"{context} version rows: {revs}"
        _check_at(conn, revs[0], base, head_schema, context)
        orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
        assert orphans == [], f"{context} foreign_key_check: {orphans[:5]}"
    if revs == ["r1"]:
        assert sha256(path) == base.digests[mode], (
            f"{context} at r1 with r1's schema and rows, but not byte for byte the file it was"
        )
    return revs[0]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    """The r1..r4 scripts, and one file at r1 per journal mode, with all the rows."""
    root = tmp_path_factory.mktemp("crash")
    scripts = root / "scripts"
    (scripts / "versions").mkdir(parents=True)
    for rev, text in {"r1": R1, "r2": R2, "r3": R3, "r4": R4}.items():
        (scripts / "versions" / f"{rev}.py").write_text(text)

    delete = root / "base-delete.db"
    with _connect(delete) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA user_version = 0")  # gives the empty file its header
    Migrator(scripts).upgrade(delete, "r1", backup=False)
    with _connect(delete) as conn:
        conn.execute("BEGIN")
        conn.execute(FILL_ITEMS, {"items": ITEMS})
        conn.execute(FILL_NOTES, {"items": ITEMS, "notes": NOTES})
        conn.execute("COMMIT")
        contents = _contents(conn)
        schema = _schema(conn)
    assert contents.items[0] == ITEMS
    assert contents.notes[0] == NOTES
    assert versions(delete) == ["r1"]

    wal = root / "base-wal.db"
    shutil.copy(delete, wal)
    with _connect(wal) as conn:
        assert conn.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    # The last connection checkpointed and removed the WAL: the file stands alone.
    assert sorted(p.name for p in root.glob("base-*")) == ["base-delete.db", "base-wal.db"]
    files = {"delete": delete, "wal": wal}
    digests = {mode: sha256(path) for mode, path in files.items()}
    return Base(scripts, files, digests, contents, schema)


# -- the worker ------------------------------------------------------------------------


def _worker(
    scripts: Path, db: Path, events: Path | None = None, *, route: str | None = None
) -> subprocess.Popen[str]:
    options = ["--events", str(events)] if events is not None else []
    env = dict(os.environ)
    if route is not None:  # see frozen_alembic._clone.ROUTE_VARIABLE
        env["FROZEN_ALEMBIC_BACKUP_ROUTE"] = route
    return subprocess.Popen(
        [sys.executable, str(WORKER), *options, str(scripts), str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@contextmanager
def _reaped(proc: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """Never leave a worker behind, whatever the test does."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _events(path: Path) -> Events:
    """The complete lines of a worker's events file (none before it opened it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    lines = text.split("\n")[:-1]  # a line without its newline is still being written
    return [(float(when), event) for when, event in (line.split(" ", 1) for line in lines)]


def _phase(events: Events) -> str:
    """Where a killed worker was: BEFORE, LOCK, "inside revision REV", CHECKS or AFTER."""
    names = [event for _when, event in events]
    if "upgrade" not in names:
        return BEFORE
    last = names[-1]
    if last == "done":
        return AFTER
    if last == "revisions done":
        return CHECKS
    if last.startswith("revision "):
        return f"inside {last}"
    assert last in ("upgrade", "backup"), names
    return LOCK


def _timeline(events: Events, total: float) -> Timeline:
    """Measure the phases of an undisturbed upgrade from its events."""
    names = [event for _when, event in events]
    announced = [f"revision {rev}" for rev in CHAIN]
    shown = [n for n in names if n not in ("backup", "revisions done")]
    assert shown == ["upgrade", *announced, "done"], (
        f"the worker's events do not show one progress callback before each revision: {names}"
    )
    when = {event: at for at, event in events}
    # Without the closing callback, the last revision runs until upgrade() returns.
    end = when.get("revisions done", when["done"])
    starts = [when[name] for name in announced]
    revisions = {
        rev: finish - start
        for rev, start, finish in zip(CHAIN, starts, [*starts[1:], end], strict=True)
    }
    return Timeline(total, starts[0] - when["upgrade"], revisions, when["done"] - end)


def _undisturbed_run(base: Base, mode: str, work: Path) -> tuple[Timeline, Schema]:
    """Time one whole upgrade in a worker; return its timeline and the r4 schema."""
    work.mkdir()
    db = work / "doc.db"
    events = work / "events.log"
    shutil.copy(base.files[mode], db)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(WORKER), "--events", str(events), str(base.scripts), str(db)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    total = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    timeline = _timeline(_events(events), total)
    with _connect(db) as conn:
        assert _versions(conn) == ["r4"]
        schema = _schema(conn)
        _check_at(conn, "r4", base, schema, f"[{mode} undisturbed run]")
    assert schema != base.schema
    shutil.rmtree(work)
    return timeline, schema


def _wait_for_a_revision(events: Path, proc: subprocess.Popen[str], context: str) -> None:
    """Poll the events file until a revision has started (or the worker is gone)."""
    deadline = time.monotonic() + 300
    while proc.poll() is None:
        if any(event.startswith("revision ") for _when, event in _events(events)):
            return
        assert time.monotonic() < deadline, f"{context} no revision started within 300 s"
        time.sleep(0.002)


def _run_and_kill(
    scripts: Path, db: Path, events: Path, kill: Kill, context: str
) -> tuple[str, bool]:
    """Start a worker and SIGKILL it as planned; return where it was (its phase) and
    whether it had exited by itself before the kill."""
    with _reaped(_worker(scripts, db, events)) as proc:
        if kill.aimed:
            _wait_for_a_revision(events, proc, context)
        time.sleep(kill.delay)
        proc.kill()  # does nothing once the worker was reaped; a zombie ignores it
        out, err = proc.communicate(timeout=60)
    if proc.returncode != -signal.SIGKILL:
        assert proc.returncode == 0, f"{context} worker exited with {proc.returncode}: {err}"
        assert out.strip() == "done", context
    return _phase(_events(events)), proc.returncode == 0


def _plan(rng: random.Random, timeline: Timeline) -> list[Kill]:
    """The kill times: every RANDOM_EVERY-th anywhere in the worker's run, the others
    in the revision phase, one in each of as many equal slices of it (shuffled)."""
    aimed = [i for i in range(KILLS) if (i + 1) % RANDOM_EVERY]
    slices = iter(rng.sample(range(len(aimed)), len(aimed)))
    plan = []
    for i in range(KILLS):
        if i in aimed:
            share = (next(slices) + rng.random()) / len(aimed)
            plan.append(Kill(share * OVERSHOOT * timeline.window, aimed=True))
        else:
            plan.append(Kill(rng.uniform(0, 1.1 * timeline.total), aimed=False))
    return plan


def _seed() -> int:
    given = os.environ.get("FROZEN_ALEMBIC_SEED")
    return int(given) if given else random.SystemRandom().randrange(2**32)


# -- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_kill_9_inside_the_upgrade_leaves_r1_or_r4(base: Base, mode: str, tmp_path: Path) -> None:
    started = time.monotonic()
    timeline, head_schema = _undisturbed_run(base, mode, tmp_path / "undisturbed")
    seed = _seed()
    tally: Counter[str] = Counter()
    for i, kill in enumerate(_plan(random.Random(seed), timeline)):
        work = tmp_path / f"kill{i}"
        work.mkdir()
        db = work / "doc.db"
        shutil.copy(base.files[mode], db)
        context = (
            f"[{mode}: kill {i + 1}/{KILLS} {kill}, in {timeline}; FROZEN_ALEMBIC_SEED={seed}]"
        )

        phase, exited = _run_and_kill(base.scripts, db, work / "events.log", kill, context)
        context = f"{context[:-1]}; killed {phase}]"
        tally[phase] += 1
        tally[EXITED] += exited
        tally["aimed"] += kill.aimed
        if any(work.glob("*.bak.partial")):
            tally["killed while writing the backup"] += 1
        rev = _check_after_kill(db, base, mode, head_schema, context)
        tally[rev] += 1
        # The file must agree with where the worker was: before its last revision
        # finished nothing may be committed; once upgrade() returned, all of it.
        if phase == AFTER:
            assert rev == "r4", f"{context} upgrade() had returned, yet the file is at {rev}"
        elif phase != CHECKS:
            assert rev == "r1", f"{context} killed before the commit, yet the file is at {rev}"

        report = Migrator(base.scripts).upgrade(db)
        assert report.after == ("r4",), context
        assert report.applied == (CHAIN if rev == "r1" else ()), context
        with _connect(db) as conn:
            assert _versions(conn) == ["r4"], context
            _check_at(conn, "r4", base, head_schema, f"{context} after the retry:")
        leftovers = sorted(p.name for p in work.glob("*.partial"))
        assert leftovers == [], f"{context} partial backups left after the retry: {leftovers}"
        tally["orphan journals"] += len(list(work.glob("*.partial-journal")))
        shutil.rmtree(work)

    inside = {rev: tally[f"inside revision {rev}"] for rev in CHAIN}
    print(
        f"\ncrash safety, journal_mode={mode}, seed {seed}: {KILLS} kills "
        f"({tally['aimed']} aimed at the revisions, {KILLS - tally['aimed']} at random) of "
        f"{timeline}.\n  Killed {BEFORE}: {tally[BEFORE]}, {LOCK}: {tally[LOCK]}, "
        f"inside revision {', '.join(f'{rev}: {n}' for rev, n in inside.items())}, "
        f"{CHECKS}: {tally[CHECKS]}, {AFTER}: {tally[AFTER]} "
        f"({tally[EXITED]} {EXITED}).\n  Left at r1: {tally['r1']}, at r4: {tally['r4']}; "
        f"{tally['killed while writing the backup']} killed while writing the backup, "
        f"{tally['orphan journals']} orphan backup journals left; "
        f"{time.monotonic() - started:.1f} s"
    )
    where = f"{dict(tally)} (FROZEN_ALEMBIC_SEED={seed})"
    assert 2 * sum(inside.values()) >= KILLS, f"under half the kills hit a revision: {where}"
    if KILLS >= 6:
        hit = [rev for rev, n in inside.items() if n]
        assert len(hit) >= 2, f"the kills inside revisions all hit {hit}: {where}"


def _kill_during_backup(base: Base, mode: str, tmp_path: Path) -> tuple[Path, Path]:
    """Kill a worker while it writes its backup; return the file and the partial backup.

    The backup is forced onto SQLite's backup API, whose partial copy grows page by
    page for long enough to be caught; a clone or a kernel copy is over in a few
    milliseconds (``tests/faults/test_backup_routes.py`` kills each route).
    """
    for attempt in range(5):
        work = tmp_path / f"attempt{attempt}"
        work.mkdir()
        db = work / "doc.db"
        shutil.copy(base.files[mode], db)
        with _reaped(_worker(base.scripts, db, route="sqlite")) as proc:
            partial = _wait_for_partial(work, proc)
            if partial is not None:
                proc.kill()
        if partial is not None and partial.exists():
            assert proc.returncode == -signal.SIGKILL
            return db, partial
    pytest.fail("five workers finished their backup before they could be killed in it")


def _wait_for_partial(folder: Path, proc: subprocess.Popen[str]) -> Path | None:
    """Poll until a partial backup with some pages in it appears (None: too late)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        for candidate in folder.glob("*.bak.partial"):
            try:
                if candidate.stat().st_size > 0:
                    return candidate
            except FileNotFoundError:  # renamed into place meanwhile
                return None
    return None


@pytest.mark.parametrize("mode", MODES)
def test_kill_9_during_the_backup_leaves_the_file_untouched(
    base: Base, mode: str, tmp_path: Path
) -> None:
    db, partial = _kill_during_backup(base, mode, tmp_path)
    assert sha256(db) == base.digests[mode]
    context = f"[{mode}: killed during the backup]"
    assert _check_after_kill(db, base, mode, None, context) == "r1"

    report = Migrator(base.scripts).upgrade(db)
    assert report.applied == CHAIN
    assert report.backup is not None
    assert not partial.exists()
    assert sorted(db.parent.glob("*.partial")) == []
    assert sorted(db.parent.glob("*.bak")) == [report.backup]
    assert versions(report.backup) == ["r1"]
    assert versions(db) == ["r4"]


def test_a_killed_backup_leaves_no_journal_behind(base: Base, tmp_path: Path) -> None:
    db, partial = _kill_during_backup(base, "delete", tmp_path)
    journal = partial.with_name(f"{partial.name}-journal")
    if not journal.exists():  # this kill came before SQLite opened one: leave one as it would
        journal.write_bytes(b"\0" * 512)
    # A retry within the same second reuses the partial's name, and SQLite then deletes
    # the stale journal itself; a user's next attempt comes later, under a new name.
    time.sleep(1.1)
    Migrator(base.scripts).upgrade(db)
    assert sorted(p.name for p in db.parent.glob("*.partial*")) == []
