"""Policy resolves for every year a real registry spans (建档立卡 starts in 2014), the
poverty lines are the sourced ones, and a year before the data is a one-line CLI error."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner
from zhucun.models.policy import PolicyValue

from zhucun.cli import app
from zhucun.policy import Policy, default_policy, default_rows, load_policy, seed_policy

runner = CliRunner()
FIRST_REGISTRY_YEAR = 2014
YEARS = range(FIRST_REGISTRY_YEAR, date.today().year + 1)
# current-price national lines with a source (云南调查年鉴2017 table 4-2, NBS standard)
SOURCED_LINES = {2011: 2536, 2012: 2625, 2013: 2736, 2014: 2800, 2015: 2855, 2016: 2952}


@pytest.mark.parametrize("region", ["east", "central", "west"])
def test_every_registry_year_resolves(region: str) -> None:
    for year in YEARS:
        policy = default_policy(year, region)
        assert policy.year == year
        assert policy.team_min_size <= policy.team_max_size
        assert policy.monitoring_threshold_yuan >= policy.poverty_line_yuan


def test_every_key_has_a_row_by_the_first_registry_year() -> None:
    """The rule that makes 2014 resolve: no key starts later (later rules are backdated
    explicitly, as rows that say so)."""
    first: dict[str, int] = {}
    for r in default_rows():
        first[r["key"]] = min(r["year_from"], first.get(r["key"], r["year_from"]))
        if r.get("backdated"):
            assert r["year_from"] == FIRST_REGISTRY_YEAR and "backdated" in r["source"]
    filled = {"monitoring_threshold_yuan", "monitoring_income_multiple"}  # derived before
    for key in set(Policy.model_fields) & set(first) - filled:
        assert first[key] <= FIRST_REGISTRY_YEAR, key


@pytest.mark.parametrize("year", [2014, 2015, 2016])
def test_early_lines_are_the_sourced_values(year: int) -> None:
    for region in ("east", "central", "west"):
        assert default_policy(year, region).poverty_line_yuan == SOURCED_LINES[year]


def test_line_rows_name_a_source_or_say_unconfirmed() -> None:
    lines = [r for r in default_rows() if r["key"] == "poverty_line_yuan"]
    assert {r["year_from"] for r in lines} >= set(range(2011, 2021))
    for r in lines:
        assert r["source"].strip(), r
        unconfirmed = r.get("unconfirmed", False)
        assert unconfirmed == r["source"].startswith("[GK]"), r
        if r["year_from"] in SOURCED_LINES:
            assert not unconfirmed and r["value"] == SOURCED_LINES[r["year_from"]]
            assert "http" in r["source"]
    assert {r["year_from"] for r in lines if r.get("unconfirmed")} == {2017, 2018, 2019}


def test_a_year_before_the_data_is_a_one_line_lookup_error() -> None:
    with pytest.raises(LookupError, match=r"^no policy for 2013 \(west\): .* starts in 2014$"):
        default_policy(2013, "west")


def test_seed_corrects_an_old_shipped_default_but_keeps_a_county_change(session: Session) -> None:
    """A database seeded before the correction holds 3,000 for 2016; a county may have set its
    own line for 2011."""
    rows = {(p.key, p.year_from, p.scope): p for p in session.exec(select(PolicyValue))}
    rows[("poverty_line_yuan", 2016, "*")].value = 3000
    rows[("poverty_line_yuan", 2011, "*")].value = 2400  # a county's own value
    session.add_all(rows.values())
    session.commit()
    assert seed_policy(session) == 1
    session.commit()
    assert load_policy(session, 2016, "central").poverty_line_yuan == 2952
    kept = session.exec(
        select(PolicyValue.value).where(
            PolicyValue.key == "poverty_line_yuan", PolicyValue.year_from == 2011
        )
    ).one()
    assert kept == 2400
    assert seed_policy(session) == 0


def test_cli_policy_show_2015(data_dir: Path) -> None:
    result = runner.invoke(app, ["policy", "show", "--year", "2015", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["year"] == 2015 and data["poverty_line_yuan"] == 2855
    assert not data_dir.exists(), "showing the defaults creates no database"


def test_cli_policy_show_2015_from_the_database(engine: object) -> None:
    result = runner.invoke(
        app, ["policy", "show", "--year", "2015", "--region", "west"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    line = next(n for n, t in enumerate(lines) if "贫困线（元/人·年）" in t)
    assert "¥2,855" in lines[line] and "poverty_line_yuan" in lines[line + 1]
    line = next(n for n, t in enumerate(lines) if "贫困村退出贫困发生率上限" in t)
    assert "0.03" in lines[line] and "village_exit_max_incidence" in lines[line + 1]


@pytest.mark.parametrize("year", ["1", "2013"])
def test_cli_year_before_the_data_is_one_line(data_dir: Path, year: str) -> None:
    result = runner.invoke(app, ["policy", "show", "--year", year])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0] == f"error: no policy for {year} (central): the policy data starts in 2014"
    assert "Traceback" not in result.output
