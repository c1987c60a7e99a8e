"""Benchmarks of frozen-alembic against plain Alembic and the floor; see scripts/bench.

One run generates realistic Alembic script directories (10, 100 and 1000 linear
revisions, see ``benchgen.py``), stages a bundle of each with
``frozen_alembic.build.stage`` and prints Markdown tables of medians and ratios:

1. the start-up check on an already-current file, as a whole process and in
   process: ``ensure_current`` against the floor (one ``sqlite3`` read of the
   version row) and against Alembic's no-op ``command.upgrade``;
2. creating a new database at head: ``Migrator.create`` (a copy of the bundled
   template) against a plain file copy, Alembic's full chain and
   ``metadata.create_all`` + stamp;
3. a safe upgrade (lock, backup, one transaction, checks) of a large file with a
   table recreate, against Alembic's plain (unsafe) upgrade of the same file;
4. the start-up check inside real frozen builds: an app that calls
   ``ensure_current`` and an app that only reads the version row with ``sqlite3``,
   each frozen the same way with cx_Freeze, PyInstaller one-folder and PyInstaller
   one-file (see ``benchfreeze.py``), run as whole processes on a current file.

Contenders always run side by side, alternating (the order rotates every round),
on a noisy shared machine; the tables give medians, and every ratio is the median
of the per-round ratios of adjacent runs.  Progress goes to stderr, the report to
stdout.

Usage: ``scripts/bench [--quick] [--sizes 10,100,1000] [--big-mb 200] [--keep]``;
``scripts/bench --frozen`` runs only section 4.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import gc
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import benchfreeze
import benchgen

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_NAME = "frozen-alembic-template.sqlite"  # frozen_alembic._names.TEMPLATE_NAME
VERSION_QUERY = "SELECT version_num FROM alembic_version"
TIMES = "\N{MULTIPLICATION SIGN}"
MINUS = "\N{MINUS SIGN}"
SECTIONS = ("startup", "create", "upgrade", "frozen")


# -- settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How much to run; ``--quick`` scales everything down for a smoke run."""

    sizes: tuple[int, ...]
    process_runs: int  # whole-process rounds (start-up check, create)
    inprocess_runs: int  # in-process calls of the fast contenders
    slow_budget: float  # seconds per slow in-process contender (per size)
    slow_max_runs: int
    big_mb: int
    big_runs: int
    gig_mb: int
    sections: tuple[str, ...]
    tmp: Path | None
    keep: bool
    pyc: bool  # cache bytecode (as an installed or frozen app has its .pyc files)


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="N=10,100, fewer runs, 20 MB file")
    parser.add_argument("--sizes", help="revision counts, comma-separated (default 10,100,1000)")
    parser.add_argument("--big-mb", type=int, help="size of the large file (default 200, quick 20)")
    parser.add_argument(
        "--big-runs", type=int, help="runs of each large-file contender (default 3, quick 2)"
    )
    parser.add_argument(
        "--gig-mb",
        type=int,
        help="size of the file backed up by clone and by the backup API where the file "
        "system clones (default 1000; quick 0: none)",
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"which benchmarks to run (default: {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--frozen",
        action="store_true",
        help="only the start-up check inside real frozen builds (= --sections frozen)",
    )
    parser.add_argument("--tmp", type=Path, help="where to make the temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--no-pyc",
        action="store_true",
        help="compile every module that has no cached bytecode at every start "
        "(default: cache bytecode under the temporary folder, as an installed app has it)",
    )
    args = parser.parse_args(argv)
    sizes: tuple[int, ...] = (10, 100) if args.quick else (10, 100, 1000)
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(",") if s.strip())
    sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    if args.frozen:
        sections = ("frozen",)
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    return Settings(
        sizes=sizes,
        process_runs=7 if args.quick else 31,
        inprocess_runs=60 if args.quick else 300,
        slow_budget=4.0 if args.quick else 20.0,
        slow_max_runs=2 if args.quick else 5,
        big_mb=args.big_mb or (20 if args.quick else 200),
        big_runs=args.big_runs or (2 if args.quick else 3),
        gig_mb=args.gig_mb if args.gig_mb is not None else (0 if args.quick else 1000),
        sections=sections,
        tmp=args.tmp,
        keep=args.keep,
        pyc=not args.no_pyc,
    )


# -- measuring -----------------------------------------------------------------------


@dataclass
class Contender:
    """One thing to time: ``fn`` runs it once and returns the seconds it took.

    ``fn`` does its own untimed set-up and clean-up around the timed part.  It runs
    at most ``runs`` times, and stops early (after ``min_runs``) once another run
    would take its total past ``budget`` seconds.
    """

    name: str
    fn: Callable[[], float]
    runs: int
    budget: float | None = None
    min_runs: int = 1
    times: list[float] = field(default_factory=list)

    def wants_more(self) -> bool:
        if len(self.times) >= self.runs:
            return False
        if self.budget is None or len(self.times) < self.min_runs:
            return True
        return sum(self.times) + statistics.median(self.times) <= self.budget

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def alternate(contenders: Sequence[Contender], *, warmup: int = 0) -> dict[str, Contender]:
    """Run the contenders in rounds, rotating their order each round, until all are done."""
    for contender in contenders:
        for _ in range(warmup):
            contender.fn()
    rnd = 0
    while True:
        active = [c for c in contenders if c.wants_more()]
        if not active:
            break
        shift = rnd % len(active)
        for contender in active[shift:] + active[:shift]:
            contender.times.append(contender.fn())
        rnd += 1
    return {c.name: c for c in contenders}


