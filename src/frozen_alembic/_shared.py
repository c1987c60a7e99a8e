"""The process-wide state Alembic forces on us, and the one lock that guards it.

Alembic's ``op`` and ``context`` are module-level proxies: while a migration runs,
every thread that calls ``op.add_column`` reaches the *same* object, bound to the
connection of whichever thread entered ``EnvironmentContext`` last.  Two threads
migrating two files at once would run each other's DDL on the wrong file.  Loading
revision modules flips :data:`sys.dont_write_bytecode`, which is process-wide too.

So exactly these sections hold :data:`ALEMBIC_LOCK`: loading a script directory's
modules, and running revision scripts (``EnvironmentContext`` and ``env.py``).
Everything else — opening files, waiting for SQLite's lock, the backup, the checks
and the commit — runs in parallel.  The lock is re-entrant, so a script that calls
back into the library on its own thread does not deadlock.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

ALEMBIC_LOCK = threading.RLock()


@contextmanager
def no_bytecode_writes() -> Iterator[None]:
    """Load modules without writing ``__pycache__`` into the script directory.

    An installed application's folder must stay as the installer left it (and a
    ``root`` process could otherwise write into a read-only install folder).  Holds
    :data:`ALEMBIC_LOCK`, since the flag it flips is shared by every thread.
    """
    with ALEMBIC_LOCK:
        saved = sys.dont_write_bytecode
        sys.dont_write_bytecode = True
        try:
            yield
        finally:
            sys.dont_write_bytecode = saved
