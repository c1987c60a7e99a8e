"""Names of the files the build puts into a bundled migrations folder."""

from __future__ import annotations

MANIFEST_NAME = "frozen-alembic-manifest.json"
"""Revision graph, heads and a SHA-256 of every other file in the folder."""

HEADS_NAME = "frozen-alembic-heads.txt"
"""The heads, one per line: all the "already current" check needs to read."""

TEMPLATE_NAME = "frozen-alembic-template.sqlite"
"""An empty database at the heads, copied by ``Migrator.create()``."""

VERSION_TABLE = "alembic_version"
"""Alembic's default version table (a project may name another)."""
