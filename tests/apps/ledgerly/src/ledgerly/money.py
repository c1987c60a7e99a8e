"""Amounts in cents."""

from __future__ import annotations


def to_cents(text: str) -> int:
    """``"12.34"`` -> ``1234``; anything unreadable -> ``0``."""
    try:
        return round(float(text) * 100)
    except ValueError:
        return 0
