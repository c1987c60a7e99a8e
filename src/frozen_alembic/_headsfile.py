"""The bundle's heads file: what the start-up check and ``create()`` read, cheaply.

``frozen-alembic-heads.txt`` is written by the build after the manifest: the heads,
the version table (when not ``alembic_version``), the size and CRC-32 of the
template, a fingerprint of ``versions/``, a stamp of the manifest, and a CRC of its
own lines.  Reading it needs no JSON, no hashlib, no pathlib and no SQLite.
"""

from __future__ import annotations

import os

from ._names import HEADS_NAME, MANIFEST_NAME, VERSION_TABLE


def versions_fingerprint(location: str) -> str:
    """The number and a CRC-32 of the file names in ``location/versions``.

    Recorded by the build beside the heads, it tells the start-up check that the
    folder still holds the revisions the heads were computed from: a planted or
    deleted revision sends it down the full route (which checks every file).
    """
    import zlib

    names = sorted(n for n in os.listdir(os.path.join(location, "versions")) if n != "__pycache__")
    crc = zlib.crc32("\n".join(names).encode())
    return f"{len(names)} {crc}"


def _crc(data: bytes) -> int:
    import zlib

    return zlib.crc32(data)


def _manifest_stamp(location: str) -> str:
    """The size and CRC-32 of the bundle's manifest, which the heads file is tied to."""
    with open(os.path.join(location, MANIFEST_NAME), "rb") as fh:
        data = fh.read()
    return f"{len(data)} {_crc(data)}"


def write_heads(
    location: str,
    heads: tuple[str, ...],
    version_table: str = VERSION_TABLE,
    template: str | None = None,
) -> None:
    """Write the heads file of a bundle (build time, after the manifest).

    Besides the heads (and the version table, when it is not ``alembic_version``, and
    the template's ``"SIZE CRC32"``, when there is one) it records the fingerprint of
    ``versions/`` and a stamp of the manifest, and ends with a CRC of its own lines: a
    heads file that was edited, or that belongs to another build, is never believed.
    """
    table = f"table {version_table}\n" if version_table != VERSION_TABLE else ""
    made = f"template {template}\n" if template is not None else ""
    body = (
        f"heads {' '.join(heads)}\n"
        f"{table}"
        f"{made}"
        f"versions {versions_fingerprint(location)}\n"
        f"manifest {_manifest_stamp(location)}\n"
    )
    with open(os.path.join(location, HEADS_NAME), "w", encoding="utf-8") as fh:
        fh.write(f"{body}check {_crc(body.encode())}\n")


def read_heads_fields(location: str) -> dict[str, str] | None:
    """The fields of the bundle's heads file, or ``None`` unless every check holds.

    The checks, all cheap and standard-library only: the file's own CRC (an edit),
    the ``versions/`` listing (a planted or deleted revision) and the manifest's
    size and CRC (a heads file of another build).  ``None`` sends the caller down
    the full route, which verifies every file against the manifest.
    """
    try:
        with open(os.path.join(location, HEADS_NAME), encoding="utf-8") as fh:
            text = fh.read()
        body, _, last = text.rstrip("\n").rpartition("\n")
        if last != f"check {_crc((body + chr(10)).encode())}":
            return None
        fields = dict(line.split(" ", 1) for line in body.split("\n") if " " in line)
        if fields.get("versions") != versions_fingerprint(location):
            return None
        if fields.get("manifest") != _manifest_stamp(location):
            return None
    except (OSError, ValueError):
        return None
    return fields if fields.get("heads", "").split() else None


def heads_of(fields: dict[str, str]) -> tuple[str, ...]:
    """The heads recorded in a heads file's fields (see :func:`read_heads_fields`)."""
    return tuple(sorted(fields.get("heads", "").split()))


def read_heads_file(location: str) -> tuple[tuple[str, ...], str] | None:
    """The heads and version table recorded in the bundle, or ``None`` unless every
    check of :func:`read_heads_fields` holds."""
    fields = read_heads_fields(location)
    if fields is None:
        return None
    return heads_of(fields), fields.get("table", VERSION_TABLE)
