"""The import on PostgreSQL: the same upserts (dialect insert, IS DISTINCT FROM, JSON
compared as text), one transaction, re-import a no-op, an update in place."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from zhucun.models import AuditEvent, Household, Village

from tests.support.registry_fixtures import registry_rows, valid_folder, write_folder
from zhucun.db import engine_for
from zhucun.exchange.exporter import export_folder
from zhucun.exchange.importer import import_folder
from zhucun.exchange.specs import OUTPUT_COLUMNS
from zhucun.migrate import upgrade


@pytest.mark.postgres
def test_import_on_postgres(postgres_url: str, data_dir: Path, tmp_path: Path) -> None:
    upgrade(postgres_url)
    engine = engine_for(postgres_url)
    first = import_folder(valid_folder(tmp_path / "first"), url=postgres_url)
    assert first.ok, first.errors
    assert {t.table: t.inserted for t in first.tables}["household"] == 4

    again = import_folder(valid_folder(tmp_path / "first"), url=postgres_url)
    assert all(t.inserted == 0 and t.updated == 0 for t in again.tables)

    rows = registry_rows()
    rows["villages.csv"][0]["main_industries"] = "茶叶"
    rows["households.csv"][1]["size"] = "5"
    rows["households.csv"][3]["labour_count"] = "9"  # bad: nothing of this folder lands
    bad = import_folder(write_folder(tmp_path / "bad", rows), url=postgres_url)
    assert bad.errors == ["households.csv:5:labour_count: must be ≤ size"]
    rows["households.csv"][3]["labour_count"] = "2"
    updated = import_folder(write_folder(tmp_path / "good", rows), url=postgres_url)
    changes = {t.table: (t.inserted, t.updated, t.unchanged) for t in updated.tables}
    assert changes["village"] == (0, 1, 2)
    assert changes["household"] == (0, 1, 3)
    with engine.connect() as conn:
        assert conn.scalar(
            select(Village.main_industries).where(Village.village_code == "522626100001")
        ) == ["茶叶"]
        assert conn.scalar(select(Household.size).where(Household.household_id == "H0002")) == 5
        assert conn.scalar(select(func.count()).select_from(AuditEvent)) == 6 + 2
    counts = export_folder(tmp_path / "out", engine=engine, county="522626")
    assert counts["audit.csv"] == 0 and set(counts) == set(OUTPUT_COLUMNS)
