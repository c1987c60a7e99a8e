"""Recorded releases: what each shipped build's migrations were, kept in the source tree.

A release, once shipped, is history: users' documents were migrated by its revision
files, so those files must never change again (Flyway's checksum rule).  ``frozen-alembic
release NAME --scripts DIR`` (:func:`record_release`) writes into the script directory:

* ``releases.toml`` — one ``[[release]]`` table per release, in the order they were
  recorded: its ``name``, its ``heads``, its ``schema`` file and the SHA-256 of every
  revision file it shipped (``[release.files]``, by path inside the script directory;
  line endings and a UTF-8 BOM do not count, so a Windows checkout hashes the same);
* ``schemas/NAME.sql`` — the schema of a new document of that release: the ``sqlite_master``
  SQL of a fresh database at its heads, tables first, then indexes, views and triggers,
  each sorted by name, so the same migrations always give the same file.

The migration kit (:mod:`frozen_alembic.testing`) builds an old document from the
recorded SQL (plus its version row), so it tests what users really have, and it and
``frozen-alembic verify`` refuse a revision file that changed after its release.  Both
files stay in the source tree: staging leaves them out of builds (the application
never reads them, and recording a release must not make an existing build stale).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import sys
import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .._sqlitefile import VERSION_TABLE, quote
from ._stage import BuildError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Alembic depends on tomli before Python 3.11
    import tomli as tomllib

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping, Sequence

RELEASES_NAME = "releases.toml"
"""The release records, in the Alembic script directory."""

SCHEMAS_DIR = "schemas"
"""The folder, in the script directory, holding each release's schema SQL."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_KIND_ORDER = {"table": 0, "index": 1, "view": 2, "trigger": 3}
_HEADER = """\
# Releases of these migrations, recorded by `frozen-alembic release NAME --scripts DIR`.
# Written by frozen-alembic: do not edit.  A released revision file must never change
# again (documents of that release already ran it): add a new revision instead.
"""


@dataclass(frozen=True)
class Release:
    """One recorded release.

    :ivar name: the release's name (``"1.2"``).
    :ivar heads: the revisions a document of this release is at.
    :ivar schema: the schema SQL file, relative to the script directory.
    :ivar files: the normalised SHA-256 of every revision file it shipped, by path
        relative to the script directory (``versions/0003_pinned.py``).
    """

    name: str
    heads: tuple[str, ...]
    schema: str
    files: Mapping[str, str] = field(default_factory=dict)


def is_release_record(relative: str) -> bool:
    """Whether a path inside a script directory is one of the release records
    (``releases.toml`` or ``schemas/...`` at the top), which builds leave out."""
    first = relative.replace("\\", "/").split("/", 1)
    return first[0] == SCHEMAS_DIR if len(first) > 1 else first[0] == RELEASES_NAME


def release_hash(data: bytes) -> str:
    """SHA-256 of a revision file's bytes, ignoring a UTF-8 BOM and line endings."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return hashlib.sha256(data).hexdigest()


def releases_path(script_location: str | os.PathLike[str]) -> Path:
    """Where the release records of a script directory are (they may not exist)."""
    return Path(script_location) / RELEASES_NAME


# --- reading and writing releases.toml -------------------------------------------------


def read_releases(path: str | os.PathLike[str]) -> list[Release]:
    """The releases recorded in ``path`` (a ``releases.toml``), oldest first.

    :return: an empty list when the file does not exist.
    :raises BuildError: the file cannot be read or is not a release record.
    """
    file = Path(path)
    try:
        with file.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return []
    except (OSError, tomllib.TOMLDecodeError) as err:
        msg = f"{file} cannot be read ({err}): restore it from version control"
        raise BuildError(msg) from err
    entries = data.get("release", [])
    releases: list[Release] = []
    for number, entry in enumerate(entries if isinstance(entries, list) else [None], 1):
        try:
            name, heads, schema, files = (
                entry["name"],
                entry["heads"],
                entry["schema"],
                entry.get("files", {}),
            )
            good = (
                isinstance(name, str)
                and isinstance(schema, str)
                and isinstance(heads, list)
                and all(isinstance(h, str) for h in heads)
                and isinstance(files, dict)
                and all(isinstance(v, str) for v in files.values())
            )
        except (KeyError, TypeError):
            good = False
        if not good:
            msg = (
                f"{file}: release number {number} is not a release record (name, heads, "
                "schema, files): restore the file from version control"
            )
            raise BuildError(msg)
        releases.append(Release(name, tuple(heads), schema, dict(sorted(files.items()))))
    return releases


def _toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL must be escaped too)."""
    import json

    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def render_releases(releases: Iterable[Release]) -> str:
    """The text of a ``releases.toml`` holding ``releases``, deterministic."""
    parts = [_HEADER]
    for release in releases:
        heads = ", ".join(_toml_string(h) for h in release.heads)
        parts.append(
            "\n[[release]]\n"
            f"name = {_toml_string(release.name)}\n"
            f"heads = [{heads}]\n"
            f"schema = {_toml_string(release.schema)}\n"
            "\n[release.files]\n"
            + "".join(
                f"{_toml_string(path)} = {_toml_string(digest)}\n"
                for path, digest in sorted(release.files.items())
            )
        )
    return "".join(parts)


