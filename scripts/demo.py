"""The user's story, end to end with a real cx_Freeze build; see scripts/demo.

1. Freeze the notekeeper reference app (a PySide6 window) with cx_Freeze (setup.py),
   and check the build with ``frozen-alembic verify`` (which runs its console mode).
2. Install it into a folder and make that folder read-only.
3. Make two documents as release 1.0 wrote them, with data, in a "home" folder.
4. From yet another working directory, open the first in the frozen window — on Qt's
   offscreen platform, so no display is needed — accepting the upgrade (``--yes``):
   it migrates on a worker thread behind the progress dialog, then the app quits
   (``--quit-when-idle``) and prints what it did.
5. Bring the second up to date with the console mode, ``notekeeper --check FILE``.
6. Show both files migrated, every row kept, a backup beside each, and the install
   folder, the working directory and the rest of the home folder untouched.

``scripts/demo --deb`` tells the installed-package story instead (as root): the app
packaged as a .deb (``python setup.py bdist_deb``), checked by ``frozen-alembic
verify`` on the .deb itself, installed with ``dpkg -i`` into /opt/notekeeper, run as an
ordinary user (made for the demo) on a release-1.0 document in their home from
another working directory, /opt/notekeeper unchanged, then removed with ``dpkg
--purge``: the user's document and its backup stay.
"""

from __future__ import annotations

import hashlib
import os
import pwd
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
HEAD = "0006_attachments"


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


# Enough diary entries that the upgrade outlasts the progress dialog's 0.3 s delay.
JOURNAL_NOTES = 120_000


def make_release_1_0_file(path: Path, journal: int = 0) -> None:
    """A document as release 1.0 wrote it, with a little data in it.

    :param journal: how many notes to put into a third notebook, "Journal".
    """
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
        if journal:
            conn.execute("INSERT INTO notebook (id, title, sort_key) VALUES (3, 'Journal', '20')")
            conn.executemany(
                "INSERT INTO note (notebook_id, author_name, body, created_at) "
                "VALUES (3, 'Ada Lovelace', ?, '2023-01-01 08:00:00')",
                ((f"Day {day}: wrote to Babbage about the engine.",) for day in range(journal)),
            )
    conn.close()


def show(path: Path, rows: int = 4) -> None:
    conn = sqlite3.connect(path)
    version = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    print(f"{path.name}: revision {version}")
    for table in ("notebook", "note"):
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        print(f"  {table}({', '.join(cols)})")
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY id LIMIT ?", (rows,)):
            print("     ", row)
        total = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if total > rows:
            print(f"      ... and {total - rows} more")
    conn.close()


