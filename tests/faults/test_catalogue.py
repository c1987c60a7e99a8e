"""A catalogue: every public call meets every fault, and only FrozenAlembicError comes out.

Each test is one pair ``call x fault``.  A fault is real: a path through a regular
file, a symbolic link loop, a tmpfs remounted read-only or filled to the last byte,
a lock held by another process, a file or folder that an unprivileged user may not
read (those calls run as ``nobody`` in a worker process, since root ignores
permission bits), broken or bundled script folders.  For every pair the test checks:

* the call raises a :class:`FrozenAlembicError` of the documented class -- or, where
  the fault does not stop the call (``status()`` of a file from a newer release,
  ``create()`` at a missing path, ...), it succeeds and does exactly what it says;
* a low-level error (``OSError``, ``sqlite3.Error``) met on the way is chained as
  ``__cause__``, never swallowed;
* the message is not empty, does not start with a Python exception's repr, names
  the file (or script folder) the caller gave -- never one of the library's
  temporary files -- and ``err.path`` is that file;
* the files are byte-for-byte as they were, and nothing new appeared beside them
  (nor in the script folder);
* ``main([...])`` returns a non-zero exit code and prints one line to stderr.

``restore`` meets each fault at the file it restores to; ``restore_from`` meets it at
the backup it restores from (restoring onto a good document).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import frozen_alembic
from frozen_alembic import (
    BackupFailed,
    DatabaseBusy,
    DatabaseExists,
    DatabaseNotFound,
    DatabaseTooNew,
    DiskFull,
    FrozenAlembicError,
    Migrator,
    NotADatabase,
    ReadOnlyDatabase,
    ScriptsError,
    ScriptsNotFound,
    StorageError,
    UnversionedDatabase,
)
from frozen_alembic.build import stage

from ..conftest import HEAD, REFERENCE_SCRIPTS
from .procs import SRC

ROOT = SRC.parent
NOBODY = 65534
MISSING_MODULE = "fa_catalogue_no_such_module"
BUILD_ONLY_MODULE = "fa_catalogue_build_only_helper"
BROKEN_REVISION = "0003_pinned"
LOCK_TIMEOUT = 0.5
PAGE_SIZE = 4096
TIMEOUT = 10.0

Spec = dict[str, Any]
Outcome = dict[str, Any]

# -- the public calls ---------------------------------------------------------------
#
# Each takes a JSON-able spec (so that the worker running as ``nobody`` can run it
# too): "scripts", "db", "new" (the path for create()/restore() when the fault has
# its own new path), "backup" (a good backup for restore()), "healthy" (a good
# document for restore_from) and "timeout".


def _migrator(spec: Spec) -> Migrator:
    return Migrator(spec["scripts"], timeout=spec["timeout"])


def _target(spec: Spec) -> str:
    new: str | None = spec["new"]
    return new if new is not None else spec["db"]


def _operations(spec: Spec) -> object:
    with _migrator(spec).operations(spec["db"]) as op:
        return op.get_bind().exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()


def _main(spec: Spec) -> object:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = frozen_alembic.main(
            [
                "--scripts",
                spec["scripts"],
                "--timeout",
                str(spec["timeout"]),
                "upgrade",
                spec["db"],
            ],
            stdout=out,
        )
    return {"exit": code, "stderr": err.getvalue(), "stdout": out.getvalue()}


CALLS: dict[str, Callable[[Spec], object]] = {
    # the script folder only
    "Migrator": lambda s: Migrator(s["scripts"], timeout=s["timeout"]),
    "locate": lambda s: Migrator.locate(path=s["scripts"], timeout=s["timeout"]),
    "heads": lambda s: _migrator(s).heads(),
    "history": lambda s: _migrator(s).history(),
    "locate_migrations": lambda s: frozen_alembic.locate_migrations(path=s["scripts"]),
    # a database (and the script folder, except backup() and restore())
    "status": lambda s: _migrator(s).status(s["db"]),
    "current": lambda s: _migrator(s).current(s["db"]),
    "upgrade": lambda s: _migrator(s).upgrade(s["db"]),
    "downgrade": lambda s: _migrator(s).downgrade(s["db"], "base"),
    "stamp": lambda s: _migrator(s).stamp(s["db"]),
    "create": lambda s: _migrator(s).create(_target(s)),
    "operations": _operations,
    "backup": lambda s: frozen_alembic.backup(s["db"], timeout=s["timeout"]),
    "restore": lambda s: frozen_alembic.restore(s["backup"], _target(s), timeout=s["timeout"]),
    # the fault in the backup to restore from; the file to restore to is a good one
    "restore_from": lambda s: frozen_alembic.restore(s["db"], s["healthy"], timeout=s["timeout"]),
    "ensure_current": lambda s: frozen_alembic.ensure_current(
        s["db"], scripts=s["scripts"], timeout=s["timeout"]
    ),
    "main": _main,
}
SCRIPT_CALLS = ["Migrator", "locate", "heads", "history", "locate_migrations"]
DB_CALLS = [
    "status",
    "current",
    "upgrade",
    "downgrade",
    "stamp",
    "create",
    "operations",
    "backup",
    "restore",
    "restore_from",
    "ensure_current",
    "main",
]
NO_SCRIPTS = {"backup", "restore", "restore_from"}


def _is_low_level(err: BaseException | None) -> bool:
    if err is None:
        return False
    return isinstance(err, (OSError, sqlite3.Error)) or isinstance(
        getattr(err, "orig", None), (OSError, sqlite3.Error)
    )


def _summary(value: object) -> object:
    if isinstance(value, frozen_alembic.Status):
        return {"state": value.state.value, "current": list(value.current)}
    if isinstance(value, frozen_alembic.Report):
        backup = str(value.backup) if value.backup is not None else None
        return {"before": list(value.before), "after": list(value.after), "backup": backup}
    if isinstance(value, (Path, Migrator)):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [str(v) for v in value]
    if isinstance(value, (dict, int, str)) or value is None:
        return value
    return repr(value)


def _describe(exc: BaseException) -> Outcome:
    causes: list[str] = []
    current: BaseException | None = exc.__cause__
    while current is not None and len(causes) < 10:
        causes.append(f"{type(current).__module__}.{type(current).__name__}")
        current = current.__cause__ or current.__context__
    fae = isinstance(exc, FrozenAlembicError)
    path, backup = getattr(exc, "path", None), getattr(exc, "backup", None)
    return {
        "raised": True,
        "class": type(exc).__name__,
        "mro": [c.__name__ for c in type(exc).__mro__],
        "is_fae": fae,
        "message": str(exc),
        "causes": causes,
        "low_level_cause": _chain_has_low_level(exc.__cause__),
        "suppressed": exc.__cause__ is None and _is_low_level(exc.__context__),
        "context": repr(exc.__context__),
        "errno": getattr(exc, "errno", None),
        "path": str(path) if path is not None else None,
        "backup": str(backup) if backup is not None else None,
        "restored": bool(getattr(exc, "restored", False)),
    }


def _chain_has_low_level(err: BaseException | None) -> bool:
    seen = 0
    while err is not None and seen < 10:
        if _is_low_level(err):
            return True
        err = err.__cause__ or err.__context__
        seen += 1
    return False


def run_call(spec: Spec) -> Outcome:
    """Run one public call; what came out, as JSON-able data (also run as ``nobody``)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = CALLS[spec["call"]](spec)
    except Exception as exc:
        outcome = _describe(exc)
    else:
        outcome = {"raised": False, "result": _summary(result)}
    outcome["printed"] = out.getvalue() + err.getvalue()
    return outcome


