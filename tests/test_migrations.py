"""Alembic is the product's way to create the schema: it must match the models exactly, on
SQLite and (when the server is there) on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command

from zhucun.migrate import alembic_config, current, upgrade


def test_upgrade_creates_schema_matching_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert current(url) is not None
    command.check(alembic_config(url))  # raises if models and migrations differ
    upgrade(url)  # idempotent


@pytest.mark.postgres
def test_upgrade_on_postgresql(postgres_url: str) -> None:
    upgrade(postgres_url)
    command.check(alembic_config(postgres_url))
