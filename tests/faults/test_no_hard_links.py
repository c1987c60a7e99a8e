"""Where ``os.link`` fails: a real exFAT file system, and a normal disk where it raises EPERM.

``create()`` and ``restore()`` to a new path publish a finished temporary file under
its final name; without hard links they reserve the name with ``O_CREAT | O_EXCL``
and rename over the reservation.  Both routes must give the same results, leave no
temporary file, and never replace a file (or a symbolic link) that another program
put at the path meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import frozen_alembic
from frozen_alembic import DatabaseExists, FrozenAlembicError, Migrator
from frozen_alembic import _newfile as newfile
from frozen_alembic.build import stage

from ..conftest import HEAD, REFERENCE_SCRIPTS, schema, sha256, versions

TEMPORARY = (".*.creating*", ".*.restoring*", "*.partial*")
OTHER = b"another program's file, which must be left alone\n"
REAL_LINK = os.link


@dataclass
class NoLinks:
    """A folder where hard links fail, and every ``os.link`` attempt made there."""

    folder: Path
    attempts: list[int | None] = field(default_factory=list)  # errno, None: it worked


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("no-links") / "scripts"
    shutil.copytree(REFERENCE_SCRIPTS, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture(scope="module")
def bundle(scripts: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stage(scripts, stage_dir=tmp_path_factory.mktemp("stage")).folder


@pytest.fixture(scope="module")
def head_schema(scripts: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    path = tmp_path_factory.mktemp("fresh") / "fresh.notes"
    Migrator(scripts).create(path)
    return schema(path)


@pytest.fixture(scope="module")
def document(scripts: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A document at 0001_initial with notebooks and notes."""
    path = tmp_path_factory.mktemp("document") / "doc.notes"
    migrator = Migrator(scripts)
    migrator.create(path)
    migrator.downgrade(path, "0001_initial", backup=False)
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO notebook (id, title, sort_key) VALUES (?, ?, ?)",
            [(i, f"Notebook {i}", str(i)) for i in range(1, 8)],
        )
        conn.executemany(
            "INSERT INTO note (id, notebook_id, author_name, body, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(i, i % 7 + 1, "Ada Lovelace", f"Note {i}", "2026-01-02") for i in range(1, 301)],
        )
        conn.execute("COMMIT")
    return path.read_bytes()


def _record(attempts: list[int | None], fail: bool) -> Callable[..., None]:
    def link(src: object, dst: object, *args: object, **kwargs: object) -> None:
        if fail:
            attempts.append(errno.EPERM)
            raise PermissionError(errno.EPERM, "Operation not permitted (test)", str(src))
        try:
            REAL_LINK(src, dst, *args, **kwargs)  # type: ignore[arg-type]
        except OSError as err:
            attempts.append(err.errno)
            raise
        attempts.append(None)

    return link


@pytest.fixture(params=["exfat", "link_raises_eperm"])
def no_links(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> NoLinks:
    """A real exFAT mount, or a normal folder where ``os.link`` raises EPERM."""
    if request.param == "exfat":
        folder: Path = request.getfixturevalue("exfat_dir")
    else:
        folder = request.getfixturevalue("tmp_path") / "plain"
        folder.mkdir()
    found = NoLinks(folder)
    monkeypatch.setattr(os, "link", _record(found.attempts, request.param != "exfat"))
    return found


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for pattern in TEMPORARY for p in folder.glob(pattern))


def _rows(path: Path) -> str:
    digest = hashlib.sha256()
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        for table in ("notebook", "note"):
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY id"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def _integrity(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("route", ["chain", "template", "bundle"])
def test_create_without_hard_links(
    route: str,
    no_links: NoLinks,
    scripts: Path,
    bundle: Path,
    head_schema: dict[str, object],
) -> None:
    folder = no_links.folder
    migrator = Migrator(bundle if route == "bundle" else scripts)
    if route == "template":
        migrator.create(folder / "first.notes")  # the first create() runs the chain
        assert migrator._template() is not None
        no_links.attempts.clear()
    target = folder / "new.notes"
    report = migrator.create(target)
    assert (report.after, report.path) == ((HEAD,), target)
    assert versions(target) == [HEAD]
    assert schema(target) == head_schema
    assert _integrity(target) == "ok"
    expected = ["new.notes"] if route != "template" else ["first.notes", "new.notes"]
    assert _names(folder) == expected
    assert _leftovers(folder) == []
    assert no_links.attempts == [errno.EPERM], "create() did not take the no-link route"


def test_restore_to_a_new_path_without_hard_links(no_links: NoLinks, document: bytes) -> None:
    folder = no_links.folder
    doc = folder / "doc.notes"
    doc.write_bytes(document)
    backup = frozen_alembic.backup(doc)
    before = sha256(backup)
    target = folder / "restored.notes"
    assert frozen_alembic.restore(backup, target) == target
    assert versions(target) == ["0001_initial"]
    assert _rows(target) == _rows(doc)
    assert _integrity(target) == "ok"
    assert sha256(backup) == before, "restore() changed the backup"
    assert _names(folder) == sorted(["doc.notes", backup.name, "restored.notes"])
    assert no_links.attempts == [errno.EPERM], "restore() did not take the no-link route"


def test_upgrade_with_a_backup_without_hard_links(
    no_links: NoLinks, document: bytes, scripts: Path, head_schema: dict[str, object]
) -> None:
    folder = no_links.folder
    doc = folder / "doc.notes"
    doc.write_bytes(document)
    rows = _rows(doc)
    report = Migrator(scripts).upgrade(doc)
    assert report.after == (HEAD,)
    assert report.backup is not None
    assert versions(doc) == [HEAD]
    assert schema(doc) == head_schema
    assert _integrity(doc) == "ok"
    with contextlib.closing(sqlite3.connect(doc)) as conn:
        assert conn.execute("SELECT count(*) FROM note").fetchone() == (300,)
    assert versions(report.backup) == ["0001_initial"]
    assert _rows(report.backup) == rows
    assert _names(folder) == sorted(["doc.notes", report.backup.name])