# -- expectations -------------------------------------------------------------------

Classes = tuple[type[FrozenAlembicError], ...]


@dataclass(frozen=True)
class Ok:
    """The call succeeds despite the fault: ``effect`` says what it must have done."""

    effect: str  # "reads", "creates", "backs up", "stamps", "restores"
    state: str | None = None  # for status(): the state it must report


@dataclass(frozen=True)
class Fault:
    name: str
    applies_to: tuple[str, ...]
    raises: Classes
    overrides: dict[str, Classes | Ok] = field(default_factory=dict)
    as_nobody: bool = False
    # Faults that are an OS or SQLite error: the library must chain it when it met one.
    low_level: bool = True
    # What the message must say (besides naming the file or folder).
    mentions: str | None = None

    def expected(self, call: str) -> Classes | Ok:
        return self.overrides.get(call, self.raises)


BEHIND = Ok("reads", "behind")
DB_FAULTS = [
    Fault(
        "missing_file",
        tuple(DB_CALLS),
        (DatabaseNotFound,),
        {"create": Ok("creates"), "restore": Ok("restores a new file")},
        low_level=False,
    ),
    Fault("path_through_a_file", tuple(DB_CALLS), (DatabaseNotFound, StorageError)),
    Fault(
        "symlink_loop",
        tuple(DB_CALLS),
        (StorageError,),
        {"create": (DatabaseExists,), "restore": (StorageError, DatabaseExists)},
    ),
    Fault(
        "folder", tuple(DB_CALLS), (NotADatabase,), {"create": (DatabaseExists,)}, low_level=False
    ),
    Fault(
        "zero_bytes",
        tuple(DB_CALLS),
        (NotADatabase,),
        {"create": (DatabaseExists,)},
        low_level=False,
    ),
    Fault(
        "text_file",
        tuple(DB_CALLS),
        (NotADatabase,),
        {"create": (DatabaseExists,)},
        low_level=False,
    ),
    Fault("corrupt", tuple(DB_CALLS), (NotADatabase,), {"create": (DatabaseExists,)}),
    # Its schema reads well; the damage shows only when the note table is read.
    Fault(
        "corrupt_table_pages",
        tuple(DB_CALLS),
        (NotADatabase,),
        {
            "status": BEHIND,
            "current": Ok("reads"),
            "create": (DatabaseExists,),
            "backup": Ok("backs up"),
            "restore": Ok("restores"),
            # restore() replaces a good file, keeping no copy of it: like every other
            # write of the library it must check what it commits (quick_check), and
            # refuse a damaged backup.
            "restore_from": (NotADatabase,),
        },
    ),
    Fault(
        "newer_release",
        tuple(DB_CALLS),
        (DatabaseTooNew,),
        {
            "status": Ok("reads", "too new"),
            "current": Ok("reads"),
            "create": (DatabaseExists,),
            "backup": Ok("backs up"),
            "restore": Ok("restores"),
            "restore_from": Ok("restores"),
        },
        low_level=False,
    ),
    Fault(
        "unversioned",
        tuple(DB_CALLS),
        (UnversionedDatabase,),
        {
            "status": Ok("reads", "unversioned"),
            "current": Ok("reads"),
            "stamp": Ok("stamps"),
            "create": (DatabaseExists,),
            "operations": Ok("reads"),
            "backup": Ok("backs up"),
            "restore": Ok("restores"),
            "restore_from": Ok("restores"),
        },
        low_level=False,
    ),
    Fault("locked", tuple(DB_CALLS), (DatabaseBusy,), {"create": (DatabaseExists,)}),
    Fault(
        "read_only_mount",
        tuple(DB_CALLS),
        (ReadOnlyDatabase,),
        {
            "status": BEHIND,
            "current": Ok("reads"),
            "backup": (ReadOnlyDatabase, BackupFailed),
            "restore_from": Ok("restores"),  # a backup on a read-only disk
        },
    ),
    Fault(
        "wal_without_shm_read_only",
        tuple(DB_CALLS),
        (ReadOnlyDatabase,),
        {"create": (DatabaseExists,), "backup": (ReadOnlyDatabase, BackupFailed)},
    ),
    Fault(
        "disk_full",
        tuple(DB_CALLS),
        (DiskFull,),
        {
            "status": BEHIND,
            "current": Ok("reads"),
            "operations": Ok("reads"),
            "restore_from": Ok("restores"),
        },
    ),
    Fault("name_too_long", tuple(DB_CALLS), (StorageError,)),
    Fault(
        "name_too_long_for_journal",
        tuple(DB_CALLS),
        (StorageError,),
        {
            "status": BEHIND,
            "current": Ok("reads"),
            "backup": Ok("backs up"),
            "restore_from": Ok("restores"),
        },
    ),
    Fault(
        "unreadable_file",
        tuple(DB_CALLS),
        (StorageError,),
        {"create": (DatabaseExists,)},
        as_nobody=True,
    ),
    Fault("unreadable_folder", tuple(DB_CALLS), (StorageError,), as_nobody=True),
]
SCRIPT_TAKERS = tuple(c for c in SCRIPT_CALLS + DB_CALLS if c not in NO_SCRIPTS)
LAZY = {"Migrator": Ok("reads"), "locate": Ok("reads"), "locate_migrations": Ok("reads")}
SCRIPT_FAULTS = [
    Fault("scripts_missing", SCRIPT_TAKERS, (ScriptsNotFound,), low_level=False),
    Fault("scripts_path_through_a_file", SCRIPT_TAKERS, (ScriptsNotFound,)),
    Fault("scripts_symlink_loop", SCRIPT_TAKERS, (ScriptsError, StorageError)),
    Fault("scripts_name_too_long", SCRIPT_TAKERS, (ScriptsError, StorageError)),
    # The folder is there but locked away: the message must say so, not that it "has
    # no versions/ folder" (Migrator() says "permission was denied", as it should).
    Fault(
        "scripts_unreadable_folder",
        SCRIPT_TAKERS,
        (ScriptsError, StorageError),
        as_nobody=True,
        mentions="permission",
    ),
    Fault("scripts_without_versions", SCRIPT_TAKERS, (ScriptsNotFound,), low_level=False),
    Fault(
        "scripts_import_missing_module",
        SCRIPT_TAKERS,
        (ScriptsError,),
        {**LAZY},
        low_level=False,
    ),
    Fault(
        "bundle_import_missing_module_newer_file",
        SCRIPT_TAKERS,
        (DatabaseTooNew,),
        {
            **LAZY,
            "heads": Ok("reads"),
            "history": (ScriptsError,),
            "status": Ok("reads", "too new"),
            "current": Ok("reads"),
            "create": Ok("creates"),
        },
        low_level=False,
    ),
]
FAULTS = {f.name: f for f in DB_FAULTS + SCRIPT_FAULTS}
PAIRS = [
    pytest.param(call, fault.name, id=f"{call}-{fault.name}")
    for fault in DB_FAULTS + SCRIPT_FAULTS
    for call in fault.applies_to
]