def paired_ratio(a: Contender, b: Contender) -> float:
    """The median of ``a/b`` over runs made in the same round (side by side)."""
    pairs = [x / y for x, y in zip(a.times, b.times, strict=False)]
    return statistics.median(pairs)


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn()`` takes, with the garbage collector off (as :mod:`timeit` does)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        if was_enabled:
            gc.enable()


class Processes:
    """Whole-process runs: ``sys.executable -c CODE``, normal start-up, from an empty cwd."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        cwd.mkdir(parents=True, exist_ok=True)

    def run(self, code: str) -> float:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            msg = f"benchmark process failed ({proc.returncode}):\n{code}\n{proc.stderr}"
            raise RuntimeError(msg)
        return elapsed

    def modules(self, code: str) -> str:
        """Run ``code`` once more and say what it imported: module count, Alembic or not."""
        probe = (
            f"{code}\nimport sys\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'sqlalchemy'})\n"
            "print(len(sys.modules), ','.join(heavy) or '-')"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=self.cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        return f"{out[0]} modules" + (f" (incl. {out[1]})" if out[1] != "-" else "")

    def timer(self, code: str, before: Callable[[], object] | None = None) -> Callable[[], float]:
        def run() -> float:
            if before is not None:
                before()
            return self.run(code)

        return run


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_db(path: Path) -> None:
    """Delete a database file, its journals and its backups."""
    for candidate in [
        path,
        *path.parent.glob(f"{path.name}-*"),
        *path.parent.glob(f"{path.name}.*.bak*"),
        *path.parent.glob(f".{path.name}.*"),
    ]:
        candidate.unlink(missing_ok=True)


def set_bytecode(base: Path, cache: bool) -> str:
    """Make bytecode caching explicit, for this process and the ones it starts.

    An installed or frozen application has compiled bytecode for every module.  An
    editable install run with ``PYTHONDONTWRITEBYTECODE=1`` has none for
    ``frozen_alembic`` and recompiles it at every start, which is not what users see.
    With ``cache``, bytecode goes to a mirror tree in the temporary folder
    (``PYTHONPYCACHEPREFIX``), so nothing is written into the source tree; the
    warm-up runs compile it.

    :return: a line for the report.
    """
    inherited = os.environ.get("PYTHONDONTWRITEBYTECODE")
    if cache:
        prefix = str(base / "pycache")
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = prefix
        sys.pycache_prefix = prefix
        sys.dont_write_bytecode = False
        how = "cached (`PYTHONPYCACHEPREFIX` in the temporary folder, compiled by the warm-ups)"
    else:
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        sys.dont_write_bytecode = True
        how = "not written (`--no-pyc`): modules without cached bytecode compile at every start"
    if inherited:
        how += "; the caller had set `PYTHONDONTWRITEBYTECODE`"
    return how


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- formatting ----------------------------------------------------------------------


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        value = seconds * 1e3
        return (
            f"{value:.2f} ms"
            if value < 10
            else f"{value:.1f} ms"
            if value < 100
            else f"{value:.0f} ms"
        )
    return f"{seconds:.2f} s"


def fmt_ratio(ratio: float) -> str:
    if ratio < 10:
        return f"{ratio:.2f}{TIMES}"
    if ratio < 100:
        return f"{ratio:.1f}{TIMES}"
    return f"{ratio:,.0f}{TIMES}"


def goal(ratio: float, limit: float) -> str:
    return f"{fmt_ratio(ratio)} {'✓' if ratio <= limit else '✗'}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    align = align or "r" * len(headers)
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def emit(text: str = "") -> None:
    print(text, flush=True)


# -- fixtures ------------------------------------------------------------------------


@dataclass
class Fixture:
    """One generated history: its source directory, its bundle and a current file."""

    n: int
    src: Path  # the generated script directory (env.py, no manifest, no template)
    bundle: Path  # staged by frozen_alembic.build.stage (heads, template, manifest)
    head: str
    db: Path  # made by Migrator(bundle).create: already current
    alembic_db: Path  # a copy of it, for Alembic's no-op upgrade
    stage_seconds: float

    @property
    def template(self) -> Path:
        return self.bundle / TEMPLATE_NAME


def make_fixture(base: Path, n: int) -> Fixture:
    from frozen_alembic import Migrator
    from frozen_alembic.build import stage

    folder = base / f"n{n}"
    src = folder / "src" / "migrations"
    revisions = benchgen.generate(src, n)
    start = time.perf_counter()
    staged = stage(src, stage_dir=folder / "stage")
    stage_seconds = time.perf_counter() - start
    db = folder / "current.db"
    Migrator(staged.folder).create(db)
    alembic_db = folder / "current-alembic.db"
    shutil.copyfile(db, alembic_db)
    assert staged.heads == (revisions[-1],)
    return Fixture(n, src, staged.folder, revisions[-1], db, alembic_db, stage_seconds)


def alembic_config(script_location: Path, db: Path) -> Config:
    """An in-memory Alembic ``Config``: no ``alembic.ini``, as an application would make it."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{db}")
    return config


def alembic_upgrade(script_location: Path, db: Path, target: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(script_location, db), target)


def read_version(db: Path) -> tuple[str, ...]:
    conn = sqlite3.connect(db)
    try:
        return tuple(sorted(str(r[0]) for r in conn.execute(VERSION_QUERY)))
    finally:
        conn.close()


# -- 1. the start-up check -----------------------------------------------------------


