"""Walk through the user's story in source mode; see scripts/demo."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "migrations"


def make_release_1_0_file(path: Path) -> None:
    """A document as release 1.0 wrote it, with a little data in it."""
    from frozen_alembic import Migrator

    migrator = Migrator(SCRIPTS)
    migrator.create(path)
    migrator.downgrade(path, "0001_initial")
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


def show(path: Path, title: str) -> None:
    conn = sqlite3.connect(path)
    print(f"\n--- {title} ---")
    version = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    print(f"revision: {version}")
    for table in ("notebook", "note"):
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        print(f"{table}({', '.join(cols)})")
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY id"):
            print("   ", row)
    conn.close()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="frozen-alembic-demo-") as tmp:
        home = Path(tmp, "home")
        home.mkdir()
        elsewhere = Path(tmp, "somewhere-else")
        elsewhere.mkdir()
        document = home / "My Notes (2021).notes"
        make_release_1_0_file(document)
        show(document, "the user's file, as release 1.0 wrote it")

        print(f"\n$ cd {elsewhere} && frozen-alembic --scripts migrations/ upgrade '{document}'")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "frozen_alembic",
                "--scripts",
                str(SCRIPTS),
                "upgrade",
                str(document),
            ],
            cwd=elsewhere,
            check=True,
        )
        show(document, "the same file after the upgrade")
        conn = sqlite3.connect(document)
        rows = conn.execute("SELECT author_first, author_last FROM note ORDER BY id").fetchall()
        conn.close()
        assert rows == [("Ada", "Lovelace"), ("Plato", ""), ("Jean", "Paul Sartre")], rows
        assert list(elsewhere.iterdir()) == [], "nothing may be written to the working directory"
        print("\nOK: migrated to the newest revision, every note kept, nothing written to the cwd.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