# -- the world the faults live in ---------------------------------------------------


@dataclass
class World:
    """Everything a pair needs, in a folder that ``nobody`` may read (but not write)."""

    root: Path
    scripts: Path  # the good reference scripts
    doc: bytes  # a document at 0001_initial with rows (rollback journal)
    backup: Path  # a good backup of it
    bundle: Path  # staged, with a revision importing a module that is gone at run time
    note_page: int  # the page of the document that holds the note table's rows
    counter: int = 0
    worker: subprocess.Popen[str] | None = None

    def folder(self) -> Path:
        self.counter += 1
        folder = self.root / f"case{self.counter}"
        folder.mkdir(mode=0o755)
        folder.chmod(0o755)
        return folder


def _make_doc(folder: Path, scripts: Path) -> bytes:
    path = folder / "seed.notes"
    migrator = Migrator(scripts)
    migrator.create(path)
    migrator.downgrade(path, "0001_initial", backup=False)
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO notebook (id, title, sort_key) VALUES (?, ?, ?)",
            [(i, f"Notebook {i}", str(i)) for i in range(1, 6)],
        )
        conn.executemany(
            "INSERT INTO note (id, notebook_id, author_name, body, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (i, i % 5 + 1, "Ada Lovelace", f"Note {i}", "2026-01-02 03:04:05")
                for i in range(1, 51)
            ],
        )
        conn.execute("COMMIT")
    data = path.read_bytes()
    path.unlink()
    return data


