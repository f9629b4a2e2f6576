"""Data-quality rules: each per-row function on the real case behind it, the SQL of each
rule against a plain Python scan of the same small database, every planted inconsistency
found, nothing on the clean registry, no personal data in what comes out."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import Session
from zhucun.models import (
    Cadre,
    HelperAssignment,
    Household,
    HouseholdAssessment,
    Member,
    MonitoringCase,
    Strategy,
    StrategyMeasure,
)
from zhucun.tasks.quality import check_quality, rule_queries, run_rule

from tests.support.registry_fixtures import COUNTY, V2, ids, valid_folder
from zhucun.exchange.importer import import_folder
from zhucun.idnumber import make_id_number
from zhucun.rules import quality as q

TODAY = date(2026, 6, 15)
YEAR = TODAY.year
ID_NUMBER = re.compile(r"\d{17}[\dXx]")
Key = tuple[str, str | None]


def import_clean(folder: Path) -> None:
    result = import_folder(valid_folder(folder))
    assert result.ok, result.errors


def person(born: date, seq: int) -> str:
    return make_id_number(COUNTY, born, seq)


def member(mid: str, hid: str, idn: str, **kw: Any) -> Member:
    row: dict[str, Any] = dict(
        member_id=mid,
        household_id=hid,
        name="成员",
        id_number=idn,
        relation="son",
        gender="M",
        health="healthy",
        labour_skill="none",
    )
    return Member(**(row | kw))


def add_household(session: Session, hid: str, head_id: str, **kw: Any) -> None:
    """A copy of H0003 (non-poor, V2) under another number and head."""
    base = session.get(Household, "H0003")
    assert base is not None
    data = base.model_dump() | {"household_id": hid, "head_id_number": head_id} | kw
    session.add(Household(**data))


def strategy(session: Session, hid: str, year: int, *measures: str, status: str = "draft") -> None:
    hh = session.get(Household, hid)
    assert hh is not None
    s = Strategy(
        household_id=hid,
        village_code=hh.village_code,
        cycle_year=year,
        measures=list(measures),
        status=status,
    )
    session.add(s)
    session.flush()
    for m in measures:
        session.add(
            StrategyMeasure(
                strategy_id=s.id,
                measure=m,
                answers_cause="other",
                cost_yuan=0.0,
                provider="县民政局",
                expected_effect="",
            )  # fmt: skip
        )


def case(session: Session, hid: str, opened_on: date, status: str = "open") -> None:
    hh = session.get(Household, hid)
    assert hh is not None
    session.add(
        MonitoringCase(
            household_id=hid,
            village_code=hh.village_code,
            category="unstable_exited",
            trigger="income_below_threshold",
            opened_period=f"{opened_on:%Y-%m}",
            opened_on=opened_on,
            status=status,
        )  # fmt: skip
    )


def plant(session: Session) -> dict[str, set[Key]]:
    """Plant one or more cases of every rule (and near misses that must not be found) in
    the clean registry; returns what each rule must find."""
    n = ids()
    hh = Household.__table__.c
    # 1. card says 因学 with no student; a team override says 缺水 with safe water. Near
    # misses: a rule assessment (follows the data), an override superseded by a later one.
    session.execute(
        update(Household)
        .where(hh.household_id == "H0001")
        .values(registered_main_cause="schooling", students=0)
    )
    session.add_all(
        [
            HouseholdAssessment(household_id="H0002", village_code="522626100001",
                                cycle_year=2026, main_cause="labour",
                                other_causes=["illness", "water"], source="override"),
            HouseholdAssessment(household_id="H0004", village_code=V2, cycle_year=2025,
                                main_cause="water", other_causes=[], source="override"),
            HouseholdAssessment(household_id="H0004", village_code=V2, cycle_year=2026,
                                main_cause="water", other_causes=[], source="rule"),
        ]
    )  # fmt: skip
    # 2. a 低保贫困户 whose card's income breakdown has no 低保金; a 特困 household without
    # any breakdown says nothing.
    session.execute(
        update(Household)
        .where(hh.household_id == "H0002")
        .values(attribute="dibao", wage_income_yuan=3000.0, dibao_income_yuan=0.0)
    )
    session.execute(update(Household).where(hh.household_id == "H0004").values(attribute="tekun"))
    # 3, 8. members of H0004: its head, a 12-year-old and a 70-year-old counted as labour, a
    # skilled labourer on the serious-illness list, a 126-year-old; a healthy worker.
    session.add_all(
        [
            member("M0401", "H0004", n["h4"], relation="head", labour_skill="weak"),
            member("M0402", "H0004", person(date(YEAR - 12, 5, 1), 101), labour_skill="ordinary"),
            member("M0403", "H0004", person(date(YEAR - 70, 5, 1), 103), labour_skill="skilled"),
            member("M0404", "H0004", person(date(1986, 5, 1), 105), labour_skill="skilled",
                   health="serious"),
            member("M0405", "H0004", person(date(1900, 5, 1), 107)),
            member("M0406", "H0004", person(date(1996, 5, 1), 109), labour_skill="skilled"),
        ]
    )  # fmt: skip
    # 3 (household level). a lone head of 85 still counted as labour; (7) a head of 12.
    add_household(session, "H0005", person(date(YEAR - 85, 1, 1), 111), size=1, labour_count=1)
    add_household(session, "H0006", person(date(YEAR - 12, 1, 1), 113), size=2, labour_count=1)
    # 4, 5. cycle 2026: H0001 helped by C001, H0004 by C003 who is a member of poor H0001;
    # H0002 (poor) had a helper in 2025 only.
    session.add_all(
        [
            HelperAssignment(household_id="H0001", cycle_year=2026, cadre_id="C001",
                             village_code="522626100001"),
            HelperAssignment(household_id="H0004", cycle_year=2026, cadre_id="C003",
                             village_code=V2),
            HelperAssignment(household_id="H0002", cycle_year=2025, cadre_id="C002",
                             village_code="522626100001"),
            member("M0101", "H0001", n["c3"], relation="son"),
        ]
    )  # fmt: skip
    # 6. H0001's head is also listed as a member of H0002.
    session.add(member("M0201", "H0002", n["h1"], relation="sibling"))
    session.flush()
    # 9. H0001 monitored for 40 days with only 兜底; H0002 for 10 days (not yet due); H0004
    # for 60 days but with an industry measure; H0003's case is closed.
    strategy(session, "H0001", 2026, "social_security")
    strategy(session, "H0004", 2026, "industry", "social_security")
    strategy(session, "H0002", 2026, "employment", status="rejected")
    case(session, "H0001", TODAY - timedelta(days=40))
    case(session, "H0002", TODAY - timedelta(days=10))
    case(session, "H0004", TODAY - timedelta(days=60))
    case(session, "H0003", TODAY - timedelta(days=90), status="closed")
    session.commit()
    return {
        "cause-vs-data": {("H0001", None), ("H0002", None)},
        "attribute-without-income": {("H0002", None)},
        "labour-vs-age-health": {
            ("H0004", "M0402"),
            ("H0004", "M0403"),
            ("H0004", "M0404"),
            ("H0005", None),
        },
        "poor-without-helper": {("H0002", None)},
        "helper-is-poor": {("H0004", None)},
        "duplicate-person": {("H0001", None), ("H0002", "M0201")},
        "head-under-16": {("H0006", None)},
        "member-over-110": {("H0004", "M0405")},
        "monitored-without-measure": {("H0001", None)},
    }


@pytest.fixture
def clean(session: Session, data_dir: Path) -> Session:
    import_clean(data_dir.parent / "registry")
    return session


@pytest.fixture
def planted(clean: Session) -> dict[str, set[Key]]:
    return plant(clean)


def sql_findings(session: Session, county: str | None = COUNTY) -> dict[str, set[Key]]:
    out = {}
    for code, rq in rule_queries(county, YEAR, TODAY).items():
        count, rows = run_rule(session, rq, None)
        keys = {(r["household_id"], r["member_id"]) for r in rows}
        assert count == len(rows) == len(keys), code
        out[code] = keys
    return out


def python_findings(session: Session) -> dict[str, set[Key]]:
    """The reference: load every row and apply each rule's per-row function."""
    households = {h.household_id: h.model_dump() for h in session.scalars(select(Household))}
    members = [m.model_dump() for m in session.scalars(select(Member))]
    by_household: dict[str, list[dict]] = defaultdict(list)
    for m in members:
        by_household[m["household_id"]].append(m)
    latest_assessment: dict[str, HouseholdAssessment] = {}
    for a in session.scalars(select(HouseholdAssessment).order_by(HouseholdAssessment.cycle_year)):
        latest_assessment[a.household_id] = a
    out: dict[str, set[Key]] = {r.code: set() for r in q.RULES}
    for hid, h in households.items():
        a = latest_assessment.get(hid)
        row = h | (
            dict(assessment_source=a.source, main_cause=a.main_cause, other_causes=a.other_causes)
            if a
            else {}
        )
        if q.check_cause_vs_data(row):
            out["cause-vs-data"].add((hid, None))
        if q.check_attribute_income(h):
            out["attribute-without-income"].add((hid, None))
        head_born = q.birth_year(h["head_id_number"])
        if not by_household[hid]:
            if q.check_household_labour(h | {"head_born": head_born}, YEAR):
                out["labour-vs-age-health"].add((hid, None))
            if q.check_member_age(head_born, YEAR):
                out["member-over-110"].add((hid, None))
        if q.check_head_age(head_born, YEAR):
            out["head-under-16"].add((hid, None))
    for m in members:
        born = q.birth_year(m["id_number"])
        if q.check_member_labour(m | {"born": born}, YEAR):
            out["labour-vs-age-health"].add((m["household_id"], m["member_id"]))
        if q.check_member_age(born, YEAR):
            out["member-over-110"].add((m["household_id"], m["member_id"]))
    assignments = list(session.scalars(select(HelperAssignment)))
    latest = max((x.cycle_year for x in assignments), default=None)  # one county here
    helped = {x.household_id for x in assignments if x.cycle_year == latest}
    for hid, h in households.items():
        if q.check_poor_without_helper(h, latest, helped):
            out["poor-without-helper"].add((hid, None))
    poor_people: dict[str, str] = {}
    for hid, h in sorted(households.items(), reverse=True):
        if h["registered_poor"]:
            poor_people[h["head_id_number"]] = hid
            for m in by_household[hid]:
                poor_people[m["id_number"]] = hid
    for x in assignments:
        cadre = session.get(Cadre, x.cadre_id)
        assert cadre is not None
        home = poor_people.get(cadre.id_number)
        if x.cycle_year == latest and q.check_helper_is_poor(x.cadre_id, home):
            out["helper-is-poor"].add((x.household_id, None))
    places: dict[str, dict[str, str | None]] = defaultdict(dict)
    for hid, h in households.items():
        places[h["head_id_number"]].setdefault(hid, None)
    for m in members:
        places[m["id_number"]][m["household_id"]] = m["member_id"]
    for where in places.values():
        counties = {households[hid]["village_code"][:6] for hid in where}
        if q.check_duplicate_person(len(where), len(counties)):
            out["duplicate-person"] |= set(where.items())
    measures: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for s in session.scalars(select(Strategy).where(Strategy.status != "rejected")):
        for sm in session.scalars(
            select(StrategyMeasure).where(StrategyMeasure.strategy_id == s.id)
        ):
            measures[s.household_id].append((s.cycle_year, sm.measure))
    for c in session.scalars(select(MonitoringCase).where(MonitoringCase.status == "open")):
        since = [m for y, m in measures[c.household_id] if y >= c.opened_on.year]
        if q.check_monitored_measure(c.opened_on, since, TODAY):
            out["monitored-without-measure"].add((c.household_id, None))
    return out