STARTUP_CODE = {
    "pass": "pass",
    "floor": (
        "import sqlite3\n"
        "c = sqlite3.connect({db!r})\n"
        'c.execute("SELECT version_num FROM alembic_version").fetchall()'
    ),
    "ours": "import frozen_alembic\nfrozen_alembic.ensure_current({db!r}, scripts={bundle!r})",
    "alembic": (
        "from alembic import command\n"
        "from alembic.config import Config\n"
        "cfg = Config()\n"
        'cfg.set_main_option("script_location", {src!r})\n'
        'cfg.set_main_option("sqlalchemy.url", "sqlite:///" + {alembic_db!r})\n'
        'command.upgrade(cfg, "head")'
    ),
}


@dataclass
class StartupResult:
    n: int
    process: dict[str, Contender]
    inproc: dict[str, Contender]
    modules: dict[str, str]


def bench_startup(fx: Fixture, settings: Settings, procs: Processes) -> StartupResult:
    paths = {
        "db": str(fx.db),
        "bundle": str(fx.bundle),
        "src": str(fx.src),
        "alembic_db": str(fx.alembic_db),
    }
    log(f"N={fx.n}: start-up check, whole process ({settings.process_runs} rounds)")
    process = alternate(
        [
            Contender(
                name,
                procs.timer(code.format(**paths)),
                settings.process_runs,
                budget=settings.slow_budget if name == "alembic" else None,
                min_runs=5,
            )
            for name, code in STARTUP_CODE.items()
        ],
        warmup=2,
    )
    for path in (fx.db, fx.alembic_db):
        assert read_version(path) == (fx.head,), f"{path} changed"
    modules = {name: procs.modules(code.format(**paths)) for name, code in STARTUP_CODE.items()}

    log(f"N={fx.n}: start-up check, in process")
    from frozen_alembic import ensure_current

    db, bundle = str(fx.db), str(fx.bundle)

    def ours() -> object:
        return ensure_current(db, scripts=bundle)

    def floor() -> object:
        conn = sqlite3.connect(db)
        rows = conn.execute(VERSION_QUERY).fetchall()
        conn.close()
        return rows

    def alembic() -> None:
        alembic_upgrade(fx.src, fx.alembic_db)

    assert not ensure_current(db, scripts=bundle).changed
    runs = settings.inprocess_runs
    inproc = alternate(
        [
            Contender("ours", lambda: timed(ours), runs),
            Contender("floor", lambda: timed(floor), runs),
            Contender(
                "alembic",
                lambda: timed(alembic),
                runs,
                budget=settings.slow_budget,
                min_runs=5,
            ),
        ],
        warmup=3,
    )
    return StartupResult(fx.n, process, inproc, modules)


def report_startup(results: Sequence[StartupResult], settings: Settings) -> None:
    emit("## 1. Start-up check on an already-current file\n")
    emit(
        "The file was made by `Migrator(bundle).create`, so it is at head. "
        "*ours*: `import frozen_alembic; frozen_alembic.ensure_current(DB, scripts=BUNDLE)`; "
        "*floor*: `sqlite3.connect(DB).execute('SELECT version_num FROM alembic_version')"
        ".fetchall()`; *Alembic*: `command.upgrade(cfg, 'head')` with an in-memory `Config` "
        "and the directory's plain `env.py`, on a copy of the same file (a no-op).\n"
    )
    emit(
        f"**Whole process** (`python -c CODE`, normal start-up, wall time seen by the parent); "
        f"median of up to {settings.process_runs} alternating rounds after 2 warm-ups "
        f"(Alembic: at least 5, then ~{settings.slow_budget:g} s):\n"
    )
    rows = []
    for r in results:
        p = r.process
        rows.append(
            [
                f"{r.n}",
                fmt_time(p["pass"].median),
                fmt_time(p["floor"].median),
                fmt_time(p["ours"].median),
                fmt_time(p["alembic"].median),
                fmt_time(p["ours"].median - p["floor"].median),
                goal(paired_ratio(p["ours"], p["floor"]), 1.3),
                fmt_ratio(paired_ratio(p["alembic"], p["ours"])),
                f"{len(p['ours'].times)} / {len(p['alembic'].times)}",
            ]
        )
    emit(
        table(
            [
                "revisions",
                "`python -c pass`",
                "floor (sqlite3)",
                "ours",
                "Alembic no-op",
                f"ours {MINUS} floor",
                f"ours/floor (goal ≤ 1.3{TIMES})",
                "Alembic/ours",
                "runs (others/Alembic)",
            ],
            rows,
        )
    )
    emit()
    for r in results:
        listed = ", ".join(f"{name} {what}" for name, what in r.modules.items())
        emit(f"- N={r.n}, `sys.modules` at the end of each process: {listed}")
    emit()
    emit(
        "**In process** (after warm-up, garbage collector off while timing, as `timeit`; "
        "the floor grows with N because SQLite parses the whole schema on a new "
        "connection's first statement):\n"
    )
    rows = []
    for r in results:
        q = r.inproc
        rows.append(
            [
                f"{r.n}",
                fmt_time(q["floor"].median),
                fmt_time(q["ours"].median),
                fmt_time(q["alembic"].median),
                fmt_time(q["ours"].median - q["floor"].median),
                fmt_ratio(paired_ratio(q["ours"], q["floor"])),
                fmt_ratio(paired_ratio(q["alembic"], q["ours"])),
                f"{len(q['ours'].times)} / {len(q['floor'].times)} / {len(q['alembic'].times)}",
            ]
        )
    emit(
        table(
            [
                "revisions",
                "floor (sqlite3)",
                "ours",
                "Alembic no-op",
                f"ours {MINUS} floor",
                "ours/floor",
                "Alembic/ours",
                "runs (ours/floor/Alembic)",
            ],
            rows,
        )
    )
    emit()


# -- 2. creating a new database ------------------------------------------------------


