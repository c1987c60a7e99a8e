"""The notekeeper window: opening old, current and newer documents, exports, errors.

A real ``QApplication`` (pytest-qt) on the offscreen platform, real SQLite files, the
real Qt helper (``frozen_alembic.qt``).  Message boxes are answered by
:class:`Dialogs`, which records each one and clicks a button (or Escape) once its event
loop runs.  The cancel-within-0.2 s behaviour belongs to ``tests/test_qt.py``.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported

import ast
import io
import shutil
import sqlite3
import subprocess
import sys
import tokenize
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

import notekeeper.gui
from frozen_alembic import Migrator, Phase, Progress
from notekeeper import document
from notekeeper.gui import MainWindow

from .conftest import HEAD, fill_release_1, schema, sha256, versions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pytestqt.qtbot import QtBot

ROOT = Path(__file__).resolve().parent.parent
GUI_SOURCE = ROOT / "src" / "notekeeper" / "gui.py"
GLUE_LIMIT = 30
FUTURE_REVISION = "0099_from_a_newer_release"
TIMEOUT_MS = 60_000


# -- helpers ---------------------------------------------------------------------------


class Dialogs(QObject):
    """Answers every message box: records it, then clicks the next answer (or Escape)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str, str]] = []
        self.answers: list[str] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt's name
        if event.type() == QEvent.Type.Show and isinstance(watched, QMessageBox):
            QTimer.singleShot(0, lambda: self._answer(watched))
        return False

    def _answer(self, box: QMessageBox) -> None:
        self.seen.append((box.windowTitle(), box.text(), box.informativeText()))
        answer = self.answers.pop(0) if self.answers else None
        for button in box.buttons():
            if answer is not None and button.text().replace("&", "") == answer:
                button.click()
                return
        assert answer is None, f"no button {answer!r} in {[b.text() for b in box.buttons()]}"
        box.reject()

    @property
    def titles(self) -> list[str]:
        return [title for title, _, _ in self.seen]


@pytest.fixture
def dialogs(qapp: QApplication) -> Iterator[Dialogs]:
    recorder = Dialogs()
    qapp.installEventFilter(recorder)
    yield recorder
    qapp.removeEventFilter(recorder)


