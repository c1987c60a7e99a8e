"""SQLAlchemy Core schema of a notekeeper document at head (``0006_attachments``).

This must stay in step with ``migrations/versions``: a document upgraded to
:data:`HEAD` compares equal to :data:`metadata` under Alembic autogenerate.
The ``note_summary`` view is not a table; ``metadata.create_all`` creates it
through a DDL event, exactly as the migrations left it.
"""

from __future__ import annotations

import sqlalchemy as sa

HEAD = "0006_attachments"

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

notebook = sa.Table(
    "notebook",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("sort_key", sa.Integer, nullable=True),
    # The text of a sort key that was not a plain integer before release 1.3 (0004).
    sa.Column("legacy_sort_key", sa.Text, nullable=True),
    sa.Column("archived", sa.Boolean, nullable=False, server_default="0"),
)

note = sa.Table(
    "note",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "notebook_id",
        sa.Integer,
        sa.ForeignKey("notebook.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("pinned", sa.Boolean, nullable=False, server_default="0"),
    sa.Column("author_first", sa.String(100), nullable=False, server_default=""),
    sa.Column("author_last", sa.String(100), nullable=False, server_default=""),
)

tag = sa.Table(
    "tag",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
)

note_tag = sa.Table(
    "note_tag",
    metadata,
    sa.Column(
        "note_id",
        sa.Integer,
        sa.ForeignKey("note.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "tag_id",
        sa.Integer,
        sa.ForeignKey("tag.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

attachment = sa.Table(
    "attachment",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "note_id",
        sa.Integer,
        sa.ForeignKey("note.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

NOTE_SUMMARY_VIEW = """
CREATE VIEW note_summary AS
SELECT notebook.title AS notebook_title,
       note.id AS note_id,
       note.pinned AS pinned,
       note.created_at AS created_at
FROM note JOIN notebook ON notebook.id = note.notebook_id
"""

sa.event.listen(metadata, "after_create", sa.DDL(NOTE_SUMMARY_VIEW))  # type: ignore[no-untyped-call]
sa.event.listen(
    metadata,
    "before_drop",
    sa.DDL("DROP VIEW IF EXISTS note_summary"),  # type: ignore[no-untyped-call]
)
