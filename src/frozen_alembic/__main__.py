"""``python -m frozen_alembic``: the same command line as ``frozen-alembic``."""

from __future__ import annotations

from ._cli import console_main

console_main()