# the per-row rules, on the cases that motivate them -------------------------------------------


def card(**kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict(
        attribute="general", chronic_illness_members=0, serious_illness_members=0, students=0,
        safe_water_ok=True, disabled_members=0, registered_main_cause=None,
    )  # fmt: skip
    return row | {c: None for c in q.INCOME_COLUMNS} | kw


def test_a_dibao_household_with_no_dibao_money_in_its_card() -> None:
    """低保贫困户 whose 转移性收入 is recorded but 低保金 is empty: the classic finding."""
    h = card(attribute="dibao", wage_income_yuan=2400.0, transfer_income_yuan=800.0)
    assert (
        q.check_attribute_income(h)
        == "低保 household (dibao) with no 低保金 in its income breakdown"
    )
    assert q.check_attribute_income(h | {"dibao_income_yuan": 3360.0}) is None
    assert q.check_attribute_income(card(attribute="dibao")) is None  # no breakdown kept
    assert "特困供养金" in q.check_attribute_income(  # type: ignore[operator]
        card(attribute="tekun_exited", pension_income_yuan=1200.0, tekun_income_yuan=0.0)
    )
    assert q.check_attribute_income(card(wage_income_yuan=100.0)) is None


def test_causes_against_the_household_data() -> None:
    """因病 with nobody ill, 因学 with no student, 缺水 with safe water, 因残 with nobody
    disabled; an override's causes count, a rule assessment's do not."""
    h = card(registered_main_cause="illness")
    assert q.check_cause_vs_data(h) == "因病 (illness), but no member is ill"
    assert q.check_cause_vs_data(h | {"chronic_illness_members": 1}) is None
    team = dict(assessment_source="override", main_cause="schooling", other_causes=["water"])
    assert q.check_cause_vs_data(card() | team) == (
        "因学 (schooling), but no member is a student; "
        "缺水 (water), but the household has safe water"
    )
    assert q.check_cause_vs_data(card() | team | {"assessment_source": "rule"}) is None
    assert q.cause_conflicts(card(), ["disability", "disability", "labour"]) == [
        "因残 (disability), but no member is disabled"
    ]


def test_labour_against_age_and_health() -> None:
    assert (
        q.check_member_labour(
            {"born": YEAR - 12, "labour_skill": "ordinary", "health": "healthy"}, YEAR
        )
        == "aged 12, counted as ordinary labour (working age 16-64)"
    )
    assert q.check_member_labour({"born": YEAR - 70, "labour_skill": "weak", "health": "healthy"},
                                 YEAR) is None  # fmt: skip
    serious = q.check_member_labour(
        {"born": 1986, "labour_skill": "skilled", "health": "serious"}, YEAR
    )
    assert serious and "serious" not in serious and "illness" not in serious  # no condition named
    assert q.check_household_labour({"head_born": YEAR - 85, "size": 1, "labour_count": 1}, YEAR)
    assert not q.check_household_labour(
        {"head_born": YEAR - 85, "size": 2, "labour_count": 1}, YEAR
    )


def test_ages_helpers_duplicates_and_monitoring() -> None:
    assert q.check_head_age(YEAR - 15, YEAR) and not q.check_head_age(YEAR - 16, YEAR)
    assert q.check_member_age(YEAR - 111, YEAR) and not q.check_member_age(YEAR - 110, YEAR)
    assert (
        q.check_poor_without_helper(
            {"household_id": "H1", "registered_poor": True, "status": "poor"}, None, set()
        )
        is None
    )  # no cycle has run: nothing to compare
    assert q.check_helper_is_poor("C9", "H7") == (
        "helper C9 is a member of registered poor household H7"
    )
    assert (
        q.check_duplicate_person(2, 2)
        == "the same person is registered in 2 households in 2 counties"
    )
    opened = TODAY - timedelta(days=31)
    assert q.check_monitored_measure(opened, ["social_security", "disaster_relief"], TODAY)
    assert q.check_monitored_measure(opened, ["public_welfare_job"], TODAY) is None
    assert q.check_monitored_measure(TODAY - timedelta(days=29), [], TODAY) is None


# the queries ----------------------------------------------------------------------------------


def test_the_clean_registry_has_no_findings(clean: Session) -> None:
    summary = check_quality(clean, COUNTY, today=TODAY)
    assert summary["findings"] == 0, summary
    helper = next(r for r in summary["rules"] if r["code"] == "poor-without-helper")
    assert helper["skipped"]  # no cycle has run
    assert [r["code"] for r in summary["rules"]] == [r.code for r in q.RULES]
    assert all(re.fullmatch(r"[a-z0-9-]+", r.code) for r in q.RULES)


def test_every_planted_inconsistency_is_found_and_sql_equals_python(
    planted: dict[str, set[Key]], session: Session
) -> None:
    found = sql_findings(session)
    assert found == planted
    assert python_findings(session) == planted
    assert sql_findings(session, None) == planted  # every county: the same (one county here)
    assert all(not v for v in sql_findings(session, "433124").values())


def test_counts_and_first_rows_carry_no_personal_data(
    planted: dict[str, set[Key]], session: Session
) -> None:
    summary = check_quality(session, COUNTY, limit=1, today=TODAY)
    assert summary["findings"] == sum(len(v) for v in planted.values())
    for r in summary["rules"]:
        assert r["count"] == len(planted[r["code"]]) and len(r["rows"]) == 1
        row = r["rows"][0]
        assert set(row) == {"household_id", "member_id", "village_code", "village_name", "detail"}
        assert row["village_name"] in ("九寨村", "平秋村")
    text = json.dumps(summary, ensure_ascii=False)
    assert not ID_NUMBER.search(text)
    assert "患有大病" not in text and "serious" not in text


@pytest.mark.postgres
def test_the_queries_find_the_same_on_postgresql(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same planted registry on PostgreSQL: the same findings (substr, casts, the JSON
    column read as text, extract on a date, NULL-typed unions)."""
    from sqlmodel import SQLModel

    from zhucun.db import get_engine
    from zhucun.policy import seed_policy
    from zhucun.settings import reset_settings

    monkeypatch.setenv("ZHUCUN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ZHUCUN_DATABASE_URL", postgres_url)
    reset_settings()
    try:
        engine = get_engine()
        SQLModel.metadata.create_all(engine)
        with Session(engine, expire_on_commit=False) as s:
            seed_policy(s)
            s.commit()
            import_clean(tmp_path / "registry")
            expected = plant(s)
            assert sql_findings(s) == expected
            assert python_findings(s) == expected
            assert check_quality(s, COUNTY, today=TODAY)["findings"] == sum(
                len(v) for v in expected.values()
            )
    finally:
        reset_settings()