# -- a file appears at the path while it is being made ---------------------------------


def _racer(target: Path, what: str) -> Callable[[], None]:
    def appear() -> None:
        if what == "file":
            target.write_bytes(OTHER)
        else:
            target.symlink_to(target.with_name("nowhere"))

    return appear


@contextlib.contextmanager
def _appearing(
    monkeypatch: pytest.MonkeyPatch, route: str, when: str, appear: Callable[[], None]
) -> Iterator[list[int | None]]:
    """Make ``appear()`` run before the publish (or inside the failing ``os.link``)."""
    attempts: list[int | None] = []
    real_publish = newfile.publish
    link = _record(attempts, fail=route == "no_link")

    def racing_link(src: object, dst: object, *args: object, **kwargs: object) -> None:
        try:
            link(src, dst, *args, **kwargs)  # fails with EPERM: the no-link route
        finally:
            appear()  # before the name is reserved

    def racing_publish(tmp: Path, path: Path) -> None:
        appear()
        real_publish(tmp, path)

    if when == "before the publish":
        monkeypatch.setattr(newfile, "publish", racing_publish)
        monkeypatch.setattr(os, "link", link)
    else:
        monkeypatch.setattr(os, "link", racing_link)
    yield attempts


RACES = [
    pytest.param("link", "before the publish", "file", id="link-file"),
    pytest.param("link", "before the publish", "dangling symlink", id="link-dangling_symlink"),
    pytest.param("no_link", "before the publish", "file", id="no_link-file"),
    pytest.param(
        "no_link", "before the publish", "dangling symlink", id="no_link-dangling_symlink"
    ),
    pytest.param("no_link", "after the link attempt", "file", id="no_link-file_after_link_failed"),
]


def _check_race(
    err: FrozenAlembicError, target: Path, what: str, before: list[str], folder: Path
) -> None:
    assert isinstance(err, DatabaseExists), f"{type(err).__name__}: {err}"
    assert err.path == target
    assert str(target) in str(err)
    if what == "file":
        assert target.read_bytes() == OTHER, "the other program's file was replaced"
    else:
        assert target.is_symlink()
        assert os.readlink(target) == str(target.with_name("nowhere"))
        assert not target.with_name("nowhere").exists(), "a file was made through the link"
    assert _names(folder) == sorted([*before, target.name])
    assert _leftovers(folder) == []


@pytest.mark.parametrize(("route", "when", "what"), RACES)
@pytest.mark.parametrize("template", [False, True], ids=["chain", "template"])
def test_create_never_replaces_a_file_that_appeared(
    route: str,
    when: str,
    what: str,
    template: bool,
    scripts: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    migrator = Migrator(scripts)
    if template:
        migrator.create(tmp_path / "first.notes")
    folder = tmp_path / "docs"
    folder.mkdir()
    target = folder / "new.notes"
    with (
        _appearing(monkeypatch, route, when, _racer(target, what)) as attempts,
        pytest.raises(FrozenAlembicError) as caught,
    ):
        migrator.create(target)
    _check_race(caught.value, target, what, [], folder)
    assert attempts, "the publish was not reached"
    assert all(a == (errno.EPERM if route == "no_link" else errno.EEXIST) for a in attempts)


@pytest.mark.parametrize(("route", "when", "what"), RACES)
def test_restore_never_replaces_a_file_that_appeared(
    route: str,
    when: str,
    what: str,
    document: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    doc = folder / "doc.notes"
    doc.write_bytes(document)
    backup = frozen_alembic.backup(doc)
    before = sha256(backup)
    target = folder / "restored.notes"
    with (
        _appearing(monkeypatch, route, when, _racer(target, what)) as attempts,
        pytest.raises(FrozenAlembicError) as caught,
    ):
        frozen_alembic.restore(backup, target)
    _check_race(caught.value, target, what, ["doc.notes", backup.name], folder)
    assert sha256(backup) == before
    assert attempts, "the publish was not reached"


def test_restore_onto_a_dangling_symlink_changes_nothing(document: bytes, tmp_path: Path) -> None:
    doc = tmp_path / "doc.notes"
    doc.write_bytes(document)
    backup = frozen_alembic.backup(doc)
    link = tmp_path / "restored.notes"
    link.symlink_to(tmp_path / "nowhere" / "x.notes")
    before = _names(tmp_path)
    with pytest.raises(FrozenAlembicError) as caught:
        frozen_alembic.restore(backup, link)
    err = caught.value
    assert not isinstance(err, FileExistsError)
    assert isinstance(err, DatabaseExists), f"{type(err).__name__}: {err}"
    assert str(link) in str(err)
    assert os.readlink(link) == str(tmp_path / "nowhere" / "x.notes")
    assert not (tmp_path / "nowhere").exists()
    assert _names(tmp_path) == before
    assert versions(doc) == ["0001_initial"]


def test_create_onto_a_dangling_symlink_changes_nothing(scripts: Path, tmp_path: Path) -> None:
    link = tmp_path / "new.notes"
    link.symlink_to(tmp_path / "nowhere.notes")
    with pytest.raises(DatabaseExists):
        Migrator(scripts).create(link)
    assert os.readlink(link) == str(tmp_path / "nowhere.notes")
    assert _names(tmp_path) == ["new.notes"]
