"""The Qt helper: a migration on a worker thread, its progress dialog, and the dialogs.

Real SQLite files, a real ``QApplication`` (pytest-qt) on the offscreen platform, so
no display is needed.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported

import gc
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, Qt, QThread, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QWidget

from frozen_alembic import (
    BackupFailed,
    CancelToken,
    DatabaseBusy,
    DatabaseExists,
    DatabaseNotFound,
    DatabaseTooNew,
    DiskFull,
    FrozenAlembicError,
    InvalidTarget,
    MigrationCancelled,
    MigrationFailed,
    Migrator,
    NotADatabase,
    Phase,
    Progress,
    ReadOnlyDatabase,
    Report,
    ScriptsError,
    ScriptsNotFound,
    StorageError,
    TamperedScripts,
    UnsafeConnection,
    UnversionedDatabase,
)
from frozen_alembic import qt as fa_qt
from frozen_alembic.qt import CANCELLING as CANCELLING_LABEL
from frozen_alembic.qt import (
    NO_LONGER_CANCELLABLE,
    SHOW_AFTER_MS,
    MigrationTask,
    confirm_upgrade,
    error_text,
    show_error,
)

from .conftest import HEAD, REVISIONS, fill_release_1, schema, sha256, versions
from .slowdoc import slow_document

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pytestqt.qtbot import QtBot


def _siblings(db: Path) -> list[str]:
    """The file and whatever was left beside it under its name (backups, journals)."""
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name))


# -- helpers --------------------------------------------------------------------------


@pytest.fixture
def window(qtbot: QtBot) -> QWidget:
    """A shown top-level window, the parent of tasks and dialogs."""
    widget = QWidget()
    widget.setWindowTitle("Notes")
    widget.resize(400, 300)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def _gui_thread() -> QThread:
    app = QCoreApplication.instance()
    assert app is not None
    return app.thread()


class Recorder:
    """Every signal of a task, with the thread each slot ran on."""

    def __init__(self, task: MigrationTask) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.threads: list[tuple[bool, int]] = []
        task.progress.connect(lambda event: self._record("progress", event))
        task.succeeded.connect(lambda report: self._record("succeeded", report))
        task.failed.connect(lambda err: self._record("failed", err))
        task.finished.connect(lambda: self._record("finished", None))

    def _record(self, name: str, payload: object) -> None:
        self.calls.append((name, payload))
        self.threads.append((QThread.currentThread() is _gui_thread(), threading.get_ident()))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    @property
    def events(self) -> list[Progress]:
        return [payload for name, payload in self.calls if name == "progress"]

    def outcome(self) -> object:
        (result,) = [payload for name, payload in self.calls if name in ("succeeded", "failed")]
        return result


def _run(qtbot: QtBot, task: MigrationTask, *, dialog: bool = False) -> Recorder:
    recorder = Recorder(task)
    with qtbot.waitSignal(task.finished, timeout=60_000):
        task.start(dialog=dialog)
    assert task.wait(5_000)
    return recorder


class Answer:
    """Answers the next modal message box: records what it shows, clicks a button.

    :param button: the text of the button to click (``&`` shortcuts ignored).
    """

    def __init__(self, button: str) -> None:
        self.button = button
        self.seen: dict[str, Any] = {}
        self._deadline = time.monotonic() + 10
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._poll)
        self._timer.start()

    def _poll(self) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or not box.isVisible():
            if time.monotonic() > self._deadline:  # never hang the suite
                self._timer.stop()
                for widget in QApplication.topLevelWidgets():
                    if isinstance(widget, QMessageBox) and widget.isVisible():
                        widget.reject()
            return
        self._timer.stop()
        self.seen = {
            "title": box.windowTitle(),
            "text": box.text(),
            "informative": box.informativeText(),
            "details": box.detailedText(),
            "buttons": [b.text().replace("&", "") for b in box.buttons()],
            "parent": box.parentWidget(),
            "modal": box.isModal(),
        }
        for candidate in box.buttons():
            if candidate.text().replace("&", "") == self.button:
                candidate.click()
                return
        box.reject()

    def stop(self) -> None:
        self._timer.stop()


# -- 1. the worker and its signals ----------------------------------------------------


def test_signals_arrive_on_the_gui_thread_in_order(
    qtbot: QtBot, window: QWidget, migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0001_initial")
    fill_release_1(path, 3, 30)
    task = MigrationTask.upgrade(migrator, path, parent=window)
    assert task.parent() is window
    recorder = _run(qtbot, task)

    main = threading.get_ident()
    assert recorder.threads == [(True, main)] * len(recorder.calls)
    names = recorder.names
    assert names[-2:] == ["succeeded", "finished"]
    assert set(names[:-2]) == {"progress"}
    events = recorder.events
    order = list(Phase)
    phases = [order.index(e.phase) for e in events]
    assert phases == sorted(phases)
    assert events[0].phase is Phase.LOCK
    assert events[-1].phase is Phase.DONE
    assert [e.done for e in events] == sorted(e.done for e in events)
    assert events[-1].done == events[-1].total
    report = recorder.outcome()
    assert isinstance(report, Report)
    assert report.applied == REVISIONS[1:]
    assert report.after == (HEAD,)
    assert report.backup is not None
    assert report.backup.exists()
    assert versions(path) == [HEAD]
    assert not task.running
    assert task.dialog is None


def test_the_work_runs_on_another_thread_with_the_callback_and_the_token(
    qtbot: QtBot, migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0003_pinned")
    seen: dict[str, object] = {}

    def work(*, progress: Callable[[Progress], None], cancel: CancelToken) -> Report:
        seen["thread"] = threading.get_ident()
        seen["token"] = cancel
        return migrator.upgrade(path, progress=progress, cancel=cancel)

    task = MigrationTask(work)  # no parent: still delivered on the thread that made it
    recorder = _run(qtbot, task)
    assert seen["thread"] != threading.get_ident()
    assert isinstance(seen["token"], CancelToken)
    assert all(on_gui for on_gui, _ in recorder.threads)
    assert recorder.names[-2:] == ["succeeded", "finished"]
    assert versions(path) == [HEAD]
    with pytest.raises(RuntimeError, match="runs once"):
        task.start()


def test_an_error_that_is_not_ours_still_arrives_as_failed(qtbot: QtBot) -> None:
    def work(**_: object) -> Report:
        raise ValueError("a bug in the work")

    recorder = _run(qtbot, MigrationTask(work))
    assert recorder.names == ["failed", "finished"]
    err = recorder.outcome()
    assert type(err) is FrozenAlembicError
    assert isinstance(err.__cause__, ValueError)
    assert "ValueError: a bug in the work" in str(err)
    assert "a bug in the work" in error_text(err).details


def test_a_real_failure_arrives_as_failed_with_the_librarys_exception(
    qtbot: QtBot, window: QWidget, migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at(HEAD)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    before = sha256(path)
    recorder = _run(qtbot, MigrationTask.upgrade(migrator, path, parent=window), dialog=True)
    assert recorder.names[-2:] == ["failed", "finished"]
    err = recorder.outcome()
    assert isinstance(err, DatabaseTooNew)
    assert error_text(err).offer_read_only
    assert sha256(path) == before


def test_a_task_dropped_by_its_caller_still_runs_and_reports(
    qtbot: QtBot, migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0004_sort_key_integer")
    results: list[object] = []

    def start_and_forget() -> None:
        task = MigrationTask.upgrade(migrator, path)
        task.succeeded.connect(results.append)
        task.failed.connect(results.append)
        task.start()

    start_and_forget()
    gc.collect()
    qtbot.waitUntil(lambda: bool(results) and not fa_qt._RUNNING, timeout=30_000)
    assert isinstance(results[0], Report)
    assert versions(path) == [HEAD]


def test_a_parent_deleted_mid_run_does_not_kill_the_thread(
    qtbot: QtBot, migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0001_initial")
    fill_release_1(path, 3, 30)
    parent = QWidget()
    task = MigrationTask.upgrade(migrator, path, parent=parent)
    task.start(dialog=True)
    runner = task._runner
    assert runner is not None
    was_running: list[bool] = []
    parent.destroyed.connect(lambda: was_running.append(runner.isRunning()))
    parent.deleteLater()  # deletes the task and its dialog; Qt aborts if a QThread goes too
    qtbot.waitUntil(lambda: not shiboken6.isValid(parent), timeout=5_000)
    assert was_running == [True]
    qtbot.waitUntil(lambda: not fa_qt._RUNNING, timeout=30_000)
    assert versions(path) == [HEAD]


def test_at_application_exit_running_changes_are_cancelled_and_waited_for(
    qtbot: QtBot, tmp_path: Path
) -> None:
    migrator, db = slow_document(tmp_path, spin=300)
    before = sha256(db)
    task = MigrationTask.upgrade(migrator, db)
    recorder = Recorder(task)
    started = []
    task.progress.connect(lambda e: started.append(e) if e.revision == "r3" else None)
    task.start()
    qtbot.waitUntil(lambda: bool(started), timeout=30_000)
    fa_qt._stop_all()  # what QCoreApplication.aboutToQuit runs
    assert task.wait(0)
    assert not fa_qt._RUNNING or all(r.isFinished() for r in fa_qt._RUNNING)
    qtbot.waitUntil(lambda: "finished" in recorder.names, timeout=5_000)
    assert isinstance(recorder.outcome(), MigrationCancelled)
    assert sha256(db) == before
    assert _siblings(db) == [db.name]


# -- 2. the progress dialog -----------------------------------------------------------


def test_the_dialog_follows_the_events_and_closes_when_finished(
    qtbot: QtBot, window: QWidget, tmp_path: Path
) -> None:
    migrator, db = slow_document(tmp_path, spin=100)  # long enough to show the dialog
    task = MigrationTask.upgrade(migrator, db, parent=window)
    states: list[tuple[int, int, str, bool, bool]] = []
    at_end: list[tuple[int, int, str, bool]] = []
    closed_at_finish: list[bool] = []
    task.start(dialog=True, title="Updating Notes")
    dialog = task.dialog
    assert dialog is not None
    button = dialog.findChild(QPushButton)
    assert button is not None

    def state() -> tuple[int, int, str, bool, bool]:
        assert dialog is not None
        assert button is not None
        return (
            dialog.maximum(),
            dialog.value(),
            dialog.labelText(),
            button.isEnabled(),
            dialog.isVisible(),
        )

    recorder = Recorder(task)
    task.progress.connect(lambda _: states.append(state()))  # before the dialog's update
    task.succeeded.connect(lambda _: at_end.append(state()[:4]))
    task.finished.connect(lambda: closed_at_finish.append(not dialog.isVisible()))
    assert dialog.windowTitle() == "Updating Notes"
    assert dialog.windowModality() == Qt.WindowModality.WindowModal
    assert dialog.parentWidget() is window
    assert dialog.minimumDuration() == SHOW_AFTER_MS
    assert not dialog.isVisible()  # not at once: a quick change does not flash it
    with qtbot.waitSignal(task.finished, timeout=60_000):
        pass

    events = recorder.events
    assert events[-1].phase is Phase.DONE
    # Each slot saw the dialog as the previous event left it.
    for previous, (maximum, value, label, enabled, _) in zip(events[:-1], states[1:], strict=True):
        assert (maximum, value) == (previous.total, previous.done)
        assert previous.message in label
        if previous.phase is Phase.COMMIT:
            assert not enabled
            assert NO_LONGER_CANCELLABLE in label
        elif previous.phase is not Phase.DONE:
            assert enabled
            assert NO_LONGER_CANCELLABLE not in label
    assert any(visible for *_, visible in states), "a change of ~0.5 s shows the dialog"
    last = events[-1]
    assert at_end == [(last.total, last.done, last.message, False)]
    assert closed_at_finish == [True]
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=5_000)
    assert task.dialog is None
    assert versions(db) == ["r3"]


def test_a_quick_change_never_shows_the_dialog(
    qtbot: QtBot, window: QWidget, migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0005_split_author")
    task = MigrationTask.upgrade(migrator, path, parent=window)
    shown: list[bool] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: shown.append(task.dialog is not None and task.dialog.isVisible()))
    timer.start()
    started = time.monotonic()
    _run(qtbot, task, dialog=True)
    took = time.monotonic() - started
    after = len(shown)
    qtbot.wait(SHOW_AFTER_MS + 100)  # the dialog's own show timer must not fire later
    timer.stop()
    assert not any(shown[after:])
    if took < SHOW_AFTER_MS / 1000 * 0.8:  # (a loaded machine may take longer)
        assert not any(shown)
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible() and w is not window]
    assert versions(path) == [HEAD]


# -- 3. Cancel --------------------------------------------------------------------------


def _start_slow_with_dialog(
    qtbot: QtBot, window: QWidget, tmp_path: Path
) -> tuple[MigrationTask, Recorder, Path, str]:
    migrator, db = slow_document(tmp_path, spin=300)
    before = sha256(db)
    task = MigrationTask.upgrade(migrator, db, parent=window)
    recorder = Recorder(task)
    task.start(dialog=True)
    dialog = task.dialog
    assert dialog is not None
    qtbot.waitUntil(
        lambda: any(e.revision == "r3" for e in recorder.events) and dialog.isVisible(),
        timeout=30_000,
    )
    qtbot.wait(200)  # well inside r3's one long statement
    assert task.running
    return task, recorder, db, before


def test_cancel_in_the_dialog_stops_a_long_statement_at_once(
    qtbot: QtBot, window: QWidget, tmp_path: Path
) -> None:
    task, recorder, db, before = _start_slow_with_dialog(qtbot, window, tmp_path)
    dialog = task.dialog
    assert dialog is not None
    button = dialog.findChild(QPushButton)
    assert button is not None
    assert button.isEnabled()
    ended: list[float] = []
    task.failed.connect(lambda _: ended.append(time.monotonic()))
    with qtbot.waitSignal(task.finished, timeout=10_000):
        clicked = time.monotonic()
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        # The click only asks: the dialog stays, saying so, until the task has ended.
        assert dialog.isVisible()
        assert not button.isEnabled()
        assert dialog.labelText() == CANCELLING_LABEL
    delay = ended[0] - clicked
    print(f"\nfrom Cancel to failed(MigrationCancelled): {delay * 1000:.0f} ms")
    assert delay < 0.2
    err = recorder.outcome()
    assert isinstance(err, MigrationCancelled), err
    assert err.backup is None
    assert not err.restored
    assert sha256(db) == before
    assert versions(db) == ["r1"]
    assert _siblings(db) == [db.name]  # no backup, no journal left
    assert "not changed" in error_text(err).text


def test_closing_the_dialog_or_escape_means_cancel_and_the_dialog_stays(
    qtbot: QtBot, window: QWidget, tmp_path: Path
) -> None:
    task, recorder, db, before = _start_slow_with_dialog(qtbot, window, tmp_path)
    dialog = task.dialog
    assert dialog is not None
    with qtbot.waitSignal(task.finished, timeout=10_000):
        QTest.keyClick(dialog, Qt.Key.Key_Escape)
        assert dialog.isVisible()
        dialog.close()  # the window's close button
        assert dialog.isVisible()
        assert dialog.labelText() == CANCELLING_LABEL
    assert isinstance(recorder.outcome(), MigrationCancelled)
    assert sha256(db) == before
    assert _siblings(db) == [db.name]


# -- 4. two windows at once ---------------------------------------------------------


def test_two_windows_migrate_two_files_at_once(
    qtbot: QtBot, migrator: Migrator, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    windows = [QWidget(), QWidget()]
    paths = [db_at("0001_initial"), db_at("0002_tags")]
    fill_release_1(paths[0], 4, 400, tag="a")
    for w in windows:
        qtbot.addWidget(w)
        w.show()
    pairs = zip(paths, windows, strict=True)
    tasks = [MigrationTask.upgrade(migrator, p, parent=w) for p, w in pairs]
    recorders = [Recorder(t) for t in tasks]
    with qtbot.waitSignals([t.finished for t in tasks], timeout=60_000):
        for t in tasks:
            t.start(dialog=True)
        assert all(t.running for t in tasks)
        dialogs = [t.dialog for t in tasks]
        assert [d.parentWidget() if d else None for d in dialogs] == windows
    fresh = tmp_path / "fresh.notes"
    migrator.create(fresh)
    for recorder, path in zip(recorders, paths, strict=True):
        assert recorder.names[-2:] == ["succeeded", "finished"]
        assert all(on_gui for on_gui, _ in recorder.threads)
        assert versions(path) == [HEAD]
        assert schema(path) == schema(fresh)
    with closing(sqlite3.connect(paths[0])) as conn:
        assert conn.execute("SELECT count(*) FROM note").fetchone() == (400,)


# -- 5. error texts and the error box -------------------------------------------------


def _errors(tmp_path: Path) -> Iterator[FrozenAlembicError]:
    """One of every kind, with a path and, where it means something, a backup."""
    doc = tmp_path / "Notes.notes"
    yield DatabaseTooNew("at 0099, unknown", doc, "0099")
    yield NotADatabase("not a database", doc)
    yield DatabaseNotFound("no such file", doc)
    yield DatabaseExists("exists", doc)
    yield UnversionedDatabase("no version", doc, ("note",))
    yield DatabaseBusy("locked", doc)
    yield ReadOnlyDatabase("read-only", doc)
    yield DiskFull("disk full", doc, 28)
    yield StorageError("I/O error", doc, 5)
    yield UnsafeConnection("in a transaction with foreign keys on", None)
    failed = MigrationFailed("revision 0004 failed: boom. It was put back.", "0004", doc)
    failed.backup = tmp_path / "Notes.notes.2026-11-25T08-51-24Z.0003_pinned.bak"
    failed.restored = True
    yield failed
    yield MigrationFailed("revision 0004 failed: boom. It was not changed.", "0004", doc)
    yield MigrationCancelled("cancelled", doc)
    yield BackupFailed("cannot write the backup", doc)
    yield ScriptsError("broken revisions")
    yield ScriptsNotFound("no scripts", (tmp_path,))
    yield TamperedScripts("edited", ("versions/0001_initial.py",))
    yield InvalidTarget("unknown target", "zzz")
    yield FrozenAlembicError("something else")


def test_every_error_has_a_title_a_text_and_the_librarys_message(tmp_path: Path) -> None:
    titles = set()
    for err in _errors(tmp_path):
        info = error_text(err)
        assert info.title.strip(), err
        assert len(info.text) > 30, err
        assert str(err) in info.details
        assert info.offer_read_only is isinstance(err, DatabaseTooNew)
        titles.add(info.title)
        if isinstance(err, (MigrationFailed, NotADatabase, DatabaseBusy, DiskFull)):
            assert "Notes.notes" in info.text, err
    assert len(titles) >= 12  # they say different things


def test_what_each_error_tells_the_user(tmp_path: Path) -> None:
    texts = {type(err).__name__ + str(err.restored): error_text(err) for err in _errors(tmp_path)}
    restored = texts["MigrationFailedTrue"]
    backup = tmp_path / "Notes.notes.2026-11-25T08-51-24Z.0003_pinned.bak"
    assert str(backup) in restored.text
    assert "put back" in restored.text
    assert "not changed" in texts["MigrationFailedFalse"].text
    assert "not changed" in texts["MigrationCancelledFalse"].text
    assert "read-only" in texts["DatabaseTooNewFalse"].text
    assert "newer version" in texts["DatabaseTooNewFalse"].text
    for name in ("ScriptsErrorFalse", "ScriptsNotFoundFalse", "TamperedScriptsFalse"):
        assert "reinstall" in texts[name].text
    assert "space" in texts["DiskFullFalse"].text
    assert "in use" in texts["DatabaseBusyFalse"].text
    assert "read-only" in texts["ReadOnlyDatabaseFalse"].text

    kept = MigrationFailed("rolled back, unproven", "0004", tmp_path / "Notes.notes")
    kept.backup = backup
    kept.unchanged = False
    assert str(backup) in error_text(kept).text
    assert "may have been changed" in error_text(kept).text
    lost = MigrationFailed("ended, backup=False", "0004", tmp_path / "Notes.notes")
    lost.unchanged = False
    assert "no backup was made" in error_text(lost).text
    other = FrozenAlembicError("the progress callback raised")
    other.backup = backup
    other.unchanged = False
    assert str(backup) in error_text(other).text


def test_real_errors_get_their_texts(
    migrator: Migrator, scripts: Path, db_at: Callable[[str], Path], tmp_path: Path
) -> None:
    def caught(call: Callable[[], object]) -> FrozenAlembicError:
        with pytest.raises(FrozenAlembicError) as info:
            call()
        return info.value

    newer = db_at(HEAD)
    with closing(sqlite3.connect(newer)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    text_file = tmp_path / "letter.notes"
    text_file.write_text("Dear Ada,\n" * 100)
    busy = db_at("0003_pinned")
    readonly = db_at("0003_pinned")
    readonly.chmod(0o444)
    broken = db_at(HEAD)
    (scripts / "versions" / "0007_broken.py").write_text(
        f'"""0007: fails."""\nrevision = "0007_broken"\ndown_revision = "{HEAD}"\n\n'
        "def upgrade() -> None:\n    raise RuntimeError('boom')\n\n"
        "def downgrade() -> None:\n    pass\n"
    )
    cancelled = CancelToken()
    cancelled.cancel()

    found: list[FrozenAlembicError] = [
        caught(lambda: migrator.upgrade(newer)),
        caught(lambda: migrator.upgrade(text_file)),
        caught(lambda: migrator.upgrade(tmp_path / "missing.notes")),
        caught(lambda: Migrator(scripts).upgrade(broken)),
        caught(lambda: migrator.upgrade(readonly)),
        caught(lambda: migrator.upgrade(busy, cancel=cancelled)),
    ]
    with closing(sqlite3.connect(busy, isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        found.append(caught(lambda: Migrator(scripts, timeout=0.2).upgrade(busy)))
        holder.execute("ROLLBACK")
    kinds = [
        DatabaseTooNew,
        NotADatabase,
        DatabaseNotFound,
        MigrationFailed,
        ReadOnlyDatabase,
        MigrationCancelled,
        DatabaseBusy,
    ]
    assert [type(err) for err in found] == kinds
    for err in found:
        info = error_text(err)
        assert info.title
        assert info.text
        assert str(err) in info.details
    failed = found[3]
    assert failed.backup is None  # rolled back: unchanged, the backup removed
    assert "not changed" in error_text(failed).text
    assert "RuntimeError: boom" in error_text(failed).details


@pytest.mark.parametrize("index", range(19))
def test_show_error_shows_a_message_box(
    qtbot: QtBot, window: QWidget, tmp_path: Path, index: int
) -> None:
    err = list(_errors(tmp_path))[index]
    info = error_text(err)
    answer = Answer("Close" if info.offer_read_only else "OK")
    chosen = show_error(window, err)
    answer.stop()
    assert chosen is False
    assert answer.seen["title"] == info.title
    assert answer.seen["text"] == info.text
    assert answer.seen["details"] == info.details
    assert answer.seen["parent"] is window
    assert answer.seen["modal"]
    expected = ["Open Read-Only", "Close"] if info.offer_read_only else ["OK"]
    assert sorted(answer.seen["buttons"]) == sorted([*expected, "Show Details..."])


def test_show_error_returns_true_for_open_read_only(
    qtbot: QtBot, window: QWidget, tmp_path: Path
) -> None:
    err = DatabaseTooNew("at 0099", tmp_path / "Notes.notes", "0099")
    answer = Answer("Open Read-Only")
    assert show_error(window, err) is True
    answer.stop()
    assert "Notes.notes" in answer.seen["text"]
    answer = Answer("Close")
    assert show_error(None, err) is False
    answer.stop()
    assert answer.seen["buttons"]


# -- 6. asking before the upgrade -----------------------------------------------------


def test_confirm_upgrade_names_the_changes_and_the_backup(
    qtbot: QtBot, window: QWidget, migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    path = db_at("0003_pinned")
    before = sha256(path)
    plan = migrator.plan(path)
    assert plan.backup is not None

    answer = Answer("Update")
    assert confirm_upgrade(window, plan) is True
    answer.stop()
    shown = answer.seen
    assert path.name in shown["text"]
    assert str(plan.backup) in shown["informative"]
    assert "3 changes" in shown["informative"]
    for rev in plan.pending:
        assert rev.message
        assert rev.message in shown["informative"]
    assert sorted(shown["buttons"]) == ["Cancel", "Update"]
    assert shown["parent"] is window

    answer = Answer("Cancel")
    assert confirm_upgrade(window, plan) is False
    answer.stop()
    assert sha256(path) == before  # asking changes nothing, and writes no backup
    assert _siblings(path) == [path.name]


def test_confirm_upgrade_without_a_backup_or_without_changes(
    qtbot: QtBot, window: QWidget, migrator: Migrator, db_at: Callable[[str], Path]
) -> None:
    plan = migrator.plan(db_at("0005_split_author"))
    no_backup = type(plan)(plan.status, plan.pending, None)
    answer = Answer("Update")
    assert confirm_upgrade(window, no_backup) is True
    answer.stop()
    assert "No backup will be made" in answer.seen["informative"]
    assert "1 change:" in answer.seen["informative"]

    current = migrator.plan(db_at(HEAD))
    assert not current.needs_upgrade
    answer = Answer("Cancel")
    assert confirm_upgrade(window, current) is True  # nothing to ask
    answer.stop()
    assert answer.seen == {}
