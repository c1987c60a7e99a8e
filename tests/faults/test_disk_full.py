"""A full disk, for real: tmpfs file systems of every size an upgrade may meet, and a
file size limit (``RLIMIT_FSIZE``).

The sweep upgrades a ~1.5 MB document at ``0001_initial`` on tmpfs mounts from "the
document barely fits" up to "document, backup, journal and growth all fit" (measured
first on a roomy tmpfs), in both journal modes.  At every size the upgrade either
succeeds completely, or raises :class:`DiskFull` leaving the document as it was (or
put back from its backup, and saying so), with no partial or temporary file behind.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from frozen_alembic import DiskFull, FrozenAlembicError, Migrator

from ..conftest import HEAD, REFERENCE_SCRIPTS, fill_release_1, schema, sha256, versions
from .procs import run_with_fsize_limit

TmpfsFactory = Callable[[int], Path]

PAGE = os.sysconf("SC_PAGE_SIZE")
NOTEBOOKS = 40
NOTES = 4000
BODY = "x" * 300  # 4000 notes of ~330 bytes: a 1.5 MB document
LEVELS = 13
TEMPORARY = ("*.partial*", ".*.creating*", ".*.restoring*")


@dataclass(frozen=True)
class Document:
    """A filled document at 0001_initial, and what an upgrade of it must produce."""

    data: bytes
    journal_mode: str
    rows: str  # digest of every row of every table
    head_schema: dict[str, object]

    @property
    def size(self) -> int:
        return len(self.data)


def _fill(path: Path, journal_mode: str) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        assert conn.execute(f"PRAGMA journal_mode={journal_mode}").fetchone() == (journal_mode,)
    fill_release_1(path, NOTEBOOKS, NOTES, body=f" {BODY}")
    if journal_mode == "wal":
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _rows(path: Path) -> str:
    """A digest of every row of the document's tables (at 0001_initial)."""
    digest = hashlib.sha256()
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        for table in ("notebook", "note"):
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY id"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def _counts(path: Path) -> tuple[int, int]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        notebooks = conn.execute("SELECT count(*) FROM notebook").fetchone()[0]
        notes = conn.execute("SELECT count(*) FROM note").fetchone()[0]
    return int(notebooks), int(notes)


def _integrity(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]