# --- schemas ------------------------------------------------------------------------------


def schema_sql(conn: sqlite3.Connection) -> list[str]:
    """The ``CREATE`` statements of a database: tables (the version table too), then
    indexes, views and triggers, each kind sorted by name.  SQLite's own objects
    (``sqlite_sequence``, ``sqlite_stat1``, the indexes behind constraints) are left
    out: SQLite makes them itself."""
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    ).fetchall()
    rows.sort(key=lambda r: (_KIND_ORDER.get(r[0], 9), r[1]))
    return [sql for _kind, _name, sql in rows]


def render_schema(statements: Sequence[str], name: str, heads: Sequence[str]) -> str:
    """The text of ``schemas/NAME.sql``: a header, then one statement per paragraph."""
    lines = [
        f"-- The schema of a new document of release {name} (at {', '.join(heads)}),",
        "-- recorded by `frozen-alembic release`.  Do not edit.",
        "",
    ]
    for sql in statements:
        # A statement whose last line is a comment gets its ';' on a line of its own.
        end = "\n;" if "--" in sql.rsplit("\n", 1)[-1] else ";"
        lines += [sql.strip() + end, ""]
    return "\n".join(lines)


def load_schema(
    sql: str, path: Path, heads: Sequence[str], version_table: str = VERSION_TABLE
) -> None:
    """Make the database ``path`` (it must not exist) from a release's schema SQL, with
    ``heads`` in its version table: a document exactly as that release made it.

    :param version_table: the project's version table (the recorded SQL creates it;
        where it does not, it is created as Alembic would).
    """
    table = quote(version_table)
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.executescript(sql)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if version_table not in tables:
            constraint = quote(f"{version_table}_pkc")
            conn.execute(
                f"CREATE TABLE {table} (version_num VARCHAR(32) NOT NULL, "
                f"CONSTRAINT {constraint} PRIMARY KEY (version_num))"
            )
        conn.executemany(f"INSERT INTO {table} (version_num) VALUES (?)", [(h,) for h in heads])


# --- the checksum rule ----------------------------------------------------------------------


def revision_hashes(script_location: str | os.PathLike[str]) -> dict[str, str]:
    """The normalised hash of every revision file under ``versions/``, by relative path."""
    folder = Path(script_location)
    hashes: dict[str, str] = {}
    versions = folder / "versions"
    for file in sorted(versions.rglob("*")) if versions.is_dir() else []:
        if file.is_file() and "__pycache__" not in file.parts and file.suffix in (".py", ".pyc"):
            hashes[file.relative_to(folder).as_posix()] = release_hash(file.read_bytes())
    return hashes


def changed_after_release(
    releases: Sequence[Release], current: Mapping[str, str], *, fix: str = ""
) -> list[str]:
    """Released revision files that are no longer as released, one sentence each.

    :param releases: the recorded releases, oldest first.
    :param current: normalised hashes of the revision files there are now, by path.  A
        released file found under another path (moved, same bytes) is fine.
    :param fix: added to each sentence (``"and rebuild"``).
    """
    problems: list[str] = []
    present = set(current.values())
    seen: set[str] = set()
    for release in releases:
        for path, digest in sorted(release.files.items()):
            if path in seen:
                continue
            now = current.get(path)
            if now == digest or (now is None and digest in present):
                continue
            seen.add(path)
            name = release.name
            if now is None:
                problems.append(
                    f"{path} was removed after release {name} shipped: documents from {name} "
                    f"need it to be upgraded; put it back{fix}"
                )
            else:
                problems.append(
                    f"{path} changed after release {name} shipped: documents from {name} "
                    f"already ran the old version; undo the edit and add a new revision{fix}"
                )
    return problems