CREATE_CODE = {
    "pass": "pass",
    "copy": (
        "import os, shutil\n"
        "shutil.copyfile({template!r}, {new!r})\n"
        "fd = os.open({new!r}, os.O_RDONLY)\n"
        "os.fsync(fd)\n"
        "os.close(fd)"
    ),
    # The same, and the folder fsynced too, as create() does so that the new name
    # survives a power cut: the floor for a durable new file.
    "copy-durable": (
        "import os, shutil\n"
        "shutil.copyfile({template!r}, {new!r})\n"
        "fd = os.open({new!r}, os.O_RDONLY)\n"
        "os.fsync(fd)\n"
        "os.close(fd)\n"
        "fd = os.open(os.path.dirname({new!r}), os.O_RDONLY)\n"
        "os.fsync(fd)\n"
        "os.close(fd)"
    ),
    "ours": "from frozen_alembic import Migrator\nMigrator({bundle!r}).create({new!r})",
}


@dataclass
class CreateResult:
    n: int
    template_bytes: int
    tables: int
    process: dict[str, Contender]
    inproc: dict[str, Contender]
    slow: dict[str, Contender]
    modules: dict[str, str]


class NewPaths:
    """Fresh paths for new databases in one folder; each is removed after its run."""

    def __init__(self, folder: Path, stem: str) -> None:
        self.folder = folder
        self.stem = stem
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self) -> Path:
        self.count += 1
        return self.folder / f"{self.stem}-{self.count}.db"


def bench_create(fx: Fixture, settings: Settings, procs: Processes) -> CreateResult:
    import sqlalchemy as sa

    from frozen_alembic import Migrator

    work = fx.bundle.parent.parent / "create"
    work.mkdir(parents=True, exist_ok=True)
    template = fx.template
    with sqlite3.connect(fx.db) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name != 'alembic_version'"
        ).fetchone()[0]

    log(f"N={fx.n}: create, whole process ({settings.process_runs} rounds)")
    new = work / "process.db"
    fields = {"template": str(template), "new": str(new), "bundle": str(fx.bundle)}

    def clean_new() -> None:
        remove_db(new)

    process = alternate(
        [
            Contender(
                name, procs.timer(code.format(**fields), before=clean_new), settings.process_runs
            )
            for name, code in CREATE_CODE.items()
        ],
        warmup=2,
    )
    modules = {}
    for name, code in CREATE_CODE.items():
        remove_db(new)
        modules[name] = procs.modules(code.format(**fields))
    remove_db(new)

    log(f"N={fx.n}: create, in process")
    warm = Migrator(fx.bundle)
    paths = NewPaths(work, "inproc")
    warm.create(paths())  # loads the template into memory

    def run_and_remove(
        create: Callable[[Path], object], check: bool = False
    ) -> Callable[[], float]:
        def run() -> float:
            path = paths()
            elapsed = timed(lambda: create(path))
            if check:
                assert read_version(path) == (fx.head,)
            remove_db(path)
            return elapsed

        return run

    def copy(path: Path) -> None:
        shutil.copyfile(template, path)
        fsync(path)

    def copy_durable(path: Path) -> None:
        copy(path)
        fsync(path.parent)

    runs = settings.inprocess_runs
    inproc = alternate(
        [
            Contender("ours", run_and_remove(warm.create), runs),
            Contender("ours-new", run_and_remove(lambda p: Migrator(fx.bundle).create(p)), runs),
            Contender("copy", run_and_remove(copy), runs),
            Contender("copy-durable", run_and_remove(copy_durable), runs),
        ],
        warmup=3,
    )

    log(f"N={fx.n}: create, the slow ways (budget {settings.slow_budget:g} s each)")
    engine = sa.create_engine(f"sqlite:///{fx.db}")
    metadata = sa.MetaData()
    metadata.reflect(engine)
    engine.dispose()

    def create_all(path: Path) -> None:
        eng = sa.create_engine(f"sqlite:///{path}")
        metadata.create_all(eng)
        with eng.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": fx.head}
            )
        eng.dispose()

    def chain_ours(path: Path) -> None:
        Migrator(fx.src).create(path)  # no template: runs every revision, one transaction

    def chain_alembic(path: Path) -> None:
        alembic_upgrade(fx.src, path)

    slow_runs = settings.slow_max_runs
    budget = settings.slow_budget
    slow = alternate(
        [
            Contender("ours", run_and_remove(warm.create, check=True), slow_runs),
            Contender(
                "alembic-chain", run_and_remove(chain_alembic, check=True), slow_runs, budget
            ),
            Contender("ours-chain", run_and_remove(chain_ours, check=True), slow_runs, budget),
            Contender("create_all", run_and_remove(create_all, check=True), slow_runs, budget),
        ]
    )
    return CreateResult(fx.n, template.stat().st_size, tables, process, inproc, slow, modules)


