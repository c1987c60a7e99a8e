"""The notekeeper window (PySide6): notebooks and their notes, File → Open/New/Export.

Everything the window does about schemas — plan, ask, upgrade on a worker thread with
a progress dialog and Cancel, errors, read-only for a newer file, exports born at the
newest revision — is in one marked block of :class:`MainWindow` (the *migration
glue*); ``tests/test_notekeeper_gui.py`` counts its lines.  The rest is an ordinary
Qt window, and :class:`Autopilot` lets scripts drive it without a person (``--open``,
``--yes``, ``--quit-when-idle``, ``--screenshot``).
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from pathlib import Path

import platformdirs
from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from frozen_alembic import FrozenAlembicError, Migrator, open_read_only
from frozen_alembic.qt import MigrationTask, confirm_upgrade, error_text, show_error

from . import document

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtGui import QCloseEvent

    from frozen_alembic import Progress, Report

    from .app import WindowOptions

APP = "notekeeper"
_ROOT = QModelIndex()
_DISPLAY = Qt.ItemDataRole.DisplayRole
FILTER = "Notekeeper documents (*.notes);;All files (*)"


def documents_folder() -> Path:
    """Where documents go by default: the user data folder (it may not exist yet)."""
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


class NotesModel(QAbstractTableModel):
    """The notes of the selected notebooks, for a view that asks only for what it shows."""

    HEADERS = ("Note", "Notebook", "Author", "Created", "Pinned", "Tags")

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[document.Note] = []

    def set_notes(self, notes: list[document.Note]) -> None:
        self.beginResetModel()
        self.notes = notes
        self.endResetModel()

    def rowCount(self, /, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.notes)

    def columnCount(self, /, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: QModelIndex | QPersistentModelIndex, /, role: int = _DISPLAY) -> object:
        if role != _DISPLAY or not index.isValid():
            return None
        note = self.notes[index.row()]
        cells = (note.body, note.notebook, note.author, note.created_at[:16])
        return (*cells, "yes" if note.pinned else "", note.tags)[index.column()]

    def headerData(
        self, section: int, orientation: Qt.Orientation, /, role: int = _DISPLAY
    ) -> object:
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None


class OpenDocument:
    """The document the window shows: its file, connection and revision."""

    def __init__(self, path: Path, conn: sqlite3.Connection, read_only: bool) -> None:
        self.path = path
        self.conn = conn
        self.read_only = read_only
        row = conn.execute("SELECT group_concat(version_num, '+') FROM alembic_version")
        self.revision: str = row.fetchone()[0] or "?"


class MainWindow(QMainWindow):
    """One document: a multi-select list of notebooks and the notes of the selected ones.

    :param migrator: the app's migrations (default: the bundled ones).
    :param assume_yes: upgrade without asking (``--yes``, for automation).
    """

    settled = Signal(bool, str)
    """An attempt to open a document ended: ``(opened, what happened)``."""

    def __init__(self, migrator: Migrator | None = None, *, assume_yes: bool = False) -> None:
        super().__init__()
        self.migrator = migrator or Migrator.locate("migrations", anchor=APP)
        self.assume_yes = assume_yes
        self.doc: OpenDocument | None = None
        self.task: MigrationTask | None = None
        self.report: Report | None = None
        self._build()

    # === migration glue: begin ======================================================
    # Everything about schemas: plan, ask, upgrade on a worker thread with progress
    # and Cancel, errors, read-only for newer files, new files and exports at head.
    # tests/test_notekeeper_gui.py counts the code lines here (at most 30).

    def open_path(self, path: Path) -> None:
        """Open ``path``: as it is when current, read-only when newer, else upgraded."""
        try:
            plan = self.migrator.plan(path)  # standard library only: fine on this thread
        except FrozenAlembicError as err:
            return self.failed(path, err)
        if plan.status.is_current or plan.status.is_too_new:
            return self.show_document(path, plan.status.is_too_new)
        if plan.needs_upgrade and not (self.assume_yes or confirm_upgrade(self, plan)):
            return self.settle(False, f"{path.name} was not opened (not upgraded).")
        self.task = MigrationTask.upgrade(self.migrator, path, parent=self)
        self.task.succeeded.connect(lambda report: self.show_document(path, False, report))
        self.task.failed.connect(lambda err: self.failed(path, err))  # unversioned too
        return self.task.start(dialog=True)  # a progress dialog with Cancel; a QThread

    def failed(self, path: Path, err: FrozenAlembicError) -> None:  # cancelled, too
        if show_error(self, err):  # True: "open read-only" chosen (a newer file)
            return self.show_document(path, True)
        return self.settle(False, f"{path.name} was not opened: {error_text(err).text}")

    def open_connection(self, path: Path, read_only: bool) -> sqlite3.Connection:
        uri = f"{path.absolute().as_uri()}?mode=rw"  # an existing file only
        return open_read_only(path) if read_only else sqlite3.connect(uri, uri=True)

    def create_document(self, target: Path, selection: document.Selection | None = None) -> bool:
        """A new document at ``target``, at head; with ``selection``'s rows in it."""
        try:
            self.migrator.create(target, populate=selection.insert_into if selection else None)
        except FrozenAlembicError as err:
            show_error(self, err)
            return False
        return True

    # === migration glue: end ========================================================

    def show_document(self, path: Path, read_only: bool, report: Report | None = None) -> None:
        """Show the document at ``path`` (current, or newer and ``read_only``)."""
        try:
            conn = self.open_connection(path, read_only)
        except FrozenAlembicError as err:
            return self.failed(path, err)
        try:
            doc = OpenDocument(path, conn, read_only)
            books = document.notebooks(conn)
        except sqlite3.Error as err:  # a newer release changed more than we can read
            conn.close()
            QMessageBox.warning(self, "Cannot show the document", f"{path}:\n{err}")
            return self.settle(False, f"{path.name} was not opened: {err}")
        self.close_document()
        self.doc, self.report = doc, report
        self.notebook_list.clear()
        for book in books:
            item = QListWidgetItem(f"{book.title}  ({book.notes})")
            item.setData(Qt.ItemDataRole.UserRole, book.id)
            self.notebook_list.addItem(item)
        if books:
            self.notebook_list.setCurrentRow(0)
        self.show_notes()
        self.setWindowTitle(f"{path.name}{' [read-only]' if read_only else ''} — notekeeper")
        self.banner.setText(
            f"{path.name} was written by a newer release of notekeeper "
            f"(revision {doc.revision}). It is open read-only: nothing will be "
            "changed, and export is off."
        )
        self.banner.setVisible(read_only)
        if report is not None and report.changed:
            before = "+".join(report.before) or "nothing"
            backup = f"; the old version is kept as {report.backup.name}" if report.backup else ""
            message = f"Upgraded {path.name} from {before} to {doc.revision}{backup}."
        else:
            message = f"Opened {path.name}{' read-only' if read_only else ''}."
        return self.settle(True, message)

    def closeEvent(self, event: QCloseEvent) -> None:
        # (A migration still running is cancelled and waited for by frozen_alembic.qt
        # when the application quits; its progress dialog keeps this window modal.)
        self.close_document()
        super().closeEvent(event)

    def close_document(self) -> None:
        if self.doc is not None:
            self.doc.conn.close()
            self.doc = None

    def settle(self, opened: bool, message: str) -> None:
        self.statusBar().showMessage(message)
        self.update_actions()
        self.settled.emit(opened, message)

    # -- the window -------------------------------------------------------------------

    def _build(self) -> None:
        self.setWindowTitle(APP)
        self.resize(1000, 560)
        menu = self.menuBar().addMenu("&File")
        self._action(menu, "&New…", QKeySequence.StandardKey.New, self.new_document)
        self._action(menu, "&Open…", QKeySequence.StandardKey.Open, self.choose_and_open)
        self.export_action = self._action(
            menu, "&Export selection…", QKeySequence("Ctrl+E"), self.export_selection
        )
        menu.addSeparator()
        self._action(menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "background: #fff3c4; color: #5c4400; border: 1px solid #e0c060; padding: 6px;"
        )
        self.banner.setVisible(False)
        self.notebook_list = QListWidget()
        self.notebook_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.notebook_list.itemSelectionChanged.connect(self.show_notes)
        self.notes_model = NotesModel()
        self.note_table = QTreeView()
        self.note_table.setModel(self.notes_model)
        self.note_table.setRootIsDecorated(False)
        self.note_table.setUniformRowHeights(True)
        self.note_table.setAlternatingRowColors(True)
        header = self.note_table.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the note's text
        splitter = QSplitter()
        splitter.addWidget(self.notebook_list)
        splitter.addWidget(self.note_table)
        splitter.setSizes([220, 780])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addWidget(splitter)
        self.setCentralWidget(central)
        self.statusBar().showMessage("File → Open… a document, or File → New…")
        self.update_actions()

    def _action(
        self,
        menu: QMenu,
        text: str,
        keys: QKeySequence | QKeySequence.StandardKey,
        slot: Callable[[], object],
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcut(keys)
        action.triggered.connect(lambda: slot())
        menu.addAction(action)
        return action

    def selected_ids(self) -> list[int]:
        return sorted(
            int(item.data(Qt.ItemDataRole.UserRole)) for item in self.notebook_list.selectedItems()
        )

    def show_notes(self) -> None:
        notes = [] if self.doc is None else document.notes(self.doc.conn, self.selected_ids())
        self.notes_model.set_notes(notes)
        for column in range(1, self.notes_model.columnCount()):
            self.note_table.resizeColumnToContents(column)
        self.update_actions()

    def update_actions(self) -> None:
        writable = self.doc is not None and not self.doc.read_only
        self.export_action.setEnabled(writable and bool(self.selected_ids()))

    # -- File menu --------------------------------------------------------------------

    def choose_and_open(self) -> None:
        folder = documents_folder()
        start = folder if folder.is_dir() else Path.home()  # never made just to look
        chosen, _ = QFileDialog.getOpenFileName(self, "Open a document", str(start), FILTER)
        if chosen:
            self.open_path(Path(chosen))

    def ask_save_path(self, title: str, name: str) -> Path | None:
        """Ask where to save, starting in the documents folder.

        The folder is made so that the dialog can show it, and removed again (with any
        parent made for it) unless the user saves into it.
        """
        folder = documents_folder()
        made = [p for p in (folder, *folder.parents) if not p.exists()]  # innermost first
        folder.mkdir(parents=True, exist_ok=True)
        target = None
        try:
            chosen, _ = QFileDialog.getSaveFileName(self, title, str(folder / name), FILTER)
            if chosen:
                target = Path(chosen)
                target = target if target.suffix else target.with_suffix(".notes")
        finally:
            if target is None or target.parent != folder:
                for path in made:
                    with contextlib.suppress(OSError):
                        path.rmdir()
        return target

    def new_document(self) -> None:
        target = self.ask_save_path("New document", "Notes.notes")
        if target is not None and self.create_document(target):
            self.open_path(target)

    def export_selection(self) -> None:
        if self.doc is None or self.doc.read_only or not self.selected_ids():
            return
        name = f"{self.doc.path.stem} (selection).notes"
        target = self.ask_save_path("Export selection", name)
        if target is None:
            return
        selection = document.Selection.read(self.doc.conn, self.selected_ids())
        if self.create_document(target, selection):
            books, notes = selection.rows("notebook"), selection.rows("note")
            self.statusBar().showMessage(
                f"Exported {books} notebooks and {notes} notes to {target.name}."
            )


class Autopilot(QObject):
    """Drives the window for scripts and tests: prints what happened, answers, quits.

    It prints the upgrade's steps and every dialog shown.  With ``--quit-when-idle``
    every message box is dismissed (its "no"), and the app quits once the document
    is open or could not be opened — exit code 0 or 1; ``--screenshot PNG`` saves the
    window at that moment.
    """

    def __init__(self, app: QApplication, options: WindowOptions) -> None:
        super().__init__(app)
        self.options = options
        self.window: MainWindow | None = None
        self.opened = False
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and isinstance(watched, QMessageBox):
            print(f"dialog: {watched.windowTitle()}: {watched.text()}", flush=True)
            if self.options.quit_when_idle:
                QTimer.singleShot(0, watched.reject)
        elif event.type() == QEvent.Type.Show and isinstance(watched, QProgressDialog):
            print(f"progress dialog shown: {watched.windowTitle()}", flush=True)
        return False

    def open(self, path: Path) -> None:
        """Open ``path`` in the window, printing the upgrade's steps if there is one."""
        assert self.window is not None
        self.window.open_path(path)
        task = self.window.task
        if task is not None:  # its events arrive through the event loop: none missed
            task.progress.connect(self.on_progress)

    def on_progress(self, progress: Progress) -> None:
        if progress.revision is not None:
            print(f"  [{progress.done + 1}/{progress.total}] {progress.message}", flush=True)

    def watch(self, window: MainWindow) -> None:
        self.window = window
        window.settled.connect(self.on_settled)
        print(f"notekeeper: migrations from {window.migrator.script_location}", flush=True)

    def on_settled(self, opened: bool, message: str) -> None:
        window = self.window
        assert window is not None
        self.opened = opened
        report, doc = window.report, window.doc
        if opened and doc is not None:
            if report is not None and report.changed:
                before = "+".join(report.before) or "nothing"
                print(f"upgraded {doc.path} from {before}; backup: {report.backup}")
            books, notes = document.counts(doc.conn)
            mode = " read-only" if doc.read_only else ""
            print(f"opened {doc.path}{mode} at {doc.revision}: {books} notebooks, {notes} notes")
        print(f"status: {message}", flush=True)
        # A moment for the progress dialog to close and the window to be painted.
        QTimer.singleShot(400 if self.options.screenshot else 0, self.finish)

    def finish(self) -> None:
        window = self.window
        assert window is not None
        if self.options.screenshot is not None:
            if QGuiApplication.platformName() == "offscreen":
                picture = window.grab()
            else:  # the pixels the display server shows
                picture = window.screen().grabWindow(window.winId())
            picture.save(str(self.options.screenshot))
            print(f"screenshot: {self.options.screenshot}", flush=True)
        if self.options.quit_when_idle:
            if window.task is not None:
                window.task.wait()
            QApplication.exit(0 if self.opened else 1)


def main(options: WindowOptions) -> int:
    """Run the window (``notekeeper [--open FILE] ...``); see :mod:`notekeeper.app`.

    :return: the process exit code.
    """
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP)
    automated = options.quit_when_idle or options.screenshot is not None
    autopilot = Autopilot(app, options) if automated else None
    try:
        window = MainWindow(assume_yes=options.yes)
    except FrozenAlembicError as err:  # the build's migrations are missing or altered
        show_error(None, err)
        return 1
    window.show()
    path = options.open
    if autopilot is not None:
        autopilot.watch(window)
        if path is None:
            QTimer.singleShot(0, lambda: window.settle(False, "no document given"))
        else:
            QTimer.singleShot(0, lambda: autopilot.open(path))
    elif path is not None:
        QTimer.singleShot(0, lambda: window.open_path(path))
    return app.exec()
