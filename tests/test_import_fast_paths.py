"""The import's fast paths keep its contract: pass 2 writes the rows pass 1 checked (kept
on disk, not parsed again), a legacy ID number's warning survives the trip, a re-import
leaves what the lifecycle set, counts stay right across batches and rounds, and the rows
kept between the passes never outlive the import."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from zhucun.models import Household, Survey, Village

import zhucun.exchange.importer as importer
import zhucun.exchange.registry_writes as registry_writes
from tests.support.registry_fixtures import V1, registry_rows, valid_folder, write_folder
from zhucun.db import engine_for
from zhucun.exchange.importer import import_folder
from zhucun.exchange.spill import Spill
from zhucun.idnumber import check_character
from zhucun.migrate import upgrade


def _changes(result: importer.ImportResult) -> dict[str, tuple[int, int, int]]:
    return {t.table: (t.inserted, t.updated, t.unchanged) for t in result.tables}


def test_pass_two_writes_from_pass_one_without_reading_the_files(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_second_parse(*_: object) -> None:
        raise AssertionError("pass 2 parsed a file again")

    monkeypatch.setattr(importer, "_parsed_rows", no_second_parse)
    result = import_folder(valid_folder(tmp_path / "in"))
    assert result.ok, result.errors
    assert _changes(result)["household"] == (4, 0, 0)
    assert _changes(result)["survey"] == (2, 0, 0)


def test_a_legacy_id_number_is_upgraded_warned_and_stored(engine: Engine, tmp_path: Path) -> None:
    rows = registry_rows()
    legacy = "522626700301011"  # before 1999: no century, no check character
    rows["households.csv"][0]["head_id_number"] = legacy
    result = import_folder(write_folder(tmp_path / "in", rows))
    assert result.ok, result.errors
    assert result.warnings == [
        "households.csv:2:head_id_number: legacy 15-digit ID number upgraded to 18 digits"
    ]
    with engine.connect() as conn:
        stored = conn.scalar(
            select(Household.head_id_number).where(Household.household_id == "H0001")
        )
    assert stored == "52262619700301011" + check_character("52262619700301011")


def test_a_reimport_keeps_the_village_exit_year(engine: Engine, tmp_path: Path) -> None:
    """exit_year belongs to the village exit procedure; the import never supplies it, so
    an update of the village in place leaves it (it used to be reset to NULL)."""
    assert import_folder(valid_folder(tmp_path / "first")).ok
    with engine.begin() as conn:
        conn.execute(update(Village).where(Village.village_code == V1).values(exit_year=2020))
    rows = registry_rows()
    rows["villages.csv"][0]["population"] = "1300"
    result = import_folder(write_folder(tmp_path / "second", rows))
    assert _changes(result)["village"] == (0, 1, 2)
    with engine.connect() as conn:
        village = conn.execute(select(Village).where(Village.village_code == V1)).one()
    assert (village.population, village.exit_year) == (1300, 2020)
    assert _changes(import_folder(write_folder(tmp_path / "third", rows)))["village"] == (0, 0, 3)


def test_the_kept_rows_are_removed_whatever_the_outcome(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Spill] = []
    real_init = Spill.__init__

    def tracking_init(self: Spill) -> None:
        real_init(self)
        opened.append(self)

    monkeypatch.setattr(Spill, "__init__", tracking_init)
    assert import_folder(valid_folder(tmp_path / "ok")).ok
    rows = registry_rows()
    rows["surveys.csv"][1]["survey_date"] = "2025-13-01"  # the last file: all kept till then
    assert not import_folder(write_folder(tmp_path / "bad", rows)).ok
    assert len(opened) >= 7 and not any(s.usable for s in opened)  # closed: gone from disk


@pytest.mark.postgres
def test_rounds_and_batches_give_the_same_counts(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL merges in rounds of MERGE_ROUND rows: one row per round counts the same,
    and a changed row in a later round is an update, not an insert."""
    upgrade(postgres_url)
    monkeypatch.setattr(registry_writes, "MERGE_ROUND", 1)
    first = import_folder(valid_folder(tmp_path / "first"), url=postgres_url)
    assert _changes(first)["survey"] == (2, 0, 0)
    rows = registry_rows()
    rows["surveys.csv"][1]["shock"] = "disaster"
    again = import_folder(write_folder(tmp_path / "second", rows), url=postgres_url)
    assert _changes(again)["survey"] == (0, 1, 1)
    assert _changes(again)["household"] == (0, 0, 4)
    with engine_for(postgres_url).connect() as conn:
        shocks = sorted(conn.scalars(select(Survey.shock)))
    assert shocks == ["disaster", "none"]
