"""`zhucun cycle run`, `zhucun evaluate`, `zhucun causes override`, `zhucun demo`."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from typer.testing import CliRunner
from zhucun.models import Evaluation, HouseholdAssessment, Strategy, Team

from tests.support.county import COUNTY, SeedInfo, add_surveys, seed_county
from tests.support.invariants_lifecycle import check_lifecycle_invariants
from tests.support.lifecycle_fixtures import agency_cadres, make_team, survey
from zhucun.cli import app

runner = CliRunner()


@pytest.fixture
def county(session: Session, prefect_harness: None) -> SeedInfo:
    info = seed_county(session)
    session.commit()
    return info


def test_cycle_run_prints_a_table_per_stage_and_json(session: Session, county: SeedInfo) -> None:
    res = runner.invoke(app, ["cycle", "run", "--county", COUNTY, "--year", "2026"])
    assert res.exit_code == 0, res.output
    for stage in ("致贫原因认定", "村情分析", "选派工作队", "村发展规划", "一户一策"):
        assert stage in res.output  # the stages in the operator's language (ZHUCUN_LANG=zh)
    assert session.execute(select(func.count()).select_from(Strategy)).scalar_one() == len(
        county.poor_households
    )
    assert session.execute(select(func.count()).select_from(Team)).scalar_one() > 0
    again = runner.invoke(app, ["cycle", "run", "--county", COUNTY, "--year", "2026", "--json"])
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["stages"]["strategies"]["written"] == 0
    assert check_lifecycle_invariants(session, COUNTY, 2026) == []


def test_cycle_run_refuses_a_bad_county_code(data_dir: object) -> None:
    res = runner.invoke(app, ["cycle", "run", "--county", "52262", "--year", "2026"])
    assert res.exit_code == 2 and "6 digits" in res.output


def test_via_deployment_fails_clearly_without_the_deployment(county: SeedInfo) -> None:
    """No `zhucun up` (no registered deployment): the option says why it cannot start."""
    res = runner.invoke(
        app, ["cycle", "run", "--county", COUNTY, "--year", "2026", "--via-deployment"]
    )
    assert res.exit_code == 1 and "could not run the cycle through its deployment" in res.output
    narrowed = runner.invoke(
        app,
        [
            "cycle",
            "run",
            "--county",
            COUNTY,
            "--year",
            "2026",
            "--via-deployment",
            "--village",
            "130624100200",
        ],
    )
    assert narrowed.exit_code == 2 and "--village" in narrowed.output


def test_evaluate_prints_outcomes(session: Session, county: SeedInfo) -> None:
    add_surveys(session, [survey(h, date(2026, 6, 2), 9000.0) for h in county.poor_households[:5]])
    session.commit()
    res = runner.invoke(app, ["evaluate", "--county", COUNTY, "--period", "2026-06", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["outcomes"]["exit"] == 5
    assert session.execute(select(func.count()).select_from(Evaluation)).scalar_one() == len(
        county.poor_households
    )
    bad = runner.invoke(app, ["evaluate", "--county", COUNTY, "--period", "2026-13"])
    assert bad.exit_code == 2


def test_causes_override_is_recorded_and_refused_when_invalid(
    session: Session, county: SeedInfo
) -> None:
    village = county.poor_villages[0]
    cadres = agency_cadres(session, "省农业农村厅", 3, skip=4)
    make_team(session, village, cadres)
    session.commit()
    hid = next(h for h in county.poor_households if h.startswith(f"H{village[-3:]}"))
    ok = runner.invoke(
        app,
        [
            "causes",
            "override",
            hid,
            "--year",
            "2026",
            "--main",
            "illness",
            "--other",
            "water",
            "--reason",
            "入户核实: 户主患大病",
            "--by",
            cadres[0],
        ],
    )
    assert ok.exit_code == 0, ok.output
    row = session.scalars(select(HouseholdAssessment)).one()
    assert (row.source, row.main_cause, row.other_causes) == ("override", "illness", ["water"])
    bad = runner.invoke(
        app,
        [
            "causes",
            "override",
            hid,
            "--year",
            "2026",
            "--main",
            "illness",
            "--other",
            "illness",
            "--reason",
            "x",
            "--by",
            cadres[0],
        ],
    )
    assert bad.exit_code == 2 and "refused" in bad.output
