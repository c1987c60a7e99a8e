"""Fixtures for the fault-injection suite: fresh real file systems, one per test.

Each is unmounted (and its loop device detached) when the test ends, pass or fail.
A test that cannot get its file system here is skipped with the reason (see
``mounts.py``; ``FROZEN_ALEMBIC_REQUIRE_MOUNTS=1`` makes that a failure).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from . import mounts


@pytest.fixture
def tmpfs_factory() -> Iterator[Callable[[int], Path]]:
    """Call with a size in bytes to get a new tmpfs of that size (as many as you like)."""
    with contextlib.ExitStack() as stack:

        def make(size_bytes: int) -> Path:
            return stack.enter_context(mounts.tmpfs(size_bytes))

        yield make


@pytest.fixture
def exfat_dir() -> Iterator[Path]:
    """The root of a new 64 MB exFAT file system (exfat-fuse on a loop device)."""
    with mounts.exfat_fuse() as folder:
        yield folder


@pytest.fixture
def xfs_dir() -> Iterator[Path]:
    """The root of a new 300 MB XFS file system on a loop device (reflinks work)."""
    with mounts.xfs_loop() as folder:
        yield folder


@pytest.fixture
def btrfs_dir() -> Iterator[Path]:
    """The root of a new 256 MB btrfs file system on a loop device (reflinks work)."""
    with mounts.btrfs_loop() as folder:
        yield folder
