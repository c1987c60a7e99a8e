"""PySide6 helpers: a migration on a worker thread, a progress dialog with Cancel, dialogs.

Optional (``pip install frozen-alembic[qt]``) and never imported by the rest of the
library.  Everything a window needs around a migration::

    from frozen_alembic import Migrator
    from frozen_alembic.qt import MigrationTask, confirm_upgrade, show_error

    plan = migrator.plan(path)                  # cheap: fine on the GUI thread
    if plan.needs_upgrade and confirm_upgrade(window, plan):
        task = MigrationTask.upgrade(migrator, path, parent=window)
        task.succeeded.connect(window.open_document)
        task.failed.connect(lambda err: show_error(window, err))
        task.start(dialog=True)                 # a QProgressDialog with Cancel

The work runs on a :class:`~PySide6.QtCore.QThread`; every signal reaches its slots
on the thread of the task's parent (the GUI thread) as a queued signal, so slots may
touch widgets.  Nothing here calls a widget from the worker.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QProgressBar, QProgressDialog, QPushButton, QWidget

from ._events import CancelToken, Phase
from ._exceptions import (
    BackupFailed,
    DatabaseBusy,
    DatabaseExists,
    DatabaseNotFound,
    DatabaseTooNew,
    DiskFull,
    FrozenAlembicError,
    InvalidTarget,
    MigrationCancelled,
    MigrationFailed,
    NotADatabase,
    ReadOnlyDatabase,
    ScriptsError,
    StorageError,
    UnsafeConnection,
    UnversionedDatabase,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from PySide6.QtGui import QCloseEvent

    from ._events import Progress
    from ._migrator import Migrator
    from ._report import Report
    from ._status import Plan

__all__ = [
    "ErrorText",
    "MigrationTask",
    "confirm_upgrade",
    "error_text",
    "show_error",
]

SHOW_AFTER_MS = 300
"""How long a :class:`MigrationTask`'s progress dialog waits before it appears, so a
quick change does not flash a window."""

NO_LONGER_CANCELLABLE = "Saving the changes: this can no longer be cancelled."
"""The progress dialog's second line from the commit on (its Cancel button is off)."""

CANCELLING = "Cancelling…"
"""The progress dialog's label once the user asked to cancel."""

# QProgressBar holds an int; larger totals are scaled down (never in practice: the
# units are pages and rows, but a bar must not overflow).
_BAR_LIMIT = 2**31 - 1

# How many of a plan's revision messages confirm_upgrade() lists.
_LISTED_CHANGES = 8


# -- texts for the user ---------------------------------------------------------------


class ErrorText:
    """What to tell the user about a :class:`FrozenAlembicError` (see :func:`error_text`).

    :ivar title: the dialog's title.
    :ivar text: one or two sentences for the user.
    :ivar details: the library's full message, for "Show Details...".
    :ivar offer_read_only: whether opening the file read-only makes sense
        (a file from a newer release).
    """

    def __init__(self, title: str, text: str, details: str, offer_read_only: bool) -> None:
        self.title = title
        self.text = text
        self.details = details
        self.offer_read_only = offer_read_only

    def __repr__(self) -> str:
        return (
            f"ErrorText(title={self.title!r}, text={self.text!r}, details={self.details!r}, "
            f"offer_read_only={self.offer_read_only!r})"
        )


def _name(err: FrozenAlembicError) -> str:
    """The document as the user knows it: its file name in quotes, or "The document"."""
    path: Path | None = getattr(err, "path", None)
    return f"“{path.name}”" if path is not None and path.name else "The document"


def _file_state(err: FrozenAlembicError) -> str:
    """What became of the file, and where its backup is, for the user."""
    if err.restored:
        return (
            "It was put back as it was before the update, from the backup made first. "
            f"That backup is kept at: {err.backup}"
        )
    if err.unchanged:
        return "The document was not changed."
    if err.backup is not None:
        return (
            "It may have been changed. A backup made before the update is kept at: "
            f"{err.backup} (if the document looks wrong, use that copy)."
        )
    return "It may have been changed, and no backup was made: check it before using it."


