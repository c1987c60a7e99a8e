"""The public surface: small, sorted, documented, and light to import."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import frozen_alembic

ROOT = Path(__file__).resolve().parent.parent


def test_all_is_sorted_and_complete() -> None:
    assert frozen_alembic.__all__ == sorted(frozen_alembic.__all__)
    for name in frozen_alembic.__all__:
        assert getattr(frozen_alembic, name) is not None
    assert "Migrator" in dir(frozen_alembic)


def test_every_public_name_has_a_docstring() -> None:
    for name in frozen_alembic.__all__:
        obj = getattr(frozen_alembic, name)
        assert inspect.getdoc(obj), name
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and callable(member):
                    assert inspect.getdoc(member), f"{name}.{attr}"


def test_every_public_name_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in frozen_alembic.__all__ if f"`{name}" not in readme]
    assert missing == []


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        getattr(frozen_alembic, "NoSuchThing")  # noqa: B009


def test_import_is_light() -> None:
    code = "import sys, json; import frozen_alembic; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = set(json.loads(proc.stdout))
    heavy = {"sqlalchemy", "alembic", "mako", "cx_Freeze", "PyInstaller", "nuitka", "argparse"}
    assert loaded & heavy == set()
    assert not [m for m in loaded if m.startswith("frozen_alembic.")]
