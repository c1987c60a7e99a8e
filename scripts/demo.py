"""The user's story, end to end with a real cx_Freeze build; see scripts/demo.

1. Freeze the notekeeper reference app with cx_Freeze (setup.py).
2. Install it into a folder and make that folder read-only.
3. Make a document as release 1.0 wrote it, with data, in a "home" folder.
4. Run the frozen executable on it from yet another working directory.
5. Show the file migrated, every row kept, the install folder and cwd untouched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "migrations"
BUILD = ROOT / "build" / "notekeeper"


def step(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def build() -> None:
    step("1. freezing the reference app with cx_Freeze (python setup.py build_exe)")
    shutil.rmtree(BUILD, ignore_errors=True)
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_exe", "--build-exe", str(BUILD)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"built {BUILD}")
    # verify makes an old document at every release, runs the built app on each, and
    # checks that each reached the newest schema.
    app = BUILD / "notekeeper"
    subprocess.run(
        [
            *(sys.executable, "-m", "frozen_alembic", "verify", str(BUILD)),
            *("--source", str(SCRIPTS), "--run", f"{app} {{db}}"),
        ],
        check=True,
    )


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder``, with file contents hashed."""
    result = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        result[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return result


def make_read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_release_1_0_file(path: Path) -> None:
    """A document as release 1.0 wrote it, with a little data in it."""
    from frozen_alembic import Migrator

    migrator = Migrator(SCRIPTS)
    migrator.create(path)
    migrator.downgrade(path, "0001_initial", backup=False)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO notebook (id, title, sort_key) VALUES (1, 'Travel', '2')")
        conn.execute("INSERT INTO notebook (id, title, sort_key) VALUES (2, 'Recipes', '10')")
        conn.executemany(
            "INSERT INTO note (notebook_id, author_name, body, created_at) VALUES (?, ?, ?, ?)",
            [
                (1, "Ada Lovelace", "Pack the analytical engine", "2021-05-01 10:00:00"),
                (1, "Plato", "Visit the cave", "2021-06-02 11:30:00"),
                (2, "Jean Paul Sartre", "Existential omelette", "2022-01-03 08:15:00"),
            ],
        )
    conn.close()


def show(path: Path) -> None:
    conn = sqlite3.connect(path)
    version = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    print(f"{path.name}: revision {version}")
    for table in ("notebook", "note"):
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        print(f"  {table}({', '.join(cols)})")
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY id"):
            print("     ", row)
    conn.close()


def main() -> int:
    build()
    with tempfile.TemporaryDirectory(prefix="frozen-alembic-demo-") as tmp:
        install = Path(tmp, "opt", "notekeeper")
        shutil.copytree(BUILD, install, symlinks=True)
        make_read_only(install)
        before = snapshot(install)
        step(f"2. installed into {install} (read-only)")

        home = Path(tmp, "home", "ada")
        home.mkdir(parents=True)
        document = home / "My Notes (2021).notes"
        make_release_1_0_file(document)
        step("3. the user's file, as release 1.0 wrote it")
        show(document)

        elsewhere = Path(tmp, "somewhere-else")
        elsewhere.mkdir()
        step(f"4. $ cd {elsewhere} && {install / 'notekeeper'} '{document}'")
        subprocess.run([str(install / "notekeeper"), str(document)], cwd=elsewhere, check=True)

        step("5. the same file after the upgrade")
        show(document)
        conn = sqlite3.connect(document)
        rows = conn.execute("SELECT author_first, author_last FROM note ORDER BY id").fetchall()
        keys = conn.execute("SELECT sort_key FROM notebook ORDER BY id").fetchall()
        conn.close()
        assert rows == [("Ada", "Lovelace"), ("Plato", ""), ("Jean", "Paul Sartre")], rows
        assert keys == [(2,), (10,)], keys
        assert list(elsewhere.iterdir()) == [], "nothing may be written to the working directory"
        assert snapshot(install) == before, "nothing may be written to the install folder"
        backups = sorted(p.name for p in home.iterdir() if p.suffix == ".bak")
        print(f"\nbackup kept beside the file: {backups}")
        print(
            "OK: migrated by the frozen app to the newest revision, every row kept, "
            "nothing written to the install folder or the working directory."
        )
        for path in [install, *install.rglob("*")]:  # let the temporary folder be removed
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