def report_create(results: Sequence[CreateResult], settings: Settings) -> None:
    emit("## 2. Creating a new database at head\n")
    emit(
        "*ours*: `Migrator(BUNDLE).create(new)`, which copies the bundled template "
        "(`frozen-alembic-template.sqlite`, checked against the manifest) into a temporary "
        "file, **fsyncs it**, and links it into place. "
        "*copy*: `shutil.copyfile(template, new)` + `os.fsync` of the copy (fsynced too, "
        "for a fair comparison). *Alembic chain*: `command.upgrade(cfg, 'head')` on a new "
        "file (every revision, pysqlite defaults). *ours, chain*: `Migrator(SRC).create(new)` "
        "on a fresh Migrator and a directory without template (every revision, one "
        "transaction). *create_all + stamp*: a `MetaData` reflected once from a head "
        "database, `metadata.create_all(engine)` on a new file, then an `INSERT` of the "
        "head into `alembic_version`.\n"
    )
    emit(
        f"**In process**, median of {settings.inprocess_runs} alternating calls after "
        "warm-up (each on a new path; deleting the file is not timed):\n"
    )
    rows = []
    for r in results:
        q = r.inproc
        rows.append(
            [
                f"{r.n}",
                f"{r.tables}",
                f"{r.template_bytes / 1024:.0f} KiB",
                fmt_time(q["copy"].median),
                fmt_time(q["ours"].median),
                fmt_time(q["ours-new"].median),
                fmt_time(q["copy-durable"].median),
                goal(paired_ratio(q["ours"], q["copy"]), 2.0),
                fmt_ratio(paired_ratio(q["ours"], q["copy-durable"])),
            ]
        )
    emit(
        table(
            [
                "revisions",
                "tables",
                "template",
                "copy + fsync",
                "ours (warm Migrator)",
                "ours (new Migrator each call)",
                "copy + fsync + folder fsync",
                f"ours/copy (goal ≤ 2{TIMES})",
                "ours/copy with folder fsync",
            ],
            rows,
        )
    )
    emit()
    emit(
        "**Whole process** (`python -c CODE`; *ours* constructs the Migrator and creates; "
        "it also fsyncs the folder, so that the new name survives a power cut, which the "
        "plain copy does not: the last column compares it with a copy that does), "
        f"median of {settings.process_runs} alternating rounds:\n"
    )
    rows = []
    for r in results:
        p = r.process
        rows.append(
            [
                f"{r.n}",
                fmt_time(p["pass"].median),
                fmt_time(p["copy"].median),
                fmt_time(p["ours"].median),
                fmt_time(p["copy-durable"].median),
                fmt_time(p["ours"].median - p["copy"].median),
                goal(paired_ratio(p["ours"], p["copy"]), 1.3),
                fmt_ratio(paired_ratio(p["ours"], p["copy-durable"])),
            ]
        )
    emit(
        table(
            [
                "revisions",
                "`python -c pass`",
                "copy + fsync",
                "ours",
                "copy + fsync + folder fsync",
                f"ours {MINUS} copy",
                f"ours/copy (goal ≤ 1.3{TIMES})",
                "ours/copy with folder fsync",
            ],
            rows,
        )
    )
    emit()
    for r in results:
        listed = ", ".join(f"{name} {what}" for name, what in r.modules.items())
        emit(f"- N={r.n}, `sys.modules` at the end of each process: {listed}")
    emit()
    emit(
        "**Against the slow ways** (in process, alternating rounds; slow contenders "
        f"stop after {settings.slow_max_runs} runs or ~{settings.slow_budget:g} s):\n"
    )
    rows = []
    for r in results:
        s = r.slow
        ours = s["ours"].median
        rows.append(
            [
                f"{r.n}",
                fmt_time(ours),
                fmt_time(s["alembic-chain"].median),
                fmt_time(s["ours-chain"].median),
                fmt_time(s["create_all"].median),
                fmt_ratio(s["alembic-chain"].median / ours),
                fmt_ratio(s["ours-chain"].median / ours),
                fmt_ratio(s["create_all"].median / ours),
                " / ".join(
                    str(len(s[k].times))
                    for k in ("ours", "alembic-chain", "ours-chain", "create_all")
                ),
            ]
        )
    emit(
        table(
            [
                "revisions",
                "ours",
                "Alembic chain",
                "ours, chain",
                "create_all + stamp",
                "Alembic chain/ours",
                "ours chain/ours",
                "create_all/ours",
                "runs",
            ],
            rows,
        )
    )
    emit()


# -- 3. a safe upgrade of a large file, on each file system -------------------------

ROUTE_VARIABLE = "FROZEN_ALEMBIC_BACKUP_ROUTE"  # frozen_alembic._clone.ROUTE_VARIABLE
ROUTES = ("clone", "copy", "sqlite")
# Loop images with room for the 1 GB file and its backups, written through first: on a
# sparse image, every block XFS allocates anew (as copy-on-write does) would also wait
# for the host file system to allocate it, which a real disk never does.
IMAGE_MB = 4000


@dataclass
class Place:
    """A folder on one file system: the suite's disk, or a loop-mounted image."""

    name: str
    folder: Path | None  # None: could not be mounted (see ``why``)
    why: str = ""


@dataclass
class BigResult:
    place: Place
    size: int
    rows: int
    runs: dict[str, Contender]
    routes: dict[str, Contender]
    clones: bool


@dataclass
class GigResult:
    place: Place
    size: int
    runs: dict[str, Contender]


def make_big(folder: Path, megabytes: int) -> tuple[Path, Path, int, float]:
    """A script directory (r1 makes ``big``, r2 recreates it) and a file at r1."""
    src = folder / "migrations"
    r1, _r2 = benchgen.generate_big(src)
    db = folder / "big-r1.db"
    alembic_upgrade(src, db, r1)
    rows = megabytes * 1_000_000 // 117  # ~117 bytes per row on disk
    start = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
            "INSERT INTO big (payload, n) SELECT hex(randomblob(50)), CAST(x % 100000 AS TEXT) "
            "FROM c",
            (rows,),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    fill = time.perf_counter() - start
    fsync(db)
    return src, db, rows, fill


