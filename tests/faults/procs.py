"""Child processes under resource limits, for the fault-injection suite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

if sys.platform != "win32":
    import resource

SRC = Path(__file__).resolve().parents[2] / "src"


def run_with_fsize_limit(
    code: str,
    limit_bytes: int,
    *args: str,
    cwd: Path | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code args...`` where no file can grow past ``limit_bytes``.

    The child gets ``RLIMIT_FSIZE`` (soft and hard) of ``limit_bytes`` and ignores
    ``SIGXFSZ``, so a write past the limit writes what fits and then fails with
    ``EFBIG`` (errno 27) instead of killing the process. The project's ``src`` comes
    first on ``PYTHONPATH``; stdout and stderr are captured as text. The caller checks
    the return code.
    """
    if limit_bytes < 0:
        raise ValueError(f"limit_bytes must not be negative, not {limit_bytes}")
    _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if hard != resource.RLIM_INFINITY and limit_bytes > hard:
        raise ValueError(f"limit_bytes {limit_bytes} is above this process's hard limit {hard}")

    def limit() -> None:  # runs in the child between fork and exec
        # subprocess resets SIGXFSZ to the default (terminate) before this runs; an
        # ignored signal stays ignored across exec.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        preexec_fn=limit,  # the point: the limit applies to the child only
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
        check=False,
    )
