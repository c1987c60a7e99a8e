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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from PySide6.QtWidgets import QWidget

    from ._exceptions import FrozenAlembicError
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


def error_text(err: FrozenAlembicError) -> ErrorText:
    """The user-facing texts for ``err``: too new, not a database, busy, failed, ...

    ``MigrationFailed`` and the others raised after a backup say whether the file was
    left unchanged and where the backup is (``err.backup``).
    """
    raise NotImplementedError


def show_error(parent: QWidget | None, err: FrozenAlembicError) -> bool:
    """Show ``err`` in a modal message box.

    :return: ``True`` when the user chose to open the file read-only (offered for
        :class:`~frozen_alembic.DatabaseTooNew` only), else ``False``.
    """
    raise NotImplementedError


def confirm_upgrade(parent: QWidget | None, plan: Plan) -> bool:
    """Ask before upgrading: what will change, and where the backup will be.

    :return: ``True`` when the user accepts.
    """
    raise NotImplementedError


class MigrationTask:
    """A change (upgrade, downgrade, create...) running on a worker thread.

    A ``QObject`` (this stub only documents its interface) with these signals, all
    delivered on the parent's (GUI) thread:

    * ``progress(Progress)`` — every :class:`~frozen_alembic.Progress` event;
    * ``succeeded(Report)`` — the change committed;
    * ``failed(FrozenAlembicError)`` — it failed, or was cancelled
      (:class:`~frozen_alembic.MigrationCancelled`);
    * ``finished()`` — after either, last.

    :param work: what to run on the worker; it is given the ``progress`` callback and
        the :class:`~frozen_alembic.CancelToken` to pass on.
    :param parent: the window that owns the task (signals arrive on its thread).
    """

    @classmethod
    def upgrade(
        cls, migrator: Migrator, path: str | Path, *, parent: QWidget | None = None
    ) -> MigrationTask:
        """A task that runs ``migrator.upgrade(path, progress=..., cancel=...)``."""
        raise NotImplementedError

    def __init__(
        self,
        work: Callable[..., Report],
        *,
        parent: QWidget | None = None,
    ) -> None:
        raise NotImplementedError

    def start(self, *, dialog: bool = False, title: str = "Updating the document") -> None:
        """Start the worker; with ``dialog``, show a modal ``QProgressDialog`` with Cancel.

        The dialog's bar follows ``done``/``total``, its label the user message; Cancel
        cancels the token; from the commit on the Cancel button is disabled and the
        label says the change can no longer be cancelled; the dialog closes itself
        when the task finishes.
        """
        raise NotImplementedError

    def cancel(self) -> None:
        """Ask the change to stop (thread-safe; too late once the commit started)."""
        raise NotImplementedError

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the worker thread ends (for tests and shutdown)."""
        raise NotImplementedError
