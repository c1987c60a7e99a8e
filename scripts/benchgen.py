"""Generators of realistic Alembic script directories, for scripts/bench.py.

:func:`generate` writes a linear history of ``n`` revisions: a mix of
``create_table`` (with a foreign key to an earlier table), ``add_column``,
``create_index`` and batch alters (``batch_alter_table(..., recreate="always")``
changing a column's type), spread over the tables, each with a working
``downgrade()``.  :func:`generate_big` writes the two revisions of the large-file
upgrade benchmark.  Both directories carry a plain ``env.py`` as Alembic's
``init`` template makes it (an engine from ``sqlalchemy.url``, configure, run), so
``alembic.command.upgrade`` works on them with an in-memory ``Config``.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

ENV_PY = '''"""Alembic environment: the generic template, without logging configuration."""

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
target_metadata = None


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None, "set sqlalchemy.url"
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

SCRIPT_MAKO = '''"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''

REVISION = '''"""{message}

Revision ID: {revision}
Revises: {down_revision}
Create Date: 2025-{month:02d}-{day:02d} 10:{minute:02d}:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = {revision!r}
down_revision = {down_revision_repr}
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''

WORDS = (
    "customer",
    "invoice",
    "product",
    "purchase_order",
    "shipment",
    "supplier",
    "warehouse",
    "payment",
    "category",
    "review",
    "address",
    "employee",
    "department",
    "project",
    "task",
    "comment",
    "tag",
    "attachment",
    "note",
    "account",
)

# A column type as source text, and what a batch alter turns it into.
NEXT_TYPE = {
    "sa.String(length=40)": "sa.Text()",
    "sa.Text()": "sa.Integer()",
    "sa.Integer()": "sa.BigInteger()",
    "sa.BigInteger()": "sa.String(length=40)",
}
ADDED_TYPES = (
    "sa.String(length=40)",
    "sa.Text()",
    "sa.Integer()",
    "sa.Numeric(precision=10, scale=2)",
    "sa.Boolean()",
    "sa.Date()",
)


@dataclass
class _Table:
    name: str
    columns: dict[str, str]  # name -> type source
    indexed: set[str] = field(default_factory=set)


def _indent(lines: list[str]) -> str:
    return "\n".join(f"    {line}" if line else "" for line in lines)


def revision_id(seed: str, index: int) -> str:
    """A 12-hex-digit revision id, as ``alembic revision`` makes them (but reproducible)."""
    return hashlib.sha1(f"{seed}-{index}".encode()).hexdigest()[:12]


