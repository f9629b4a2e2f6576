"""Review tasks on a real SQLite database: the ledger, status changes, escalations,
publicity, objections, overdue stages and decisions files (all-or-nothing)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session
from zhucun.models import (
    AuditEvent,
    Decision,
    Objection,
    Plan,
    Publicity,
    ReviewEscalation,
    ReviewState,
    Strategy,
)
from zhucun.tasks import review as T

from tests.support.review_fixtures import ReviewSeed, add_team, seed_review
from zhucun.rules.review import Request

D = date(2026, 3, 2)
YEAR = 2026


@pytest.fixture
def seed(session: Session) -> ReviewSeed:
    s = seed_review(session)
    session.commit()
    return s


def policy(session: Session):  # noqa: ANN201
    return T.policy_for(session, "130624", YEAR)


def approve_all(
    session: Session, village: str, stage: str, reviewer: str, on: date = D
) -> T.DecideResult:
    reqs = T.form_requests(
        session,
        cycle_year=YEAR,
        village=village,
        stage=stage,
        reviewer_id=reviewer,
        approve_all=True,
        decisions=[],
        decided_on=on,
        policy=policy(session),
    )
    return T.decide(
        session,
        reqs,
        cycle_year=YEAR,
        channel="cli",
        county="130624",
        today=on + timedelta(days=30),
    )


def one(
    session: Session,
    hid: str,
    stage: str,
    reviewer: str,
    decision: str = "approve",
    reason: str | None = None,
    subject: str = "strategy",
) -> T.Outcome:
    res = T.decide(
        session,
        [Request(subject, hid, stage, reviewer, decision, reason, D)],
        cycle_year=YEAR,
        channel="cli",
        today=D,
    )
    return res.outcomes[0]


def status(session: Session, hid: str) -> str:
    return session.scalar(select(Strategy.status).where(Strategy.household_id == hid))


def ledger(session: Session, **where: object) -> list[Decision]:
    stmt = select(Decision).order_by(Decision.decision_id)
    for k, v in where.items():
        stmt = stmt.where(getattr(Decision, k) == v)
    return list(session.scalars(stmt))


def test_official_relative_is_escalated_to_township_even_when_everyone_approves(
    session: Session, seed: ReviewSeed
) -> None:
    """优亲厚友: the party secretary's sibling heads a poor household. Team and committee
    approve all; that household alone stays at the committee stage until a township reviewer
    co-signs it, and the escalation is in the audit trail from the start."""
    v1, team = seed.v1, seed.teams[seed.v1]
    _, related = seed.info.official_relative_household
    T.sync_states(session, YEAR, [v1], policy=policy(session))
    esc = session.scalars(
        select(ReviewEscalation).where(ReviewEscalation.subject_id == related)
    ).one()
    assert (esc.stage, esc.level) == ("committee", "township") and "优亲厚友" in esc.reason
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "review.escalated", AuditEvent.entity_id == f"{related}/{YEAR}"
            )
        )
        == 1
    )

    assert approve_all(session, v1, "team", team[1]).refused == 0
    res = approve_all(session, v1, "committee", seed.officials(v1)["committee_director"])
    assert res.refused == 0 and related not in {o.request.subject_id for o in res.outcomes}
    assert status(session, related) == "team_signed"
    others = [h for h in seed.strategies[v1] if h != related]
    assert {status(session, h) for h in others} == {"committee_signed"}

    # naming it explicitly is refused for the committee
    o = one(session, related, "committee", seed.officials(v1)["committee_director"])
    assert not o.verdict.accepted and "escalated to township" in o.verdict.refusal
    # the township co-signs it at the committee stage ...
    res = approve_all(session, v1, "committee", "T1")
    assert [o.request.subject_id for o in res.outcomes] == [related] and res.accepted == 1
    assert status(session, related) == "committee_signed"
    # ... and the same township reviewer may not also approve its township stage
    o = one(session, related, "township", "T1")
    assert not o.verdict.accepted and "two stages" in o.verdict.refusal
    assert one(session, related, "township", "T0").verdict.new_status == "approved"


def test_reviewer_relative_is_refused_recorded_and_the_other_reviewer_decides(
    session: Session, seed: ReviewSeed
) -> None:
    """Township reviewer T0 is an in-law of a household head: T0's approval of it is
    refused with the reason and recorded; the stage stays with the township, whose
    unconflicted reviewer T1 approves (before, the county took it and T1 was refused)."""
    v1, team = seed.v1, seed.teams[seed.v1]
    _, hid = seed.info.reviewer_relative_household
    approve_all(session, v1, "team", team[0])
    approve_all(session, v1, "committee", seed.officials(v1)["party_secretary"])
    res = approve_all(session, v1, "township", "T0")
    refused = [o for o in res.outcomes if not o.verdict.accepted]
    assert [o.request.subject_id for o in refused] == [hid]
    assert "in_law" in refused[0].verdict.refusal
    row = ledger(session, subject_id=hid, stage="township")[-1]
    assert (row.outcome, row.reviewer_id, row.channel) == ("refused", "T0", "cli")
    assert "another township reviewer must decide" in row.refusal_reason
    assert not session.scalars(
        select(ReviewEscalation.level).where(ReviewEscalation.subject_id == hid)
    ).all()
    assert one(session, hid, "township", "T1").verdict.new_status == "approved"


def test_every_invalid_decision_leaves_a_refusal_record(session: Session, seed: ReviewSeed) -> None:
    v0 = seed.info.poor_villages[0]
    hid = seed.strategies[v0][0]
    leader = seed.teams[v0][0]
    cases = [
        (Request("strategy", hid, "team", "T1", "approve", None, D), "team-stage role"),
        (Request("strategy", hid, "team", leader, "return", "", D), "reason is required"),
        (Request("strategy", hid, "committee", leader, "approve", None, D), "waits for the team"),
        (Request("strategy", "NOPE", "team", leader, "approve", None, D), "no strategy"),
        (Request("strategy", hid, "team", leader, "approve", None, D), None),
        # a double click after the stage moved on
        (Request("strategy", hid, "team", leader, "approve", None, D), "waits for the committee"),
    ]
    res = T.decide(session, [c[0] for c in cases], cycle_year=YEAR, channel="ui", today=D)
    rows = ledger(session)
    assert len(rows) == len(cases)
    for row, (_req, why) in zip(rows, cases, strict=True):
        if why is None:
            assert row.outcome == "accepted" and row.refusal_reason is None
        else:
            assert row.outcome == "refused" and why in row.refusal_reason
    assert res.accepted == 1 and {r.channel for r in rows} == {"ui"}
    assert rows[-1].received_at is not None and rows[-1].version == 1


def test_status_changes_write_audit_rows_and_stage_clock(
    session: Session, seed: ReviewSeed
) -> None:
    v0 = seed.info.poor_villages[0]
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    reqs = [
        Request("strategy", h, "team", seed.teams[v0][0], "approve", None, D)
        for h in seed.strategies[v0]
    ]
    T.decide(session, reqs, cycle_year=YEAR, channel="cli", received_at=at, today=D)
    n = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "review.approve")
    )
    assert n == len(reqs)
    st = session.scalars(
        select(ReviewState).where(ReviewState.subject_id == seed.strategies[v0][0])
    ).one()
    assert st.stage == "committee" and st.entered_at.replace(tzinfo=UTC) == at


def test_returned_item_redrafted_and_approved_then_final_after_publicity(
    session: Session, seed: ReviewSeed
) -> None:
    """The committee returns a strategy; the lifecycle redrafts it (returned → draft,
    version 2, as `draft_strategies` does); the same team re-signs, it is approved, the 7-day
    publicity passes without objection and the strategy is final."""
    v0 = seed.info.poor_villages[0]
    hid, leader = seed.strategies[v0][0], seed.teams[v0][0]
    sec = seed.officials(v0)["party_secretary"]
    one(session, hid, "team", leader)
    o = one(session, hid, "committee", sec, "return", "住房措施缺失")
    assert o.verdict.new_status == "returned"
    assert (
        session.scalar(select(Strategy.return_reason).where(Strategy.household_id == hid))
        == "住房措施缺失"
    )
    session.execute(
        update(Strategy).where(Strategy.household_id == hid).values(status="draft", version=2)
    )  # the redraft
    assert one(session, hid, "team", leader).verdict.accepted
    assert one(session, hid, "committee", sec).verdict.accepted
    assert one(session, hid, "township", "T1").verdict.new_status == "approved"
    pub = session.scalars(select(Publicity).where(Publicity.subject_id == hid)).one()
    assert (pub.version, pub.status, (pub.closes_on - pub.opens_on).days) == (2, "open", 7)
    assert T.close_publicity(session, today=pub.closes_on - timedelta(days=1))["closed"] == 0
    assert T.close_publicity(session, today=pub.closes_on)["closed"] == 1
    s = session.scalars(select(Strategy).where(Strategy.household_id == hid)).one()
    session.refresh(s)
    assert (s.status, s.approved_by, s.approved_on) == ("approved", "T1", pub.closes_on)


def test_objection_in_the_window_returns_the_item(session: Session, seed: ReviewSeed) -> None:
    v0 = seed.info.poor_villages[0]
    hid = seed.strategies[v0][1]
    one(session, hid, "team", seed.teams[v0][0])
    one(session, hid, "committee", seed.officials(v0)["committee_director"])
    one(session, hid, "township", "T1")
    with pytest.raises(T.ReviewError, match="window runs"):
        T.file_objection(
            session,
            subject="strategy",
            subject_id=hid,
            cycle_year=YEAR,
            filed_by="村民王五",
            reason="家有轿车",
            filed_on=D + timedelta(days=7),
        )
    T.file_objection(
        session,
        subject="strategy",
        subject_id=hid,
        cycle_year=YEAR,
        filed_by="村民王五",
        reason="家有轿车",
        filed_on=D + timedelta(days=3),
    )
    assert status(session, hid) == "returned"
    assert "家有轿车" in session.scalar(
        select(Strategy.return_reason).where(Strategy.household_id == hid)
    )
    assert session.scalar(select(Publicity.status).where(Publicity.subject_id == hid)) == "objected"
    assert session.scalar(select(func.count()).select_from(Objection)) == 1
    with pytest.raises(T.ReviewError, match="objected"):
        T.file_objection(
            session,
            subject="strategy",
            subject_id=hid,
            cycle_year=YEAR,
            filed_by="村民",
            reason="again",
            filed_on=D + timedelta(days=4),
        )


def test_plan_goes_up_to_the_county(session: Session, seed: ReviewSeed) -> None:
    v0 = seed.info.poor_villages[0]
    for stage, who in (
        ("team", seed.teams[v0][0]),
        ("committee", seed.officials(v0)["party_secretary"]),
        ("township", "T0"),
    ):
        assert one(session, v0, stage, who, subject="plan").verdict.accepted
    assert session.scalar(select(Plan.status).where(Plan.village_code == v0)) == "township_approved"
    assert one(session, v0, "county", "X0", subject="plan").verdict.new_status == "approved"


def test_team_member_related_to_a_head_abstains_and_the_team_decides(
    session: Session, seed: ReviewSeed
) -> None:
    """C005 is a child of a poor household head in village 1 (planted); put C005 on a team
    there and the team stage of that household goes to the committee."""
    v1 = seed.v1
    cadre, hid = seed.info.cadre_related_to_head
    from zhucun.models import TeamMember

    team_id = session.scalar(
        select(TeamMember.team_id).where(TeamMember.cadre_id == seed.teams[v1][0])
    )
    from sqlalchemy import insert

    session.execute(
        insert(TeamMember), [dict(team_id=team_id, cadre_id=cadre, role="member", active=True)]
    )
    o = one(session, hid, "team", cadre)
    # the team has unconflicted members: C005 abstains, the stage stays with the team
    assert not o.verdict.accepted and o.verdict.escalate is None
    assert not one(
        session, hid, "team", seed.officials(v1)["committee_director"]
    ).verdict.accepted  # not escalated: the committee cannot sign for the team
    assert one(session, hid, "team", seed.teams[v1][0]).verdict.accepted
    assert add_team  # fixture helper stays importable for other tests


def test_overdue_stage_is_found_from_when_it_entered(session: Session, seed: ReviewSeed) -> None:
    v0, v1 = seed.info.poor_villages[:2]
    long_ago = datetime.now(UTC) - timedelta(days=20)
    T.sync_states(session, YEAR, [v0], policy=policy(session), at=long_ago)
    T.sync_states(session, YEAR, [v1], policy=policy(session))
    groups = T.overdue(session, county="130624", at=datetime.now(UTC))
    assert groups == [
        {"village": v0, "stage": "team", "strategies": len(seed.strategies[v0]), "plans": 1}
    ]
    # deciding restarts the clock of the next stage
    approve_all(session, v0, "team", seed.teams[v0][0], on=date.today())
    assert T.overdue(session, county="130624", at=datetime.now(UTC)) == []


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text(
        "\ufeffstage,subject,subject_id,reviewer_id,decision,reason,decided_on\n"
        + "\n".join(rows)
        + "\n",
        encoding="utf-8",
    )
    return path


def test_decisions_file_is_all_or_nothing_and_idempotent(
    session: Session, seed: ReviewSeed, tmp_path: Path
) -> None:
    v0 = seed.info.poor_villages[0]
    h0, h1 = seed.strategies[v0][:2]
    leader, sec = seed.teams[v0][0], seed.officials(v0)["party_secretary"]
    bad = _write(
        tmp_path / "decisions.csv",
        [
            f"committee,strategy,{h0},{sec},approve,,2026-03-05",  # before the team: sorted by date
            f"team,strategy,{h0},{leader},approve,,2026-03-02",
            f"team,strategy,{h1},T1,approve,,2026-03-02",
            f"team,strategy,{h1},{leader},return,,2026-03-02",
        ],
    )
    res = T.apply_decisions_file(session, bad, cycle_year=YEAR, today=D + timedelta(days=10))
    assert not res.ok and res.result is not None and not res.result.applied
    assert res.errors[0].startswith("decisions.csv:4:reviewer_id: ")
    assert res.errors[1] == "decisions.csv:5:reason: a reason is required to return"
    assert ledger(session) == [] and status(session, h0) == "draft"

    good = _write(
        tmp_path / "decisions.csv",
        [
            f"committee,strategy,{h0},{sec},approve,,2026-03-05",
            f"team,strategy,{h0},{leader},approve,,2026-03-02",
            f"team,strategy,{h1},{leader},return,措施不全,2026-03-02",
        ],
    )
    res = T.apply_decisions_file(session, good, cycle_year=YEAR, today=D + timedelta(days=10))
    assert res.ok and res.result.accepted == 3
    assert (status(session, h0), status(session, h1)) == ("committee_signed", "returned")
    assert {r.channel for r in ledger(session)} == {"file"}
    again = T.apply_decisions_file(session, good, cycle_year=YEAR, today=D + timedelta(days=10))
    assert again.ok and again.result.counts()["skipped"] == 3 and len(ledger(session)) == 3


def test_decisions_file_format_errors(session: Session, seed: ReviewSeed, tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text(
        "stage,subject,subject_id,reviewer,decision,reason,decided_on,extra\n", encoding="utf-8"
    )
    res = T.apply_decisions_file(session, p, cycle_year=YEAR)
    assert "d.csv:1:reviewer_id: missing column" in res.errors
    assert "d.csv:1:extra: unknown column" in res.errors
    p2 = _write(tmp_path / "d2.csv", ["team,strategy,H1,C010,approve,,03/02/2026"])
    res = T.apply_decisions_file(session, p2, cycle_year=YEAR)
    assert res.errors == ["d2.csv:2:decided_on: not a date YYYY-MM-DD"]


def test_empty_form_is_refused_for_every_item_not_dropped(
    session: Session, seed: ReviewSeed
) -> None:
    v0 = seed.info.poor_villages[0]
    reqs = T.form_requests(
        session,
        cycle_year=YEAR,
        village=v0,
        stage="team",
        reviewer_id=seed.teams[v0][0],
        approve_all=False,
        decisions=[],
        decided_on=D,
        policy=policy(session),
    )
    res = T.decide(session, reqs, cycle_year=YEAR, channel="ui", today=D)
    assert res.accepted == 0 and res.refused == len(seed.strategies[v0]) + 1


def test_helper_signs_the_team_stage_where_no_team_is_posted(
    session: Session, seed: ReviewSeed
) -> None:
    """About a third of poor households live outside registered poor villages, where no
    resident team is posted: their 帮扶责任人 signs the team stage; another cadre may not."""
    from sqlalchemy import insert
    from zhucun.models import HelperAssignment

    from tests.support.review_fixtures import add_strategies

    village = seed.info.villages[-1]  # not a registered poor village: no team
    household = next(h for h in seed.info.poor_households if h.startswith(f"H{village[-3:]}"))
    add_strategies(session, village, [household], YEAR)
    session.execute(
        insert(HelperAssignment),
        [dict(household_id=household, cycle_year=YEAR, cadre_id="C040", village_code=village)],
    )
    session.commit()

    stranger = one(session, household, "team", "C041")
    assert not stranger.verdict.accepted
    helper = one(session, household, "team", "C040")
    assert helper.verdict.accepted and helper.verdict.new_status == "team_signed"


def test_a_changed_household_gets_a_revision_while_its_approved_strategy_stays_in_force(
    session: Session, seed: ReviewSeed
) -> None:
    """动态调整: a household's house turns unsafe after its strategy became final. The re-run
    drafts a revision (version 2, adding the housing measure) that goes through review as a
    new item while version 1 stays in force; approving it supersedes version 1 (kept); an
    objection in its window puts version 1 back in force; a re-run without change writes
    nothing."""
    from zhucun.models import Household, StrategyMeasure
    from zhucun.models.lifecycle import strategy_in_force
    from zhucun.tasks.causes import assess_chunk
    from zhucun.tasks.delivery import list_deliveries
    from zhucun.tasks.strategies import draft_chunk

    v0 = seed.info.poor_villages[0]
    hid, leader = seed.strategies[v0][0], seed.teams[v0][0]
    sec = seed.officials(v0)["party_secretary"]

    def redraft(**facts: object) -> dict:
        if facts:
            session.execute(update(Household).where(Household.household_id == hid).values(**facts))
        assess_chunk(session, "130624", YEAR, [v0])
        return draft_chunk(session, "130624", YEAR, [v0])

    def approve(on: date) -> None:
        for stage, who in (("team", leader), ("committee", sec), ("township", "T1")):
            res = T.decide(
                session,
                [Request("strategy", hid, stage, who, "approve", None, on)],
                cycle_year=YEAR,
                channel="cli",
                today=on,
            )
            assert res.outcomes[0].verdict.accepted, res.outcomes[0].verdict.refusal

    def versions() -> list[tuple]:
        rows = session.execute(
            select(Strategy.version, Strategy.status, Strategy.is_current, Strategy.supersedes)
            .where(Strategy.household_id == hid)
            .order_by(Strategy.id)
        ).all()
        return [tuple(r) for r in rows]

    def in_force() -> tuple[int, set[str]]:
        s = session.scalars(
            select(Strategy).where(Strategy.household_id == hid, strategy_in_force())
        ).one()
        ms = session.scalars(
            select(StrategyMeasure.measure).where(StrategyMeasure.strategy_id == s.id)
        )
        return s.version, set(ms)

    redraft(housing_grade="A")  # the rules' draft replaces the seed's
    approve(D)
    assert T.close_publicity(session, today=D + timedelta(days=7))["closed"] == 1
    v1_id = session.scalar(select(Strategy.id).where(Strategy.household_id == hid))
    assert redraft()["written"] == 0, "approved and unchanged: nothing to revise"

    revised = redraft(housing_grade="D")  # the house was found unsafe (D级危房)
    assert revised["revised"] == 1 and revised["written"] == 1
    assert versions() == [(1, "approved", False, None), (2, "draft", True, v1_id)]
    version, measures = in_force()
    assert version == 1 and "housing" not in measures
    assert {d["measure"] for d in list_deliveries(session, YEAR, household=hid)} == measures
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "strategy_revised")).one()
    assert audit.before["version"] == 1 and "housing" in audit.after["measures"]
    assert redraft()["written"] == 0, "the revision is drafted once"

    later = D + timedelta(days=20)
    approve(later)  # the revision is a new item: the same people decide its stages again
    assert versions() == [(1, "superseded", False, None), (2, "approved", True, v1_id)]
    assert in_force()[0] == 2 and "housing" in in_force()[1]
    T.file_objection(
        session,
        subject="strategy",
        subject_id=hid,
        cycle_year=YEAR,
        filed_by="村民王五",
        reason="危房等级有误",
        filed_on=later + timedelta(days=2),
    )
    assert versions() == [(1, "approved", False, None), (2, "returned", True, v1_id)]
    assert in_force()[0] == 1, "an objection to the revision puts version 1 back in force"
    assert redraft()["redrafted"] == 1
    assert versions()[1] == (3, "draft", True, v1_id)