def check_unchanged(script_location: str | os.PathLike[str], releases: Sequence[Release]) -> None:
    """Refuse a script directory whose released revision files changed.

    :raises BuildError: naming each changed file and its release.
    """
    problems = changed_after_release(releases, revision_hashes(script_location))
    if problems:
        raise BuildError("\n".join(problems))


# --- recording a release ----------------------------------------------------------------------


def record_release(
    name: str,
    script_location: str | os.PathLike[str],
    *,
    at: str | None = None,
    version_table: str | None = None,
) -> Release:
    """Record a release of the migrations in ``script_location``.

    Appends it to ``releases.toml`` (its heads, its schema file and the hash of every
    revision file it ships) and writes ``schemas/NAME.sql``, the ``sqlite_master`` SQL of
    a new database at its heads.  Both belong in version control.

    :param name: the release's name, e.g. ``"1.2"`` (letters, digits, ``. _ + -``).
    :param script_location: the Alembic script directory in the source tree.
    :param at: the revision the release shipped as its head, for a release recorded
        after the fact (default: the current heads).
    :param version_table: the project's version table, if not the one ``env.py`` names
        (or ``alembic_version``); the recorded schema holds it as documents do.
    :return: the new :class:`Release`.
    :raises BuildError: the name is taken or unusable, ``at`` is unknown, or a revision
        file of an earlier release changed since (fix that first).
    """
    from .._exceptions import FrozenAlembicError
    from .._migrator import Migrator

    folder = Path(script_location)
    if not _NAME.match(name):
        msg = f"{name!r} cannot name a release: use letters, digits and . _ + - (e.g. 1.2)"
        raise BuildError(msg)
    records = folder / RELEASES_NAME
    releases = read_releases(records)
    if any(release.name == name for release in releases):
        msg = (
            f"release {name} is already recorded in {records}: a release is recorded once "
            "and never changed; record the next one under a new name"
        )
        raise BuildError(msg)
    check_unchanged(folder, releases)
    try:
        migrator = Migrator(folder, version_table=version_table)
        history = migrator.history()
        graph = {revision.id: revision for revision in history}
        if at is not None and at not in graph:
            msg = f"{at!r} is not a revision of {folder}: give the revision release {name} shipped"
            raise BuildError(msg)
        heads = (at,) if at is not None else migrator.heads()
        shipped: set[str] = set()
        todo = list(heads)
        while todo:
            revision = todo.pop()
            if revision not in shipped:
                shipped.add(revision)
                todo.extend(graph[revision].down_revisions)
        files = {
            graph[rev].path.resolve().relative_to(folder.resolve()).as_posix(): release_hash(
                graph[rev].path.read_bytes()
            )
            for rev in shipped
        }
        with tempfile.TemporaryDirectory(prefix="frozen-alembic-release-") as tmp:
            document = Path(tmp) / "new.sqlite"
            with closing(sqlite3.connect(document)) as conn:
                conn.execute("PRAGMA user_version = 0")  # an empty database, not an empty file
            for head in heads:
                migrator.upgrade(document, head, backup=False)
            with closing(sqlite3.connect(document)) as conn:
                statements = schema_sql(conn)
    except FrozenAlembicError as err:
        if isinstance(err, BuildError):
            raise
        msg = f"release {name} cannot be recorded: {err}"
        raise BuildError(msg) from err
    schema = f"{SCHEMAS_DIR}/{name}.sql"
    release = Release(name, tuple(heads), schema, dict(sorted(files.items())))
    (folder / SCHEMAS_DIR).mkdir(exist_ok=True)
    text = render_schema(statements, name, heads)
    (folder / schema).write_text(text, encoding="utf-8", newline="\n")
    records.write_text(render_releases([*releases, release]), encoding="utf-8", newline="\n")
    return release