@contextlib.contextmanager
def places(base: Path) -> Iterator[list[Place]]:
    """The suite's own disk and, where this machine can mount them, XFS and btrfs."""
    sys.path.insert(0, str(ROOT))
    import pytest
    from tests.faults import mounts  # the suite's loop mounts (root only)

    here = mounts.containing_mount(base)
    found = [Place(here.fs_type if here is not None else "this disk", base / "disk")]
    with contextlib.ExitStack() as stack:
        for name, mount in (("XFS", mounts.xfs_loop), ("btrfs", mounts.btrfs_loop)):
            try:
                log(f"{name}: writing a {IMAGE_MB} MB image and mounting it")
                folder = stack.enter_context(mount(IMAGE_MB, written=True))
            except (pytest.skip.Exception, mounts.MountError) as err:
                found.append(Place(name, None, str(err)))
                log(f"{name}: cannot mount here ({err})")
            else:
                found.append(Place(f"{name} (loop)", folder))
        yield found


def _backup_by(route: str, db: Path) -> Callable[[], float]:
    """Time ``frozen_alembic.backup(db)`` forced onto ``route``; the backup is deleted."""
    from frozen_alembic import backup

    def run() -> float:
        os.environ[ROUTE_VARIABLE] = route
        try:
            made: list[Path] = []
            elapsed = timed(lambda: made.append(backup(db)))
        finally:
            del os.environ[ROUTE_VARIABLE]
        remove_db(made[0])
        return elapsed

    return run


def bench_big(place: Place, src: Path, original: Path, rows: int, settings: Settings) -> BigResult:
    from frozen_alembic import Migrator

    assert place.folder is not None
    folder = place.folder / "big"
    folder.mkdir(parents=True, exist_ok=True)
    head = "b16f00000002"
    copy = folder / "big.db"
    size = original.stat().st_size

    def fresh_copy() -> None:
        remove_db(copy)
        shutil.copyfile(original, copy)
        fsync(copy)
        os.sync()

    def measured(upgrade: Callable[[Path], object]) -> Callable[[], float]:
        def run() -> float:
            fresh_copy()
            elapsed = timed(lambda: upgrade(copy))
            conn = sqlite3.connect(copy)
            try:
                version = conn.execute(VERSION_QUERY).fetchall()
                kind = conn.execute("SELECT typeof(n) FROM big LIMIT 1").fetchone()
            finally:
                conn.close()
            assert version == [(head,)], version
            assert kind == ("integer",), kind
            remove_db(copy)
            log(f"  {place.name}: {fmt_time(elapsed)}")
            return elapsed

        return run

    log(f"{place.name}: {size / 1e6:.0f} MB, {rows:,} rows; {settings.big_runs} runs each")
    runs = alternate(
        [
            Contender("alembic", measured(lambda p: alembic_upgrade(src, p)), settings.big_runs),
            Contender("ours", measured(lambda p: Migrator(src).upgrade(p)), settings.big_runs),
            Contender(
                "ours-nobackup",
                measured(lambda p: Migrator(src).upgrade(p, backup=False)),
                settings.big_runs,
            ),
        ]
    )
    fresh_copy()
    routes = alternate([Contender(r, _backup_by(r, copy), settings.big_runs) for r in ROUTES])
    clones = _clones(copy)
    remove_db(copy)
    return BigResult(place, size, rows, runs, routes, clones)


def _clones(db: Path) -> bool:
    """Whether a forced clone of ``db`` is really a clone (shares extents)."""
    from frozen_alembic import backup

    os.environ[ROUTE_VARIABLE] = "clone"
    try:
        made = backup(db)
    finally:
        del os.environ[ROUTE_VARIABLE]
    try:
        out = subprocess.run(
            ["filefrag", "-v", str(made)], capture_output=True, text=True, check=False
        ).stdout
    finally:
        remove_db(made)
    return "shared" in out


def bench_gig(place: Place, settings: Settings) -> GigResult:
    """``backup()`` of a ~1 GB file: a clone against SQLite's backup API."""
    assert place.folder is not None
    folder = place.folder / "gig"
    folder.mkdir()
    log(f"{place.name}: making a ~{settings.gig_mb} MB file")
    _src, db, _rows, _fill = make_big(folder, settings.gig_mb)
    size = db.stat().st_size
    runs = alternate(
        [Contender(r, _backup_by(r, db), settings.big_runs) for r in ("clone", "sqlite")]
    )
    for name, contender in runs.items():
        log(f"  {place.name} 1 GB backup by {name}: {fmt_time(contender.median)}")
    shutil.rmtree(folder)
    return GigResult(place, size, runs)


