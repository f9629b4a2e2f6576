"""The monthly monitoring run (issue 13) on every rural household: each category and each
channel planted, cases opened only where the rules say so, clues joined to their case,
and on a generated county no case a rule does not explain."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlmodel import Session
from zhucun.models import Household, MonitoringCase, MonitoringClue, Survey
from zhucun.tasks.evaluation import monitor_relapse_task
from zhucun.tasks.monitoring_clues import record_clues

from tests.support.county import COUNTY, SeedInfo, add_surveys, seed_county
from tests.support.lifecycle_fixtures import survey
from zhucun.policy import default_policy
from zhucun.rules import monitoring as rules
from zhucun.rules.monitoring import ClueRecord

PERIOD, END = "2026-10", date(2026, 10, 31)
THRESHOLD = rules.threshold(default_policy(2026, "east", "13"))


def _set(session: Session, hid: str, **values: object) -> None:
    session.execute(update(Household).where(Household.household_id == hid).values(**values))


def _cases(session: Session) -> dict[str, MonitoringCase]:
    session.expire_all()
    return {c.household_id: c for c in session.scalars(select(MonitoringCase))}


def _run(info: SeedInfo) -> dict:
    return monitor_relapse_task.fn(COUNTY, PERIOD, info.villages)


def test_each_category_and_channel_planted(session: Session) -> None:
    info = seed_county(session)
    ordinary = [h for h in info.households if h not in info.poor_households]
    edge, billed, flooded, coped, stale, jobless, exited = ordinary[:7]
    poor = info.poor_households[0]
    for hid in (billed, flooded, coped, jobless):
        _set(session, hid, size=4, medical_spending_yuan=0, education_spending_yuan=0)
    _set(session, stale, per_capita_income_yuan=3000)  # an old card: no news this year
    _set(session, exited, status="exited", registered_poor=True)
    add_surveys(
        session,
        [
            survey(edge, date(2026, 8, 30), 2500.0, shock="illness"),  # the case
            survey(billed, date(2026, 6, 30), 12000.0),
            survey(flooded, date(2026, 9, 30), 15000.0, shock="disaster", housing_grade="D"),
            survey(coped, date(2026, 9, 30), 15000.0),
            survey(jobless, date(2026, 9, 30), 5000.0, shock="unemployment"),
            survey(exited, date(2026, 9, 30), THRESHOLD - 100),
        ],
    )
    refusals, _ = record_clues(
        session,
        [
            ClueRecord(billed, "sector", "medical_bill", date(2026, 9, 1), "medical", 30000.0),
            ClueRecord(coped, "sector", "medical_bill", date(2026, 9, 2), "medical", 2000.0),
            ClueRecord(jobless, "self_report", "unemployment", date(2026, 9, 3)),
            ClueRecord(exited, "visit", "income_drop", date(2026, 9, 4), reported_by="T0"),
            ClueRecord(poor, "sector", "dropout", date(2026, 9, 5), "education"),
        ],
        today=END,
    )
    assert refusals == []
    session.commit()
    out = _run(info)
    cases = _cases(session)
    assert {h: c.category for h, c in cases.items()} == {
        edge: "edge",
        billed: "sudden_hardship",  # 12,000 a head, 30,000 bill for 4: 4,500 left
        flooded: "sudden_hardship",  # above the range, the house destroyed
        jobless: "edge",
        exited: "unstable_exited",
    }
    assert cases[billed].trigger == "shock_net_under;clue"
    assert "illness" in cases[edge].risk_types and "housing" in cases[flooded].risk_types
    assert cases[jobless].risk_types[0] == "unstable_employment"
    clues = {c.household_id: c for c in session.scalars(select(MonitoringClue))}
    assert clues[billed].status == "case" and clues[billed].case_id == cases[billed].id
    assert clues[jobless].status == clues[exited].status == "case"
    # a false alarm and a registered poor household's clue wait for someone to dismiss them
    assert clues[coped].status == clues[poor].status == "open"
    assert out["opened"] == 5 and out["clues_linked"] == 3
    again = _run(info)
    assert again["opened"] == 0 and len(_cases(session)) == 5


def test_a_generated_county_opens_only_what_the_rules_explain(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No 2027 flood: every case is a household under the threshold or one a shock floors
    (edge households and 突发严重困难户 above the range among them); an ordinary household
    above it without a shock is never opened."""
    from zhucun.exchange.clues import read_clues
    from zhucun.exchange.importer import import_folder
    from zhucun.generator import generate

    folder = tmp_path / "county"
    generate("130624", folder, seed=5, households=300, year=2026)
    assert import_folder(folder).ok
    clues = read_clues(folder / "monitoring_clues.csv")
    assert record_clues(session, clues.records, today=END)[0] == []
    session.commit()
    villages = sorted(set(session.scalars(select(Household.village_code))))
    monkeypatch.setattr("zhucun.tasks.evaluation.RELAPSE_EVENTS_PER_VILLAGE", 1)
    out = monitor_relapse_task.fn("130624", PERIOD, villages)
    cases = _cases(session)
    # the relapse-risk events of a first month: a few households named per village, the
    # rest counted in the village's aggregate event (flows/evaluation.emit_relapse_risk)
    risk = out["relapse_risk"]
    assert sum(r["count"] for r in risk.values()) == len(cases)
    assert all(len(r["households"]) == min(r["count"], 1) for r in risk.values())
    assert any(r["count"] > 1 for r in risk.values())
    households = {h.household_id: h for h in session.scalars(select(Household))}
    latest: dict[str, Survey] = {}
    shocked: set[str] = set()
    for s in session.scalars(
        select(Survey).where(Survey.survey_date <= END).order_by(Survey.survey_date)
    ):
        latest[s.household_id] = s
        if s.shock != "none":
            shocked.add(s.household_id)
    categories = {c.category for c in cases.values()}
    assert {"edge", "sudden_hardship"} <= categories
    for hid, case in cases.items():
        h, s = households[hid], latest.get(hid)
        assert h.status in ("exited", "non_poor"), hid
        income = s.per_capita_income_yuan if s else h.per_capita_income_yuan
        if case.category == "sudden_hardship":
            assert income >= THRESHOLD and case.trigger.startswith("shock_"), (hid, case.trigger)
        else:
            assert income < THRESHOLD, (hid, income)
    above = [
        hid
        for hid, h in households.items()
        if h.status == "non_poor"
        and hid not in shocked
        and latest.get(hid) is not None
        and latest[hid].per_capita_income_yuan >= THRESHOLD
        and h.medical_spending_yuan + h.education_spending_yuan < 0.1 * h.size * THRESHOLD
    ]
    assert above and not set(above) & set(cases)


