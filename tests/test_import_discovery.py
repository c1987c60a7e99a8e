"""Import discovery: every module the migrations need, as a freezer must be told.

A fake application package ``ledgerx`` (whose ``__init__`` refuses to be imported
while it is scanned: the scan must never run application code; staging does run the
revisions, to build the template) is imported by revisions and ``env.py`` in all the
ways real projects do.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from frozen_alembic.build import BuildError, scan_imports, stage

PACKAGE = {
    "__init__.py": (
        "import os\n"
        'if os.environ.get("LEDGERX_FORBID_IMPORT"):\n'
        '    raise RuntimeError("scanning must not run application code")\n'
    ),
    "_helpers.py": "from . import _more_helpers\n",
    "_more_helpers.py": "import ledgerx.deep.inner\n",
    "deep/__init__.py": "",
    "deep/inner.py": "X = 1\n",
    "models.py": "from .deep import inner as _inner\nBase = object\n",
    "plain.py": "",
    "dynamic.py": "",
    "conditional.py": "",
    "lazy.py": "",
    "attributes.py": "VALUE = 1\n",
}

REVISION = '''"""r1"""
import importlib

import ledgerx.plain
from ledgerx import _helpers
from ledgerx.attributes import VALUE

try:
    import optional_thing_that_is_not_installed
except ImportError:
    optional_thing_that_is_not_installed = None

if VALUE > 100:
    import ledgerx.conditional

revision = "r1"
down_revision = None


def upgrade() -> None:
    from ledgerx import lazy

    importlib.import_module("ledgerx.dynamic")


def downgrade() -> None:
    pass
'''

ENV = "from ledgerx.models import Base\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project with the ``ledgerx`` package and migrations inside it."""
    root = tmp_path / "project"
    for name, text in PACKAGE.items():
        path = root / "src" / "ledgerx" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    scripts = root / "src" / "ledgerx" / "db_migrations"
    (scripts / "versions").mkdir(parents=True)
    (scripts / "env.py").write_text(ENV)
    (scripts / "versions" / "r1.py").write_text(REVISION)
    (root / "pyproject.toml").write_text("[project]\nname = 'ledgerx'\n")
    monkeypatch.syspath_prepend(str(root / "src"))
    yield scripts
    for name in [n for n in sys.modules if n == "ledgerx" or n.startswith("ledgerx.")]:
        del sys.modules[name]


def test_every_kind_of_import_is_found_without_running_the_app(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGERX_FORBID_IMPORT", "1")
    scan = scan_imports(project)
    expected = {
        "ledgerx",
        "ledgerx.plain",  # import a.b
        "ledgerx._helpers",  # from pkg import submodule
        "ledgerx.attributes",  # from pkg.mod import attribute: the module
        "ledgerx.conditional",  # under an if
        "ledgerx.lazy",  # inside a function
        "ledgerx.dynamic",  # importlib.import_module("literal")
        "ledgerx.models",  # from env.py
        "ledgerx._more_helpers",  # relative import in an app module, transitively
        "ledgerx.deep",
        "ledgerx.deep.inner",  # two steps away, in the app's own modules
        "importlib",
    }
    assert expected <= scan.modules
    assert "ledgerx.attributes.VALUE" not in scan.modules
    assert scan.missing == []
    assert scan.problems == []
    assert [site.module for site in scan.optional_missing] == [
        "optional_thing_that_is_not_installed"
    ]


def test_a_missing_module_is_named_with_its_file_and_line(project: Path, tmp_path: Path) -> None:
    text = REVISION.replace("import ledgerx.plain\n", "import ledgerx.plain\nimport ledgerx.gone\n")
    (project / "versions" / "r1.py").write_text(text)
    scan = scan_imports(project)
    assert [(s.module, s.file.name, s.line) for s in scan.missing] == [("ledgerx.gone", "r1.py", 5)]
    with pytest.raises(BuildError, match=r"ledgerx\.gone: imported at .*r1\.py:5"):
        stage(project, stage_dir=tmp_path / "stage")


def test_an_optional_import_does_not_stop_the_build(project: Path, tmp_path: Path) -> None:
    staged = stage(project, stage_dir=tmp_path / "stage")
    assert "ledgerx._helpers" in staged.imports
    assert "ledgerx.deep.inner" in staged.imports
    assert "optional_thing_that_is_not_installed" not in staged.imports


def test_a_relative_import_in_a_revision_is_refused(project: Path, tmp_path: Path) -> None:
    text = REVISION.replace("import importlib\n", "import importlib\nfrom . import sibling\n")
    (project / "versions" / "r1.py").write_text(text)
    with pytest.raises(BuildError, match="relative import"):
        stage(project, stage_dir=tmp_path / "stage")


def test_the_default_staging_folder_is_outside_the_package(project: Path) -> None:
    staged = stage(project)
    root = project.parent.parent.parent  # the folder with pyproject.toml
    assert staged.folder == (root / "build" / "frozen-alembic" / "migrations").resolve()
    assert not any(parent.name == "ledgerx" for parent in staged.folder.parents)
