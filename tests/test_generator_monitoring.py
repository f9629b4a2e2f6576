"""The generator's monitoring material (issue 13): ordinary rural households never
registered, with realistic incomes (mostly above the threshold, a tail under it) and
shocks; clues from each channel and each sector in a file beside the registry that
`zhucun monitor clues import` takes whole."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from zhucun.exchange.clues import CLUE_HEADER, read_clues
from zhucun.generator import generate
from zhucun.policy import default_policy
from zhucun.rules.monitoring import threshold

COUNTY, POOR, YEAR = "433124", 800, 2026


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("county")
    return out, generate(COUNTY, out, seed=11, households=POOR, year=YEAR)


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_ordinary_households_mostly_above_the_threshold_with_a_tail(county) -> None:  # noqa: ANN001
    folder, summary = county
    assert summary.ordinary_households == POOR // 4
    policy = default_policy(YEAR, "central", "43")
    line, limit = policy.poverty_line_yuan, threshold(policy)
    never = [h for h in _read(folder, "households.csv") if h["registered_poor"] == "false"]
    assert len(never) == summary.edge_households + summary.ordinary_households
    incomes = sorted(float(h["per_capita_income_yuan"]) for h in never)
    above = sum(x > limit for x in incomes) / len(incomes)
    assert 0.55 <= above <= 0.85  # edge households are the rest, with the ordinary tail
    assert min(incomes) > line and max(incomes) > 3 * limit


def test_ordinary_households_suffer_every_kind_of_shock(county) -> None:  # noqa: ANN001
    folder, summary = county
    households = {h["household_id"]: h for h in _read(folder, "households.csv")}
    shocks: Counter[str] = Counter()
    billed = 0
    for s in _read(folder, "surveys.csv"):
        h = households[s["household_id"]]
        if h["registered_poor"] == "false" and s["shock"] != "none":
            shocks[s["shock"]] += 1
            total = float(h["per_capita_income_yuan"]) * int(h["size"])
            billed += s["shock"] == "illness" and float(h["medical_spending_yuan"]) > 0.3 * total
    assert set(shocks) == {"illness", "accident", "disaster", "unemployment"}
    assert billed >= 3  # large 合规自付 bills: 突发严重困难户 above the range


def test_clues_come_from_each_channel_and_sector(county) -> None:  # noqa: ANN001
    folder, summary = county
    with open(folder / "monitoring_clues.csv", encoding="utf-8") as fh:
        assert fh.readline().rstrip("\n") == ",".join(CLUE_HEADER)
    clues = _read(folder, "monitoring_clues.csv")
    assert len(clues) == summary.clues > 0
    assert {c["channel"] for c in clues} == {"self_report", "visit", "sector"}
    assert {c["sector"] for c in clues if c["channel"] == "sector"} == {
        "medical",
        "civil_affairs",
        "education",
        "emergency",
        "housing",
    }
    households = {h["household_id"]: h for h in _read(folder, "households.csv")}
    assert all(households[c["household_id"]]["registered_poor"] == "false" for c in clues)
    assert max(c["reported_on"] for c in clues) <= f"{YEAR}-09-30"  # never in the future
    officials = {o["person_id"] for o in _read(folder, "officials.csv")}
    assert all(c["reported_by"] in officials for c in clues if c["channel"] == "visit")


def test_the_clue_file_imports_whole_after_the_registry(county, data_dir: Path) -> None:  # noqa: ANN001
    from sqlmodel import Session
    from zhucun.tasks.monitoring_clues import record_clues

    from zhucun.db import get_engine
    from zhucun.exchange.importer import import_folder

    folder, summary = county
    result = import_folder(folder)
    assert result.ok, result.errors[:5]
    assert any("monitoring_clues.csv skipped" in n for n in result.notes)
    parsed = read_clues(folder / "monitoring_clues.csv")
    assert parsed.errors == [] and len(parsed.records) == summary.clues
    with Session(get_engine()) as session:
        refusals, counts = record_clues(session, parsed.records, today=date(YEAR, 12, 31))
        assert refusals == [] and counts["written"] + counts["unchanged"] == summary.clues
        session.commit()


def test_a_workbook_county_has_the_clue_workbook(tmp_path: Path) -> None:
    summary = generate("130624", tmp_path, seed=2, households=120, xlsx=True)
    assert (tmp_path / "monitoring_clues.xlsx").exists()
    parsed = read_clues(tmp_path / "monitoring_clues.xlsx")
    assert parsed.errors == [] and len(parsed.records) == summary.clues
    assert summary.rows["monitoring_clues.xlsx"] == summary.clues
