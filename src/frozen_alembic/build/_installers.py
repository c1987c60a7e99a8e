"""Installers for ``frozen-alembic verify``: a ``.deb`` or ``.rpm``, unpacked first.

A package is checked as what it installs: it is unpacked into a scratch folder
(``dpkg-deb -x``; ``rpm2cpio | cpio``) laid out as it would be under ``/``, and every
check of the folder form runs on that folder.  The ``--run`` command names the
program where the package installs it (``/opt/app/app {db}``, or a launcher such as
``/usr/bin/app``): each absolute path in it that the package holds is run from the
unpacked copy instead, so the package itself is tested, not whatever is installed on
the machine that verifies it.  Nothing is installed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from ._stage import BuildError

#: The installers ``verify`` unpacks, by suffix: the tools that do it, and where
#: those tools come from.
INSTALLERS = {
    ".deb": (("dpkg-deb",), "dpkg (apt-get install dpkg; dnf install dpkg)"),
    ".rpm": (
        ("rpm2cpio", "cpio"),
        "rpm2cpio and cpio (apt-get install rpm2cpio cpio; dnf install rpm cpio)",
    ),
}
_MAX_LINKS = 40


def is_installer(path: Path) -> bool:
    """``True`` when ``path`` is a file named like a ``.deb`` or ``.rpm`` package."""
    return path.suffix.lower() in INSTALLERS and path.is_file()


def unpack_installer(
    path: Path, into: Path, run: str | None, notes: list[str]
) -> tuple[Path, str | None]:
    """Unpack the package at ``path`` into the new folder ``into``.

    :param run: the ``--run`` command; the absolute paths in it that the package
        holds are pointed into the unpacked copy.
    :param notes: what was done is appended here, one sentence each.
    :return: the unpacked root (the package's ``/``) and the command to run.
    :raises BuildError: a tool is missing (the message says how to install it), or
        the package cannot be unpacked.
    """
    suffix = path.suffix.lower()
    tools, source = INSTALLERS[suffix]
    found = {tool: shutil.which(tool) for tool in tools}
    missing = [tool for tool, where in found.items() if where is None]
    if missing:
        msg = (
            f"{' and '.join(missing)} not found on PATH (needed to unpack {path.name} "
            f"for verify): install {source}, or verify the build folder the package was "
            "made from"
        )
        raise BuildError(msg)
    into.mkdir(parents=True)
    path = path.absolute()  # the tools run in the scratch folder
    if suffix == ".deb":
        _check(path, [str(found["dpkg-deb"]), "-x", str(path), str(into)], into)
        how = "dpkg-deb -x"
    else:
        _unpack_rpm(path, str(found["rpm2cpio"]), str(found["cpio"]), into)
        how = "rpm2cpio | cpio -idm"
    notes.append(
        f"{path.name} unpacked into a scratch folder ({how}): its files are checked "
        "as the package installs them"
    )
    if run is not None:
        run = _command_inside(run, into, notes)
    return into, run


def _check(path: Path, argv: list[str], cwd: Path) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        _unreadable(path, argv[0], proc.stderr)


def _unreadable(path: Path, tool: str, stderr: str) -> None:
    said = " ".join(stderr.split())[:300] or "no message"
    msg = (
        f"{path} cannot be unpacked ({Path(tool).name}: {said}): is it a complete "
        "package? Build it again (python setup.py bdist_deb or bdist_rpm) and verify that"
    )
    raise BuildError(msg)


def _unpack_rpm(path: Path, rpm2cpio: str, cpio: str, into: Path) -> None:
    with subprocess.Popen(
        [rpm2cpio, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as archive:
        assert archive.stdout is not None
        # --no-absolute-filenames: nothing lands outside the scratch folder.
        proc = subprocess.run(
            [cpio, "-idm", "--quiet", "--no-absolute-filenames"],
            stdin=archive.stdout,
            cwd=into,
            capture_output=True,
            text=True,
            check=False,
        )
        archive.stdout.close()
        errors = archive.stderr.read().decode(errors="replace") if archive.stderr else ""
        code = archive.wait()
    if code != 0:
        _unreadable(path, rpm2cpio, errors)
    if proc.returncode != 0:
        _unreadable(path, cpio, proc.stderr)


def _inside(root: Path, name: str) -> Path | None:
    """Where the absolute path ``name`` is in the unpacked ``root`` (links followed
    inside it), or ``None`` when the package does not hold it."""
    path = root / name.lstrip("/")
    for _ in range(_MAX_LINKS):
        if not path.is_symlink():
            break
        target = os.readlink(path)
        path = root / target.lstrip("/") if os.path.isabs(target) else path.parent / target
    real = path.resolve()
    if not real.exists() or not real.is_relative_to(root.resolve()):
        return None
    return real


def _command_inside(run: str, root: Path, notes: list[str]) -> str:
    parts = shlex.split(run)
    mapped = []
    for part in parts:
        inside = _inside(root, part) if os.path.isabs(part) else None
        mapped.append(part if inside is None else str(inside))
    if mapped != parts:
        moved = [part for part, new in zip(parts, mapped, strict=True) if part != new]
        notes.append(
            f"--run: {', '.join(moved)} run from the unpacked package, not from this machine"
        )
    elif parts and os.path.isabs(parts[0]):
        notes.append(
            f"--run: the package holds no {parts[0]}, so it runs as given (from this "
            "machine, not from the package)"
        )
    return shlex.join(mapped)
