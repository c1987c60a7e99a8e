"""The schema at the newest revision."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import JSON
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "account"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(100), nullable=False)
    kind = sa.Column(sa.Enum("asset", "liability", name="account_kind"), nullable=False)
    created = sa.Column(sa.DateTime, server_default=sa.func.now(), nullable=False)


class Entry(Base):
    __tablename__ = "entry"
    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("account.id"), nullable=False)
    memo = sa.Column(sa.String(200), nullable=False)
    amount_cents = sa.Column(sa.Integer, nullable=False)
    meta = sa.Column(JSON, nullable=True)