def report_big(
    results: Sequence[BigResult],
    gigs: Sequence[GigResult],
    skipped: Sequence[Place],
    settings: Settings,
) -> None:
    emit("## 3. Safe upgrade of a large file with a table recreate, on each file system\n")
    first = results[0]
    emit(
        "r1 creates `big(id INTEGER PK, payload TEXT, n TEXT)`; r2 recreates it with "
        "`batch_alter_table('big', recreate='always')`, `n` TEXT → INTEGER. The file is "
        f"at r1 with {first.rows:,} rows ({first.size / 1e6:.0f} MB; payload = "
        "`hex(randomblob(50))`). Each run works on a fresh, fsynced copy (the copy is not "
        "timed); copies and backups are deleted between runs. *Alembic*: "
        "`command.upgrade(cfg, 'head')` with a plain `env.py` (pysqlite defaults: no "
        "backup, no lock before planning, no checks). *ours*: `Migrator(dir).upgrade(copy)` "
        "= write lock, backup (by the best route the file system offers, fsynced), one "
        "transaction, `foreign_key_check` and `quick_check` (while they run, the disk "
        "already writes what the commit will sync). XFS and btrfs are images on loop "
        "devices, files on the suite's disk written through with zeros first (so that no "
        "write waits for the host to allocate a block). "
        f"Median of {settings.big_runs} alternating runs each:\n"
    )
    rows = []
    for r in results:
        limit = 1.1 if r.clones else 1.3
        rows.append(
            [
                r.place.name,
                fmt_time(r.runs["alembic"].median),
                fmt_time(r.runs["ours"].median),
                fmt_time(r.runs["ours-nobackup"].median),
                goal(paired_ratio(r.runs["ours"], r.runs["alembic"]), limit)
                + f" (≤ {limit}{TIMES})",
                fmt_ratio(paired_ratio(r.runs["ours-nobackup"], r.runs["alembic"])),
            ]
        )
    emit(
        table(
            [
                "file system",
                "Alembic (unsafe)",
                "ours (backup)",
                "ours, `backup=False`",
                "ours/Alembic (goal)",
                "ours no backup/Alembic",
            ],
            rows,
        )
    )
    emit()
    emit(
        "**The backup alone**, `frozen_alembic.backup(file)` of the same file by each route "
        f"(forced with `${ROUTE_VARIABLE}`; a forced clone where the file system cannot "
        "clone falls back to the backup API; *shared* = `filefrag` shows the clone's "
        "extents shared with the file):\n"
    )
    emit(
        table(
            ["file system", "clone", "kernel copy", "SQLite backup API", "clone shares extents"],
            [
                [
                    r.place.name,
                    *(fmt_time(r.routes[route].median) for route in ROUTES),
                    "yes" if r.clones else "no (cannot clone)",
                ]
                for r in results
            ],
        )
    )
    emit()
    if gigs:
        emit(
            f"**A {gigs[0].size / 1e9:.1f} GB file**, `backup()` by clone against the backup API:\n"
        )
        emit(
            table(
                ["file system", "clone", "SQLite backup API", "clone/backup API (goal < 1%)"],
                [
                    [
                        g.place.name,
                        fmt_time(g.runs["clone"].median),
                        fmt_time(g.runs["sqlite"].median),
                        f"{100 * paired_ratio(g.runs['clone'], g.runs['sqlite']):.2f}% "
                        + ("✓" if paired_ratio(g.runs["clone"], g.runs["sqlite"]) < 0.01 else "✗"),
                    ]
                    for g in gigs
                ],
            )
        )
        emit()
    for place in skipped:
        emit(f"{place.name}: not measured, it cannot be mounted here ({place.why}).\n")
    for r in results:
        every = ", ".join(
            f"{name}: " + " ".join(fmt_time(t) for t in c.times)
            for name, c in {**r.runs, **{f"backup by {k}": v for k, v in r.routes.items()}}.items()
        )
        emit(f"Every run on {r.place.name}: {every}.\n")


def bench_filesystems(base: Path, settings: Settings) -> None:
    folder = base / "big"
    log(f"large file: making a ~{settings.big_mb} MB file at r1")
    src, original, rows, _fill = make_big(folder, settings.big_mb)
    results, gigs, skipped = [], [], []
    with places(base) as found:
        for place in found:
            if place.folder is None:
                skipped.append(place)
                continue
            results.append(bench_big(place, src, original, rows, settings))
            if results[-1].clones and settings.gig_mb:
                gigs.append(bench_gig(place, settings))
    report_big(results, gigs, skipped, settings)


# -- 4. the start-up check inside real frozen builds ---------------------------------


@dataclass
class FrozenResult:
    variant: benchfreeze.Variant
    builds: dict[str, benchfreeze.Build]
    runs: dict[str, Contender]
    checked: benchfreeze.Checked


def bench_frozen(base: Path, settings: Settings) -> list[FrozenResult]:
    """Build both apps with every freezer, check what they do, then time them side by side."""
    folder = base / "frozen"
    docs = benchfreeze.Documents.make(folder / "docs")
    built = []
    for variant in benchfreeze.VARIANTS:
        log(f"frozen: building both apps, {variant.label}")
        builds = benchfreeze.build_both(folder / "builds", variant)
        log(
            f"  built in {builds['floor'].seconds:.0f} s (sqlite3 only) and "
            f"{builds['ours'].seconds:.0f} s (ours)"
        )
        built.append((variant, builds))
    runner = benchfreeze.Runner(folder / "run")
    results = []
    for variant, builds in built:
        checked = benchfreeze.check(runner, builds, docs)
        log(f"frozen: {variant.label}, {settings.process_runs} alternating rounds")
        runs = alternate(
            [
                Contender(app, runner.timer(builds[app], docs.current), settings.process_runs)
                for app in ("floor", "ours")
            ],
            warmup=2,
        )
        runner.run(builds["floor"], str(docs.current))  # nothing left in cwd or $TMPDIR
        if benchfreeze.version(docs.current) != [docs.head]:
            msg = f"the {variant.label} runs changed the current document"
            raise RuntimeError(msg)
        results.append(FrozenResult(variant, builds, runs, checked))
    return results


def _extra_modules(checked: benchfreeze.Checked) -> str:
    """What the start-up check loaded beyond the floor's modules, in short."""
    extra = sorted(set(checked.modules["ours"]) - set(checked.modules["floor"]))
    ours = [m for m in extra if m.split(".")[0] == "frozen_alembic"]
    others = [m for m in extra if m.split(".")[0] != "frozen_alembic"]
    if len(others) <= 8:
        return f"{len(ours)} of frozen_alembic's, {', '.join(others) or 'nothing else'}"
    tops = collections.Counter(m.split(".")[0] for m in others if not m.startswith("_"))
    biggest = ", ".join(f"{name} ({n})" if n > 1 else name for name, n in tops.most_common(12))
    return f"{len(ours)} of frozen_alembic's and {len(others)} others: {biggest}, ..."