def _with_import(text: str, module: str) -> str:
    """A revision's source that imports ``module`` when it is loaded."""
    future = "from __future__ import annotations\n"
    assert future in text
    return text.replace(future, f"{future}import {module}  # noqa: F401\n", 1)


def _stage_bundle(root: Path) -> Path:
    """A bundle whose revision 0006 imports a module that exists only at build time."""
    source = root / "bundle-source"
    shutil.copytree(REFERENCE_SCRIPTS, source, ignore=shutil.ignore_patterns("__pycache__"))
    revision = source / "versions" / "0006_attachments.py"
    text = revision.read_text(encoding="utf-8")
    revision.write_text(_with_import(text, BUILD_ONLY_MODULE), encoding="utf-8")
    helpers = root / "build-only"
    helpers.mkdir()
    (helpers / f"{BUILD_ONLY_MODULE}.py").write_text("VALUE = 1\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(helpers))
        staged = stage(source, stage_dir=root / "stage")
        sys.modules.pop(BUILD_ONLY_MODULE, None)
    shutil.rmtree(helpers)
    return staged.folder


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    root = Path(tempfile.mkdtemp(prefix="frozen-alembic-catalogue-"))
    root.chmod(0o755)
    try:
        scripts = root / "scripts"
        shutil.copytree(REFERENCE_SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
        seed = root / "seed"
        seed.mkdir()
        doc = _make_doc(seed, scripts)
        (seed / "doc.notes").write_bytes(doc)
        backups = root / "backups"
        backups.mkdir()
        backup = frozen_alembic.backup(seed / "doc.notes", backups)
        bundle = _stage_bundle(root)
        with contextlib.closing(sqlite3.connect(seed / "doc.notes")) as conn:
            assert conn.execute("PRAGMA page_size").fetchone() == (PAGE_SIZE,)
            (note_page,) = conn.execute(
                "SELECT rootpage FROM sqlite_master WHERE name = 'note'"
            ).fetchone()
            assert conn.execute("SELECT count(*) FROM note").fetchone() == (50,)
        for dirpath, _dirs, _files in os.walk(root):
            Path(dirpath).chmod(0o755)
        found = World(root, scripts, doc, backup, bundle, note_page)
        yield found
        if found.worker is not None:
            assert found.worker.stdin is not None
            assert found.worker.stdout is not None
            with contextlib.suppress(BrokenPipeError):  # a worker that died early
                found.worker.stdin.close()
            found.worker.wait(timeout=30)
            found.worker.stdout.close()
    finally:
        shutil.rmtree(root)


WORKER = f"""
import json, sys
sys.path[:0] = [{str(ROOT)!r}, {str(SRC)!r}]
from tests.faults.test_catalogue import run_call
for line in sys.stdin:
    print(json.dumps(run_call(json.loads(line))), flush=True)
"""


def _nobody_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", HOME="/")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(SRC)])
    return env


AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@functools.cache
def _why_nobody_cannot_run() -> str | None:
    """Why a process running as ``nobody`` cannot load this suite here, or ``None``.

    It needs to read the interpreter, its packages and this checkout: a checkout in a
    private folder (``mktemp -d`` makes them 0700) is out of its reach.
    """
    probe = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", WORKER.split("for line", 1)[0]],
        capture_output=True,
        text=True,
        cwd="/",
        env=_nobody_env(),
        timeout=120,
        check=False,
    )
    if probe.returncode == 0:
        return None
    last = (probe.stderr.strip().splitlines() or ["no message"])[-1]
    return (
        f"cannot run as nobody (uid {NOBODY}) to defeat root's permission override: "
        f"{sys.executable} or the checkout {ROOT} is not readable by other users "
        f"({last}); clone the project where other users can read it to run this case"
    )


def _as_nobody(world: World, spec: Spec) -> Outcome:
    """Run one call in a worker process as ``nobody`` (root ignores permission bits)."""
    problem = _why_nobody_cannot_run()
    if problem is not None:
        pytest.skip(problem)
    if world.worker is None:
        world.worker = subprocess.Popen(
            [*AS_NOBODY, sys.executable, "-c", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd="/",
            env=_nobody_env(),
        )
    worker = world.worker
    assert worker.stdin is not None
    assert worker.stdout is not None
    worker.stdin.write(json.dumps(spec) + "\n")
    worker.stdin.flush()
    line = worker.stdout.readline()
    assert line, f"the worker running as nobody died (exit status {worker.poll()})"
    result: Outcome = json.loads(line)
    return result


# -- building each fault --------------------------------------------------------------


@dataclass
class Case:
    scripts: Path
    db: Path
    new: Path | None = None
    watch: list[Path] = field(default_factory=list)
    timeout: float = TIMEOUT
    healthy: Path | None = None  # a good document, for restore_from


HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("holding", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
conn.close()
"""


def _remount_read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True, capture_output=True)


def _fill_disk(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        with pytest.raises(OSError, match="No space left") as full:  # noqa: PT012
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    assert full.value.errno == errno.ENOSPC


def _set_version(path: Path, revision: str | None) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        if revision is None:
            conn.execute("DROP TABLE alembic_version")
        else:
            conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def _wal_with_unsaved_changes(source: bytes, target: Path) -> None:
    """A WAL database at ``target`` whose -wal holds committed changes, and no -shm."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "wal.notes"
        path.write_bytes(source)
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute("UPDATE note SET body = body || ' (edited)'")
            shutil.copyfile(path, target)
            shutil.copyfile(f"{path}-wal", f"{target}-wal")
        finally:
            conn.close()
    assert os.path.getsize(f"{target}-wal") > 0


def _build(
    fault: str,
    world: World,
    tmpfs: Callable[[int], Path],
    stack: contextlib.ExitStack,
) -> Case:
    d = world.folder()
    scripts = world.scripts
    doc = d / "doc.notes"
    if fault.startswith("scripts_") or fault.startswith("bundle_"):
        doc.write_bytes(world.doc)
        case = Case(scripts, doc, d / "new.notes", watch=[d])
        if fault == "scripts_missing":
            case.scripts = d / "nowhere"
        elif fault == "scripts_path_through_a_file":
            (d / "file.txt").write_text("x\n")
            case.scripts = d / "file.txt" / "migrations"
        elif fault == "scripts_symlink_loop":
            (d / "a").symlink_to(d / "b")
            (d / "b").symlink_to(d / "a")
            case.scripts = d / "a"
        elif fault == "scripts_name_too_long":
            case.scripts = d / ("m" * 300)
        elif fault == "scripts_unreadable_folder":
            private = d / "private"
            private.mkdir(mode=0o700)
            private.chmod(0o700)
            shutil.copytree(scripts, private / "migrations")
            case.scripts = private / "migrations"
        elif fault == "scripts_without_versions":
            case.scripts = d / "migrations"
            case.scripts.mkdir()
            shutil.copy(scripts / "env.py", case.scripts / "env.py")
        elif fault == "scripts_import_missing_module":
            case.scripts = d / "migrations"
            shutil.copytree(scripts, case.scripts)
            revision = case.scripts / "versions" / f"{BROKEN_REVISION}.py"
            text = revision.read_text(encoding="utf-8")
            revision.write_text(_with_import(text, MISSING_MODULE), encoding="utf-8")
        elif fault == "bundle_import_missing_module_newer_file":
            case.scripts = world.bundle
            case.watch.append(world.bundle)
            _set_version(doc, "zzzz_future")
        else:
            raise AssertionError(fault)
        return case
    case = Case(scripts, doc, watch=[d])
    if fault == "missing_file":
        pass
    elif fault == "path_through_a_file":
        (d / "file.txt").write_text("not a folder\n")
        case.db = d / "file.txt" / "doc.notes"
    elif fault == "symlink_loop":
        (d / "a").symlink_to(d / "b")
        (d / "b").symlink_to(d / "a")
        case.db = d / "a"
    elif fault == "folder":
        doc.mkdir()
    elif fault == "zero_bytes":
        doc.write_bytes(b"")
    elif fault == "text_file":
        doc.write_text("Shopping list\n- milk\n- eggs\n")
    elif fault == "corrupt":
        garbage = bytes((i * 131 + 7) % 251 for i in range(len(world.doc) - 100))
        doc.write_bytes(world.doc[:100] + garbage)
    elif fault == "corrupt_table_pages":
        page = world.note_page
        garbage = bytes((i * 131 + 7) % 251 for i in range(PAGE_SIZE))
        damaged = world.doc[: (page - 1) * PAGE_SIZE] + garbage + world.doc[page * PAGE_SIZE :]
        doc.write_bytes(damaged)
    elif fault == "newer_release":
        doc.write_bytes(world.doc)
        _set_version(doc, "zzzz_future")
    elif fault == "unversioned":
        doc.write_bytes(world.doc)
        _set_version(doc, None)
    elif fault == "locked":
        doc.write_bytes(world.doc)
        case.timeout = LOCK_TIMEOUT
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(doc)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdin is not None
        assert holder.stdout is not None
        stack.callback(holder.stdout.close)
        stack.callback(holder.wait, 30)
        stack.callback(holder.stdin.close)
        assert holder.stdout.readline().strip() == "holding"
    elif fault in ("read_only_mount", "wal_without_shm_read_only", "disk_full"):
        mount = tmpfs(4 * 1024 * 1024 if fault != "disk_full" else len(world.doc) + 65536)
        case = Case(scripts, mount / "doc.notes", mount / "new.notes", [mount])
        if fault == "wal_without_shm_read_only":
            _wal_with_unsaved_changes(world.doc, case.db)
            case.new = None
        else:
            case.db.write_bytes(world.doc)
        if fault == "disk_full":
            _fill_disk(mount)
        else:
            _remount_read_only(mount)
    elif fault == "name_too_long":
        case.db = d / ("n" * 300 + ".notes")
    elif fault == "name_too_long_for_journal":
        case.db = d / ("j" * 244 + ".notes")  # 250 bytes: fits, but its -journal does not
        case.db.write_bytes(world.doc)
        case.new = d / ("k" * 244 + ".notes")
    elif fault == "unreadable_file":
        doc.write_bytes(world.doc)
        doc.chmod(0o600)
    elif fault == "unreadable_folder":
        private = d / "private"
        private.mkdir(mode=0o700)
        private.chmod(0o700)
        case.db = private / "doc.notes"
        case.db.write_bytes(world.doc)
        case.new = private / "new.notes"
    else:
        raise AssertionError(fault)
    return case


# -- looking at the files ---------------------------------------------------------------

Snapshot = dict[str, str]


def _snapshot(folders: list[Path]) -> Snapshot:
    """Every entry under ``folders``: a file's SHA-256, a link's target, or "folder"."""
    found: Snapshot = {}
    for top in folders:
        for dirpath, dirnames, filenames in os.walk(top):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    found[path] = f"link to {os.readlink(path)}"
                elif os.path.isdir(path):
                    found[path] = "folder"
                else:
                    with open(path, "rb") as fh:
                        found[path] = hashlib.sha256(fh.read()).hexdigest()
    return found


def _diff(before: Snapshot, after: Snapshot) -> dict[str, list[str]]:
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": sorted(p for p in before if p in after and before[p] != after[p]),
    }


def _dump(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return list(conn.iterdump())


def _revisions(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))


REPR_START = re.compile(r"^\(?[\w.]*(Error|Exception|Warning|Exit)\b[:(]?|^<")


def _subjects(call: str, case: Case) -> list[str]:
    """The files a call is about: the first is the one it changes or makes."""
    if call == "restore_from":
        return [str(case.healthy), str(case.db)]
    first = case.new if call in ("create", "restore") and case.new is not None else case.db
    return [str(first)] if call in NO_SCRIPTS else [str(first), str(case.scripts)]


TEMPORARY_NAME = re.compile(r"\.(creating|restoring)\b|\.partial\b")


def _check_failure(
    call: str, fault: Fault, classes: Classes, outcome: Outcome, case: Case
) -> list[str]:
    """Problems with a call that had to fail."""
    if not outcome["raised"]:
        names = " or ".join(c.__name__ for c in classes)
        return [f"succeeded ({outcome['result']}), expected {names}"]
    problems = []
    message = str(outcome["message"])
    if not outcome["is_fae"]:
        problems.append(f"raised {outcome['class']}, not a FrozenAlembicError: {message}")
        return problems
    wanted = [c.__name__ for c in classes]
    if not set(wanted) & set(outcome["mro"]):
        problems.append(f"raised {outcome['class']}, expected {' or '.join(wanted)}: {message}")
    if not message.strip():
        problems.append("the message is empty")
    elif REPR_START.match(message):
        problems.append(f"the message starts like a Python exception: {message!r}")
    subjects = _subjects(call, case)
    if not any(subject in message for subject in subjects):
        problems.append(f"the message does not name {' or '.join(subjects)}: {message}")
    if TEMPORARY_NAME.search(message):
        problems.append(f"the message names a temporary file of the library: {message}")
    if call.startswith("restore") and "back up" in message:
        problems.append(f"restore()'s message speaks of backing up: {message}")
    if fault.mentions is not None and fault.mentions not in message.lower():
        problems.append(f"the message does not say {fault.mentions!r}: {message}")
    is_db_fault = fault in DB_FAULTS
    if is_db_fault and outcome["path"] is not None and outcome["path"] not in subjects:
        problems.append(f"err.path is {outcome['path']}, not a file the caller named {subjects}")
    if fault.low_level and outcome["suppressed"]:
        problems.append(
            f"a low-level error was met but not chained as __cause__: {outcome['context']}"
        )
    if fault.low_level and outcome["causes"] and not outcome["low_level_cause"]:
        # A cause is chained, but it is not the OS/SQLite error itself.
        problems.append(f"the chained cause is not the low-level error: {outcome['causes']}")
    if outcome["backup"] is not None and not Path(outcome["backup"]).exists():
        problems.append(f"err.backup names {outcome['backup']}, which does not exist")
    return problems


def _check_main(outcome: Outcome) -> list[str]:
    problems = []
    if outcome["raised"]:
        return [f"main() raised {outcome['class']} instead of returning an exit code"]
    result = outcome["result"]
    if result["exit"] == 0:
        problems.append(f"main() returned 0 despite the fault; printed {result['stdout']!r}")
    lines = result["stderr"].splitlines()
    if len(lines) != 1:
        problems.append(
            f"main() printed {len(lines)} lines to stderr, not one: {result['stderr']!r}"
        )
    elif not lines[0].startswith("frozen-alembic: error: ") or REPR_START.match(
        lines[0].removeprefix("frozen-alembic: error: ")
    ):
        problems.append(f"main()'s error line is not a plain message: {lines[0]!r}")
    return problems


def _check_success(
    call: str,
    expected: Ok,
    case: Case,
    outcome: Outcome,
    diff: dict[str, list[str]],
    backup: Path,
) -> list[str]:
    """Problems with a call that had to succeed despite the fault, doing only ``effect``."""
    if outcome["raised"]:
        return [f"raised {outcome['class']}, expected it to succeed: {outcome['message']}"]
    problems = []
    result = outcome["result"]
    target = Path(_subjects(call, case)[0])
    effect = expected.effect
    expected_diff: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}
    if effect in ("creates", "restores a new file"):
        expected_diff["added"] = [str(target)]
        want = [HEAD] if effect == "creates" else ["0001_initial"]
        if target.exists() and _revisions(target) != want:
            problems.append(f"{target} is at {_revisions(target)}, expected {want}")
    elif effect == "restores":
        expected_diff["changed"] = [str(target)]
        source = case.db if call == "restore_from" else backup
        if _dump(target) != _dump(source):
            problems.append(f"{target} does not hold what {source} holds after the restore")
    elif effect in ("backs up", "stamps"):
        added = [p for p in diff["added"] if p.endswith(".bak")]
        expected_diff["added"] = added[:1] if len(added) == 1 else ["<one .bak file>"]
        if effect == "stamps":
            expected_diff["changed"] = [str(target)]
            if _revisions(target) != [HEAD]:
                problems.append(f"{target} is at {_revisions(target)} after the stamp")
    if diff != expected_diff:
        problems.append(f"the files changed unexpectedly: {diff} (expected {expected_diff})")
    if expected.state is not None and result.get("state") != expected.state:
        problems.append(f"status() said {result}, expected state {expected.state!r}")
    return problems


@pytest.mark.parametrize(("call", "fault_name"), PAIRS)
def test_only_frozen_alembic_errors_come_out(
    call: str, fault_name: str, world: World, tmpfs_factory: Callable[[int], Path]
) -> None:
    fault = FAULTS[fault_name]
    with contextlib.ExitStack() as stack:
        case = _build(fault_name, world, tmpfs_factory, stack)
        if call == "restore_from":
            case.healthy = world.folder() / "doc.notes"
            case.healthy.write_bytes(world.doc)
            case.watch.append(case.healthy.parent)
        watch = [*case.watch, world.scripts, world.backup.parent]
        before = _snapshot(watch)
        spec: Spec = {
            "call": call,
            "healthy": str(case.healthy),
            "scripts": str(case.scripts),
            "db": str(case.db),
            "new": str(case.new) if case.new is not None else None,
            "backup": str(world.backup),
            "timeout": case.timeout,
        }
        outcome = _as_nobody(world, spec) if fault.as_nobody else run_call(spec)
        after = _snapshot(watch)
    diff = _diff(before, after)
    expected = fault.expected(call)
    where = f"{call} x {fault_name}"
    if call == "main":
        problems = _check_main(outcome)
    elif isinstance(expected, Ok):
        problems = _check_success(call, expected, case, outcome, diff, world.backup)
    else:
        problems = _check_failure(call, fault, expected, outcome, case)
    if not isinstance(expected, Ok) and any(diff.values()):
        problems.append(f"the files changed: {diff}")
    if call != "main" and outcome["printed"]:
        problems.append(f"the call printed {outcome['printed']!r}")
    if (
        fault_name in ("scripts_import_missing_module", "bundle_import_missing_module_newer_file")
        and outcome["raised"]
        and outcome["class"] == "ScriptsError"
    ):
        module = MISSING_MODULE if fault_name.startswith("scripts_") else BUILD_ONLY_MODULE
        revision = BROKEN_REVISION if fault_name.startswith("scripts_") else "0006_attachments"
        if module not in outcome["message"] or f"{revision}.py" not in outcome["message"]:
            problems.append(
                f"the ScriptsError does not name {module} and {revision}.py: {outcome['message']}"
            )
        if "builtins.ModuleNotFoundError" not in outcome["causes"]:
            problems.append(f"the ImportError is not chained: {outcome['causes']}")
    assert not problems, f"{where}:\n  " + "\n  ".join(problems)
