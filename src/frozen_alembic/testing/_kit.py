"""The migration kit: the checks behind :mod:`frozen_alembic.testing`'s ready-made tests.

Every check works on real SQLite files made the way users' files were made: an empty
database upgraded revision by revision (a document "at" a revision), or a database
built from a recorded release's schema SQL (a document "from" a release).  Each is
filled like a user's: the application's data hook first, then
:func:`~frozen_alembic.build._documents.fill_document`'s generic row in every table the
hook left empty.  Problems are sentences a user could have written in a bug report,
naming releases where they are known.

The migrations run through :class:`~frozen_alembic.Migrator`, as in the application
(``env.py`` is not run); the documents are read with :mod:`sqlite3`.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import os
    from collections.abc import Iterator, Sequence

    from sqlalchemy import MetaData

    from .._migrator import Migrator
    from .._scripts import Revision
    from ..build._releases import Release

Expectation = tuple[str, object]
"""``(sql, expected)``: a query valid at the head and what it must give.

``expected`` is a list for every row (each row a tuple, or a plain value for a
one-column query), a tuple for exactly one row, or a plain value for a query giving
one row of one column."""

DataHook = Callable[[sqlite3.Connection, str], "Mapping[str, Expectation] | None"]
"""``data(conn, revision)``: the application's rows for an old document, and what must
become of them (see :class:`KitConfig`)."""

_T = TypeVar("_T")
_VERSION_TABLE = "alembic_version"  # Alembic's default; a project may name its own
_SHOWN = 8  # differences shown per sentence


class KitFailure(AssertionError):
    """A migration kit check failed; the message is one sentence per problem.

    :ivar problems: the problems, one sentence each.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            text = self.problems[0]
        else:
            text = f"{len(self.problems)} problems:\n" + "\n".join(f"- {p}" for p in self.problems)
        super().__init__(text)


@dataclass(frozen=True)
class KitConfig:
    """What the kit needs to know about an application's migrations.

    :ivar script_location: the Alembic script directory (the folder holding ``versions/``).
    :ivar metadata: the application's SQLAlchemy ``MetaData`` at the head, for the check
        that a new document matches it (skipped without it).
    :ivar data: the data hook, ``data(conn, revision)``: inserts realistic rows into an
        old document (a :class:`sqlite3.Connection`, foreign keys on, committed after
        the call) at ``revision`` (several heads are joined with ``+``), and returns
        ``None`` or named expectations, ``{"note.pinned": (sql, expected)}``: queries
        valid at the head (see :data:`Expectation`) that must still give those values
        once the document is upgraded.  The same function works as
        ``frozen-alembic verify --data`` (which ignores what it returns).
    :ivar releases: the ``releases.toml`` (default: the one in ``script_location``, if any).
    :ivar version_table: the table holding a document's revision, if the project chose
        one that ``env.py`` does not name as a literal (default: the one ``env.py`` names,
        else ``alembic_version``, as :class:`~frozen_alembic.Migrator` finds it).
    """

    script_location: str | os.PathLike[str]
    metadata: MetaData | None = None
    data: DataHook | None = None
    releases: str | os.PathLike[str] | None = None
    version_table: str | None = None


@dataclass
class _Doc:
    """A filled document: where it is, what it is at, and what was put into it."""

    path: Path
    heads: tuple[str, ...]
    label: str
    counts: dict[str, int] = field(default_factory=dict)
    expectations: dict[str, Expectation] = field(default_factory=dict)


@dataclass
class _Upgraded:
    """One document upgraded to the head: its problems, and which expectations held."""

    doc: _Doc
    problems: list[str] = field(default_factory=list)
    lost: dict[str, int] = field(default_factory=dict)  # expectation -> index in problems
    kept: set[str] = field(default_factory=set)


def _first_line(err: BaseException) -> str:
    """What went wrong, without what it says about the kit's scratch file."""
    text = str(err).strip()
    text = text.splitlines()[0] if text else type(err).__name__
    path = getattr(err, "path", None)
    if path is not None and f" {path}" in text:  # "... /tmp/x.sqlite was not changed. ..."
        text = text[: text.index(f" {path}")]
    return text.removesuffix(" Fix the cause, then retry.").strip()