def report_frozen(results: Sequence[FrozenResult], settings: Settings) -> None:
    emit("## 4. Start-up check inside real frozen builds\n")
    emit(
        "Two apps, each frozen the same way with each freezer (real builds, as "
        "subprocesses; `scripts/benchapps/`): *ours* does what an application does on "
        "start-up, `ensure_current(DOC, anchor='notekeeper')`, with the reference "
        "migrations bundled by frozen-alembic's build helpers (`cx_freeze_options`; "
        "`pyinstaller_args` and the hook PyInstaller finds through the `pyinstaller40` "
        "entry point); *sqlite3 only* opens DOC with `sqlite3` and reads the version "
        "row. Both get the reference app's build configuration "
        "(`freeze_config/notekeeper.toml`: its `excludes`, given to every freezer), "
        "except in the last row, which shows what those excludes are worth. DOC is "
        "current. Each program runs as a user runs it: from an empty working directory, "
        "without `PYTHON*` variables, `$TMPDIR` a folder of its own (where a one-file "
        "program unpacks itself on every start). Wall time seen by the parent, median of "
        f"{settings.process_runs} alternating rounds after 2 warm-ups each; the ratio is "
        "the median of per-round ratios.\n"
    )
    rows = []
    for r in results:
        floor, ours = r.runs["floor"], r.runs["ours"]
        ratio = paired_ratio(ours, floor)
        rows.append(
            [
                r.variant.label,
                fmt_time(floor.median),
                fmt_time(ours.median),
                fmt_time(ours.median - floor.median),
                goal(ratio, r.variant.goal) if r.variant.goal else f"{fmt_ratio(ratio)} (no goal)",
                f"{len(ours.times)}",
            ]
        )
    emit(
        table(
            [
                "build",
                "sqlite3 only",
                "ours",
                f"ours {MINUS} sqlite3 only",
                f"ours/sqlite3 only (goal ≤ 1.3{TIMES})",
                "runs",
            ],
            rows,
            align="lrrrrr",
        )
    )
    emit()
    for r in results:
        pair = (r.builds["floor"], r.builds["ours"])
        hooks = " / ".join(", ".join(b.runtime_hooks()) or "none" for b in pair)
        sizes = " / ".join(f"{b.size() / 1e6:.0f} MB" for b in pair)
        modules = " / ".join(str(len(r.checked.modules[app])) for app in ("floor", "ours"))
        line = f"- {r.variant.label}: size {sizes} (sqlite3 only / ours)"
        if r.variant.freezer == "PyInstaller":
            line += f"; run-time hooks {hooks}"
        line += (
            f"; `sys.modules` at the end {modules}, ours adds {_extra_modules(r.checked)}; "
            f"a real migration ({r.checked.migrated}) ran in the ours build ✓"
        )
        emit(line)
    emit()


# -- main ----------------------------------------------------------------------------


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src", "freeze_config", "scripts/benchapps"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + (" (src/, freeze_config/ or scripts/benchapps/ modified)" if dirty else "")


def header(settings: Settings, bytecode: str) -> None:
    import alembic
    import sqlalchemy

    import frozen_alembic

    emit("# frozen-alembic benchmarks\n")
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    emit(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    emit(f"- machine: {platform.platform()}, {os.cpu_count()} CPUs, load average {load}")
    emit(f"- Python {platform.python_version()} ({platform.python_implementation()})")
    emit(
        f"- SQLite {sqlite3.sqlite_version}, alembic {alembic.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}, frozen-alembic {frozen_alembic.__version__} "
        f"(git {git_revision()})"
    )
    emit(
        f"- runs: whole process up to {settings.process_runs} rounds; in process "
        f"{settings.inprocess_runs} calls; slow contenders ≤ {settings.slow_max_runs} runs or "
        f"~{settings.slow_budget:g} s; large file {settings.big_runs} runs each"
    )
    if "frozen" in settings.sections:
        from importlib.metadata import version

        emit(f"- freezers: cx_Freeze {version('cx_Freeze')}, PyInstaller {version('pyinstaller')}")
    emit(f"- bytecode: {bytecode}")
    emit(
        "- medians of alternating runs; every ratio is the median of per-round ratios "
        "(adjacent runs); ✓/✗: goal met or missed\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    started = time.perf_counter()
    base = Path(tempfile.mkdtemp(prefix="frozen-alembic-bench-", dir=settings.tmp))
    log(f"working in {base}")
    try:
        header(settings, set_bytecode(base, settings.pyc))
        procs = Processes(base / "cwd")
        fixtures = []
        if {"startup", "create"} & set(settings.sections):
            for n in settings.sizes:
                log(f"N={n}: generating and staging")
                fixtures.append(make_fixture(base, n))
            emit(
                "Staging (`frozen_alembic.build.stage`, which runs the chain once for the "
                "template): "
                + ", ".join(f"N={fx.n} {fmt_time(fx.stage_seconds)}" for fx in fixtures)
                + ".\n"
            )
        if "startup" in settings.sections:
            report_startup([bench_startup(fx, settings, procs) for fx in fixtures], settings)
        if "create" in settings.sections:
            report_create([bench_create(fx, settings, procs) for fx in fixtures], settings)
        if "upgrade" in settings.sections:
            bench_filesystems(base, settings)
        if "frozen" in settings.sections:
            report_frozen(bench_frozen(base, settings), settings)
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        emit(
            f"Total time {fmt_time(time.perf_counter() - started)}; load average at the end {load}."
        )
    finally:
        if settings.keep:
            log(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