def check_rows(path: Path, journal: int = 0) -> None:
    """The rows of :func:`make_release_1_0_file`, as they must be at the newest revision."""
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT author_first, author_last FROM note WHERE notebook_id < 3 ORDER BY id"
    ).fetchall()
    keys = conn.execute("SELECT sort_key FROM notebook ORDER BY id").fetchall()
    diary = conn.execute("SELECT count(*) FROM note WHERE notebook_id = 3").fetchone()[0]
    version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    conn.close()
    assert version == [(HEAD,)], version
    assert rows == [("Ada", "Lovelace"), ("Plato", ""), ("Jean", "Paul Sartre")], rows
    assert keys == [(2,), (10,)] + ([(20,)] if journal else []), keys
    assert diary == journal, diary


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run ``argv``, print its output as it is, and return its standard output."""
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    print(proc.stdout, end="")
    # Qt's offscreen platform says this of every window it shows; nothing is wrong.
    noise = "This plugin does not support propagateSizeHints()\n"
    print(proc.stderr.replace(noise, ""), end="", file=sys.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed with exit code {proc.returncode}")
    return proc.stdout


def main() -> int:
    build()
    with tempfile.TemporaryDirectory(prefix="frozen-alembic-demo-") as tmp:
        install = Path(tmp, "opt", "notekeeper")
        shutil.copytree(BUILD, install, symlinks=True)
        make_read_only(install)
        before = snapshot(install)
        app = install / "notekeeper"
        step(f"2. installed into {install} (read-only)")

        home = Path(tmp, "home", "ada")
        home.mkdir(parents=True)
        document = home / "My Notes (2021).notes"
        other = home / "Old notes.notes"
        make_release_1_0_file(document, journal=JOURNAL_NOTES)
        make_release_1_0_file(other)
        step("3. the user's files, as release 1.0 wrote them")
        show(document)
        show(other)

        elsewhere = Path(tmp, "somewhere-else")
        elsewhere.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FROZEN_"))}
        env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen")
        step(
            f"4. $ cd {elsewhere} && QT_QPA_PLATFORM=offscreen "
            f"{app} --open '{document}' --yes --quit-when-idle"
        )
        out = run([str(app), "--open", str(document), "--yes", "--quit-when-idle"], elsewhere, env)
        dialog = "progress dialog shown" in out
        assert f"opened {document} at {HEAD}" in out, "the window did not open the document"

        step(f"5. $ cd {elsewhere} && {app} --check '{other}'   (no window, no Qt)")
        run([str(app), "--check", str(other)], elsewhere, env)

        step("6. the same files after the upgrade")
        show(document)
        show(other)
        check_rows(document, JOURNAL_NOTES)
        check_rows(other)
        assert list(elsewhere.iterdir()) == [], "nothing may be written to the working directory"
        assert snapshot(install) == before, "nothing may be written to the install folder"
        backups = sorted(p.name for p in home.iterdir() if p.suffix == ".bak")
        assert len(backups) == 2, backups
        others = [p.name for p in home.iterdir() if p.suffix != ".bak"]
        assert sorted(others) == sorted([document.name, other.name]), others
        print(f"\nbackups kept beside the files: {backups}")
        print(f"the progress dialog {'appeared' if dialog else 'was not needed (under 0.3 s)'}")
        print(
            "OK: migrated by the frozen window and by its console mode to the newest "
            "revision, every row kept, nothing written to the install folder, the working "
            "directory or anywhere else in the home folder."
        )
        for path in [install, *install.rglob("*")]:  # let the temporary folder be removed
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return 0


PACKAGES = ROOT / "build" / "packages"
PREFIX = Path("/opt/notekeeper")


def dpkg_has_notekeeper() -> bool:
    proc = subprocess.run(
        ["dpkg-query", "--show", "--showformat", "${Status}", "notekeeper"],
        capture_output=True,
        text=True,
        check=False,
    )
    return "installed" in proc.stdout.split()


def deb_story() -> int:
    """``scripts/demo --deb``: the package installed for real, used by an ordinary user."""
    if os.geteuid() != 0:
        raise SystemExit("scripts/demo --deb installs a package and adds a user: run it as root")
    if dpkg_has_notekeeper():
        raise SystemExit("notekeeper is installed already: dpkg --purge notekeeper, then retry")
    step("1. packaging the reference app: python setup.py build_exe bdist_deb")
    shutil.rmtree(PACKAGES, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "setup.py",
            "-q",
            "build_exe",
            "--build-exe",
            str(BUILD),
            "bdist_deb",
            "--dist-dir",
            str(PACKAGES),
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (deb,) = PACKAGES.glob("*.deb")
    print(f"made {deb} (and {', '.join(p.name for p in PACKAGES.glob('*.rpm'))})")
    step(f"2. $ frozen-alembic verify {deb.name} --run '/usr/bin/notekeeper {{db}}'")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "frozen_alembic",
            "verify",
            str(deb),
            "--source",
            str(SCRIPTS),
            "--run",
            "/usr/bin/notekeeper {db}",
        ],
        check=True,
    )
    name = f"ada{os.getpid()}"
    try:
        step(f"3. $ dpkg -i {deb.name}   (into {PREFIX}, owned by root)")
        subprocess.run(["dpkg", "-i", str(deb)], check=True)
        print(f"{shutil.which('notekeeper')} -> {os.path.realpath('/usr/bin/notekeeper')}")
        before = snapshot(PREFIX)
        step(f"4. $ useradd --create-home {name}   (an ordinary user, and their document)")
        subprocess.run(["useradd", "--create-home", "--user-group", name], check=True)
        user = pwd.getpwnam(name)
        home = Path(user.pw_dir)
        document = home / "Documents" / "My Notes (2021).notes"
        elsewhere = home / "Downloads"
        for folder in (document.parent, elsewhere):
            folder.mkdir()
        make_release_1_0_file(document)
        for path in (document.parent, elsewhere, document):
            os.chown(path, user.pw_uid, user.pw_gid)
        show(document)
        step(f"5. $ cd {elsewhere} && runuser -u {name} -- notekeeper --check '{document}'")
        env = [f"HOME={home}", f"USER={name}", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"]
        command = ["runuser", "-u", name, "--", "env", "-i", *env, "notekeeper", "--check"]
        run([*command, str(document)], elsewhere, dict(os.environ))
        show(document)
        check_rows(document)
        assert list(elsewhere.iterdir()) == [], "nothing may be written to the working directory"
        assert snapshot(PREFIX) == before, f"nothing may be written to {PREFIX}"
        print(f"{PREFIX}: every file as dpkg installed it; {elsewhere}: empty")
        step("6. $ dpkg --purge notekeeper")
        subprocess.run(["dpkg", "--purge", "notekeeper"], check=True)
        assert not PREFIX.exists(), f"{PREFIX} is still there"
        kept = sorted(p.name for p in document.parent.iterdir())
        assert len(kept) == 2, kept
        print(f"{PREFIX} is gone; {document.parent} still holds: {kept}")
        print(
            "OK: the installed package, run by an ordinary user who cannot write to it, "
            "migrated their document with a backup beside it and changed nothing else; "
            "removing the package left the document and the backup."
        )
    finally:
        if dpkg_has_notekeeper():
            subprocess.run(["dpkg", "--purge", "notekeeper"], check=False)
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(deb_story() if sys.argv[1:] == ["--deb"] else main())