def _details(err: BaseException) -> str:
    """The library's message, with the low-level cause when there is one."""
    text = str(err) or type(err).__name__
    cause = err.__cause__
    if cause is not None:
        text += f"\n\nCause: {type(cause).__name__}: {cause}"
    return text


def error_text(err: FrozenAlembicError) -> ErrorText:
    """The user-facing texts for ``err``: too new, not a database, busy, failed, ...

    ``MigrationFailed`` and the others raised after a backup say whether the file was
    left unchanged and where the backup is (``err.backup``).
    """
    name = _name(err)
    offer_read_only = False
    if isinstance(err, DatabaseTooNew):
        title = "Document from a newer version"
        text = (
            f"{name} was saved by a newer version of this application, so this version "
            "cannot update or change it. You can open it read-only, or install the newest "
            "version to work on it."
        )
        offer_read_only = True
    elif isinstance(err, NotADatabase):
        title = "Not a document"
        text = (
            f"{name} is not a document this application can open: it is empty, in "
            "another format, or damaged. It was not changed."
        )
    elif isinstance(err, DatabaseNotFound):
        title = "Document not found"
        text = f"{name} was not found. It may have been moved, renamed or deleted."
    elif isinstance(err, DatabaseExists):
        title = "Document already exists"
        text = f"{name} already exists and was left as it is. Choose another name."
    elif isinstance(err, UnversionedDatabase):
        title = "Unknown document"
        text = (
            f"{name} holds data but no version, so this application cannot tell how to "
            "update it. It was not changed."
        )
    elif isinstance(err, DatabaseBusy):
        title = "Document in use"
        text = (
            f"{name} is in use by another program or window. Close it there, then try "
            "again. It was not changed."
        )
    elif isinstance(err, ReadOnlyDatabase):
        title = "Document is read-only"
        text = (
            f"{name} cannot be updated: the file, its folder or its disk is read-only. "
            "Copy it to a folder you can write to and open it from there. It was not "
            "changed."
        )
    elif isinstance(err, DiskFull):
        title = "Disk full"
        text = (
            f"There is not enough free space to update {name}. Free some space, then "
            f"try again. {_file_state(err)}"
        )
    elif isinstance(err, StorageError):
        title = "Cannot use the document"
        text = (
            f"The system could not read or write {name} (a name too long, no permission, "
            f"or a disk error). {_file_state(err)}"
        )
    elif isinstance(err, UnsafeConnection):
        title = "Cannot update the document"
        text = (
            "This application asked to update the document in a way that is not safe, so "
            "nothing was done. The document was not changed. Please report this problem."
        )
    elif isinstance(err, MigrationCancelled):
        title = "Update cancelled"
        text = f"The update was cancelled. {_file_state(err)}"
    elif isinstance(err, MigrationFailed):
        title = "Update failed"
        text = (
            f"{name} could not be updated for this version of the application. {_file_state(err)}"
        )
    elif isinstance(err, BackupFailed):
        title = "Backup failed"
        text = (
            f"A backup of {name} could not be made, so it was not updated. Check that its "
            "folder can be written to and has free space. The document was not changed."
        )
    elif isinstance(err, ScriptsError):  # ScriptsNotFound, TamperedScripts
        title = "Application damaged"
        text = (
            "This application's installation is incomplete or damaged, so it cannot "
            "update documents. Please reinstall it. The document was not changed."
        )
    elif isinstance(err, InvalidTarget):
        title = "Cannot update the document"
        text = (
            "This application asked for a version of the document it does not know. "
            "The document was not changed. Please report this problem."
        )
    else:
        title = "Cannot update the document"
        text = f"{name} could not be updated. {_file_state(err)}"
    return ErrorText(title, text, _details(err), offer_read_only)


