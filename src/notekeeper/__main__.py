"""``python -m notekeeper FILE``, and the frozen executable's entry point."""

from __future__ import annotations

import sys

from notekeeper.app import main

sys.exit(main())
