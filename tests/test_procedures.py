"""Identification (两公示一公告) and household exit (民主评议 → 核实 → 户认可 → 公示 → 审定 →
公告 → 销号) on the review engine, on a real database: each stage refused once for a real
reason, and the household's status changes at announcement and nowhere earlier."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlmodel import Session
from zhucun.models import (
    CrossCheckFinding,
    Decision,
    Household,
    ProcedureCase,
    Publicity,
    Relation,
)
from zhucun.models.evaluation import ExitProposal
from zhucun.tasks.procedures import apply_identification, list_cases, propose_exits
from zhucun.tasks.review_ledger import decide
from zhucun.tasks.review_publicity import close_publicity, file_objection

from tests.support.review_fixtures import ReviewSeed, add_exit_proposals, seed_review
from zhucun.policy import default_policy
from zhucun.rules import procedure as proc
from zhucun.rules import review as rules

YEAR = 2026
DAY = date(2026, 3, 2)
TALLY = {"representatives": 33, "present": 25, "in_favour": 21}


def req(
    subject: str,
    sid: str,
    stage: str,
    who: str,
    decision: str = "approve",
    reason: str | None = None,
    on: date = DAY,
    **details: object,
) -> rules.Request:
    return rules.Request(subject, sid, stage, who, decision, reason, on, details or None)


def one(session: Session, r: rules.Request, today: date = DAY) -> rules.Verdict:
    out = decide(session, [r], cycle_year=YEAR, channel="cli", county="130624", today=today)
    return out.outcomes[0].verdict


def case(session: Session, procedure: str, sid: str) -> ProcedureCase:
    session.expire_all()
    return session.exec(
        select(ProcedureCase).where(
            ProcedureCase.procedure == procedure, ProcedureCase.subject_id == sid
        )
    ).one()[0]


def status(session: Session, hid: str) -> str:
    session.expire_all()
    return session.get(Household, hid).status  # type: ignore[union-attr]


@pytest.fixture
def seeded(session: Session) -> ReviewSeed:
    seed = seed_review(session, plans=False)
    session.commit()
    return seed


# --- rules: plain functions ------------------------------------------------------------------


def test_appraisal_needs_two_thirds_present_and_a_majority() -> None:
    """昭通 2021: the second appraisal needs ≥ 2/3 of the representatives present."""
    rule = default_policy(YEAR).procedure_stages["identify"][0]
    assert proc.appraisal_refusal(rule, TALLY) is None
    no_quorum = proc.appraisal_refusal(rule, {**TALLY, "present": 20, "in_favour": 15})
    assert no_quorum and "quorum missing: 20 of 33" in no_quorum and "22" in no_quorum
    lost = proc.appraisal_refusal(rule, {**TALLY, "in_favour": 12})
    assert lost and "did not carry" in lost
    assert "missing" in (proc.appraisal_refusal(rule, None) or "")
    assert "add up" in (proc.appraisal_refusal(rule, {**TALLY, "in_favour": 30}) or "")


def test_exclusion_rules_are_policy_data_and_exclude_before_strict() -> None:
    ex = default_policy(YEAR).crosscheck_exclusions
    assert proc.exclusion(["village_official", "payroll"], ex) == ("payroll", "exclude")
    assert proc.exclusion(["village_official"], ex) == ("village_official", "strict")
    assert proc.exclusion(["pet_dog"], ex) is None


# --- identification ----------------------------------------------------------------------------


def test_identification_walks_two_publicities_and_one_announcement(
    session: Session, seeded: ReviewSeed
) -> None:
    v0 = seeded.info.poor_villages[0]
    applicant, excluded = f"H{v0[-3:]}004", f"H{v0[-3:]}005"
    session.execute(
        update(Household)
        .where(Household.household_id.in_([applicant, excluded]))
        .values(status="non_poor", registered_poor=False)
    )
    # T0 is the applicant's in-law; the excluded household has a member on the payroll
    session.add(
        Relation(
            id_number_a=seeded.info.id_numbers["T0"],
            id_number_b=seeded.info.id_numbers[applicant],
            relation="in_law",
        )
    )
    session.add(
        CrossCheckFinding(
            household_id=excluded,
            kind="payroll",
            source="财政",
            found_on=DAY,
            detail="妻 县教育局在编",
        )
    )
    session.commit()
    opened = apply_identification(
        session, [applicant, excluded, seeded.info.poor_households[0]], cycle_year=YEAR, today=DAY
    )
    session.commit()
    assert opened["opened"] == 2 and "already registered poor" in next(
        iter(opened["refused"].values())
    )
    ps, director = (
        seeded.officials(v0)["party_secretary"],
        seeded.officials(v0)["committee_director"],
    )
    team = seeded.teams[v0]

    for hid in (applicant, excluded):
        # 民主评议 without quorum is refused, with the tally it carries
        v = one(
            session,
            req("identify", hid, "appraisal", ps, **{**TALLY, "present": 20, "in_favour": 15}),
        )
        assert not v.accepted and "quorum missing" in (v.refusal or "")
        assert one(session, req("identify", hid, "appraisal", ps, **TALLY)).accepted
        # the same person never decides two stages: the secretary cannot also verify
        v = one(session, req("identify", hid, "committee", ps))
        assert not v.accepted and "two stages" in (v.refusal or "")
        assert one(session, req("identify", hid, "committee", director)).accepted
        assert one(session, req("identify", hid, "team", team[0])).new_status == "publicity1"
        # nobody decides a publicity window
        v = one(session, req("identify", hid, "publicity1", team[1]))
        assert not v.accepted and "publicity window" in (v.refusal or "")
    session.commit()
    pub = session.exec(select(Publicity).where(Publicity.subject_id == applicant)).one()[0]
    assert (pub.stage, pub.closes_on) == ("publicity1", DAY + timedelta(days=7))

    # an objection in the first window sends the applicant back to the appraisal (version 2)
    file_objection(
        session,
        subject="identify",
        subject_id=applicant,
        cycle_year=YEAR,
        filed_by="村民代表王某",
        reason="家中有经营性货车",
        filed_on=DAY + timedelta(days=2),
        at=None,
    )
    session.commit()
    c = case(session, "identify", applicant)
    assert (c.status, c.version) == ("appraisal", 2) and "objection" in (c.reason or "")
    later = DAY + timedelta(days=3)
    assert one(
        session, req("identify", applicant, "appraisal", ps, on=later, **TALLY), later
    ).accepted
    assert one(session, req("identify", applicant, "committee", director, on=later), later).accepted
    assert one(session, req("identify", applicant, "team", team[0], on=later), later).accepted
    session.commit()

    # the windows close on their day: the excluded household then meets its finding
    close_publicity(session, today=DAY + timedelta(days=7))
    close_publicity(session, today=later + timedelta(days=7))
    session.commit()
    day2 = later + timedelta(days=7)
    assert case(session, "identify", applicant).status == "township"
    # the in-law reviewer abstains; the other township reviewer decides
    v = one(session, req("identify", applicant, "township", "T0", on=day2), day2)
    assert not v.accepted and "conflict of interest" in (v.refusal or "") and not v.escalate
    assert one(session, req("identify", applicant, "township", "T1", on=day2), day2).accepted
    assert one(session, req("identify", excluded, "township", "T1", on=day2), day2).accepted
    session.commit()
    ex = case(session, "identify", excluded)
    assert ex.status == proc.REJECTED and "财政供养" in (ex.reason or "")
    assert status(session, excluded) == "non_poor"
    assert case(session, "identify", applicant).status == "publicity2"  # cross-check passed

    close_publicity(session, today=day2 + timedelta(days=7))
    session.commit()
    day3 = day2 + timedelta(days=7)
    assert one(session, req("identify", applicant, "county", "X0", on=day3), day3).accepted
    session.commit()
    assert status(session, applicant) == "non_poor"  # approved, not yet announced
    assert one(session, req("identify", applicant, "announce", "X1", on=day3), day3).accepted
    session.commit()
    assert status(session, applicant) == "poor"
    assert session.get(Household, applicant).identification_year == YEAR  # type: ignore[union-attr]
    auto = session.exec(
        select(Decision.stage).where(Decision.subject_id == applicant, Decision.channel == "auto")
    ).all()
    assert {a[0] for a in auto} == {"publicity1", "crosscheck", "publicity2"}
    listed = {r["subject_id"]: r for r in list_cases(session, "130624", "identify", YEAR)}
    assert listed[applicant]["status_zh"] == "已公告" and listed[excluded]["status_zh"] == "未通过"
    assert seeded.info.id_numbers[applicant] not in str(listed)


# --- household exit ---------------------------------------------------------------------------


def test_exit_needs_the_households_acknowledgement_and_changes_status_at_announcement(
    session: Session, seeded: ReviewSeed
) -> None:
    v0 = seeded.info.poor_villages[0]
    ready, doubtful = seeded.strategies[v0][0], seeded.strategies[v0][1]
    add_exit_proposals(session, v0, [ready, doubtful], "2026-02", DAY)
    session.commit()
    assert propose_exits(session, "130624", "2026-02", today=DAY)["opened"] == 2
    assert propose_exits(session, "130624", "2026-02", today=DAY)["opened"] == 0  # re-run
    session.commit()
    ps, director = (
        seeded.officials(v0)["party_secretary"],
        seeded.officials(v0)["committee_director"],
    )
    team = seeded.teams[v0]
    head = session.get(Household, ready).head_name  # type: ignore[union-attr]
    for hid in (ready, doubtful):
        assert one(session, req("exit", hid, "appraisal", ps, **TALLY)).accepted
        assert one(session, req("exit", hid, "committee", director)).accepted
    # 入户核实 finds the doubtful household's income was one harvest: refused, stays poor
    assert one(
        session, req("exit", doubtful, "team", team[0], "reject", "收入来自一次性出售，不稳定")
    ).accepted
    assert one(session, req("exit", ready, "team", team[0])).accepted
    # the acknowledgement must be the household's own
    v = one(session, req("exit", ready, "acknowledge", team[1], acknowledged_by="邻居李某"))
    assert not v.accepted and "not of this household" in (v.refusal or "")
    v = one(session, req("exit", ready, "acknowledge", team[1], acknowledged_by=head))
    assert v.accepted and v.new_status == "publicity"
    session.commit()
    assert status(session, doubtful) == "poor"
    d = case(session, "exit", doubtful)
    assert d.status == proc.REJECTED and "不稳定" in (d.reason or "")
    assert (
        session.exec(
            select(ExitProposal.status).where(ExitProposal.household_id == doubtful)
        ).one()[0]
        == "refused"
    )
    ack = session.exec(
        select(Decision.details).where(
            Decision.stage == "acknowledge", Decision.outcome == "accepted"
        )
    ).one()[0]
    assert ack == {"acknowledged_by": head}

    close_publicity(session, today=DAY + timedelta(days=7))
    session.commit()
    day2 = DAY + timedelta(days=7)
    for stage, who in (("township", "T0"), ("county", "X0")):
        assert one(session, req("exit", ready, stage, who, on=day2), day2).accepted
        session.commit()
        assert status(session, ready) == "poor"
    assert one(session, req("exit", ready, "announce", "X1", on=day2), day2).accepted
    session.commit()
    hh = session.get(Household, ready)
    assert (hh.status, hh.exit_year, hh.exited_period) == ("exited", YEAR, "2026-03")  # type: ignore[union-attr]


def test_a_household_related_to_a_village_official_is_never_appraised_by_that_official(
    session: Session, seeded: ReviewSeed
) -> None:
    """优亲厚友: the secretary's sibling's exit is recorded by the director, verified by the
    township instead of the committee."""
    official, hid = seeded.info.official_relative_household
    v1 = seeded.v1
    add_exit_proposals(session, v1, [hid], "2026-02", DAY)
    session.commit()
    propose_exits(session, "130624", "2026-02", today=DAY)
    session.commit()
    v = one(session, req("exit", hid, "appraisal", official, **TALLY))
    assert not v.accepted and "near relative" in (v.refusal or "")
    director = seeded.officials(v1)["committee_director"]
    assert one(session, req("exit", hid, "appraisal", director, **TALLY)).accepted
    other = seeded.officials(v1)["committee_member"]
    v = one(session, req("exit", hid, "committee", other))
    assert not v.accepted and "township" in (v.refusal or "")
    assert one(session, req("exit", hid, "committee", "T1")).accepted


def test_a_decisions_file_carries_the_tally_and_the_acknowledgement(
    session: Session, seeded: ReviewSeed, tmp_path: Path
) -> None:
    """The meeting minutes decide procedure stages in the one decisions format; a row
    without its tally refuses the whole file."""
    from zhucun.tasks.review_files import apply_decisions_file

    v0 = seeded.info.poor_villages[0]
    hid = seeded.strategies[v0][0]
    add_exit_proposals(session, v0, [hid], "2026-02", DAY)
    session.commit()
    propose_exits(session, "130624", "2026-02", today=DAY)
    session.commit()
    head = session.get(Household, hid).head_name  # type: ignore[union-attr]
    o = seeded.officials(v0)
    cols = "stage,subject,subject_id,reviewer_id,decision,reason,decided_on"
    rows = [
        f"appraisal,exit,{hid},{o['party_secretary']},approve,,{DAY},30,24,20,",
        f"committee,exit,{hid},{o['committee_director']},approve,,{DAY},,,,",
        f"team,exit,{hid},{seeded.teams[v0][0]},approve,,{DAY},,,,",
        f"acknowledge,exit,{hid},{seeded.teams[v0][1]},approve,,{DAY},,,,{head}",
    ]
    header = f"{cols},representatives,present,in_favour,acknowledged_by\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "\n".join([rows[0].replace(",30,24,20,", ",,,,"), *rows[1:]]))
    res = apply_decisions_file(session, bad, cycle_year=YEAR, county="130624", today=DAY)
    session.rollback()
    assert res.result is not None and not res.result.applied
    assert case(session, "exit", hid).status == "appraisal"
    good = tmp_path / "minutes.csv"
    good.write_text(header + "\n".join(rows))
    res = apply_decisions_file(session, good, cycle_year=YEAR, county="130624", today=DAY)
    session.commit()
    assert res.result is not None and res.result.applied and res.result.accepted == 4
    assert case(session, "exit", hid).status == "publicity"


def test_a_village_exits_at_its_announcement_after_the_township_publicity(
    session: Session, seeded: ReviewSeed
) -> None:
    """乡镇内公示无异议后，公告退出 (厅字〔2016〕16号): the village's exit year is set at the
    announcement only."""
    from zhucun.models import Village
    from zhucun.tasks.procedure_cases import open_cases

    v0 = seeded.info.poor_villages[0]
    policy = default_policy(YEAR)
    rows = [dict(subject_id=v0, village_code=v0)]
    assert (
        open_cases(
            session, "vexit", rows, cycle_year=YEAR, origin="incidence", policy=policy, today=DAY
        )
        == 1
    )
    session.commit()
    assert one(session, req("vexit", v0, "township", "T0")).new_status == "publicity"
    session.commit()
    close_publicity(session, today=DAY + timedelta(days=7))
    session.commit()
    later = DAY + timedelta(days=7)
    assert one(session, req("vexit", v0, "county", "X0", on=later), later).accepted
    session.commit()
    assert session.get(Village, v0).exit_year is None  # type: ignore[union-attr]
    assert one(session, req("vexit", v0, "announce", "X1", on=later), later).accepted
    session.commit()
    session.expire_all()
    assert session.get(Village, v0).exit_year == YEAR  # type: ignore[union-attr]
