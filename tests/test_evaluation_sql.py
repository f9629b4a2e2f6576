"""The set-based evaluation (tasks/evaluation_sql.py) equals the per-row reference
(`rules.exit.evaluate_household` for each household, `evaluate_chunk(per_row=True)`) on
generated households: the evaluation rows with their reasons, the relapses' status changes
and audit rows, the exit proposals and the summary — on SQLite and on PostgreSQL. Incomes
sit on the line, on the monitoring threshold and on halves (2,500.5 is written 2500)."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from sqlmodel import Session
from zhucun.models import AuditEvent, Evaluation, Household, Survey
from zhucun.models.evaluation import ExitProposal
from zhucun.tasks.evaluation import ACTOR, evaluate_chunk

from tests.support.county import COUNTY, add_surveys, seed_county
from zhucun.policy import default_policy

PERIOD, END = "2026-06", date(2026, 6, 30)
POLICY = default_policy(2026, "east")
LINE, THRESHOLD = POLICY.poverty_line_yuan, POLICY.monitoring_threshold_yuan
income = st.one_of(
    st.sampled_from([0.0, LINE, LINE + 0.5, LINE - 0.5, THRESHOLD, THRESHOLD - 1, 2500.5]),
    st.integers(0, 20_000).map(float),
    st.integers(0, 2_000_000).map(lambda c: c / 100),
)


@st.composite
def situation(draw: Any) -> dict[str, Any]:
    return dict(
        per_capita_income_yuan=draw(income),
        food_clothing_secure=draw(st.booleans()),
        compulsory_education_ok=draw(st.booleans()),
        basic_medical_ok=draw(st.booleans()),
        safe_water_ok=draw(st.booleans()),
        housing_grade=draw(st.sampled_from("ABCD")),
    )


@st.composite
def household(draw: Any) -> dict[str, Any]:
    surveys = []
    for day in sorted(draw(st.sets(st.sampled_from([1, 20, 40, 200]), max_size=3))):
        on = date.fromordinal(END.toordinal() - 100 + day)  # day 200: after the period
        shock = draw(st.sampled_from(["none", "none", "illness", "disaster"]))
        surveys.append(dict(survey_date=on, shock=shock, **draw(situation())))
    return dict(
        status=draw(st.sampled_from(["poor", "relapsed", "exited"])),
        registry=draw(situation()),
        surveys=surveys,
    )


def plant(session: Session, generated: list[dict[str, Any]]) -> list[str]:
    """The generated households on the seeded county's registered households (seeded once);
    returns the county's villages."""
    if not session.scalar(select(Household.household_id).limit(1)):
        seed_county(session)
        session.commit()
    ids = list(
        session.scalars(
            select(Household.household_id)
            .where(Household.registered_poor.is_(True))
            .order_by(Household.household_id)
        )
    )
    session.execute(delete(Survey))
    for hid, g in zip(ids, generated, strict=False):
        session.execute(
            update(Household)
            .where(Household.household_id == hid)
            .values(status=g["status"], **g["registry"])
        )
        if g["surveys"]:
            add_surveys(session, [dict(household_id=hid, **s) for s in g["surveys"]])
    session.flush()
    return list(session.scalars(select(Household.village_code).distinct()))


def outcome(session: Session, villages: list[str], per_row: bool) -> dict[str, Any]:
    """Evaluate in a savepoint, read what it left, roll it back."""
    nested = session.begin_nested()
    summary = evaluate_chunk(session, COUNTY, PERIOD, villages, per_row=per_row)
    left = dict(
        summary=summary,
        rows=session.execute(
            select(
                Evaluation.household_id,
                Evaluation.village_code,
                Evaluation.per_capita_income_yuan,
                Evaluation.income_ok,
                Evaluation.guarantees_ok,
                Evaluation.outcome,
                Evaluation.reason,
            ).order_by(Evaluation.household_id)
        ).all(),
        statuses=session.execute(
            select(Household.household_id, Household.status).order_by(Household.household_id)
        ).all(),
        audits=session.execute(
            select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.before, AuditEvent.after)
            .where(AuditEvent.actor == ACTOR)
            .order_by(AuditEvent.entity_id)
        ).all(),
        proposals=session.execute(
            select(ExitProposal.household_id).order_by(ExitProposal.household_id)
        ).all(),
    )
    nested.rollback()
    return left


def same(session: Session, generated: list[dict[str, Any]]) -> dict[str, Any]:
    villages = plant(session, generated)
    want = outcome(session, villages, per_row=True)
    got = outcome(session, villages, per_row=False)
    assert want["rows"] and want["summary"]["evaluated"] == len(want["rows"])
    assert got["rows"] == want["rows"]
    assert got == want
    again = outcome(session, villages, per_row=False)  # nothing new was left to evaluate
    session.rollback()
    return want | {"again": again}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(household(), min_size=1, max_size=40))
def test_set_based_evaluation_equals_the_rules(session: Session, generated: list) -> None:
    same(session, generated)


def test_a_second_pass_of_the_period_evaluates_no_one(session: Session) -> None:
    villages = plant(session, [])
    first = evaluate_chunk(session, COUNTY, PERIOD, villages)
    assert first["evaluated"] > 0 and first["already_evaluated"] == 0
    second = evaluate_chunk(session, COUNTY, PERIOD, villages)
    assert second["evaluated"] == 0 and second["already_evaluated"] == first["evaluated"]
    session.rollback()


def test_the_reasons_read_as_the_rules_write_them(session: Session) -> None:
    """The real cases: income exactly on the line has not left poverty; an exited household
    under the threshold is monitored, one exactly on it is not; one whose house became
    unsafe has relapsed."""
    base = dict(food_clothing_secure=True, compulsory_education_ok=True, basic_medical_ok=True)
    ok = base | dict(safe_water_ok=True, housing_grade="A")
    cases = [
        dict(status="poor", registry=ok | dict(per_capita_income_yuan=LINE), surveys=[]),
        dict(status="exited", registry=ok | dict(per_capita_income_yuan=LINE + 1), surveys=[]),
        dict(
            status="exited",
            registry=ok | dict(per_capita_income_yuan=THRESHOLD + 1000, housing_grade="D"),
            surveys=[],
        ),
        dict(status="exited", registry=ok | dict(per_capita_income_yuan=THRESHOLD), surveys=[]),
    ]
    left = same(session, cases)
    reasons = [r.reason for r in left["rows"][:4]]
    assert reasons[0] == f"income {LINE:.0f} vs line {LINE:.0f} (must be above)"
    assert reasons[1].startswith(f"income {LINE + 1:.0f} vs monitoring threshold")
    assert reasons[2] == "back in poverty: missing housing_D"
    assert reasons[3] == "exited and stable"  # on the threshold is not under it
    assert [a.action for a in left["audits"]] == ["household_relapse"]


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(generated=st.lists(household(), min_size=1, max_size=40))
def test_on_postgres_the_set_based_evaluation_equals_the_rules(
    postgres_url: str, monkeypatch: Any, generated: list
) -> None:
    from sqlmodel import SQLModel

    from zhucun.db import get_engine
    from zhucun.settings import reset_settings

    monkeypatch.setenv("ZHUCUN_DATABASE_URL", postgres_url)
    reset_settings()
    engine = get_engine()
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        same(session, generated)
