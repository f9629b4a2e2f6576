"""Schema management through Alembic (the product never calls create_all)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config

from zhucun.settings import get_settings


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("zhucun.migrations")))
    cfg.set_main_option("sqlalchemy.url", url or get_settings().effective_database_url)
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Create or upgrade the schema, then add the shipped policy rows the database lacks."""
    from sqlmodel import Session

    from zhucun.db import engine_for
    from zhucun.policy import seed_policy

    url = url or get_settings().effective_database_url
    command.upgrade(alembic_config(url), revision)
    with Session(engine_for(url)) as session:
        seed_policy(session)
        session.commit()


def current(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from zhucun.db import engine_for

    with engine_for(url or get_settings().effective_database_url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