def test_the_database_leaves_out_only_households_the_rules_would_not_find(
    session: Session, tmp_path: Path
) -> None:
    """The monthly run reads only households that could be found or are tracked (under the
    line by registry or survey, a shock, a clue, a live case). On a generated county with a
    quarter of its poor households exited, some pending and open cases and clues, it finds
    exactly what reading every rural household finds, and tracks the same cases."""
    from zhucun.tasks.monitoring_run import identify_chunk

    from zhucun.exchange.clues import read_clues
    from zhucun.exchange.importer import import_folder
    from zhucun.generator import generate

    folder = tmp_path / "county"
    generate("130624", folder, seed=7, households=400, year=2026)
    assert import_folder(folder).ok
    assert (
        record_clues(session, read_clues(folder / "monitoring_clues.csv").records, today=END)[0]
        == []
    )
    poor = sorted(session.scalars(select(Household.household_id).where(Household.status == "poor")))
    session.execute(
        update(Household).where(Household.household_id.in_(poor[::4])).values(status="exited")
    )
    session.commit()
    villages = sorted(set(session.scalars(select(Household.village_code))))
    monitor_relapse_task.fn("130624", PERIOD, villages)  # pending cases of a first month
    session.execute(
        update(MonitoringCase)
        .where(MonitoringCase.id.in_(select(MonitoringCase.id).limit(5)))
        .values(status="open")
    )
    # a monitored household doing well now (tracked for 风险消除 all the same), and one
    # whose card says well-off but whose survey of the window says under the line
    tracked = session.scalar(
        select(MonitoringCase.household_id).where(MonitoringCase.status == "open")
    )
    surveyed_poor = session.scalar(
        select(Household.household_id)
        .where(
            Household.status == "non_poor",
            Household.household_id.not_in(select(MonitoringCase.household_id)),
        )
        .order_by(Household.household_id)
    )
    for hid in (tracked, surveyed_poor):
        _set(session, hid, per_capita_income_yuan=3 * THRESHOLD)
        session.execute(delete(MonitoringClue).where(MonitoringClue.household_id == hid))
        session.execute(
            update(Survey)
            .where(Survey.household_id == hid)
            .values(per_capita_income_yuan=3 * THRESHOLD, shock="none")
        )
    add_surveys(session, [survey(surveyed_poor, date(2026, 10, 15), THRESHOLD - 500.0)])
    session.commit()
    policy = default_policy(2026, "east", "13")
    narrow, kept = identify_chunk(session, villages, END, policy)
    wide, every = identify_chunk(session, villages, END, policy, narrow=False)
    assert narrow == wide and len(narrow) > 10 and narrow[surveyed_poor].category == "edge"
    assert tracked in {h["household_id"] for h in kept}
    by_id = {h["household_id"]: h for h in every}
    assert [h["household_id"] for h in kept] == [
        h for h in by_id if h in {k["household_id"] for k in kept}
    ]
    assert all(h == by_id[h["household_id"]] for h in kept)
    left_out = set(by_id) - {h["household_id"] for h in kept}
    live = set(session.scalars(select(MonitoringCase.household_id)))
    assert len(left_out) > len(kept) / 4 and not left_out & live
