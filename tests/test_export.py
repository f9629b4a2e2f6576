"""`zhucun export`: every output file with its header, lists joined by `;`, a county
filter, and never an ID number."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from zhucun.models import (
    AuditEvent,
    County,
    Decision,
    Evaluation,
    HelperAssignment,
    Household,
    HouseholdAssessment,
    Plan,
    PlanItem,
    Shortage,
    Strategy,
    Team,
    TeamMember,
    Township,
    Village,
    VillageAssessment,
    VillageStatus,
)

from tests.support.registry_fixtures import V1, ids, registry_rows, valid_folder
from zhucun.exchange.exporter import cell, export_folder, scrub
from zhucun.exchange.importer import import_folder
from zhucun.exchange.specs import OUTPUT_COLUMNS

N = ids()
OTHER = "130624100001"  # a village of another county


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _seed_lifecycle(engine: Engine) -> None:
    """One row in every lifecycle table for V1, and some for a village of another county."""
    at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(County),
            [{"county_code": "130624", "name": "阜平县", "province": "河北省", "region": "east"}],
        )
        conn.execute(
            insert(Township),
            [{"township_code": "130624100", "name": "城南庄镇", "county_code": "130624"}],
        )
        conn.execute(
            insert(Village),
            [
                {
                    "village_code": OTHER,
                    "name": "骆驼湾村",
                    "township_code": "130624100",
                    "county_code": "130624",
                    "main_industries": [],
                }
            ],
        )
        conn.execute(
            insert(Household),
            [
                {
                    **{k: v for k, v in _household().items()},
                    "household_id": "HB001",
                    "village_code": OTHER,
                }
            ],
        )
        for team_id, village in ((1, V1), (2, OTHER)):
            conn.execute(
                insert(Team),
                [
                    {
                        "team_id": team_id,
                        "village_code": village,
                        "cycle_year": 2026,
                        "term_start": date(2026, 1, 1),
                        "term_end": date(2027, 12, 31),
                        "leader_cadre_id": "C001" if team_id == 1 else "C002",
                        "agency": "省农业农村厅",
                        "status": "active",
                    }
                ],
            )
        conn.execute(
            insert(TeamMember),
            [
                {"team_id": 1, "cadre_id": "C001", "role": "first_secretary", "active": True},
                {"team_id": 1, "cadre_id": "C003", "role": "member", "active": True},
                {"team_id": 2, "cadre_id": "C002", "role": "first_secretary", "active": True},
            ],
        )
        conn.execute(
            insert(HelperAssignment),
            [
                {
                    "household_id": "H0001",
                    "cycle_year": 2026,
                    "cadre_id": "C003",
                    "village_code": V1,
                },
                {
                    "household_id": "HB001",
                    "cycle_year": 2026,
                    "cadre_id": "C002",
                    "village_code": OTHER,
                },
            ],
        )
        conn.execute(
            insert(Shortage),
            [
                {
                    "village_code": V1,
                    "cycle_year": 2026,
                    "kind": "team",
                    "missing_members": 1,
                    "reason": "no health cadre",
                }
            ],
        )
        conn.execute(
            insert(VillageAssessment),
            [
                {
                    "village_code": V1,
                    "cycle_year": 2026,
                    "poor_households": 2,
                    "poor_population": 8,
                    "poverty_incidence": 0.25,
                    "gaps": ["broadband", "school"],
                    "top_causes": ["illness", "skills"],
                    "cause_distribution": {"illness": 2},
                    "industries": ["茶叶"],
                }
            ],
        )
        conn.execute(
            insert(HouseholdAssessment),
            [
                {
                    "household_id": "H0001",
                    "village_code": V1,
                    "cycle_year": 2026,
                    "main_cause": "illness",
                    "other_causes": ["skills", "capital"],
                    "evidence": {"illness": "chronic_illness_members=1"},
                    "source": "rule",
                }
            ],
        )
        conn.execute(insert(Plan), [{"id": 1, "village_code": V1, "cycle_year": 2026}])
        conn.execute(
            insert(PlanItem),
            [
                {
                    "plan_id": 1,
                    "village_code": V1,
                    "cycle_year": 2026,
                    "category": "infrastructure",
                    "item": "broadband to every group",
                    "answers": "gap:broadband",
                    "cost_yuan": 120000.0,
                    "funding_source": "integrated_county_funds",
                    "status": "draft",
                }
            ],
        )
        conn.execute(
            insert(Strategy),
            [
                {
                    "household_id": "H0001",
                    "village_code": V1,
                    "cycle_year": 2026,
                    "measures": ["health", "skills_training"],
                    "cost_yuan": 6400.0,
                    "status": "approved",
                    "approved_by": "P002",
                    "approved_on": date(2026, 4, 2),
                }
            ],
        )
        conn.execute(
            insert(Decision),
            [
                {
                    "stage": "team",
                    "subject": "strategy",
                    "subject_id": "H0001",
                    "cycle_year": 2026,
                    "village_code": V1,
                    "reviewer_id": "C001",
                    "decision": "return",
                    "reason": f"head {N['h1']} also listed in another village",
                    "decided_on": date(2026, 3, 30),
                    "received_at": at,
                    "channel": "cli",
                    "outcome": "accepted",
                }
            ],
        )
        conn.execute(
            insert(Evaluation),
            [
                {
                    "household_id": "H0001",
                    "village_code": V1,
                    "period": "2026-06",
                    "per_capita_income_yuan": 5100.0,
                    "income_ok": True,
                    "guarantees_ok": False,
                    "outcome": "remain",
                }
            ],
        )
        conn.execute(
            insert(VillageStatus),
            [
                {
                    "village_code": V1,
                    "period": "2026-06",
                    "poverty_incidence": 0.125,
                    "exit_eligible": False,
                }
            ],
        )
        conn.execute(
            insert(AuditEvent),
            [
                {
                    "at": at,
                    "actor": "dispatch",
                    "action": "team.create",
                    "entity": "team",
                    "entity_id": "1",
                    "before": None,
                    "after": {"leader": "C001"},
                },
                {
                    "at": at,
                    "actor": "review",
                    "action": "conflict",
                    "entity": "household",
                    "entity_id": "H0001",
                    "before": None,
                    "after": {"note": f"reviewer related to {N['h1']}"},
                },
                {
                    "at": at,
                    "actor": "dispatch",
                    "action": "team.create",
                    "entity": "team",
                    "entity_id": "2",
                    "before": None,
                    "after": None,
                },
            ],
        )


def _household() -> dict[str, object]:
    return {
        "head_name": "某",
        "head_id_number": N["outsider"],
        "size": 3,
        "labour_count": 1,
        "skilled_labour": 0,
        "per_capita_income_yuan": 3000.0,
        "registered_poor": True,
        "attribute": "general",
        "housing_grade": "C",
        "food_clothing_secure": True,
        "compulsory_education_ok": True,
        "basic_medical_ok": True,
        "safe_water_ok": True,
    }


def test_export_of_an_empty_lifecycle_writes_headers(engine: Engine, tmp_path: Path) -> None:
    counts = export_folder(tmp_path / "out")
    assert set(counts) == set(OUTPUT_COLUMNS)
    for name, header in OUTPUT_COLUMNS.items():
        text = (tmp_path / "out" / name).read_bytes().decode("utf-8")
        assert text == "\ufeff" + ",".join(header) + "\r\n"  # a BOM, so Excel reads UTF-8
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_export_writes_every_file(engine: Engine, tmp_path: Path) -> None:
    assert import_folder(valid_folder(tmp_path / "in")).ok
    _seed_lifecycle(engine)
    out = tmp_path / "out"
    counts = export_folder(out)
    assert counts == {
        "teams.csv": 2,
        "team_members.csv": 3,
        "helpers.csv": 2,
        "shortages.csv": 1,
        "village_assessments.csv": 1,
        "household_assessments.csv": 1,
        "plan_items.csv": 1,
        "strategies.csv": 1,
        "decisions.csv": 1,
        "procedures.csv": 0,
        "evaluations.csv": 1,
        "village_status.csv": 1,
        "audit.csv": 6 + 3,
    }
    for name, header in OUTPUT_COLUMNS.items():
        with open(out / name, encoding="utf-8-sig", newline="") as fh:
            assert next(csv.reader(fh)) == list(header)
    assert _read(out / "village_assessments.csv") == [
        {
            "village_code": V1,
            "cycle_year": "2026",
            "poverty_incidence": "0.25",
            "gaps": "broadband;school",
            "top_causes": "illness;skills",
        }
    ]
    assert _read(out / "household_assessments.csv")[0]["other_causes"] == "skills;capital"
    strategy = _read(out / "strategies.csv")[0]
    assert (strategy["measures"], strategy["approved_on"]) == (
        "health;skills_training",
        "2026-04-02",
    )
    evaluation = _read(out / "evaluations.csv")[0]
    assert (evaluation["income_ok"], evaluation["guarantees_ok"]) == ("true", "false")
    decision = _read(out / "decisions.csv")[0]
    assert decision["outcome"] == "accepted" and decision["decision_id"] == "1"
    assert _read(out / "team_members.csv")[0] == {
        "team_id": "1",
        "cadre_id": "C001",
        "role": "first_secretary",
    }


def test_no_id_number_in_any_file(engine: Engine, tmp_path: Path) -> None:
    assert import_folder(valid_folder(tmp_path / "in")).ok
    _seed_lifecycle(engine)
    out = tmp_path / "out"
    export_folder(out)
    everything = "".join(p.read_text(encoding="utf-8") for p in out.glob("*.csv"))
    for idn in N.values():
        assert idn not in everything
    masked = N["h1"][:6] + "********" + N["h1"][-4:]
    assert masked in _read(out / "decisions.csv")[0]["reason"]


def test_county_filter(engine: Engine, tmp_path: Path) -> None:
    assert import_folder(valid_folder(tmp_path / "in")).ok
    _seed_lifecycle(engine)
    out = tmp_path / "out"
    counts = export_folder(out, county="130624")
    assert counts["teams.csv"] == 1 and counts["team_members.csv"] == 1
    assert counts["helpers.csv"] == 1 and counts["strategies.csv"] == 0
    assert _read(out / "teams.csv")[0]["village_code"] == OTHER
    # the team-2 event only: import events name files, the others name county 522626
    assert [r["entity_id"] for r in _read(out / "audit.csv")] == ["2"]
    mine = export_folder(tmp_path / "mine", county="522626")
    assert mine["teams.csv"] == 1 and mine["strategies.csv"] == 1
    assert [r["entity_id"] for r in _read(tmp_path / "mine" / "audit.csv")] == ["1", "H0001"]


def test_cell_formatting() -> None:
    assert [
        cell(None),
        cell(True),
        cell(False),
        cell(["a", "b"]),
        cell(1.5),
        cell(date(2026, 1, 2)),
    ] == ["", "true", "false", "a;b", "1.5", "2026-01-02"]
    assert cell({"b": 1, "a": "x"}) == '{"a": "x", "b": 1}'
    # an 18-digit number that is not a valid ID number (bad check character) is left alone
    not_an_id = N["h1"][:17] + ("0" if N["h1"][17] != "0" else "1")
    assert scrub(f"ref {not_an_id}") == f"ref {not_an_id}"
    assert N["h1"] not in scrub(f"ref {N['h1']}.")


def test_registry_rows_round_trip_counts(engine: Engine, tmp_path: Path) -> None:
    """The imported registry matches the folder: keys in, keys in the database."""
    rows = registry_rows()
    assert import_folder(valid_folder(tmp_path / "in")).ok
    from sqlalchemy import select

    with engine.connect() as conn:
        keys = set(conn.scalars(select(Household.household_id)))
    assert keys == {r["household_id"] for r in rows["households.csv"]}
