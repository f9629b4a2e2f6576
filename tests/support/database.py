"""The test database as the product's would be after `zhucun db upgrade`: every table
(tests use create_all; the product uses Alembic, checked against the models in
tests/test_migrations.py) and the policy rows."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from zhucun.db import get_engine
from zhucun.policy import seed_policy


def prepared_engine() -> Engine:
    """The configured database (ZHUCUN_DATABASE_URL or the data dir's SQLite), prepared."""
    engine = get_engine()
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        seed_policy(s)
        s.commit()
    return engine
