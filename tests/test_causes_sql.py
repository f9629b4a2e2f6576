"""The set-based cause assessment (tasks/causes_sql.py) equals the per-row reference
`rules.causes.assess` for every household — main cause, other causes and evidence — on
generated households (hypothesis), and a re-run writes nothing while overrides stay."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlmodel import Session
from zhucun.models import Household, HouseholdAssessment
from zhucun.tasks import causes_sql
from zhucun.tasks.lifecycle_db import in_care, load_households

from tests.support.county import seed_county
from zhucun.policy import default_policy
from zhucun.rules import causes as cause_rules

THRESHOLDS = dict(default_policy(2026, "east").cause_thresholds)
money = st.one_of(
    st.just(0.0),
    st.integers(0, 60_000).map(float),
    st.integers(0, 6_000_000).map(lambda c: c / 100),
    st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
)
# Amounts as registries hold them (yuan and fen): PostgreSQL refuses a double that
# underflows to zero (5e-324 / 2), where SQLite and Python give 0.
yuan = st.one_of(
    st.just(0.0),
    st.integers(0, 60_000).map(float),
    st.integers(0, 6_000_000).map(lambda c: c / 100),
)


@st.composite
def facts(draw: Any, money: Any = money) -> dict[str, Any]:
    size = draw(st.integers(0, 10))
    labour = draw(st.integers(0, max(size, 0)))
    return dict(
        size=size,
        labour_count=labour,
        skilled_labour=draw(st.integers(0, labour)),
        per_capita_income_yuan=draw(money),
        medical_spending_yuan=draw(money),
        education_spending_yuan=draw(money),
        disaster_loss_yuan=draw(money),
        land_mu=draw(
            st.one_of(
                st.none(),
                st.integers(0, 400).map(lambda t: t / 10),
                st.floats(0, 100, allow_nan=False),
            )
        ),
        serious_illness_members=draw(st.integers(0, 3)),
        chronic_illness_members=draw(st.integers(0, 3)),
        disabled_members=draw(st.integers(0, 3)),
        students=draw(st.integers(0, 3)),
        safe_water_ok=draw(st.booleans()),
        road_access=draw(st.booleans()),
        has_credit_access=draw(st.booleans()),
        business_income_yuan=draw(st.one_of(st.none(), money)),
        production_cost_yuan=draw(st.one_of(st.none(), money)),
        low_motivation=draw(st.booleans()),
    )


def expected(session: Session, villages: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for h in load_households(session, villages, in_care()):
        a = cause_rules.assess(h, THRESHOLDS)
        out[h["household_id"]] = dict(
            household_id=h["household_id"],
            main_cause=a.main_cause.value,
            other_causes=[c.value for c in a.other_causes],
            evidence=a.evidence,
        )
    return out


def recount(session: Session, villages: list[str]) -> tuple[int, dict, dict, int]:
    """`causes_sql.chunk_counts` by hand: the stored assessments of the households in care,
    each other cause counted once per assessment that names it."""
    from collections import Counter

    care = {h["household_id"] for h in load_households(session, villages, in_care())}
    main: Counter[str] = Counter()
    other: Counter[str] = Counter()
    overrides = 0
    for a in session.scalars(
        select(HouseholdAssessment).where(HouseholdAssessment.cycle_year == 2026)
    ):
        if a.household_id in care:
            main[a.main_cause] += 1
            other.update(a.other_causes)
            overrides += a.source == "override"
    return sum(main.values()), dict(main), dict(other), overrides


def plant(session: Session, generated: list) -> tuple[list[str], list[str]]:
    """The generated facts on the seeded county's households in care (seeded once):
    (villages, household ids in the order the facts were planted)."""
    if not session.scalar(select(Household.household_id).limit(1)):
        seed_county(session)
        session.commit()
    villages = list(session.scalars(select(Household.village_code).distinct()))
    ids = list(
        session.scalars(
            select(Household.household_id).where(in_care()).order_by(Household.household_id)
        )
    )
    for hid, f in zip(ids, generated, strict=False):
        session.execute(update(Household).where(Household.household_id == hid).values(**f))
    return villages, ids


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(facts(), min_size=1, max_size=40))
def test_set_based_assessment_equals_the_rules(session: Session, generated: list) -> None:
    villages, _ = plant(session, generated)
    want = expected(session, villages)
    got = {r["household_id"]: r for r in causes_sql.assess_rows(session, villages, THRESHOLDS)}
    assert got.keys() == want.keys()
    for hid in want:
        assert got[hid] == want[hid], hid
    session.rollback()


def test_rerun_writes_nothing_and_overrides_stay(session: Session) -> None:
    seed_county(session)
    session.commit()
    villages = list(session.scalars(select(Household.village_code).distinct()))
    first = causes_sql.upsert_assessments(session, villages, 2026, THRESHOLDS, "causes-1+p")
    assert first > 0
    assert causes_sql.upsert_assessments(session, villages, 2026, THRESHOLDS, "causes-1+p") == 0
    hid = session.scalars(select(HouseholdAssessment.household_id)).first()
    session.execute(
        update(HouseholdAssessment)
        .where(HouseholdAssessment.household_id == hid)
        .values(source="override", main_cause="other", other_causes=[], evidence={})
    )
    changed = causes_sql.upsert_assessments(session, villages, 2026, THRESHOLDS, "causes-2+p")
    assert changed == first - 1, "every rule row gets the new version, the override none"
    kept = session.scalars(
        select(HouseholdAssessment).where(HouseholdAssessment.household_id == hid)
    ).one()
    assert (kept.source, kept.main_cause, kept.rule_version) == ("override", "other", "causes-1+p")
    # the artifact's counts, made by the database, are the stored rows' (the override too)
    counted = causes_sql.chunk_counts(session, villages, 2026, THRESHOLDS)
    assert counted == recount(session, villages) and counted[3] == 1
    assert sum(counted[2].values()) > 0, "some household has other causes"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(generated=st.lists(facts(yuan), min_size=1, max_size=40))
def test_on_postgres_the_same_statement_equals_the_rules_and_reruns_write_nothing(
    postgres_url: str, monkeypatch: Any, generated: list
) -> None:
    """PostgreSQL runs the same template (`causes_sql.for_dialect`): doubles, not numerics
    (0.6 + 0.15 x 2 ranks below 0.8 + 0.1 as in Python), and shares formatted by their exact
    binary value, half to even (2.675 → 2.67, 0.125 → 12%)."""
    from sqlmodel import SQLModel

    from zhucun.db import get_engine
    from zhucun.settings import reset_settings

    monkeypatch.setenv("ZHUCUN_DATABASE_URL", postgres_url)
    reset_settings()
    engine = get_engine()
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        ties = [  # 62.5% → 62%, severity 0.8125 → 0.812, 0.125 mu → 0.12; a rank tie
            dict(size=8, per_capita_income_yuan=125.0, medical_spending_yuan=625.0, land_mu=1.0)
            | dict(chronic_illness_members=1, serious_illness_members=0, safe_water_ok=True)
            | dict(road_access=True, labour_count=4, skilled_labour=2, has_credit_access=True),
            dict(serious_illness_members=1, disabled_members=2),
        ]
        villages, ids = plant(session, ties + generated)
        want = expected(session, villages)
        tie = str(want[ids[0]]["evidence"])
        assert "62%" in tie and "0.812" in tie and "0.12 mu" in tie
        got = {r["household_id"]: r for r in causes_sql.assess_rows(session, villages, THRESHOLDS)}
        assert got == want
        first = causes_sql.upsert_assessments(session, villages, 2026, THRESHOLDS, "causes-1+p")
        assert first == len(want)
        assert causes_sql.upsert_assessments(session, villages, 2026, THRESHOLDS, "causes-1+p") == 0
        counted = causes_sql.chunk_counts(session, villages, 2026, THRESHOLDS)
        assert counted == recount(session, villages)
        session.rollback()