def _is_wal(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(20)[18:20] == b"\x02\x02"


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("disk-full") / "scripts"
    shutil.copytree(REFERENCE_SCRIPTS, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture(scope="module")
def documents(scripts: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Document]:
    folder = tmp_path_factory.mktemp("documents")
    migrator = Migrator(scripts)
    fresh = folder / "fresh.notes"
    migrator.create(fresh)
    head_schema = schema(fresh)
    found = {}
    for mode in ("delete", "wal"):
        path = folder / f"{mode}.notes"
        migrator.create(path)
        migrator.downgrade(path, "0001_initial", backup=False)
        _fill(path, mode)
        assert not Path(f"{path}-wal").exists()
        found[mode] = Document(path.read_bytes(), mode, _rows(path), head_schema)
    assert 1_000_000 < found["delete"].size < 2_000_000, found["delete"].size
    return found


def _peak_use(tmpfs: TmpfsFactory, scripts: Path, doc: Document) -> int:
    """Bytes a successful upgrade of ``doc`` needs at its peak, measured on a roomy tmpfs."""
    folder = tmpfs(64 * 1024 * 1024)
    path = folder / "doc.notes"
    path.write_bytes(doc.data)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            stat = os.statvfs(folder)
            peak[0] = max(peak[0], (stat.f_blocks - stat.f_bfree) * stat.f_frsize)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        report = Migrator(scripts).upgrade(path)
    finally:
        done.set()
        sampler.join()
    assert report.after == (HEAD,)
    assert report.backup is not None
    # Sampling can miss the peak: never below the document, its backup and a journal
    # as large as the document, beside the upgraded file.
    at_rest = path.stat().st_size + report.backup.stat().st_size + doc.size
    return max(peak[0], at_rest)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for pattern in TEMPORARY for p in folder.glob(pattern))


def _copy_out(path: Path, folder: Path) -> Path:
    """The document (with its -wal, if any) copied to ``folder``, to be read there.

    Reading it where it is would need room for a -shm file on the full disk.
    """
    folder.mkdir()
    copy = folder / path.name
    shutil.copyfile(path, copy)
    if os.path.exists(f"{path}-wal"):
        shutil.copyfile(f"{path}-wal", f"{copy}-wal")
    return copy


def _check_success(path: Path, doc: Document) -> list[str]:
    problems = []
    if versions(path) != [HEAD]:
        problems.append(f"at {versions(path)}, not {HEAD}")
    if schema(path) != doc.head_schema:
        problems.append("its schema differs from a fresh create()'s")
    if _counts(path) != (NOTEBOOKS, NOTES):
        problems.append(f"it has {_counts(path)} notebooks and notes, not {(NOTEBOOKS, NOTES)}")
    if _integrity(path) != ["ok"]:
        problems.append(f"integrity_check says {_integrity(path)[:3]}")
    if _is_wal(path) != (doc.journal_mode == "wal"):
        problems.append(f"its journal mode changed from {doc.journal_mode}")
    return problems


def _check_failure(
    path: Path, copy: Path, doc: Document, before: str, err: FrozenAlembicError
) -> list[str]:
    """Problems after a failed upgrade of ``path`` (``copy``: a copy of it to read)."""
    problems = []
    message = str(err)
    if not isinstance(err, DiskFull):
        problems.append(f"raised {type(err).__name__}, not DiskFull: {message}")
    elif "free" not in message.lower():
        problems.append(f"the message does not say to free some space: {message}")
    if err.__cause__ is None:
        problems.append("no low-level error chained as __cause__")
    if versions(copy) != ["0001_initial"]:
        problems.append(f"the file is at {versions(copy)}, not 0001_initial")
    elif _rows(copy) != doc.rows:
        problems.append("the file's rows differ from the document's")
    if _integrity(copy) != ["ok"]:
        problems.append(f"integrity_check says {_integrity(copy)[:3]}")
    if err.restored:
        if "put back" not in message and "restored" not in message:
            problems.append(f"the file was restored, but the message does not say so: {message}")
    elif sha256(path) != before:
        problems.append("the file's bytes changed, and err.restored is False")
    if err.backup is not None and not err.backup.exists():
        problems.append(f"err.backup names {err.backup}, which does not exist")
    return problems


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_upgrade_on_a_disk_of_every_size(
    journal_mode: str,
    documents: dict[str, Document],
    scripts: Path,
    tmpfs_factory: TmpfsFactory,
    tmp_path: Path,
) -> None:
    doc = documents[journal_mode]
    peak = _peak_use(tmpfs_factory, scripts, doc)
    assert peak > 2 * doc.size, f"an upgrade with a backup used only {peak} bytes"
    low = -(-doc.size // PAGE) * PAGE + PAGE  # the document and one page
    high = int(peak * 1.25)
    sizes = [low + (high - low) * i // (LEVELS - 1) for i in range(LEVELS)]
    migrator = Migrator(scripts)
    seen: list[str] = []
    problems: list[str] = []
    for size in sizes:
        folder = tmpfs_factory(size)
        path = folder / "doc.notes"
        path.write_bytes(doc.data)
        before = sha256(path)
        kept: Path | None = None
        try:
            report = migrator.upgrade(path)
        except FrozenAlembicError as err:
            seen.append(f"{size}: {type(err).__name__}{' (restored)' if err.restored else ''}")
            copy = _copy_out(path, tmp_path / str(size))
            found = _check_failure(path, copy, doc, before, err)
            kept = err.backup
        else:
            seen.append(f"{size}: ok")
            found = _check_success(_copy_out(path, tmp_path / str(size)), doc)
            kept = report.backup
            if kept is None or not kept.exists():
                found.append(f"report.backup is {kept}, which does not exist")
        if _leftovers(folder):
            found.append(f"partial or temporary files left: {_leftovers(folder)}")
        allowed = {path.name, f"{path.name}-wal", f"{path.name}-shm"}
        if kept is not None:
            allowed.add(kept.name)
        extra = sorted({p.name for p in folder.iterdir()} - allowed)
        if extra:
            found.append(f"files nobody asked for: {extra}")
        problems += [f"{size} bytes: {problem}" for problem in found]
    outcomes = "\n  ".join(seen)
    assert any(s.endswith(": ok") for s in seen), f"no size let the upgrade succeed:\n  {outcomes}"
    assert not all(s.endswith(": ok") for s in seen), f"no size made it fail:\n  {outcomes}"
    assert not problems, (
        f"{journal_mode} journal, document of {doc.size} bytes, peak use {peak}:\n  "
        + "\n  ".join(problems)
        + f"\noutcomes:\n  {outcomes}"
    )


@pytest.fixture(scope="module")
def with_template(scripts: Path, tmp_path_factory: pytest.TempPathFactory) -> Migrator:
    """A Migrator whose create() copies a template (it made one file already)."""
    migrator = Migrator(scripts)
    migrator.create(tmp_path_factory.mktemp("template") / "first.notes")
    return migrator


@pytest.mark.parametrize("free", [0, 4096, 16384, 32768])
@pytest.mark.parametrize("route", ["chain", "template"])
def test_create_on_a_nearly_full_disk(
    route: str, free: int, scripts: Path, with_template: Migrator, tmpfs_factory: TmpfsFactory
) -> None:
    size = 1024 * 1024
    folder = tmpfs_factory(size)
    (folder / "filler").write_bytes(b"\0" * (size - free))
    assert os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize == free
    target = folder / "new.notes"
    migrator = with_template if route == "template" else Migrator(scripts)
    with pytest.raises(DiskFull) as caught:
        migrator.create(target)
    err = caught.value
    assert not os.path.lexists(target), "create() left a file at the path"
    assert sorted(p.name for p in folder.iterdir()) == ["filler"], "create() left files"
    assert err.__cause__ is not None
    assert err.path == target, f"err.path is {err.path}, not the path asked for"
    message = str(err)
    assert str(target) in message, message
    assert ".creating" not in message, f"the message names a temporary file: {message}"
    assert "free" in message.lower(), message


FSIZE_CHILD = """
import json, sys
from frozen_alembic import FrozenAlembicError, Migrator
try:
    Migrator(sys.argv[1]).upgrade(sys.argv[2])
except FrozenAlembicError as err:
    print(json.dumps({
        "class": type(err).__name__,
        "mro": [c.__name__ for c in type(err).__mro__],
        "errno": getattr(err, "errno", None),
        "restored": err.restored,
        "backup": str(err.backup) if err.backup is not None else None,
        "message": str(err),
    }))
else:
    print(json.dumps({"class": None}))
"""


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_upgrade_past_the_file_size_limit(
    journal_mode: str, documents: dict[str, Document], scripts: Path, tmp_path: Path
) -> None:
    doc = documents[journal_mode]
    path = tmp_path / "doc.notes"
    path.write_bytes(doc.data)
    before = sha256(path)
    # The backup (the document's size) fits; the upgraded document does not.
    proc = run_with_fsize_limit(FSIZE_CHILD, doc.size + 65536, str(scripts), str(path))
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["class"] is not None, "the upgrade succeeded past the file size limit"
    problems = []
    if "FrozenAlembicError" not in got["mro"]:
        problems.append(f"raised {got['class']}, not a FrozenAlembicError")
    if (got["class"], got["errno"]) != ("DiskFull", errno.EFBIG):
        problems.append(f"raised {got['class']} with errno {got['errno']}, not DiskFull/EFBIG")
    if versions(path) != ["0001_initial"] or _rows(path) != doc.rows:
        problems.append(f"the file is at {versions(path)}, or its rows changed")
    if sha256(path) != before:
        problems.append(f"the file's bytes changed (err.restored is {got['restored']})")
    if _leftovers(tmp_path):
        problems.append(f"partial or temporary files left: {_leftovers(tmp_path)}")
    if got["backup"] is not None and not Path(got["backup"]).exists():
        problems.append(f"err.backup names {got['backup']}, which does not exist")
    assert not problems, "\n  ".join([f"{journal_mode} journal:", *problems, got["message"]])


def test_a_wal_backup_that_runs_out_of_room_says_the_disk_is_full(
    documents: dict[str, Document], scripts: Path, tmpfs_factory: TmpfsFactory, tmp_path: Path
) -> None:
    """Disks of about twice a WAL document, a page apart: room for the backup's copy of
    the file and its ``-wal``, but not always for folding the ``-wal`` into the copy —
    where SQLite reports the ``-shm`` it cannot grow as a "disk I/O error".  The free
    space must be judged before the partial copy is removed (afterwards there is
    plenty): every failure is ``DiskFull``, never ``BackupFailed``."""
    doc = documents["wal"]
    migrator = Migrator(scripts)
    middle = -(-2 * doc.size // PAGE) * PAGE
    problems: list[str] = []
    outcomes: set[str] = set()
    for size in range(middle - 16 * PAGE, middle + 32 * PAGE, PAGE):
        folder = tmpfs_factory(size)
        path = folder / "doc.notes"
        path.write_bytes(doc.data)
        before = sha256(path)
        try:
            migrator.upgrade(path)
        except FrozenAlembicError as err:
            outcomes.add(type(err).__name__)
            copy = _copy_out(path, tmp_path / str(size))
            problems += [f"{size} bytes: {p}" for p in _check_failure(path, copy, doc, before, err)]
        else:
            outcomes.add("ok")
        if _leftovers(folder):
            problems.append(f"{size} bytes: partial files left: {_leftovers(folder)}")
    assert outcomes == {"DiskFull"}, (outcomes, problems)
    assert not problems, "\n".join(problems)
