"""The bundle manifest: what the build put in the migrations folder, read at run time.

``frozen-alembic-manifest.json`` is written by :mod:`frozen_alembic.build` into the
bundled script directory.  It records the revision graph, the heads and a SHA-256
of every file.  At run time the files are checked against it before any code from
the folder runs, so an edited or planted migration is refused, never executed.

Only the standard library is used here: the "is this file current?" check reads the
manifest's heads without importing Alembic or SQLAlchemy.
"""

from __future__ import annotations

import json
import os

from ._exceptions import ScriptsError, TamperedScripts
from ._names import HEADS_NAME, MANIFEST_NAME

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

FORMAT = 2


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by POSIX relative path.

    The manifest and the heads file are left out: the heads file is written after
    the manifest and checks itself against it (see :mod:`frozen_alembic._fast`).
    """
    import hashlib  # not before: create() and the start-up check never hash

    hashes: dict[str, str] = {}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, folder).replace(os.sep, "/")
            if rel in (MANIFEST_NAME, HEADS_NAME):
                continue
            with open(full, "rb") as fh:
                hashes[rel] = hashlib.sha256(fh.read()).hexdigest()
    return hashes


def read(folder: Path) -> dict[str, object] | None:
    """The manifest of ``folder`` as a dict, or ``None`` when there is none.

    :raises ScriptsError: the manifest exists but cannot be read.
    """
    path = folder / MANIFEST_NAME
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        msg = f"The bundle manifest {path} cannot be read ({err}). Reinstall the application."
        raise ScriptsError(msg) from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        msg = f"{path} is not a frozen-alembic manifest of format {FORMAT}. Rebuild the app."
        raise ScriptsError(msg)
    return data


def verify(folder: Path, manifest: dict[str, object]) -> None:
    """Refuse a folder whose files differ from the manifest in any way.

    Changed, missing and extra files (a planted revision, a stray ``.pyc``) all
    count: Python would run any of them.

    :raises TamperedScripts: listing every difference.
    """
    expected = manifest.get("files")
    if not isinstance(expected, dict):
        msg = f"The manifest in {folder} lists no files. Rebuild the application."
        raise ScriptsError(msg)
    actual = file_hashes(folder)
    changed = sorted(n for n in expected.keys() & actual.keys() if expected[n] != actual[n])
    missing = sorted(expected.keys() - actual.keys())
    extra = sorted(actual.keys() - expected.keys())
    if changed or missing or extra:
        parts = [
            f"{label}: {', '.join(names)}"
            for label, names in (("changed", changed), ("missing", missing), ("extra", extra))
            if names
        ]
        msg = (
            f"The migration scripts in {folder} do not match the build's manifest "
            f"({'; '.join(parts)}). Nothing was run. Reinstall the application."
        )
        raise TamperedScripts(msg, tuple(changed + missing + extra))


def heads(manifest: dict[str, object]) -> tuple[str, ...]:
    """The heads recorded in a manifest, sorted.

    :raises ScriptsError: the manifest has no usable heads.
    """
    value = manifest.get("heads")
    if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
        msg = "The bundle manifest records no heads. Rebuild the application."
        raise ScriptsError(msg)
    return tuple(sorted(value))


def graph(manifest: dict[str, object]) -> dict[str, tuple[str, ...]]:
    """The revision graph recorded in a manifest (revision -> down revisions).

    :raises ScriptsError: the manifest has no usable graph.
    """
    value = manifest.get("revisions")
    if not isinstance(value, dict):
        msg = "The bundle manifest records no revisions. Rebuild the application."
        raise ScriptsError(msg)
    return {str(rev): tuple(str(d) for d in downs) for rev, downs in value.items()}
