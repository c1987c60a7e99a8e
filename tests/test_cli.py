"""The command line: ``frozen-alembic``, ``python -m frozen_alembic`` and ``main(argv)``."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from frozen_alembic import main

from .conftest import HEAD, REVISIONS, versions

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, stdout=out)
    return code, out.getvalue()


def test_every_verb_through_main(scripts: Path, tmp_path: Path) -> None:
    path = str(tmp_path / "doc.notes")
    base = ["--scripts", str(scripts)]
    assert run([*base, "heads"]) == (0, f"{HEAD}\n")
    code, out = run([*base, "history"])
    assert code == 0
    assert [line.split(" -> ")[1].split(" ")[0].rstrip(",") for line in out.splitlines()] == list(
        REVISIONS
    )
    code, out = run([*base, "create", path])
    assert code == 0
    assert f"(none) -> {HEAD}" in out
    assert run([*base, "current", path]) == (0, f"{HEAD}\n")
    code, out = run([*base, "downgrade", path, "0002_tags"])
    assert (code, out.count("Undoing")) == (0, 4)
    code, out = run([*base, "status", path])
    assert code == 0
    assert out.startswith("behind: at 0002_tags")
    assert out.count("pending") == 4
    code, out = run([*base, "upgrade", path, "0004_sort_key_integer"])
    assert code == 0
    assert "migrate  Applying 0004_sort_key_integer" in out
    assert run([*base, "stamp", path, "0005_split_author"])[0] == 0
    assert versions(Path(path)) == ["0005_split_author"]
    code, out = run([*base, "upgrade", path])
    assert code == 0
    code, out = run([*base, "upgrade", path])
    assert (code, "nothing to do" in out) == (0, True)


def test_errors_are_reported_with_exit_code_1(
    scripts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.notes"
    assert run(["--scripts", str(scripts), "upgrade", str(missing)])[0] == 1
    assert "No database at" in capsys.readouterr().err
    assert not missing.exists()
    assert run(["--scripts", str(tmp_path / "none"), "heads"])[0] == 1
    assert "does not exist" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["frobnicate"])[0] == 2
    assert "invalid choice" in capsys.readouterr().err


def test_scripts_come_from_the_environment(
    scripts: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FROZEN_ALEMBIC_SCRIPTS", raising=False)
    assert run(["heads"])[0] == 1
    assert "--scripts DIR" in capsys.readouterr().err
    monkeypatch.setenv("FROZEN_ALEMBIC_SCRIPTS", str(scripts))
    assert run(["heads"]) == (0, f"{HEAD}\n")


def test_python_dash_m_from_another_directory(
    scripts: Path, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    path = db_at("0001_initial")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "frozen_alembic", "--scripts", str(scripts), "upgrade", str(path)],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "src")},
    )
    assert proc.returncode == 0, proc.stderr
    assert f"0001_initial -> {HEAD}" in proc.stdout
    assert list(elsewhere.iterdir()) == []


def test_console_script_is_installed(scripts: Path) -> None:
    exe = shutil.which("frozen-alembic", path=str(Path(sys.executable).parent))
    assert exe is not None, "pip install -e . should have made the frozen-alembic command"
    proc = subprocess.run(
        [exe, "--scripts", str(scripts), "heads"], capture_output=True, text=True, check=True
    )
    assert proc.stdout == f"{HEAD}\n"