@pytest.fixture
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user data folder the window uses, not made yet (never the real one)."""
    folder = tmp_path / "home" / ".local" / "share" / "notekeeper"
    monkeypatch.setattr(notekeeper.gui, "documents_folder", lambda: folder)
    return folder


@pytest.fixture
def make_window(qtbot: QtBot, migrator: Migrator, data_folder: Path) -> Callable[..., MainWindow]:
    def make(*, assume_yes: bool = False) -> MainWindow:
        window = MainWindow(migrator, assume_yes=assume_yes)
        qtbot.addWidget(window)
        window.show()
        return window

    return make


def open_and_wait(qtbot: QtBot, window: MainWindow, path: Path) -> tuple[bool, str]:
    """``window.open_path(path)``, then wait for the attempt to end."""
    with qtbot.waitSignal(window.settled, timeout=TIMEOUT_MS) as blocker:
        window.open_path(path)
    opened, message = blocker.args or (False, "")
    return bool(opened), str(message)


def alone(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` (made), so that folder holds only what it left."""
    folder.mkdir(parents=True)
    return Path(shutil.move(path, folder / path.name))


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def fill_head(path: Path) -> None:
    """Three notebooks, five notes, three tags, two attachments in a document at head."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(
            "INSERT INTO notebook (id, title, sort_key, archived) VALUES (?, ?, ?, ?)",
            [(1, "Travel", 1, 0), (2, "Recipes", 2, 0), (3, "Work", 3, 1)],
        )
        conn.executemany(
            "INSERT INTO note (id, notebook_id, body, created_at, pinned, author_first, "
            "author_last) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (1, 1, "Pack the engine", "2024-05-01 10:00:00.000000", 1, "Ada", "Lovelace"),
                (2, 1, "Visit the cave", "2024-06-02 11:30:00.000000", 0, "Plato", ""),
                (3, 2, "Omelette", "2024-01-03 08:15:00.000000", 0, "Jean", "Paul Sartre"),
                (4, 3, "Ship it", "2024-07-04 09:00:00.000000", 0, "Grace", "Hopper"),
                (5, 3, "Fix the bug", "2024-07-05 09:00:00.000000", 1, "Grace", "Hopper"),
            ],
        )
        conn.executemany(
            "INSERT INTO tag (id, name) VALUES (?, ?)", [(1, "trip"), (2, "food"), (3, "job")]
        )
        conn.executemany(
            "INSERT INTO note_tag (note_id, tag_id) VALUES (?, ?)",
            [(1, 1), (2, 1), (3, 2), (4, 3), (5, 3), (5, 1)],
        )
        conn.executemany(
            "INSERT INTO attachment (id, note_id, filename, data) VALUES (?, ?, ?, ?)",
            [(1, 1, "map.png", b"\x89PNG"), (2, 3, "recipe.txt", b"eggs")],
        )


def rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def select_notebooks(window: MainWindow, ids: set[int]) -> None:
    window.notebook_list.clearSelection()
    for row in range(window.notebook_list.count()):
        item = window.notebook_list.item(row)
        item.setSelected(int(item.data(Qt.ItemDataRole.UserRole)) in ids)


def note_rows(window: MainWindow) -> list[list[str]]:
    """The cells of the notes table, row by row."""
    model = window.note_table.model()
    return [
        [model.data(model.index(row, column)) for column in range(model.columnCount())]
        for row in range(model.rowCount())
    ]


def choose_file(monkeypatch: pytest.MonkeyPatch, method: str, answer: Path | None) -> list[str]:
    """Make ``QFileDialog.<method>`` answer ``answer`` (``None``: Cancel); returns the
    folders it was asked to start in."""
    asked: list[str] = []

    def fake(parent: object, caption: str, start: str, filter: str) -> tuple[str, str]:
        asked.append(start)
        return (str(answer) if answer else "", "")

    monkeypatch.setattr(QFileDialog, method, staticmethod(fake))
    return asked


# -- the glue is small -----------------------------------------------------------------


def glue_lines(source: str) -> list[str]:
    """The code lines between the glue markers: no blank, comment or docstring lines."""
    lines = source.splitlines()
    begin = next(i for i, line in enumerate(lines) if "=== migration glue: begin" in line)
    end = next(i for i, line in enumerate(lines) if "=== migration glue: end" in line)
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    code: set[int] = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip and token.type != tokenize.ENDMARKER:
            code.update(range(token.start[0], token.end[0] + 1))
    wanted = sorted(n for n in code - docstrings if begin + 1 < n < end + 1)
    return [lines[n - 1] for n in wanted]


def test_the_migration_glue_stays_small() -> None:
    glue = glue_lines(GUI_SOURCE.read_text())
    assert 10 < len(glue) <= GLUE_LIMIT, "\n".join(glue)
    text = "\n".join(glue)
    for used in ("plan(", "confirm_upgrade(", "MigrationTask.upgrade(", ".start(dialog=True)"):
        assert used in text
    for used in ("show_error(", "open_read_only(", "create(", "populate="):
        assert used in text


# -- the console mode never imports Qt -------------------------------------------------


CHECK_PROBE = """
import sys
from notekeeper.app import main
code = main(sys.argv[1:])
gui = sorted(m for m in sys.modules if m.split(".")[0] in
             ("PySide6", "shiboken6", "platformdirs") or m == "notekeeper.gui")
