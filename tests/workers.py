"""Running ``tests/crash_worker.py`` and killing it at a chosen moment."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

WORKER = Path(__file__).resolve().with_name("crash_worker.py")


def events_of(path: Path) -> list[str]:
    """The events a worker has written to its ``--events`` file (complete lines only)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [line.split(" ", 1)[1] for line in text.split("\n")[:-1]]


def kill_worker(
    options: list[str],
    scripts: Path,
    doc: Path,
    events: Path,
    *,
    after: str | None,
    delay: float,
    env: dict[str, str],
    poll: float = 0.005,
) -> str:
    """Upgrade ``doc`` in a worker (with ``options``), ``kill -9`` it ``delay`` s after
    it wrote the event ``after`` (or after its start); return its last event."""
    argv = [sys.executable, str(WORKER), *options, "--events", str(events)]
    proc = subprocess.Popen(
        [*argv, str(scripts), str(doc)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        if after is not None:
            deadline = time.monotonic() + 60
            while after not in events_of(events):
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, f"{after} never came"
                time.sleep(poll)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if proc.returncode != -signal.SIGKILL:
        assert proc.returncode == 0, err
    seen = events_of(events)
    return seen[-1] if seen else "not started"
