"""The runtime locator, for every way the app can be started (``sys`` monkeypatched)."""

from __future__ import annotations

import json  # noqa: F401  (the anchor of one test)
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from frozen_alembic import Migrator, ScriptsError, ScriptsNotFound, locate_migrations
from frozen_alembic._locators import nuitka

from .conftest import HEAD, REFERENCE_SCRIPTS


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FROZEN_ALEMBIC_SCRIPTS", raising=False)
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)


def _bundle(folder: Path) -> Path:
    """A bundled copy of the reference scripts, with a manifest, at ``folder``."""
    from frozen_alembic.build import stage

    staged = stage(REFERENCE_SCRIPTS, target=folder.name, stage_dir=folder.parent)
    assert staged.folder == folder.resolve()
    return folder


def test_cx_freeze_finds_the_folder_beside_the_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install = tmp_path / "install"
    _bundle(install / "migrations")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(install / "notekeeper"))
    monkeypatch.chdir(tmp_path)  # a decoy: the cwd is never looked at
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    assert locate_migrations() == install / "migrations"


def test_cx_freeze_macos_bundle_uses_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contents = tmp_path / "Notekeeper.app" / "Contents"
    _bundle(contents / "Resources" / "migrations")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(contents / "MacOS" / "notekeeper"))
    assert locate_migrations() == contents / "Resources" / "migrations"


@pytest.mark.parametrize("layout", ["onedir", "onefile"])
def test_pyinstaller_uses_meipass_not_the_executable_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    exe_dir = tmp_path / "dist" / "notekeeper"
    meipass = exe_dir / "_internal" if layout == "onedir" else tmp_path / "_MEI12345"
    _bundle(meipass / "migrations")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(meipass), raising=False)
    monkeypatch.setattr(sys, "executable", str(exe_dir / "notekeeper"))
    assert locate_migrations() == meipass / "migrations"


@pytest.mark.parametrize("layout", ["standalone", "onefile"])
def test_nuitka_uses_the_runtime_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    runtime = tmp_path / ("app.dist" if layout == "standalone" else "onefile_123_456")
    _bundle(runtime / "migrations")
    compiled = SimpleNamespace(
        python_runtime_dir=str(runtime),
        containing_dir=str(tmp_path),
        onefile=layout == "onefile",
    )
    monkeypatch.setitem(vars(nuitka), "__compiled__", compiled)
    monkeypatch.setattr(sys, "executable", str(runtime / "python"))
    assert locate_migrations() == runtime / "migrations"


def test_source_tree_via_an_anchor_package() -> None:
    assert locate_migrations(anchor="notekeeper") == REFERENCE_SCRIPTS


def test_installed_package_resource(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site" / "myapp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copytree(REFERENCE_SCRIPTS, package / "db_migrations")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert locate_migrations("db_migrations", anchor="myapp") == package / "db_migrations"


def test_explicit_path_and_environment_override_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    override = tmp_path / "support"
    shutil.copytree(REFERENCE_SCRIPTS, override)
    monkeypatch.setenv("FROZEN_ALEMBIC_SCRIPTS", str(override))
    assert locate_migrations(anchor="notekeeper") == override
    assert locate_migrations(anchor="notekeeper", path=REFERENCE_SCRIPTS) == REFERENCE_SCRIPTS
    monkeypatch.setenv("FROZEN_ALEMBIC_SCRIPTS", str(tmp_path / "nothing"))
    with pytest.raises(ScriptsNotFound, match=r"\$FROZEN_ALEMBIC_SCRIPTS"):
        locate_migrations(anchor="notekeeper")


def test_not_found_lists_every_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "app" / "notekeeper"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "migrations" / "versions").mkdir(parents=True)  # a decoy in the cwd
    with pytest.raises(ScriptsNotFound) as caught:
        locate_migrations("migrations", anchor="json")
    searched = caught.value.searched
    assert searched[0] == tmp_path / "app" / "migrations"
    json_dir = Path(sys.modules["json"].__file__ or "").parent
    assert json_dir / "migrations" in searched  # the source fallback comes after the freezer's
    assert tmp_path / "migrations" not in searched
    assert all(p.is_absolute() for p in searched)
    assert str(tmp_path / "app" / "migrations") in str(caught.value)
    assert "cx_Freeze" in str(caught.value)


def test_frozen_build_requires_a_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install = tmp_path / "install"
    shutil.copytree(REFERENCE_SCRIPTS, install / "migrations")  # bundled by hand, no manifest
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(install / "notekeeper"))
    with pytest.raises(ScriptsError, match=r"frozen-alembic-manifest\.json"):
        Migrator.locate()
    _bundle(install / "migrations")
    assert Migrator.locate().heads() == (HEAD,)
