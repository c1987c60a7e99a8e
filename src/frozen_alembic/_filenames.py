"""Names of the files made beside a user's document, made to fit its folder.

A backup or temporary file is named after the document, so a user can find it; but
the document's own name may already be close to the file system's limit (255 bytes
on most; 66 CJK characters are 198 bytes of UTF-8).  Every name made here fits
the folder's limit with room for SQLite's ``-journal``: the document's part is
shortened when it must be, deterministically (the same document always gets the
same short part, so its backups are found and pruned), keeping its beginning and
a short hash of the whole name.

Standard library only, and no :mod:`pathlib`: :func:`short_part` also runs when a
``create()`` is cheap.
"""

from __future__ import annotations

import os

DEFAULT_NAME_MAX = 255
"""The limit assumed where the folder cannot tell (``pathconf`` missing or failing)."""

SQLITE_SUFFIX_ROOM = len("-journal")
"""What SQLite appends to a database's name for its own files (``-wal`` is shorter)."""

TAIL_ROOM = 100
"""Bytes kept for what follows the document's part in any name made here.

The longest tail is a backup's: ``.2026-11-25T08-51-24Z-999.<label>.bak.partial``
(at most 24 + 2 + :data:`LABEL_MAX` + 12 bytes) plus SQLite's ``-journal``; a
temporary file's ``..<12 hex>.creating-journal`` is shorter.
"""

LABEL_MAX = 48
"""Longest revision label kept whole in a backup's name; longer ones are shortened."""

HASH_CHARS = 8


def name_max(folder: str | os.PathLike[str]) -> int:
    """The longest file name, in bytes, that ``folder``'s file system accepts."""
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # Windows has no pathconf
        return DEFAULT_NAME_MAX
    return limit if limit > 0 else DEFAULT_NAME_MAX


def _digest(text: str) -> str:
    import zlib

    return f"{zlib.crc32(text.encode('utf-8', 'surrogateescape')):08x}"[:HASH_CHARS]


def shorten(text: str, room: int) -> str:
    """``text`` if its encoded form fits in ``room`` bytes, else its beginning and a hash.

    The result is cut on a character boundary and is always the same for the same
    ``text`` and ``room``.
    """
    encoded = os.fsencode(text)
    if len(encoded) <= room:
        return text
    keep = max(room - HASH_CHARS - 1, 1)
    head: list[str] = []
    size = 0
    for char in text:  # whole characters only: a UTF-8 sequence is never cut
        size += len(os.fsencode(char))
        if size > keep:
            break
        head.append(char)
    return f"{''.join(head)}~{_digest(text)}"


def short_part(name: str, folder: str | os.PathLike[str]) -> str:
    """The document's part of the names made beside it in ``folder``."""
    return shorten(name, name_max(folder) - TAIL_ROOM)


def short_label(label: str) -> str:
    """A revision label that fits in a backup's name."""
    return shorten(label, LABEL_MAX)


def name_fits(path: str | os.PathLike[str]) -> bool:
    """Whether the file system accepts ``path``'s name, asked without creating anything.

    ``lstat`` of a name that is too long fails with ``ENAMETOOLONG`` before the file
    system looks for it.  The byte count alone is not enough: exFAT and NTFS count
    UTF-16 units (255 of them), not bytes, and report the same ``NAME_MAX``.
    """
    import errno

    try:
        os.lstat(path)
    except OSError as err:
        return err.errno != errno.ENAMETOOLONG
    return True


def too_long_for_sqlite(
    path: str | os.PathLike[str], suffix_room: int = SQLITE_SUFFIX_ROOM
) -> tuple[int, int] | None:
    """``(length, limit)`` when SQLite could not make ``path``'s journal, else ``None``.

    :param suffix_room: the longest suffix SQLite will add: 8 for ``-journal``, 4 for
        a WAL file's ``-wal`` and ``-shm``.
    """
    folder = os.path.dirname(os.path.abspath(path)) or os.sep
    length = len(os.fsencode(os.path.basename(os.fspath(path))))
    limit = name_max(folder) - suffix_room
    if length <= limit:
        return None
    suffix = "-journal" if suffix_room == SQLITE_SUFFIX_ROOM else "-wal"
    if name_fits(f"{os.fspath(path)}{suffix}"):
        return None
    return length, limit


def name_too_long_message(path: str | os.PathLike[str], length: int, limit: int) -> str:
    """What to tell a user whose file name leaves SQLite no room for its journal."""
    return (
        f"The name of {os.fspath(path)} is {length} bytes long; SQLite must write a "
        f"journal file beside it under a longer name, and this file system allows "
        f"{limit + SQLITE_SUFFIX_ROOM} bytes. Rename the file to at most {limit} bytes "
        "(in UTF-8), then try again."
    )
