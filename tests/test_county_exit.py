"""County exit check (三率一度): the four rates against the shipped limits, a sample-check
file read or refused in one line, and `zhucun exit check` on a test database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session
from typer.testing import CliRunner
from zhucun.models import Household, Village
from zhucun.tasks.county_exit import SampleFileError, county_incidence_counts, read_sample

from tests.support.county import COUNTY
from tests.support.review_fixtures import seed_review
from zhucun.cli import app
from zhucun.policy import default_policy
from zhucun.rules.county_exit import SampleCounts, check_county_exit

LIMITS = default_policy(2018, "central").county_exit_thresholds


def rates(res: object) -> dict[str, object]:
    return {r.name: r for r in res.rates}  # type: ignore[attr-defined]


def test_a_2018_county_that_passes() -> None:
    """Like a 2018 county's third-party check: 12 of 1,200 sampled exited persons wrong
    (1.0%), 9 of 1,500 non-registered persons missed (0.6%), 951 of 1,000 households
    approving (95.1%), incidence 1.5%."""
    counts = SampleCounts(
        exited_persons=1200,
        wrong_exit_persons=12,
        nonregistered_persons=1500,
        missed_persons=9,
        surveyed_households=1000,
        approving_households=951,
    )
    res = check_county_exit(counts, poor_persons=3_000, rural_persons=200_000, thresholds=LIMITS)
    r = rates(res)
    assert res.passed
    assert r["wrong_exit"].rate == pytest.approx(0.01) and r["wrong_exit"].threshold == 0.02
    assert r["missed"].rate == pytest.approx(0.006)
    assert r["approval"].rate == pytest.approx(0.951) and r["approval"].comparison == ">="
    assert r["incidence"].rate == pytest.approx(0.015) and r["incidence"].passed


def test_one_rate_over_its_limit_fails_the_county() -> None:
    counts = SampleCounts(
        exited_persons=1200,
        wrong_exit_persons=30,
        nonregistered_persons=1500,
        missed_persons=9,
        surveyed_households=1000,
        approving_households=899,
    )
    res = check_county_exit(counts, 3_000, 200_000, LIMITS)
    r = rates(res)
    assert not res.passed
    assert not r["wrong_exit"].passed and "2.50% does not meet <= 2.00%" in r["wrong_exit"].reason
    assert not r["approval"].passed  # 89.9% < 90%
    assert r["missed"].passed and r["incidence"].passed


def test_limits_are_exact_and_incidence_must_be_below() -> None:
    counts = SampleCounts(
        exited_persons=100,
        wrong_exit_persons=2,
        nonregistered_persons=100,
        missed_persons=2,
        surveyed_households=10,
        approving_households=9,
    )
    r = rates(check_county_exit(counts, 2, 100, LIMITS))
    assert r["wrong_exit"].passed and r["missed"].passed and r["approval"].passed
    assert not r["incidence"].passed  # 2% is not below 2%


def test_west_allows_three_percent_incidence() -> None:
    west = default_policy(2018, "west").county_exit_thresholds
    assert west["max_incidence"] == 0.03 and LIMITS["max_incidence"] == 0.02
    counts = SampleCounts(
        exited_persons=10, nonregistered_persons=10, surveyed_households=10, approving_households=10
    )
    assert check_county_exit(counts, 25, 1000, west).passed
    assert not check_county_exit(counts, 25, 1000, LIMITS).passed


def test_nothing_to_divide_by_is_not_sampled_and_fails() -> None:
    res = check_county_exit(
        SampleCounts(exited_persons=10, surveyed_households=5, approving_households=5),
        0,
        1000,
        LIMITS,
    )
    r = rates(res)
    assert not res.passed and r["missed"].rate is None and r["missed"].reason == "not sampled"
    assert r["wrong_exit"].passed and r["incidence"].passed


HEADER = "household_id,kind,persons,wrong,approves\n"


def write(tmp_path: Path, body: str, name: str = "抽查.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8-sig")  # with BOM, as Excel saves it
    return path


def test_read_sample_counts_persons_and_households(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "H1,exited_sample,4,0,\nH2,exited_sample,3,1,\n"
        "N1,nonregistered_sample,5,1,\nN2,nonregistered_sample,2,0,\n"
        "H1,survey,,,1\nH3,survey,3,0,0\n",
    )
    assert read_sample(path) == SampleCounts(
        exited_persons=7,
        wrong_exit_persons=3,
        nonregistered_persons=7,
        missed_persons=5,
        surveyed_households=2,
        approving_households=1,
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("H1,exited_sample,4,2,\n", "抽查.csv:2:wrong: must be 0 or 1"),
        ("H1,exited_sample,4,,\n", "抽查.csv:2:wrong: must be 0 or 1"),
        ("H1,audit,4,0,\n", "抽查.csv:2:kind: one of exited_sample"),
        ("H1,exited_sample,4,0,\nH1,exited_sample,4,0,\n", "抽查.csv:3:household_id: 'H1' twice"),
        ("H1,exited_sample,0,0,\n", "抽查.csv:2:persons: a whole number"),
        ("H1,survey,,,\n", "抽查.csv:2:approves: must be 0 or 1"),
        (",survey,,,1\n", "抽查.csv:2:household_id: a row needs its household"),
    ],
)
def test_a_bad_row_is_one_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(SampleFileError) as exc:
        read_sample(write(tmp_path, body))
    assert str(exc.value).startswith(message) and "\n" not in str(exc.value)


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("household_id,kind,persons,wrong\nH1,survey,1,0\n", encoding="utf-8")
    with pytest.raises(SampleFileError, match=r"^x\.csv:1:approves: required column missing$"):
        read_sample(path)


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.output


def passing_file(tmp_path: Path) -> Path:
    rows = [f"E{i},exited_sample,3,{int(i < 4)}," for i in range(400)]  # 12 of 1,200 wrong
    rows += [f"N{i},nonregistered_sample,2,0," for i in range(100)]
    rows += [f"S{i},survey,,,{int(i < 951)}" for i in range(1000)]  # 95.1%
    return write(tmp_path, "\n".join(rows) + "\n", "第三方评估.csv")


def test_exit_check_through_the_cli(session: Session, tmp_path: Path) -> None:
    seed_review(session, plans=False)
    session.commit()
    county = COUNTY
    poor, rural = county_incidence_counts(session, county)
    assert poor > 0 and rural > 0
    path = passing_file(tmp_path)
    # the seeded county is still poor: incidence over 2% fails it, with code 1
    assert poor / rural >= 0.02
    code, out = run("exit", "check", str(path), "--county", county, "--json")
    data = json.loads(out)
    assert code == 1 and not data["passed"]
    assert [r["name"] for r in data["rates"] if not r["passed"]] == ["incidence"]
    code, out = run("exit", "check", str(path), "--county", county)
    assert code == 1 and "综合贫困发生率" in out and "< 2%" in out and "结论：未通过" in out
    # every household exited: the county passes
    session.execute(update(Household).values(status="exited"))
    session.commit()
    code, out = run("exit", "check", str(path), "--county", county, "--json")
    data = json.loads(out)
    assert code == 0 and data["passed"] and data["counts"]["wrong_exit_persons"] == 12
    assert {r["name"]: r["rate"] for r in data["rates"]}["approval"] == pytest.approx(0.951)
    code, out = run("exit", "check", str(path), "--county", county)
    assert code == 0 and "错退率" in out and "1.00%" in out and "通过" in out
    assert "未通过" not in out


def test_exit_check_refuses_a_bad_file_in_one_line(session: Session, tmp_path: Path) -> None:
    seed_review(session, plans=False)
    session.commit()
    before = session.scalar(select(func.count()).select_from(Village))
    bad = write(tmp_path, "H1,exited_sample,3,yes,\n")
    code, out = run("exit", "check", str(bad), "--county", COUNTY)
    assert code == 1 and out.strip().endswith("抽查.csv:2:wrong: must be 0 or 1")
    assert len(out.strip().splitlines()) == 1
    assert session.scalar(select(func.count()).select_from(Village)) == before
