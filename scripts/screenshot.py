"""A picture of the real notekeeper window, for the README; see scripts/screenshot.

1. Make a document as release 1.2 wrote it (notebooks, notes, tags, pinned notes) in
   a temporary folder.
2. Start Xvfb, a real X server without a screen, on a display number it picks.
3. Run the app from source on that display (Qt's xcb platform, not ``offscreen``):
   ``notekeeper --open DOC --yes --quit-when-idle --screenshot PNG``.  It upgrades
   the document, shows it, and saves the window as the X server shows it
   (``QScreen.grabWindow``), then quits.
4. Stop Xvfb.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "scripts" / "notekeeper.png"
RELEASE = "0003_pinned"  # release 1.2: tags and pinned notes, the author in one column


def make_document(path: Path) -> None:
    """A release-1.2 document with a few notebooks of notes, some tagged or pinned."""
    sys.path.insert(0, str(ROOT / "src"))
    from frozen_alembic import Migrator

    migrator = Migrator(ROOT / "migrations")
    migrator.create(path)
    migrator.downgrade(path, RELEASE, backup=False)
    notebooks = [(1, "Travel", "1"), (2, "Recipes", "2"), (3, "Work", "3"), (4, "Reading", "4")]
    notes = [
        (1, 1, "Ada Lovelace", "Pack the analytical engine", "2024-05-01 10:00:00", 1),
        (2, 1, "Plato", "Visit the cave, bring a torch", "2024-06-02 11:30:00", 0),
        (3, 1, "Ada Lovelace", "Book the ferry to Calais", "2024-06-03 09:15:00", 0),
        (
            4,
            1,
            "Charles Babbage",
            "Ask about the difference engine museum",
            "2024-06-04 16:00:00",
            0,
        ),
        (5, 2, "Jean Paul Sartre", "Existential omelette", "2024-01-03 08:15:00", 1),
        (6, 2, "Julia Child", "Boeuf bourguignon, slowly", "2024-02-11 18:30:00", 0),
        (7, 3, "Grace Hopper", "Fix the moth in relay 70", "2024-07-05 09:00:00", 1),
        (8, 3, "Grace Hopper", "Ship the compiler", "2024-07-04 09:00:00", 0),
        (9, 4, "Mary Shelley", "Finish Frankenstein, chapter 5", "2024-03-01 21:00:00", 0),
    ]
    tags = [(1, "trip"), (2, "food"), (3, "urgent"), (4, "ideas")]
    links = [(1, 1), (1, 3), (2, 1), (3, 1), (4, 4), (5, 2), (6, 2), (7, 3), (8, 4), (9, 4)]
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany("INSERT INTO notebook (id, title, sort_key) VALUES (?, ?, ?)", notebooks)
        conn.executemany(
            "INSERT INTO note (id, notebook_id, author_name, body, created_at, pinned) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            notes,
        )
        conn.executemany("INSERT INTO tag (id, name) VALUES (?, ?)", tags)
        conn.executemany("INSERT INTO note_tag (note_id, tag_id) VALUES (?, ?)", links)


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """Start Xvfb on a free display; return it and the display name (``:N``)."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1100x700x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()  # written once the server accepts clients
    if not number:
        xvfb.kill()
        raise SystemExit("Xvfb did not start")
    return xvfb, f":{number}"


def main(argv: list[str]) -> int:
    out = Path(argv[0]).resolve() if argv else OUT
    with tempfile.TemporaryDirectory(prefix="notekeeper-screenshot-") as tmp:
        document = Path(tmp, "Notes (2024).notes")
        make_document(document)
        xvfb, display = start_xvfb()
        try:
            env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
            env["PYTHONPATH"] = os.pathsep.join(
                [str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])]
            )
            args = ["--open", str(document), "--yes", "--quit-when-idle", "--screenshot", str(out)]
            proc = subprocess.run(
                [sys.executable, "-m", "notekeeper", *args], cwd=tmp, env=env, check=False
            )
        finally:
            xvfb.terminate()
            xvfb.wait()
    if proc.returncode != 0 or not out.is_file():
        print(f"no screenshot (exit code {proc.returncode})", file=sys.stderr)
        return 1
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