def show_error(parent: QWidget | None, err: FrozenAlembicError) -> bool:
    """Show ``err`` in a modal message box.

    The box shows :func:`error_text`'s title and text, with the library's message
    under "Show Details...".

    :return: ``True`` when the user chose to open the file read-only (offered for
        :class:`~frozen_alembic.DatabaseTooNew` only), else ``False``.
    """
    info = error_text(err)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(info.title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(info.text)
    box.setDetailedText(info.details)
    read_only: QPushButton | None = None
    if info.offer_read_only:
        read_only = box.addButton("Open Read-Only", QMessageBox.ButtonRole.AcceptRole)
        close = box.addButton(QMessageBox.StandardButton.Close)
        box.setDefaultButton(read_only)
        box.setEscapeButton(close)
    else:
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.exec()
    chosen = read_only is not None and box.clickedButton() is read_only
    box.deleteLater()
    return chosen


def confirm_upgrade(parent: QWidget | None, plan: Plan) -> bool:
    """Ask before upgrading: what will change, and where the backup will be.

    A modal message box with Update and Cancel: the document needs updating for this
    version, the changes (the pending revisions' messages), and the backup's path
    (``plan.backup``, or that no backup will be made).  When nothing is pending there
    is nothing to ask, and it returns ``True`` without showing anything.

    :return: ``True`` when the user accepts.
    """
    if not plan.needs_upgrade:
        return True
    path = plan.status.path
    name = f"“{path.name}”" if path is not None else "The document"
    if plan.status.current:
        text = (
            f"{name} was made with an older version of this application. It needs to be "
            "updated before this version can open it."
        )
    else:
        text = f"{name} is empty. It needs to be set up before this version can open it."
    count = len(plan.pending)
    lines = [html.escape(rev.message or rev.id) for rev in plan.pending[:_LISTED_CHANGES]]
    if count > _LISTED_CHANGES:
        lines.append(f"…and {count - _LISTED_CHANGES} more")
    changes = "<br>".join(f"• {line}" for line in lines)
    if plan.backup is not None:
        backup = (
            "A backup of the document as it is now will be saved first, as:<br>"
            f"{html.escape(str(plan.backup))}<br>(with the time the update starts in its name)"
        )
    else:
        backup = "No backup will be made."
    plural = "change" if count == 1 else "changes"
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Update the document?")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    box.setInformativeText(f"<p>{count} {plural}:<br>{changes}</p><p>{backup}</p>")
    update = box.addButton("Update", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(update)
    box.setEscapeButton(cancel)
    box.exec()
    accepted = box.clickedButton() is update
    box.deleteLater()
    return accepted


# -- the worker -----------------------------------------------------------------------


_RUNNING: set[_Runner] = set()
"""Threads still running: kept alive here, so that neither a task dropped by its caller
nor a parent window deleted mid-run destroys a running QThread (Qt aborts on that)."""

_quit_hook_installed = False


def _stop_all() -> None:
    """At application exit: cancel every running change, then wait for the threads."""
    runners = list(_RUNNING)
    for runner in runners:
        runner.token.cancel()
    for runner in runners:
        runner.wait()


def _install_quit_hook() -> None:
    global _quit_hook_installed
    app = QCoreApplication.instance()
    if app is not None and not _quit_hook_installed:
        app.aboutToQuit.connect(_stop_all)
        _quit_hook_installed = True


class _Runner(QThread):
    """The worker thread: runs the work, reports through queued signals, nothing else.

    It lives (as a ``QObject``) on the GUI thread; only :meth:`run` runs on the worker,
    and all it touches there is the work, the token and its own signals.
    """

    progress = Signal(object)
    outcome = Signal(object)

    def __init__(self, work: Callable[..., Report], token: CancelToken, task: object) -> None:
        super().__init__()
        self._work = work
        self.token = token
        self.task = task  # keeps the caller's task alive until the thread ends
        self.finished.connect(self._forget, Qt.ConnectionType.QueuedConnection)

    def run(self) -> None:
        """The worker thread's body."""
        outcome: object
        try:
            outcome = self._work(progress=self.progress.emit, cancel=self.token)
        except FrozenAlembicError as err:
            outcome = err
        except BaseException as err:  # the library raises only its own; be sure anyway
            wrapped = FrozenAlembicError(
                f"The change stopped on an unexpected error: {type(err).__name__}: {err}"
            )
            wrapped.__cause__ = err
            outcome = wrapped
        self.outcome.emit(outcome)

    @Slot()
    def _forget(self) -> None:
        self.wait()
        _RUNNING.discard(self)
        self.task = None


class _ProgressDialog(QProgressDialog):
    """A ``QProgressDialog`` that a worker's events drive, and that stays until the end.

    QProgressDialog is made for work on the GUI thread: its ``setValue`` runs the event
    loop when the dialog is modal, it resets and hides itself at the maximum, and its
    Cancel button, Escape key and close button hide it at once.  Here the bar (our own
    ``QProgressBar``) is set directly, auto-reset and auto-close are off, and Cancel,
    Escape and closing the window only ask the task to stop: the dialog stays, saying
    "Cancelling…", until the task has finished.
    """

    def __init__(self, parent: QWidget | None, title: str, on_cancel: Callable[[], None]) -> None:
        super().__init__(parent)
        self._on_cancel = on_cancel
        self._cancelling = False
        self._cancellable = True
        self._ended = False
        self._scale = 1
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setAutoReset(False)
        self.setAutoClose(False)
        self._bar = QProgressBar(self)
        self.setBar(self._bar)
        self._button = QPushButton("Cancel", self)
        self.setCancelButton(self._button)
        # QProgressDialog connects its own canceled() to cancel(), which hides it.
        self.canceled.disconnect(self.cancel)
        self.canceled.connect(self._cancel_requested)
        self.setLabelText("Opening the document…")
        self.setRange(0, 1)
        self.setMinimumDuration(SHOW_AFTER_MS)
        self.setValue(0)  # at the minimum: starts the timer that shows the dialog

    def show_progress(self, event: Progress) -> None:
        """Follow one event: the bar, the label, and whether Cancel still counts."""
        if self._ended:
            return
        total = max(event.total, 1)
        self._scale = -(-total // _BAR_LIMIT)
        maximum = total // self._scale
        if self.maximum() != maximum:
            self.setMaximum(maximum)
        self._bar.setValue(min(event.done // self._scale, maximum))
        if not event.cancellable:
            self._cancellable = False
            self._button.setEnabled(False)
            if event.phase is Phase.DONE:
                self.setLabelText(event.message)
            else:
                self.setLabelText(f"{event.message}\n{NO_LONGER_CANCELLABLE}")
        elif self._cancelling:
            self.setLabelText(f"{CANCELLING}\n{event.message}")
        else:
            self.setLabelText(event.message)

    def end(self) -> None:
        """The task finished: close for good (the dialog keeps its last values)."""
        self._ended = True
        value, maximum = self.value(), self.maximum()
        self.reset()  # stops the timer that would show the dialog
        self.setMaximum(maximum)
        self._bar.setValue(value)
        self.hide()

    @Slot()
    def _cancel_requested(self) -> None:
        if self._ended or self._cancelling or not self._cancellable:
            return
        self._cancelling = True
        self._button.setEnabled(False)
        self.setLabelText(CANCELLING)
        self._on_cancel()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the window while the task runs means Cancel; the dialog stays."""
        if self._ended:
            event.accept()
            return
        event.ignore()
        self._cancel_requested()

    def reject(self) -> None:
        """Escape while the task runs means Cancel; the dialog stays."""
        if self._ended:
            super().reject()
        else:
            self._cancel_requested()


class MigrationTask(QObject):
    """A change (upgrade, downgrade, create...) running on a worker thread.

    A ``QObject`` with these signals, all delivered on the thread that made the task
    (the GUI thread), so their slots may touch widgets:

    * ``progress(Progress)`` — every :class:`~frozen_alembic.Progress` event, in order;
    * ``succeeded(Report)`` — the change committed;
    * ``failed(FrozenAlembicError)`` — it failed, or was cancelled
      (:class:`~frozen_alembic.MigrationCancelled`); anything else the work raised
      arrives as a ``FrozenAlembicError`` with it as ``__cause__``;
    * ``finished()`` — after either, last.

    When ``succeeded`` or ``failed`` arrives, the worker thread has ended and the
    progress dialog (if any) is closed, so a slot may show a message box at once.
    A task runs once; a running task is kept alive until its thread ends, even if the
    caller drops it or its parent is deleted.

    :param work: what to run on the worker; it is given the ``progress`` callback and
        the :class:`~frozen_alembic.CancelToken` to pass on, as keywords.
    :param parent: the window that owns the task (signals arrive on its thread) and
        that the progress dialog is modal to.
    """

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    @classmethod
    def upgrade(
        cls, migrator: Migrator, path: str | Path, *, parent: QWidget | None = None
    ) -> MigrationTask:
        """A task that runs ``migrator.upgrade(path, progress=..., cancel=...)``."""

        def work(*, progress: Callable[[Progress], None], cancel: CancelToken) -> Report:
            return migrator.upgrade(path, progress=progress, cancel=cancel)

        return cls(work, parent=parent)

    def __init__(
        self,
        work: Callable[..., Report],
        *,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._work = work
        self._window = parent
        self._token = CancelToken()
        self._runner: _Runner | None = None
        self._dialog: _ProgressDialog | None = None
        self._done = False

    @property
    def dialog(self) -> QProgressDialog | None:
        """The progress dialog of :meth:`start`, until ``finished`` was emitted (else ``None``).

        Closed (hidden) when ``succeeded`` or ``failed`` is emitted, keeping its last
        values; deleted after ``finished``.
        """
        return self._dialog

    @property
    def running(self) -> bool:
        """Whether the task was started and its result has not been delivered yet."""
        return self._runner is not None and not self._done

    def start(self, *, dialog: bool = False, title: str = "Updating the document") -> None:
        """Start the worker; with ``dialog``, show a modal ``QProgressDialog`` with Cancel.

        The dialog's bar follows ``done``/``total``, its label the user message; Cancel
        cancels the token; from the commit on the Cancel button is disabled and the
        label says the change can no longer be cancelled; the dialog closes itself
        when the task finishes.  It is window-modal on the parent and appears only
        if the change takes longer than :data:`SHOW_AFTER_MS`.

        :raises RuntimeError: the task was already started.
        """
        if self._runner is not None:
            raise RuntimeError("a MigrationTask runs once: make a new one for another change")
        _install_quit_hook()
        runner = _Runner(self._work, self._token, self)
        queued = Qt.ConnectionType.QueuedConnection
        runner.progress.connect(self._on_progress, queued)
        runner.outcome.connect(self._on_outcome, queued)
        if dialog:
            self._dialog = _ProgressDialog(self._window, title, self.cancel)
        self._runner = runner
        _RUNNING.add(runner)
        runner.start()

    def cancel(self) -> None:
        """Ask the change to stop (thread-safe; too late once the commit started)."""
        self._token.cancel()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the worker thread ends (for tests and shutdown).

        The signals of the end are delivered afterwards, by the event loop.

        :param timeout_ms: how long to wait at most; negative: as long as it takes.
        :return: ``True`` if the thread has ended (or never started).
        """
        if self._runner is None:
            return True
        if timeout_ms < 0:
            return self._runner.wait(QDeadlineTimer(QDeadlineTimer.ForeverConstant.Forever))
        return self._runner.wait(timeout_ms)

    @Slot(object)
    def _on_progress(self, event: Progress) -> None:
        if self._done:
            return
        self.progress.emit(event)
        if self._dialog is not None:
            self._dialog.show_progress(event)

    @Slot(object)
    def _on_outcome(self, outcome: object) -> None:
        if self._runner is not None:
            self._runner.wait()  # it has emitted its last signal: this is at once
        self._done = True
        dialog = self._dialog
        if dialog is not None:
            dialog.end()
        try:
            if isinstance(outcome, FrozenAlembicError):
                self.failed.emit(outcome)
            else:
                self.succeeded.emit(outcome)
        finally:
            try:
                self.finished.emit()
            finally:
                self._dialog = None
                if dialog is not None:
                    dialog.deleteLater()
