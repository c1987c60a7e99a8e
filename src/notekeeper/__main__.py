"""``python -m notekeeper [--open FILE | --check FILE | FILE]``; the frozen executable's
entry point.  See :mod:`notekeeper.app`: the window, or the console check (no Qt)."""

from __future__ import annotations

import sys

from notekeeper.app import main

sys.exit(main())
