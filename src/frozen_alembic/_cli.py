"""The ``frozen-alembic`` command line: Alembic's verbs with no ini file and no chdir.

Usable from code as well, in place of ``alembic.config.main(argv=[...])``::

    from frozen_alembic import main
    exit_code = main(["--scripts", "/app/migrations", "upgrade", "/data/notes.db"])
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ._exceptions import FrozenAlembicError
from ._migrator import Migrator

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from ._events import Progress
    from ._report import Report

SCRIPTS_ENV = "FROZEN_ALEMBIC_SCRIPTS"


def _parser() -> argparse.ArgumentParser:
    import argparse  # only the command line pays for it

    parser = argparse.ArgumentParser(
        prog="frozen-alembic",
        description="Run Alembic migrations on SQLite files, with no alembic.ini.",
    )
    parser.add_argument(
        "--scripts",
        metavar="DIR",
        default=os.environ.get(SCRIPTS_ENV),
        help=f"the Alembic script directory (default: ${SCRIPTS_ENV})",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for a locked file"
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("heads", help="show the newest revision(s)")
    verbs.add_parser("history", help="list every revision, oldest first")
    for name, text in (
        ("current", "show the revision(s) of a database"),
        ("status", "say whether a database is current, behind, too new, ..."),
        ("create", "make a new database at the newest revision"),
    ):
        verbs.add_parser(name, help=text).add_argument("db", help="database file")
    upgrade = verbs.add_parser("upgrade", help="upgrade a database (default: to heads)")
    upgrade.add_argument("db", help="database file")
    upgrade.add_argument("target", nargs="?", default="heads")
    downgrade = verbs.add_parser("downgrade", help="downgrade a database to a revision")
    downgrade.add_argument("db", help="database file")
    downgrade.add_argument("target", help="revision id, 'base' or '-N'")
    stamp = verbs.add_parser("stamp", help="record a revision without running scripts")
    stamp.add_argument("db", help="database file")
    stamp.add_argument("target", nargs="?", default="heads")
    stamp.add_argument("--purge", action="store_true", help="empty the version table first")
    verify = verbs.add_parser(
        "verify",
        help="check a finished build: every old document must migrate in it",
        description=(
            "Check a finished build before it ships: the bundled migrations against the "
            "manifest (and the source tree), the modules they import, and a run of the "
            "built app on an old document at every revision that has a child."
        ),
    )
    verify.add_argument(
        "build_dir",
        help="the build's folder (or a one-file program, or a .deb or .rpm installer)",
        metavar="BUILD",
    )
    verify.add_argument(
        "--source",
        metavar="DIR",
        help="the source tree's script directory: a stale build fails, documents are made "
        "from it (default: from the build's own migrations)",
    )
    verify.add_argument(
        "--target", metavar="NAME", help="the bundled folder's name (default: the only one)"
    )
    verify.add_argument(
        "--run",
        metavar="CMD",
        help='the built app on an existing old document, e.g. "dist/app/app {db}": it must '
        "make the document current and exit 0 ({db} is replaced by its path, appended "
        "when absent)",
    )
    verify.add_argument(
        "--data",
        metavar="MODULE:FUNCTION",
        help="fn(conn, revision) inserting the app's own rows into each old document "
        "(MODULE may be a path/to/file.py)",
    )
    verify.add_argument(
        "--run-timeout", type=float, default=300.0, metavar="S", help="seconds per run"
    )
    verify.add_argument(
        "--keep", metavar="DIR", help="keep the documents, before and after the run, in DIR"
    )
    release = verbs.add_parser(
        "release",
        help="record a release: the hash of every revision file it ships, and its schema",
        description=(
            "Record a release of the migrations in DIR/releases.toml (its heads and the "
            "SHA-256 of every revision file it ships) and its schema in DIR/schemas/NAME.sql. "
            "From then on the migration kit and `verify` refuse any change to those files."
        ),
    )
    release.add_argument("name", metavar="NAME", help="the release's name, e.g. 1.2")
    release.add_argument(
        "--scripts",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the Alembic script directory in the source tree",
    )
    release.add_argument(
        "--at",
        metavar="REV",
        help="the revision the release shipped, for a release recorded after the fact "
        "(default: the current heads)",
    )
    adopt = verbs.add_parser(
        "adopt",
        help="read an Alembic project: what carries over, what does not, the code to paste",
        description=(
            "Read an existing Alembic project (alembic.ini, env.py, versions/) without "
            "running it, and say what carries over to frozen-alembic and what does not "
            "(logging, env.py's options, -x arguments, imports a freezer would miss), "
            "with the code to paste. Exit code 0 when it carries over, 1 when something "
            "must change first."
        ),
    )
    adopt.add_argument(
        "project",
        nargs="?",
        default=".",
        metavar="DIR",
        help="the project's root (holding alembic.ini), or the script directory "
        "(default: the current directory)",
    )
    adopt.add_argument("--ini", metavar="PATH", help="the ini file, if not DIR/alembic.ini")
    adopt.add_argument(
        "--name", default="alembic", metavar="SECTION", help="the ini's section (alembic -n)"
    )
    args = verbs.add_parser(
        "pyinstaller-args",
        help="stage migrations and print the pyinstaller arguments that bundle them",
        description=(
            "Stage the Alembic script directory for a PyInstaller build and print the "
            "arguments that add it (and every module its scripts import), one per line: "
            'mapfile -t fa < <(frozen-alembic pyinstaller-args DIR); pyinstaller app.py "${fa[@]}"'
        ),
    )
    args.add_argument("script_dir", help="the Alembic script directory in the source tree")
    args.add_argument("--target", default="migrations", help="the folder's name in the build")
    args.add_argument("--stage-dir", metavar="DIR", help="where to stage the copy")
    args.add_argument("--bytecode-only", action="store_true", help="ship .pyc files only")
    return parser


def _show_report(report: Report, out: TextIO) -> None:
    before = ", ".join(report.before) or "(none)"
    after = ", ".join(report.after) or "(none)"
    if not report.changed:
        print(f"{report.path}: already at {after}, nothing to do", file=out)
        return
    print(f"{report.path}: {before} -> {after}", file=out)
    for rev in report.applied:
        print(f"  ran {rev}", file=out)


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    from .build import verify_build  # build-time code, loaded only for this verb

    report = verify_build(
        args.build_dir,
        source=args.source,
        target=args.target,
        run=args.run,
        data=args.data,
        timeout=args.run_timeout,
        keep=args.keep,
    )
    print(report, file=out)
    return 0 if report.ok else 1


def _release(args: argparse.Namespace, out: TextIO) -> int:
    from .build import record_release  # build-time code, loaded only for this verb

    if not args.scripts:
        msg = f"Say where the migration scripts are: --scripts DIR or ${SCRIPTS_ENV}."
        raise FrozenAlembicError(msg)
    release = record_release(args.name, args.scripts, at=args.at)
    folder = Path(args.scripts)
    print(
        f"recorded release {release.name} at {', '.join(release.heads)}: "
        f"{len(release.files)} revision file(s) in {folder / 'releases.toml'}, "
        f"schema in {folder / release.schema}",
        file=out,
    )
    return 0


def _adopt(args: argparse.Namespace, out: TextIO) -> int:
    from .build import adopt  # build-time code, loaded only for this verb

    report = adopt(args.project, ini=args.ini, section=args.name)
    print(report, file=out)
    return 0 if report.ok else 1


def _pyinstaller_args(args: argparse.Namespace, out: TextIO) -> int:
    from .build import pyinstaller_args  # build-time code, loaded only for this verb

    lines = pyinstaller_args(
        args.script_dir,
        target=args.target,
        stage_dir=args.stage_dir,
        bytecode_only=args.bytecode_only,
    )
    print("\n".join(lines), file=out)
    return 0


class ProgressPrinter:
    """Shows a change's progress: a bar on a terminal, one line per step otherwise.

    :param out: where to write.
    """

    WIDTH = 30

    def __init__(self, out: TextIO) -> None:
        self.out = out
        isatty = getattr(out, "isatty", None)
        self.bar = bool(isatty and isatty())
        self._last: tuple[object, ...] | None = None
        self._drawn = 0

    def __call__(self, progress: Progress) -> None:
        """Show one :class:`Progress` event."""
        if self.bar:
            self._draw(progress)
            return
        key = (progress.phase, progress.revision)
        if key == self._last:
            return
        self._last = key
        text = progress.detail or progress.message
        percent = round(100 * progress.fraction)
        print(f"{percent:3d}% {progress.phase.value:<8} {text}", file=self.out, flush=True)

    def _draw(self, progress: Progress) -> None:
        filled = round(self.WIDTH * progress.fraction)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        line = f"[{bar}] {round(100 * progress.fraction):3d}% {progress.message}"
        padding = " " * max(0, self._drawn - len(line))
        self._drawn = len(line)
        end = "\n" if progress.phase.value == "done" else ""
        print(f"\r{line}{padding}", end=end, file=self.out, flush=True)


def _run(args: argparse.Namespace, out: TextIO) -> None:
    if not args.scripts:
        msg = f"Say where the migration scripts are: --scripts DIR or ${SCRIPTS_ENV}."
        raise FrozenAlembicError(msg)
    migrator = Migrator(args.scripts, timeout=args.timeout)
    progress = ProgressPrinter(out)

    verb = args.verb
    if verb == "heads":
        print("\n".join(migrator.heads()), file=out)
    elif verb == "history":
        for revision in migrator.history():
            downs = ", ".join(revision.down_revisions) or "<base>"
            head = " (head)" if revision.is_head else ""
            print(f"{downs} -> {revision.id}{head}, {revision.doc}", file=out)
    elif verb == "current":
        print(", ".join(migrator.current(args.db)) or "(none)", file=out)
    elif verb == "status":
        status = migrator.status(args.db)
        print(f"{status.state.value}: at {', '.join(status.current) or '(none)'}", file=out)
        for rev in status.pending:
            print(f"  pending {rev}", file=out)
    elif verb == "upgrade":
        _show_report(migrator.upgrade(args.db, args.target, progress=progress), out)
    elif verb == "downgrade":
        _show_report(migrator.downgrade(args.db, args.target, progress=progress), out)
    elif verb == "stamp":
        _show_report(migrator.stamp(args.db, args.target, purge=args.purge), out)
    elif verb == "create":
        _show_report(migrator.create(args.db), out)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``).

    Never calls :func:`sys.exit` for a handled error, never changes directory.

    :param argv: the arguments, without the program name.
    :param stdout: where to print results (default: ``sys.stdout``).
    :return: the exit code: 0 on success, 1 on an error, 2 on a usage error.
    """
    out = stdout if stdout is not None else sys.stdout
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.verb == "verify":
            return _verify(args, out)
        if args.verb == "pyinstaller-args":
            return _pyinstaller_args(args, out)
        if args.verb == "release":
            return _release(args, out)
        if args.verb == "adopt":
            return _adopt(args, out)
        _run(args, out)
    except FrozenAlembicError as err:
        print(f"frozen-alembic: error: {err}", file=sys.stderr)
        return 1
    return 0


def console_main() -> None:
    """Entry point of the ``frozen-alembic`` console script."""
    sys.exit(main())
