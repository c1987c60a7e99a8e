"""What a change reports while it runs, and how a caller stops it.

A changing call goes through phases — :class:`Phase` — and reports each step as a
:class:`Progress`: the phase, ``done`` of ``total`` units of work (weighted, so that a
progress bar moves evenly: a revision that rebuilds a big table counts for more than
one that adds an index), a short sentence for the user and the developer's detail.

A :class:`CancelToken` given as ``cancel=`` stops the call at the next safe moment —
between revisions, inside a long statement (SQLite's progress handler interrupts it),
during the backup — until the commit starts; the call then raises
:class:`~frozen_alembic.MigrationCancelled` with the file unchanged.  Progress events
with ``cancellable=False`` say that the moment has passed.
"""

from __future__ import annotations

import enum
import threading
import time

from ._report import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


class Phase(enum.Enum):
    """The phases of a changing call, in order."""

    LOCK = "lock"
    """Opening the file and taking its write lock (waiting for other programs)."""
    BACKUP = "backup"
    """Copying the file before anything changes."""
    MIGRATE = "migrate"
    """Running the revisions."""
    CHECK = "check"
    """Checking the result: foreign keys and SQLite's ``quick_check``."""
    COMMIT = "commit"
    """Making the change permanent; it can no longer be cancelled."""
    DONE = "done"
    """Finished: the change is committed (the last event of a successful call)."""


class Progress(Record):
    """One progress report, for a dialog or a log line.

    :ivar done: units of work finished so far (never more than ``total``).
    :ivar total: units of work in this call (revisions weighted by the size of the
        tables they touch, the backup by the file's size).
    :ivar revision: the revision running, or ``None`` outside the migrate phase.
    :ivar message: a short sentence for the user ("Updating the document (step 2 of 3)…").
    :ivar phase: the :class:`Phase`.
    :ivar detail: the developer's detail (the revision and its message).
    :ivar cancellable: whether a cancel can still take effect.
    """

    __slots__ = (  # noqa: RUF023  (repr order)
        "done",
        "total",
        "revision",
        "message",
        "phase",
        "detail",
        "cancellable",
    )

    def __init__(
        self,
        done: int,
        total: int,
        revision: str | None,
        message: str,
        phase: Phase = Phase.MIGRATE,
        detail: str = "",
        cancellable: bool = True,
    ) -> None:
        self.done = done
        self.total = total
        self.revision = revision
        self.message = message
        self.phase = phase
        self.detail = detail
        self.cancellable = cancellable

    @property
    def fraction(self) -> float:
        """``done / total`` between 0 and 1."""
        return min(1.0, self.done / self.total) if self.total else 1.0


class CancelToken:
    """Asks a running change to stop; safe to use from any thread.

    Give it to a changing verb as ``cancel=``, and call :meth:`cancel` (e.g. from a
    dialog's Cancel button).  A token is used once: make a new one per call.
    """

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the change to stop at the next safe moment."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled})"


class Cancelled(Exception):
    """Raised inside the run machinery when the token was cancelled (internal)."""


# How often SQLite calls back during a statement (virtual machine instructions), and
# how often a long statement reports progress.
PROGRESS_STEP = 2000
TICK_SECONDS = 0.05


class CallbackFailed(Exception):
    """The caller's ``progress`` callback raised (internal; the cause is its error)."""


class Events:
    """The reporter of one change: turns phases and work into :class:`Progress` calls.

    It is also the SQLite progress handler of the change's connection (see
    :meth:`sqlite_progress`), which lets a cancel stop a long statement and lets a
    long statement report its progress.

    :param callback: the caller's ``progress=``, or ``None``.
    :param cancel: the caller's ``cancel=``, or ``None``.
    """

    def __init__(
        self, callback: Callable[[Progress], None] | None, cancel: CancelToken | None
    ) -> None:
        self.callback = callback
        self.token = cancel
        self.total = 1
        self.done = 0
        self.cancellable = True
        self.error: BaseException | None = None
        self._last_tick = 0.0
        self._step: tuple[Phase, int, int, str, str, str | None, int] | None = None
        self._ops = 0

    @property
    def cancelled(self) -> bool:
        """Whether the caller asked to stop."""
        return self.token is not None and self.token.cancelled

    def check_cancel(self) -> None:
        """Raise :class:`Cancelled` if the caller asked to stop (and still may)."""
        if self.cancellable and self.cancelled:
            raise Cancelled

    def emit(
        self,
        phase: Phase,
        done: int,
        message: str,
        *,
        detail: str = "",
        revision: str | None = None,
    ) -> None:
        """Report where the change is, then honour a cancel while it still counts.

        :raises Cancelled: the caller cancelled.
        :raises CallbackFailed: the caller's callback raised.
        """
        self.done = max(self.done, min(done, self.total))
        self._last_tick = time.monotonic()
        if phase in (Phase.COMMIT, Phase.DONE):
            self.cancellable = False
        if self.callback is not None:
            progress = Progress(
                self.done, self.total, revision, message, phase, detail, self.cancellable
            )
            try:
                self.callback(progress)
            except Exception as err:
                raise CallbackFailed(err) from err
        self.check_cancel()

    def step(
        self,
        phase: Phase,
        start: int,
        width: int,
        message: str,
        *,
        detail: str = "",
        revision: str | None = None,
        expected_ops: int = 0,
    ) -> None:
        """Begin a step of ``width`` units at ``start``; long statements tick inside it.

        :param expected_ops: about how many SQLite instructions the step takes (0: no
            ticks from inside its statements).
        """
        self._step = (phase, start, width, message, detail, revision, expected_ops)
        self._ops = 0
        self.emit(phase, start, message, detail=detail, revision=revision)

    def advance(self, fraction: float) -> None:
        """Report ``fraction`` (0..1) of the current step done, at most every tick."""
        if self._step is None or time.monotonic() - self._last_tick < TICK_SECONDS:
            return
        phase, start, width, message, detail, revision, _ops = self._step
        done = start + int(width * min(fraction, 1.0))
        self.emit(phase, done, message, detail=detail, revision=revision)

    def sqlite_progress(self) -> int:
        """SQLite's progress handler: non-zero interrupts the running statement.

        Never raises (SQLite would only print the error): a cancel, or an error of
        the caller's callback, is kept and the statement interrupted.
        """
        try:
            if self.cancellable and self.cancelled:
                return 1
            if self.callback is not None and self._step is not None and self._step[6]:
                self._ops += PROGRESS_STEP
                # Estimates are rough: half the step at the estimate, then ever slower,
                # never finished before the step is (and never standing still).
                self.advance(self._ops / (self._ops + self._step[6]))
        except BaseException as err:
            self.error = err
            return 1
        return 0

    def raise_kept(self) -> None:
        """Raise what :meth:`sqlite_progress` kept, or :class:`Cancelled` if cancelled."""
        if self.error is not None:
            raise self.error
        self.check_cancel()
