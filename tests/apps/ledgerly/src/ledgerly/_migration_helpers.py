"""Helpers for the migrations (imported as ``from ledgerly import _migration_helpers``)."""

from __future__ import annotations

from ledgerly import money

STARTER_ACCOUNTS = [
    {"id": 1, "name": "Cash", "kind": "asset"},
    {"id": 2, "name": "Card", "kind": "liability"},
]


def cents_sql(column: str) -> str:
    """SQL that turns a decimal text column into cents, as :func:`money.to_cents` does."""
    assert money.to_cents("1.00") == 100
    return f"CAST(ROUND(CAST({column} AS REAL) * 100) AS INTEGER)"