print("GUI MODULES:", gui)
sys.exit(code)
"""


@pytest.mark.parametrize("form", [["--check"], []], ids=["--check FILE", "FILE"])
@pytest.mark.parametrize("revision", ["0001_initial", HEAD])
def test_the_console_check_never_imports_qt(
    db_at: Callable[[str], Path], tmp_path: Path, form: list[str], revision: str
) -> None:
    db = db_at(revision)
    if revision == HEAD:
        fill_head(db)
    else:
        fill_release_1(db, 2, 3)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.run(
        [sys.executable, "-c", CHECK_PROBE, *form, str(db)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "GUI MODULES: []" in proc.stdout, proc.stdout
    assert versions(db) == [HEAD]
    assert ("upgraded" in proc.stdout) == (revision != HEAD)


def test_the_command_line_refuses_what_it_does_not_know() -> None:
    from notekeeper.app import main, parse_window_args

    assert main(["--check"]) == 2
    assert main(["--open"]) == 2
    assert main(["--bogus"]) == 2
    options = parse_window_args(["--open", "a.notes", "--yes", "--quit-when-idle"])
    assert options is not None
    assert (options.open, options.yes, options.quit_when_idle) == (Path("a.notes"), True, True)
    assert options.screenshot is None


# -- opening ---------------------------------------------------------------------------


def test_an_old_document_is_upgraded_after_asking_and_shown(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    dialogs: Dialogs,
    db_at: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    db = alone(db_at("0001_initial"), tmp_path / "docs")
    fill_release_1(db, 3, 7)
    window = make_window()
    dialogs.answers = ["Update"]
    events: list[Progress] = []
    with qtbot.waitSignal(window.settled, timeout=TIMEOUT_MS) as blocker:
        window.open_path(db)
        assert window.task is not None  # started; its events come through the event loop
        window.task.progress.connect(events.append)
    assert blocker.args is not None
    opened, message = blocker.args
    assert opened, message
    # Asked first, naming the backup; then upgraded with progress, on the worker.
    ((title, _, informative),) = dialogs.seen
    assert title == "Update the document?"
    assert f"{db.name}." in informative
    assert ".0001_initial.bak" in informative
    assert events
    assert events[-1].phase is Phase.DONE
    assert {e.phase for e in events} >= {Phase.BACKUP, Phase.MIGRATE, Phase.COMMIT}
    # Current, every row kept, the backup beside it, and on screen.
    assert versions(db) == [HEAD]
    (backup,) = [p for p in db.parent.iterdir() if p.suffix == ".bak"]
    assert versions(backup) == ["0001_initial"]
    assert len(rows(db, "note")) == 7
    assert window.doc is not None
    assert window.doc.revision == HEAD
    assert not window.doc.read_only
    assert window.notebook_list.count() == 3
    assert [row[1] for row in note_rows(window)] == ["Notebook 1"] * 2  # the first, at once
    assert "Upgraded" in message
    assert backup.name in message
    assert window.statusBar().currentMessage() == message
    assert not window.banner.isVisible()
    assert window.export_action.isEnabled()


def test_an_upgrade_declined_changes_nothing(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    dialogs: Dialogs,
    db_at: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    db = alone(db_at("0002_tags"), tmp_path / "docs")
    before, files = sha256(db), listing(db.parent)
    window = make_window()
    dialogs.answers = ["Cancel"]
    opened, message = open_and_wait(qtbot, window, db)
    assert not opened
    assert dialogs.titles == ["Update the document?"]
    assert "not opened" in message
    assert window.doc is None
    assert sha256(db) == before
    assert listing(db.parent) == files


def test_a_current_document_opens_at_once(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    dialogs: Dialogs,
    db_at: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    db = alone(db_at(HEAD), tmp_path / "docs")
    fill_head(db)
    before = sha256(db)
    window = make_window()
    opened, message = open_and_wait(qtbot, window, db)
    assert opened, message
    assert dialogs.seen == []
    assert window.task is None
    assert sha256(db) == before
    assert [window.notebook_list.item(i).text() for i in range(3)] == [
        "Travel  (2)",
        "Recipes  (1)",
        "Work  (2)",
    ]
    select_notebooks(window, {1, 3})
    table = note_rows(window)
    assert len(table) == 4
    assert [row[0] for row in table[:2]] == ["Fix the bug", "Pack the engine"]  # pinned first
    tags = {row[0]: row[5] for row in table}
    assert tags == {
        "Fix the bug": "job, trip",
        "Pack the engine": "trip",
        "Visit the cave": "trip",
        "Ship it": "job",
    }


def test_a_newer_document_opens_read_only_and_nothing_is_written(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    dialogs: Dialogs,
    db_at: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    db = alone(db_at(HEAD), tmp_path / "docs")
    fill_head(db)
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (FUTURE_REVISION,))
    before, files = sha256(db), listing(db.parent)
    window = make_window()
    opened, message = open_and_wait(qtbot, window, db)
    assert opened, message
    assert dialogs.seen == [], "a newer file is opened read-only without a dialog"
    assert window.doc is not None
    assert window.doc.read_only
    assert window.banner.isVisible()
    assert "newer release" in window.banner.text()
    assert FUTURE_REVISION in window.banner.text()
    assert "read-only" in window.banner.text()
    assert "read-only" in message
    assert "read-only" in window.windowTitle()
    assert window.notebook_list.count() == 3
    select_notebooks(window, {1, 2})
    assert len(note_rows(window)) == 3
    assert not window.export_action.isEnabled(), "no export from a file we cannot read fully"
    with pytest.raises(sqlite3.OperationalError):
        window.doc.conn.execute("DELETE FROM note")
    assert listing(db.parent) == files
    window.close()
    assert sha256(db) == before
    assert listing(db.parent) == files


def test_a_file_that_is_not_a_document_shows_the_error(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    dialogs: Dialogs,
    tmp_path: Path,
) -> None:
    text = tmp_path / "docs" / "shopping list.notes"
    text.parent.mkdir()
    text.write_text("eggs\nmilk\n" * 100)
    before = sha256(text)
    window = make_window()
    opened, message = open_and_wait(qtbot, window, text)
    assert not opened
    ((title, body, _),) = dialogs.seen
    assert title == "Not a document"
    assert "“shopping list.notes”" in body
    assert "not opened" in message
    assert window.doc is None
    assert not window.export_action.isEnabled()
    assert sha256(text) == before
    assert listing(text.parent) == [text.name]


def test_a_missing_file_shows_the_error_and_makes_none(
    qtbot: QtBot, make_window: Callable[..., MainWindow], dialogs: Dialogs, tmp_path: Path
) -> None:
    missing = tmp_path / "gone.notes"
    window = make_window()
    opened, _ = open_and_wait(qtbot, window, missing)
    assert not opened
    assert dialogs.titles == ["Document not found"]
    assert not missing.exists()


def test_two_windows_migrate_two_files_at_once(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    dialogs: Dialogs,
    db_at: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    first = alone(db_at("0001_initial"), tmp_path / "a")
    second = alone(db_at("0003_pinned"), tmp_path / "b")
    fill_release_1(first, 2, 40, tag="first ")
    with closing(sqlite3.connect(second)) as conn, conn:
        conn.execute("INSERT INTO notebook (id, title, sort_key) VALUES (1, 'Second', '5')")
        conn.execute(
            "INSERT INTO note (id, notebook_id, author_name, body, created_at, pinned) "
            "VALUES (1, 1, 'Grace Hopper', 'second body', '2024-01-01', 1)"
        )
    windows = [make_window(assume_yes=True), make_window(assume_yes=True)]
    with (
        qtbot.waitSignal(windows[0].settled, timeout=TIMEOUT_MS) as one,
        qtbot.waitSignal(windows[1].settled, timeout=TIMEOUT_MS) as two,
    ):
        windows[0].open_path(first)
        windows[1].open_path(second)
        assert all(w.task is not None and w.task.running for w in windows)
    assert one.args == [True, one.args[1]] if one.args else False, one.args
    assert two.args == [True, two.args[1]] if two.args else False, two.args
    assert dialogs.seen == []
    assert versions(first) == [HEAD]
    assert versions(second) == [HEAD]
    assert schema(first) == schema(second)
    assert len(rows(first, "note")) == 40
    assert {r[2] for r in rows(first, "note")} == {f"Note first {i}" for i in range(1, 41)}
    with closing(sqlite3.connect(second)) as conn:
        note = "SELECT notebook_id, body, pinned, author_first, author_last FROM note"
        assert conn.execute(note).fetchall() == [(1, "second body", 1, "Grace", "Hopper")]
        assert conn.execute("SELECT sort_key FROM notebook").fetchall() == [(5,)]
    assert [d.path for d in (windows[0].doc, windows[1].doc) if d] == [first, second]


# -- new documents and exports ---------------------------------------------------------


def test_export_writes_a_new_document_at_head_with_exactly_the_selected_notebooks(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    dialogs: Dialogs,
    db_at: Callable[[str], Path],
    tmp_path: Path,
    data_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = alone(db_at(HEAD), tmp_path / "docs")
    fill_head(db)
    source = sha256(db)
    window = make_window()
    assert open_and_wait(qtbot, window, db)[0]
    select_notebooks(window, {1, 3})
    assert window.export_action.isEnabled()
    target = tmp_path / "exports" / "Travel and work"
    target.parent.mkdir()
    asked = choose_file(monkeypatch, "getSaveFileName", target)
    window.export_action.trigger()
    exported = target.with_suffix(".notes")
    assert dialogs.seen == []
    assert asked == [str(data_folder / f"{db.stem} (selection).notes")]
    assert not data_folder.exists(), "the data folder stays only if the user saves there"
    assert versions(exported) == [HEAD]
    assert schema(exported) == schema(db)
    assert [r[0] for r in rows(exported, "notebook")] == [1, 3]
    assert rows(exported, "notebook") == [r for r in rows(db, "notebook") if r[0] in (1, 3)]
    assert rows(exported, "note") == [r for r in rows(db, "note") if r[1] in (1, 3)]
    assert rows(exported, "note_tag") == [r for r in rows(db, "note_tag") if r[0] in (1, 2, 4, 5)]
    assert rows(exported, "tag") == [r for r in rows(db, "tag") if r[0] in (1, 3)]
    assert rows(exported, "attachment") == [r for r in rows(db, "attachment") if r[1] == 1]
    with closing(sqlite3.connect(exported)) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert "Exported 2 notebooks and 4 notes" in window.statusBar().currentMessage()
    assert sha256(db) == source
    # An export never overwrites: the same name again is refused, and said so.
    choose_file(monkeypatch, "getSaveFileName", exported)
    window.export_action.trigger()
    assert dialogs.titles == ["Document already exists"]


def test_export_rows_selection_reads_what_belongs_to_the_notebooks(
    db_at: Callable[[str], Path],
) -> None:
    db = db_at(HEAD)
    fill_head(db)
    with closing(sqlite3.connect(db)) as conn:
        selection = document.Selection.read(conn, [2])
    assert selection.rows("notebook") == 1
    assert selection.rows("note") == 1
    assert selection.rows("tag") == 1
    assert selection.rows("note_tag") == 1
    assert selection.rows("attachment") == 1


def test_new_document_is_made_in_the_data_folder_only_when_saved_there(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    dialogs: Dialogs,
    data_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = make_window()
    # Open… looks there but makes nothing; a cancelled New… leaves nothing either.
    asked = choose_file(monkeypatch, "getOpenFileName", None)
    window.choose_and_open()
    assert asked == [str(Path.home())]
    assert not data_folder.exists()
    choose_file(monkeypatch, "getSaveFileName", None)
    window.new_document()
    assert not data_folder.exists()
    assert not data_folder.parent.parent.exists(), "parents made for the dialog go too"
    # Saved there: the folder stays, with the new document at head, open.
    target = data_folder / "Ideas.notes"
    choose_file(monkeypatch, "getSaveFileName", target)
    with qtbot.waitSignal(window.settled, timeout=TIMEOUT_MS):
        window.new_document()
    assert versions(target) == [HEAD]
    assert listing(data_folder) == ["Ideas.notes"]
    assert window.doc is not None
    assert window.doc.path == target
    assert dialogs.seen == []
    asked = choose_file(monkeypatch, "getOpenFileName", None)
    window.choose_and_open()
    assert asked == [str(data_folder)]


# -- driven from the command line (offscreen) ------------------------------------------


def run_window(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "notekeeper", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_window_can_be_driven_by_a_script(db_at: Callable[[str], Path], tmp_path: Path) -> None:
    db = alone(db_at("0001_initial"), tmp_path / "docs")
    fill_release_1(db, 2, 5)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    picture = tmp_path / "window.png"
    args = ["--open", str(db), "--yes", "--quit-when-idle", "--screenshot", str(picture)]
    proc = run_window(args, cwd)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert f"upgraded {db} from 0001_initial; backup: " in proc.stdout
    assert f"opened {db} at {HEAD}: 2 notebooks, 5 notes" in proc.stdout
    assert picture.read_bytes().startswith(b"\x89PNG")
    assert versions(db) == [HEAD]
    assert listing(cwd) == []


def test_without_yes_the_question_is_answered_no(
    db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    db = alone(db_at("0004_sort_key_integer"), tmp_path / "docs")
    before = sha256(db)
    proc = run_window(["--open", str(db), "--quit-when-idle"], tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "dialog: Update the document?" in proc.stdout
    assert sha256(db) == before
    assert listing(db.parent) == [db.name]