class _History:
    """The schema as the revisions so far left it, and the next revision's source."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.tables: list[_Table] = []
        self.counter = 0

    def _fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def create_table(self) -> tuple[str, list[str], list[str]]:
        name = self._fresh(WORDS[len(self.tables) % len(WORDS)])
        columns = {"name": "sa.String(length=100)", "code": "sa.String(length=40)"}
        body = [
            "op.create_table(",
            f"    {name!r},",
            '    sa.Column("id", sa.Integer(), nullable=False),',
            '    sa.Column("name", sa.String(length=100), nullable=False),',
            '    sa.Column("code", sa.String(length=40), nullable=True),',
            '    sa.Column("created_at", sa.DateTime(), nullable=True),',
        ]
        fk = ""
        if self.tables:
            parent = self.rng.choice(self.tables).name
            fk = f"{parent}_id"
            columns[fk] = "sa.Integer()"
            body += [
                f"    sa.Column({fk!r}, sa.Integer(), nullable=True),",
                f"    sa.ForeignKeyConstraint([{fk!r}], [{parent + '.id'!r}], "
                f"name={'fk_' + name + '_' + fk!r}),",
            ]
        body += [f"    sa.PrimaryKeyConstraint('id', name={'pk_' + name!r}),", ")"]
        self.tables.append(_Table(name, columns))
        message = f"Create {name}" + (f" (references {fk[:-3]})" if fk else "")
        return message, body, [f"op.drop_table({name!r})"]

    def add_column(self) -> tuple[str, list[str], list[str]]:
        table = self.rng.choice(self.tables)
        column = self._fresh(self.rng.choice(("note", "status", "total", "flag", "ref", "due")))
        type_ = self.rng.choice(ADDED_TYPES)
        table.columns[column] = type_
        return (
            f"Add {table.name}.{column}",
            [f"op.add_column({table.name!r}, sa.Column({column!r}, {type_}, nullable=True))"],
            [f"op.drop_column({table.name!r}, {column!r})"],
        )

    def create_index(self) -> tuple[str, list[str], list[str]] | None:
        candidates = [
            (t, c) for t in self.tables for c in t.columns if c not in t.indexed and c != "name"
        ]
        if not candidates:
            return None
        table, column = self.rng.choice(candidates[-40:])
        table.indexed.add(column)
        index = f"ix_{table.name}_{column}"
        return (
            f"Index {table.name}.{column}",
            [f"op.create_index({index!r}, {table.name!r}, [{column!r}], unique=False)"],
            [f"op.drop_index({index!r}, table_name={table.name!r})"],
        )

    def batch_alter(self) -> tuple[str, list[str], list[str]] | None:
        candidates = [(t, c) for t in self.tables for c, ty in t.columns.items() if ty in NEXT_TYPE]
        if not candidates:
            return None
        table, column = self.rng.choice(candidates)
        old = table.columns[column]
        new = NEXT_TYPE[old]
        table.columns[column] = new

        def alter(a: str, b: str) -> list[str]:
            return [
                f'with op.batch_alter_table({table.name!r}, recreate="always") as batch_op:',
                "    batch_op.alter_column(",
                f"        {column!r}, existing_type={a}, type_={b}, existing_nullable=True",
                "    )",
            ]

        return f"Change {table.name}.{column} to {new}", alter(old, new), alter(new, old)

    def next(self, index: int) -> tuple[str, list[str], list[str]]:
        if index == 0:
            return self.create_table()
        kind = self.rng.choices(("table", "column", "index", "batch"), (25, 35, 22, 18))[0]
        made = None
        if kind == "index":
            made = self.create_index()
        elif kind == "batch":
            made = self.batch_alter()
        elif kind == "table":
            made = self.create_table()
        return made if made is not None else self.add_column()


def _write_common(folder: Path) -> Path:
    versions = folder / "versions"
    versions.mkdir(parents=True)
    (folder / "env.py").write_text(ENV_PY)
    (folder / "script.py.mako").write_text(SCRIPT_MAKO)
    return versions


def _write_revision(
    versions: Path,
    index: int,
    rev: str,
    down: str | None,
    message: str,
    upgrade: list[str],
    downgrade: list[str],
) -> None:
    slug = "".join(ch if ch.isalnum() else "_" for ch in message.lower()).strip("_")[:40]
    text = REVISION.format(
        message=message,
        revision=rev,
        down_revision=down or "",
        down_revision_repr=repr(down),
        month=1 + index // 600 % 12,
        day=1 + index // 20 % 28,
        minute=index % 60,
        upgrade=_indent(upgrade),
        downgrade=_indent(downgrade),
    )
    (versions / f"{rev}_{slug}.py").write_text(text)


def generate(folder: Path, n: int, *, seed: int = 2025) -> list[str]:
    """Write an Alembic script directory with ``n`` linear revisions into ``folder``.

    :return: the revision ids, oldest first (the last one is the head).
    """
    versions = _write_common(folder)
    history = _History(random.Random(seed * 100003 + n))
    revisions: list[str] = []
    for index in range(n):
        rev = revision_id(f"{seed}-{n}", index)
        message, upgrade, downgrade = history.next(index)
        down = revisions[-1] if revisions else None
        _write_revision(versions, index, rev, down, message, upgrade, downgrade)
        revisions.append(rev)
    return revisions


def generate_big(folder: Path) -> tuple[str, str]:
    """The two revisions of the large-file benchmark: make ``big``, then recreate it.

    :return: ``(r1, r2)``.
    """
    versions = _write_common(folder)
    r1, r2 = "b16f00000001", "b16f00000002"
    _write_revision(
        versions,
        0,
        r1,
        None,
        "Create big",
        [
            "op.create_table(",
            '    "big",',
            '    sa.Column("id", sa.Integer(), nullable=False),',
            '    sa.Column("payload", sa.Text(), nullable=True),',
            '    sa.Column("n", sa.Text(), nullable=True),',
            '    sa.PrimaryKeyConstraint("id"),',
            ")",
        ],
        ['op.drop_table("big")'],
    )

    def alter(a: str, b: str) -> list[str]:
        return [
            'with op.batch_alter_table("big", recreate="always") as batch_op:',
            f'    batch_op.alter_column("n", existing_type={a}, type_={b}, existing_nullable=True)',
        ]

    _write_revision(
        versions,
        1,
        r2,
        r1,
        "big.n becomes INTEGER",
        alter("sa.Text()", "sa.Integer()"),
        alter("sa.Integer()", "sa.Text()"),
    )
    return r1, r2