def _show(value: object, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class MigrationKit:
    """The checks of an application's migrations, as the ready-made tests run them.

    Each ``check_*`` method raises :class:`KitFailure` listing every problem it found,
    and returns quietly when there is none.  Documents are made once per kit and
    copied for every use.

    :param config: the application's :class:`KitConfig`.
    :param workdir: where to make the documents (default: a temporary folder, removed
        by :meth:`close`).
    """

    def __init__(self, config: KitConfig, workdir: str | os.PathLike[str] | None = None) -> None:
        self.config = config
        self._own = workdir is None
        folder = tempfile.mkdtemp(prefix="frozen-alembic-kit-") if workdir is None else workdir
        self._folder = Path(folder)
        self._folder.mkdir(parents=True, exist_ok=True)
        self._scripts = Path(config.script_location).resolve()  # a later chdir changes nothing
        self._records = (
            Path(config.releases).resolve()
            if config.releases is not None
            else self._scripts / "releases.toml"
        )
        self._counter = 0
        self._chain: dict[str, Path] = {}
        self._chain_failure: KitFailure | None = None
        self._schema_docs: dict[tuple[str, ...], Path] = {}
        self._filled: dict[object, _Doc] = {}

    def close(self) -> None:
        """Remove the documents (only a folder the kit made itself)."""
        if self._own:
            shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> MigrationKit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the kit works on ------------------------------------------------------------

    @cached_property
    def migrator(self) -> Migrator:
        """A :class:`~frozen_alembic.Migrator` on the scripts, without metadata: its
        ``create()`` runs every revision, as the template of a build is made."""
        from .._exceptions import FrozenAlembicError
        from .._migrator import Migrator

        try:
            return Migrator(
                self._scripts, keep_backups=None, version_table=self.config.version_table
            )
        except FrozenAlembicError as err:
            raise KitFailure([f"the migrations cannot be read: {err}"]) from err

    @property
    def version_table(self) -> str:
        """The table holding a document's revision (the migrator's)."""
        return self.migrator.version_table

    @cached_property
    def history(self) -> list[Revision]:
        """Every revision, parents first."""
        return self._call("the migrations cannot be loaded", self.migrator.history)

    @cached_property
    def heads(self) -> tuple[str, ...]:
        """The newest revision(s)."""
        return self.migrator.heads()

    @cached_property
    def releases(self) -> list[Release]:
        """The recorded releases, oldest first (empty when none are recorded)."""
        from ..build._releases import read_releases
        from ..build._stage import BuildError

        try:
            return read_releases(self._records)
        except BuildError as err:
            raise KitFailure([str(err)]) from err

    def _call(self, what: str, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """``fn(*args, **kwargs)``; a frozen-alembic error becomes a problem: ``what``."""
        from .._exceptions import FrozenAlembicError

        try:
            return fn(*args, **kwargs)
        except FrozenAlembicError as err:
            raise KitFailure([f"{what}: {_first_line(err)}"]) from err

    # -- names for the messages -------------------------------------------------------------

    def _release_name(self, heads: tuple[str, ...]) -> str | None:
        for release in self.releases:
            if tuple(sorted(release.heads)) == tuple(sorted(heads)):
                return release.name
        return None

    def _rev(self, heads: tuple[str, ...]) -> str:
        return "+".join(heads) if heads else "base"

    def _at(self, heads: tuple[str, ...]) -> str:
        """``release 1.2 (0003_pinned)``, or the revision alone."""
        name = self._release_name(heads)
        return f"release {name} ({self._rev(heads)})" if name else self._rev(heads)

    def _target(self) -> str:
        """The head, as the messages name it: ``1.5 (0006_attachments)``."""
        name = self._release_name(self.heads)
        return (
            f"{name} ({self._rev(self.heads)})" if name else f"the head ({self._rev(self.heads)})"
        )

    def _pair(self, upper: tuple[str, ...], lower: tuple[str, ...]) -> str:
        """``release 1.1 to 1.0 (0002_tags to 0001_initial)``, or the revisions."""
        high, low = self._release_name(upper), self._release_name(lower)
        revs = f"{self._rev(upper)} to {self._rev(lower)}"
        if high and low:
            return f"release {high} to {low} ({revs})"
        return f"{self._at(upper)} to {self._at(lower)}"

    # -- documents ----------------------------------------------------------------------------

    def _new_path(self, stem: str) -> Path:
        self._counter += 1
        return self._folder / f"{self._counter:04d}-{stem}.sqlite"

    def _copy(self, path: Path, stem: str = "work") -> Path:
        target = self._new_path(stem)
        shutil.copyfile(path, target)
        return target

    def _empty(self) -> Path:
        path = self._new_path("empty")
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute("VACUUM")  # an empty database, not an empty file
        return path

    def _chain_doc(self, revision: str) -> Path:
        """An empty database upgraded to ``revision`` (the whole chain is made once)."""
        if self._chain_failure is not None:
            raise KitFailure(self._chain_failure.problems)
        if not self._chain:
            chain: dict[str, Path] = {}
            try:
                for rev in self.history:
                    downs = rev.down_revisions
                    step = self._copy(chain[downs[0]], f"at-{rev.id}") if downs else self._empty()
                    self._call(
                        f"the migrations cannot bring an empty document to {rev.id}",
                        self.migrator.upgrade,
                        step,
                        rev.id,
                        backup=False,
                    )
                    chain[rev.id] = step
            except KitFailure as err:
                self._chain_failure = err  # every check that needs the chain says so
                raise
            self._chain = chain
        return self._chain[revision]

    def _schema_doc(self, heads: tuple[str, ...]) -> Path:
        """An unfilled document at ``heads`` (never change it: copy it)."""
        if heads not in self._schema_docs:
            if not heads:
                path = self._empty()
            elif len(heads) == 1:
                path = self._chain_doc(heads[0])
            else:  # several heads: one branch, then the others brought in
                path = self._copy(self._chain_doc(heads[0]), "heads")
                for head in heads[1:]:
                    self._call(
                        f"the migrations cannot bring a document to {', '.join(heads)}",
                        self.migrator.upgrade,
                        path,
                        head,
                        backup=False,
                    )
            self._schema_docs[heads] = path
        return self._schema_docs[heads]

    @cached_property
    def _reference(self) -> Path:
        """A new document, made by ``create()`` (every revision run)."""
        path = self._new_path("new")
        self._call("create() fails", self.migrator.create, path)
        return path

    def _release_doc(self, release: Release) -> Path:
        """An unfilled document built from a release's recorded schema SQL."""
        from ..build._releases import load_schema

        key = ("release schema", release.name)
        if key not in self._filled:
            schema = self._records.parent / release.schema
            try:
                sql = schema.read_text(encoding="utf-8")
            except OSError as err:
                msg = f"release {release.name}'s schema {schema} cannot be read ({err})"
                raise KitFailure([msg + ": restore it from version control"]) from err
            path = self._new_path(f"release-{release.name}")
            try:
                load_schema(sql, path, release.heads, self.version_table)
            except sqlite3.Error as err:
                msg = f"release {release.name}'s schema {schema} does not run ({err})"
                raise KitFailure([msg + ": restore it from version control"]) from err
            self._filled[key] = _Doc(path, release.heads, f"release {release.name}")
        return self._filled[key].path

    def _fill(self, source: Path, heads: tuple[str, ...], label: str) -> _Doc:
        """A copy of ``source`` filled with the data hook's rows, then the generic ones."""
        from ..build._documents import fill_document, row_counts

        doc = _Doc(self._copy(source, "filled"), heads, label)
        if heads:
            doc.expectations = self._call_hook(doc.path, heads, label)
        filled = fill_document(doc.path, self.version_table)
        problems = [
            f"the generic filler cannot put a row into a document at {label}: {problem}; "
            "insert rows into that table in the data hook"
            for problem in filled.problems
        ]
        with closing(sqlite3.connect(doc.path)) as conn:
            doc.counts = row_counts(conn, self.version_table)
            dangling = sorted({str(r[0]) for r in conn.execute("PRAGMA foreign_key_check")})
        if dangling:
            problems.append(
                f"the data hook leaves rows of {', '.join(dangling)} pointing at rows that "
                f"do not exist in a document at {label}: fix the hook"
            )
        if problems:
            raise KitFailure(problems)
        return doc

    def _call_hook(self, path: Path, heads: tuple[str, ...], label: str) -> dict[str, Expectation]:
        hook = self.config.data
        if hook is None:
            return {}
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            result = hook(conn, "+".join(heads))
            conn.commit()
        except Exception as err:
            last = traceback.format_exception_only(type(err), err)[-1].strip()
            where = traceback.extract_tb(err.__traceback__)[-1]
            msg = (
                f"the data hook fails on a document at {label} "
                f"({where.filename}:{where.lineno}: {last}): fix the hook"
            )
            raise KitFailure([msg]) from err
        finally:
            conn.close()
        return _expectations(result, label)

    def _filled_at(self, heads: tuple[str, ...]) -> _Doc:
        key = ("at", heads)
        if key not in self._filled:
            self._filled[key] = self._fill(self._schema_doc(heads), heads, self._at(heads))
        return self._filled[key]

    def _filled_release(self, release: Release) -> _Doc:
        key = ("from", release.name)
        if key not in self._filled:
            doc = self._fill(self._release_doc(release), release.heads, f"release {release.name}")
            self._filled[key] = doc
        return self._filled[key]

    # -- the checks ------------------------------------------------------------------------------

    def check_one_head(self) -> None:
        """The migrations have exactly one head.

        :raises KitFailure: none, or several.
        """
        heads = self.heads
        if len(heads) == 1:
            return
        if not heads:
            raise KitFailure([f"{self._scripts} has no revisions"])
        raise KitFailure(
            [
                f"the migrations have {len(heads)} heads ({', '.join(heads)}): a document can "
                "be brought to one newest schema only; merge them (alembic merge heads)"
            ]
        )

    def check_imports_ship(self) -> None:
        """Every module ``env.py`` and the revisions import can be found, so a build
        can ship it (read with :func:`~frozen_alembic.build.scan_imports`, never run).

        :raises KitFailure: naming each import, with its file and line.
        """
        from ..build._imports import scan_imports

        scan = scan_imports(self._scripts)
        problems = [
            f"{_relative(site.file, self._scripts)}:{site.line} imports {site.module}, which "
            "cannot be imported here, so no build can ship it: install it, or import only "
            "what the app ships"
            for site in scan.missing
        ]
        problems += scan.problems
        if problems:
            raise KitFailure(problems)

    def check_releases_unchanged(self) -> None:
        """Flyway's checksum rule: every revision file of a recorded release is exactly
        as it was released (line endings aside), and every release's schema file is there.

        :raises KitFailure: naming each changed or removed file and its release.
        """
        from ..build._releases import changed_after_release, revision_hashes

        problems = changed_after_release(self.releases, revision_hashes(self._scripts))
        for release in self.releases:
            if not (self._records.parent / release.schema).is_file():
                problems.append(
                    f"release {release.name}'s schema {release.schema} is missing: restore it "
                    "from version control"
                )
        if problems:
            raise KitFailure(problems)

    def check_every_revision_upgrades_to_head(self) -> None:
        """A filled document at every revision that has a child upgrades to the head
        with the schema of a new document, its rows, and the data hook's expectations.

        :raises KitFailure: one sentence per problem, naming the document's revision
            (and release) and, where it can tell, the revision at fault.
        """
        children = {down for rev in self.history for down in rev.down_revisions}
        starts = [(rev.id,) for rev in self.history if rev.id in children]
        results = [
            self._upgrade(self._filled_at(heads), f"a document at {self._label_at(heads)}")
            for heads in starts
        ]
        self._raise(results, exact=True)

    def check_every_release_upgrades_to_head(self) -> None:
        """A document built from every recorded release's schema SQL (what its users
        really have), filled, upgrades to the head like one at a revision.

        :raises KitFailure: one sentence per problem, naming the release.
        """
        results = []
        for release in self.releases:
            if tuple(sorted(release.heads)) == tuple(sorted(self.heads)):
                continue  # the newest release: its documents are current
            self._known_heads(release)
            doc = self._filled_release(release)
            results.append(self._upgrade(doc, f"a document from release {release.name}"))
        self._raise(results, exact=False)

    def check_release_schemas(self) -> None:
        """Each release's recorded schema is still what the migrations give at its heads
        (a new document, downgraded to them): old revisions still do what they did.

        :raises KitFailure: naming the release and every difference.
        """
        from ..build._documents import normalised_schema

        problems: list[str] = []
        for release in self.releases:
            self._known_heads(release)
            recorded = normalised_schema(self._release_doc(release))
            made = self._copy(self._reference, "downgraded")
            heads = release.heads
            how = "a new document"
            if tuple(sorted(heads)) != tuple(sorted(self.heads)):
                if len(heads) == 1:
                    how = f"a new document downgraded to {heads[0]}"
                    self._call(
                        f"a new document cannot be downgraded to release {release.name}",
                        self.migrator.downgrade,
                        made,
                        heads[0],
                        backup=False,
                    )
                else:
                    how = f"an empty document upgraded to {', '.join(heads)}"
                    made = self._schema_doc(heads)
            changes = _changes(recorded, normalised_schema(made), self.version_table)
            if changes:
                items = "; ".join(
                    {
                        "extra": f"only the recorded schema has {c.what}",
                        "missing": f"only the migrations give {c.what}",
                        "changed": f"{c.what} is {c.actual} as recorded, {c.expected} now",
                    }[c.kind]
                    for c in changes[:_SHOWN]
                )
                problems.append(
                    f"release {release.name}'s recorded schema ({release.schema}) is not what "
                    f"{how} has: {items}{_more(changes)}; the migrations of an old release "
                    "changed (or the file did): undo that"
                )
        if problems:
            raise KitFailure(problems)

    def check_upgrade_then_downgrade_leaves_no_trace(self) -> None:
        """Every revision, upgraded to from a filled document at its parent and
        downgraded again, leaves the schema and every row as they were.

        :raises KitFailure: naming the pair of revisions (and releases) and what stayed
            behind or was lost.
        """
        from .._exceptions import FrozenAlembicError
        from ..build._documents import normalised_schema

        problems: list[str] = []
        for rev in self.history:
            parents = tuple(rev.down_revisions)
            mine = (rev.id,)
            up, down = self._pair(parents, mine), self._pair(mine, parents)
            work = self._copy(self._filled_at(parents).path if parents else self._empty())
            schema_before, rows_before = normalised_schema(work), _dump(work, self.version_table)
            try:
                self.migrator.upgrade(work, rev.id, backup=False)
            except FrozenAlembicError as err:
                problems.append(f"upgrading {up} fails: {_first_line(err)}")
                continue
            try:
                self.migrator.downgrade(work, _down_target(parents), backup=False)
            except FrozenAlembicError as err:
                problems.append(
                    f"downgrading {down} fails on a document just upgraded: {_first_line(err)}"
                )
                continue
            changes = _changes(normalised_schema(work), schema_before, self.version_table)
            problems += [f"downgrading {down} {_trace(c)}" for c in changes]
            problems += [
                f"upgrading {up} and downgrading again {change}"
                for change in _row_changes(rows_before, _dump(work, self.version_table))
            ]
        if problems:
            raise KitFailure(problems)

    def check_every_downgrade_runs(self) -> None:
        """Every revision's downgrade runs on a filled document at that revision and
        gives its parent's schema.

        :raises KitFailure: naming the pair of revisions (and releases).
        """
        from .._exceptions import FrozenAlembicError
        from ..build._documents import normalised_schema

        problems: list[str] = []
        for rev in self.history:
            parents = tuple(rev.down_revisions)
            mine = (rev.id,)
            down = self._pair(mine, parents)
            work = self._copy(self._filled_at(mine).path)
            try:
                self.migrator.downgrade(work, _down_target(parents), backup=False)
            except FrozenAlembicError as err:
                problems.append(
                    f"downgrading {down} fails on a document with data: {_first_line(err)}"
                )
                continue
            expected = normalised_schema(self._schema_doc(parents)) if parents else {}
            changes = _changes(normalised_schema(work), expected, self.version_table)
            problems += [f"downgrading {down} {_trace(c)}" for c in changes]
        if problems:
            raise KitFailure(problems)

    def check_head_matches_metadata(self) -> None:
        """A new document matches the application's ``MetaData`` under Alembic's
        ``compare_metadata`` (types and server defaults compared too), less the false
        positives SQLite is known for (see :func:`same_server_default`).

        :raises KitFailure: one sentence per difference.
        """
        import sqlalchemy as sa
        from alembic.autogenerate import compare_metadata
        from alembic.runtime.migration import MigrationContext

        metadata = self.config.metadata
        if metadata is None:
            return
        engine = sa.create_engine(sa.engine.URL.create("sqlite", database=str(self._reference)))
        try:
            with engine.connect() as conn:
                context = MigrationContext.configure(
                    conn,
                    opts={
                        "compare_type": True,
                        "compare_server_default": same_server_default,
                        "version_table": self.version_table,
                    },
                )
                diffs = compare_metadata(context, metadata)
        finally:
            engine.dispose()
        flat = [d for diff in diffs for d in (diff if isinstance(diff, list) else [diff])]
        if flat:
            where = f"a new document at {self._target()}"
            raise KitFailure(
                [f"{where} does not match the app's MetaData: {_diff(d)}" for d in flat]
            )

    # -- helpers of the checks -------------------------------------------------------------------

    def _label_at(self, heads: tuple[str, ...]) -> str:
        name = self._release_name(heads)
        return f"{self._rev(heads)} (release {name})" if name else self._rev(heads)

    def _known_heads(self, release: Release) -> None:
        known = {rev.id for rev in self.history}
        gone = [head for head in release.heads if head not in known]
        if gone:
            raise KitFailure(
                [
                    f"release {release.name} is at {', '.join(gone)}, which the migrations no "
                    f"longer have: documents from {release.name} cannot be upgraded; put it back"
                ]
            )

    def _upgrade(self, doc: _Doc, start: str) -> _Upgraded:
        """Upgrade a copy of ``doc`` to the head and check it against a new document."""
        from .._exceptions import FrozenAlembicError
        from ..build._documents import normalised_schema, row_counts

        result = _Upgraded(doc)
        target = self._target()
        work = self._copy(doc.path)
        try:
            self.migrator.upgrade(work, backup=False)
        except FrozenAlembicError as err:
            result.problems.append(f"{start} cannot be upgraded to {target}: {_first_line(err)}")
            return result
        changes = _changes(
            normalised_schema(work), normalised_schema(self._reference), self.version_table
        )
        if changes:
            items = "; ".join(_versus_new(c) for c in changes[:_SHOWN])
            result.problems.append(
                f"{start} upgraded to {target} is not like a new document: {items}{_more(changes)}"
            )
        with closing(sqlite3.connect(work)) as conn:
            after = row_counts(conn, self.version_table)
            for name, (sql, expected) in doc.expectations.items():
                ok, actual = _evaluate(conn, sql, expected)
                if ok:
                    result.kept.add(name)
                    continue
                result.lost[name] = len(result.problems)
                result.problems.append(
                    f"{start} loses {name} when upgraded to {target}: {sql.strip()} {actual}"
                )
        for table, before in sorted(doc.counts.items()):
            now = after.get(table)
            if now is not None and now < before:
                step = self._step_losing(doc.path, table, before)
                culprit = f"; {step} drops them" if step else ""
                result.problems.append(
                    f"{start} loses {before - now} of the {before} rows of {table} when "
                    f"upgraded to {target}{culprit}"
                )
        return result

    def _step_losing(self, path: Path, table: str, before: int) -> str | None:
        """The first revision, on the way from ``path`` to the head, after which
        ``table`` has fewer than ``before`` rows."""
        from .._exceptions import FrozenAlembicError

        work = self._copy(path, "steps")
        try:
            for revision in self.migrator.status(work).pending:
                self.migrator.upgrade(work, revision, backup=False)
                with closing(sqlite3.connect(work)) as conn:
                    try:
                        now = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                    except sqlite3.Error:
                        return revision
                if now < before:
                    return revision
        except FrozenAlembicError:
            return None
        return None

    def _raise(self, results: list[_Upgraded], *, exact: bool) -> None:
        """Raise the problems of ``results``, each lost expectation with a hint: the
        first later document that keeps it (for documents at consecutive revisions, the
        revision between them is the one at fault)."""
        problems: list[str] = []
        for index, result in enumerate(results):
            texts = list(result.problems)
            for name, at in result.lost.items():
                keeper = next((r for r in results[index + 1 :] if name in r.kept), None)
                if keeper is None:
                    continue
                hint = f" (documents from {keeper.doc.label} keep it"
                previous = results[results.index(keeper) - 1]
                parents = self._parents(keeper.doc.heads)
                if exact and name in previous.lost and set(previous.doc.heads) <= parents:
                    hint += f", so {self._rev(keeper.doc.heads)} loses it"
                texts[at] += hint + ")"
            problems += texts
        if problems:
            raise KitFailure(problems)

    def _parents(self, heads: tuple[str, ...]) -> set[str]:
        by_id = {rev.id: rev for rev in self.history}
        return {down for head in heads for down in by_id[head].down_revisions}


# --- expectations -----------------------------------------------------------------------------


def _expectations(result: object, label: str) -> dict[str, Expectation]:
    """The data hook's return value, checked: ``None`` or ``{name: (sql, expected)}``."""
    if result is None:
        return {}
    bad = KitFailure(
        [
            f"the data hook returned {_show(result, 80)} for a document at {label}: return "
            'None or {"name": ("SQL valid at the head", expected value)}'
        ]
    )
    if not hasattr(result, "items"):
        raise bad
    found: dict[str, Expectation] = {}
    for name, value in result.items():
        if not (isinstance(name, str) and isinstance(value, tuple) and len(value) == 2):
            raise bad
        sql, expected = value
        if not isinstance(sql, str):
            raise bad
        found[name] = (sql, expected)
    return found


def _evaluate(conn: sqlite3.Connection, sql: str, expected: object) -> tuple[bool, str]:
    """Whether ``sql`` gives ``expected`` (see :data:`Expectation`), and, when it does
    not, what it gave: ``gives [], expected [1, 3]``."""
    try:
        rows = [tuple(row) for row in conn.execute(sql).fetchall()]
    except sqlite3.Error as err:
        return False, f"fails ({err})"
    wanted = _show(expected)
    if isinstance(expected, list):
        want = [tuple(r) if isinstance(r, (list, tuple)) else (r,) for r in expected]
        if rows == want:
            return True, ""
        scalar = bool(expected) and not any(isinstance(e, (list, tuple)) for e in expected)
        given = _show([r[0] if len(r) == 1 else r for r in rows] if scalar else rows, 10_000)
        if len(given) + len(wanted) <= 160:
            return False, f"gives {given}, expected {wanted}"
        lacking = list((Counter(want) - Counter(rows)).elements())
        extra = list((Counter(rows) - Counter(want)).elements())
        if not (lacking or extra):
            return False, f"gives the expected {len(rows)} rows in another order"
        text = f"gives {len(rows)} rows"
        text += f", lacking {_show(lacking, 200)}" if lacking else ""
        text += f", with {_show(extra, 200)}" + (" instead" if lacking else " too") if extra else ""
        return False, text
    if isinstance(expected, tuple):
        if rows == [expected]:
            return True, ""
        return False, f"gives {_show(rows[0] if len(rows) == 1 else rows)}, expected {wanted}"
    if len(rows) == 1 and len(rows[0]) == 1:
        if rows[0][0] == expected:
            return True, ""
        return False, f"gives {_show(rows[0][0])}, expected {wanted}"
    return False, f"gives {_show(rows)}, expected {wanted} (one row of one column)"


# --- schemas ----------------------------------------------------------------------------------


@dataclass
class _Change:
    """One difference between two :func:`normalised_schema` results."""

    kind: str  # "extra" (only in the first), "missing" (only in the second), "changed"
    what: str
    actual: str = ""
    expected: str = ""


def _part_name(table: str, part: str, value: object) -> str:
    kind, _, rest = part.partition(" ")
    if kind == "column":
        return f"column {table}.{rest}"
    if kind == "foreign":  # "foreign key a -> b.c"
        return f"foreign key {table}.{rest.removeprefix('key ')}"
    if kind == "index":
        origin, _, _cols = rest.partition(" ")
        columns = ""
        if isinstance(value, tuple) and len(value) == 3:
            columns = ", ".join(str(c[0]) for c in value[2])
        if origin == "u":
            return f"the unique constraint on {table} ({columns})"
        if origin == "pk":
            return f"the primary key of {table} ({columns})"
        return f"index {rest} on {table}"
    return f"{part} of {table}"


def _describe(part: str, value: object) -> str:
    if part.startswith("column ") and isinstance(value, tuple) and len(value) == 4:
        type_, notnull, default, pk = value
        text = str(type_ or "untyped")
        text += " NOT NULL" if notnull else " NULL"
        text += f" DEFAULT {default}" if default is not None else ""
        return text + (" PRIMARY KEY" if pk else "")
    if part.startswith("index ") and isinstance(value, tuple) and len(value) == 3:
        unique, partial, columns = value
        names = ", ".join(str(c[0]) + (" DESC" if c[1] else "") for c in columns)
        return ("UNIQUE " if unique else "") + f"({names})" + (" partial" if partial else "")
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return _show(value, 80)


def _changes(
    actual: Mapping[str, object],
    expected: Mapping[str, object],
    version_table: str = _VERSION_TABLE,
) -> list[_Change]:
    """What differs from ``expected`` in ``actual`` (the version table aside)."""
    out: list[_Change] = []
    keys = (actual.keys() | expected.keys()) - {f"table {version_table}"}
    for key in sorted(keys):
        if key not in actual:
            out.append(_Change("missing", key))
        elif key not in expected:
            out.append(_Change("extra", key))
        else:
            mine, theirs = actual[key], expected[key]
            if mine == theirs:
                continue
            if not (isinstance(mine, dict) and isinstance(theirs, dict)):
                out.append(_Change("changed", key, _describe(key, mine), _describe(key, theirs)))
                continue
            table = key.partition(" ")[2]
            for part in sorted(mine.keys() | theirs.keys()):
                if part not in mine:
                    out.append(_Change("missing", _part_name(table, part, theirs[part])))
                elif part not in theirs:
                    out.append(_Change("extra", _part_name(table, part, mine[part])))
                elif mine[part] != theirs[part]:
                    name = _part_name(table, part, mine[part])
                    out.append(
                        _Change(
                            "changed",
                            name,
                            _describe(part, mine[part]),
                            _describe(part, theirs[part]),
                        )
                    )
    return out


def _more(changes: Sequence[object]) -> str:
    return f"; and {len(changes) - _SHOWN} more" if len(changes) > _SHOWN else ""


def _versus_new(change: _Change) -> str:
    if change.kind == "extra":
        return f"it has {change.what}, which a new document has not"
    if change.kind == "missing":
        return f"it lacks {change.what}"
    return f"{change.what} is {change.actual}, in a new document {change.expected}"


def _trace(change: _Change) -> str:
    if change.kind == "extra":
        return f"leaves {change.what} behind"
    if change.kind == "missing":
        return f"loses {change.what}"
    return f"changes {change.what}: {change.actual} now, {change.expected} before"


def _down_target(parents: tuple[str, ...]) -> str:
    if not parents:
        return "base"
    return parents[0] if len(parents) == 1 else "-1"


# --- rows -------------------------------------------------------------------------------------


@dataclass
class _Table:
    columns: list[str]
    key: list[str]
    rows: list[tuple[object, ...]]


def _dump(path: Path, version_table: str = _VERSION_TABLE) -> dict[str, _Table]:
    """Every row of every application table, columns by name."""
    from ..build._documents import user_tables

    out: dict[str, _Table] = {}
    with closing(sqlite3.connect(path)) as conn:
        for table in user_tables(conn, version_table):
            info = conn.execute(f"PRAGMA table_info({_literal(table)})").fetchall()
            columns = sorted(r[1] for r in info)
            key = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
            names = ", ".join(_quoted(c) for c in columns)
            rows = [tuple(r) for r in conn.execute(f"SELECT {names} FROM {_quoted(table)}")]
            out[table] = _Table(columns, key, rows)
    return out


def _row_changes(before: Mapping[str, _Table], after: Mapping[str, _Table]) -> Iterator[str]:
    """What happened to the rows of the tables both sides have, one phrase each."""
    for table in sorted(before.keys() & after.keys()):
        old, new = before[table], after[table]
        columns = [c for c in old.columns if c in new.columns]
        old_rows = Counter(_project(old, columns))
        new_rows = Counter(_project(new, columns))
        if old_rows == new_rows:
            continue
        if len(new.rows) < len(old.rows):
            yield f"loses {len(old.rows) - len(new.rows)} of the {len(old.rows)} rows of {table}"
            continue
        if len(new.rows) > len(old.rows):
            yield f"adds {len(new.rows) - len(old.rows)} rows to {table}"
            continue
        yield from _changed_values(table, old, new, columns)


def _project(table: _Table, columns: Sequence[str]) -> list[tuple[object, ...]]:
    where = [table.columns.index(c) for c in columns]
    return [tuple(row[i] for i in where) for row in table.rows]


def _changed_values(table: str, old: _Table, new: _Table, columns: list[str]) -> Iterator[str]:
    if not old.key or not set(old.key) <= set(columns):
        yield f"changes rows of {table}"
        return
    index = {c: i for i, c in enumerate(columns)}

    def keyed(t: _Table) -> dict[tuple[object, ...], tuple[object, ...]]:
        return {tuple(r[index[k]] for k in old.key): r for r in _project(t, columns)}

    before, after = keyed(old), keyed(new)
    changed: dict[str, list[str]] = {}
    for key, row in before.items():
        other = after.get(key)
        if other is None:
            changed.setdefault("", []).append(str(key))
            continue
        for column in columns:
            a, b = row[index[column]], other[index[column]]
            if a != b or type(a) is not type(b):
                where = ", ".join(f"{k}={v!r}" for k, v in zip(old.key, key, strict=True))
                changed.setdefault(column, []).append(f"{where}: {a!r} became {b!r}")
    for column, examples in sorted(changed.items()):
        if not column:
            yield f"changes the keys of {len(examples)} rows of {table}"
            continue
        example = examples[0] if len(examples[0]) <= 120 else examples[0][:117] + "..."
        yield f"changes {table}.{column} in {len(examples)} row(s) (e.g. {example})"


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(path)


# --- the MetaData comparison ------------------------------------------------------------------


def _literal_text(text: str | None) -> str | None:
    """A SQL default as the value it stands for: outer parentheses and the quotes of a
    string literal removed (``('')`` and ``''`` are both the empty string)."""
    if text is None:
        return None
    text = text.strip()
    while len(text) >= 2 and text[0] == "(" and text[-1] == ")":
        text = text[1:-1].strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1].replace("''", "'")
    return text


def same_server_default(
    _context: object,
    _inspected_column: object,
    _metadata_column: object,
    inspected_default: str | None,
    _metadata_default: object,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Alembic's ``compare_server_default`` hook for SQLite: ``False`` (the same) where
    Alembic's SQLite comparison sees a difference that is not one, else ``None``
    (Alembic decides).

    Alembic strips one pair of parentheses and the quotes of a *non-empty* literal
    (its patterns are ``\\((.+)\\)`` and ``'(.+)'``), so an empty-string default —
    ``server_default=""``, reflected as ``''``, or as ``('')`` after a batch "move and
    copy" rebuilds the table — never equals the metadata's ``""``: it is reported on
    every comparison.  This hook compares both sides as the values they stand for.
    """
    if _literal_text(inspected_default) == _literal_text(rendered_metadata_default):
        return False
    return None


def _column_name(diff: tuple[Any, ...]) -> str:
    return f"{diff[2]}.{diff[3]}"


def _default_text(value: object) -> str:
    arg = getattr(value, "arg", value)
    text = getattr(arg, "text", arg)
    return "none" if text is None else repr(str(text))


def _diff(diff: tuple[Any, ...]) -> str:
    """One of ``compare_metadata``'s differences, as a sentence's end."""
    kind = diff[0]
    both = "in the MetaData, not in the document"
    other = "in the document, not in the MetaData"
    if kind in ("add_table", "remove_table"):
        return f"table {diff[1].name} is {both if kind == 'add_table' else other}"
    if kind in ("add_column", "remove_column"):
        return f"column {diff[2]}.{diff[3].name} is {both if kind == 'add_column' else other}"
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        return (
            f"index {index.name} on {index.table.name} is {both if kind == 'add_index' else other}"
        )
    if kind in ("add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        constraint = diff[1]
        what = "foreign key" if kind.endswith("fk") else type(constraint).__name__
        columns = ", ".join(c.name for c in constraint.columns)
        where = both if kind.startswith("add") else other
        return f"{what} {constraint.name or ''} on {constraint.table.name} ({columns}) is {where}"
    if kind == "modify_type":
        return (
            f"column {_column_name(diff)} is {diff[5]} in the document, {diff[6]} in the MetaData"
        )
    if kind == "modify_nullable":

        def null(flag: object) -> str:
            return "NULL" if flag else "NOT NULL"

        return (
            f"column {_column_name(diff)} is {null(diff[5])} in the document, "
            f"{null(diff[6])} in the MetaData"
        )
    if kind == "modify_default":
        return (
            f"column {_column_name(diff)} defaults to {_default_text(diff[5])} in the document, "
            f"to {_default_text(diff[6])} in the MetaData"
        )
    return _show(diff, 200)
