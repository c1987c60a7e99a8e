"""A helper imported as ``import ledgerly.helper``."""

from __future__ import annotations

DEFAULT_META = '{"source": "ledgerly"}'
