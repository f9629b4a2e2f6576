"""The set-based household strategies (tasks/strategies_sql.py) equal the per-row reference
(`tasks.strategies.draft_chunk(..., set_based=False)`, which runs `rules.measures` per
household): the same strategies and measure rows for generated households (hypothesis), on
SQLite and PostgreSQL; a re-run writes nothing; a returned strategy is redrafted once with
its own audit row, one in review is never touched; households changed after their strategy
became final get the same revisions (动态调整) both ways."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, update
from sqlmodel import Session
from zhucun.models import AuditEvent, Household, HouseholdAssessment, Strategy, StrategyMeasure
from zhucun.models.enums import Cause
from zhucun.tasks import strategies_keys
from zhucun.tasks.causes import assess_chunk
from zhucun.tasks.lifecycle_db import in_care
from zhucun.tasks.strategies import draft_chunk

from tests.support.county import COUNTY, seed_county
from zhucun.policy import default_policy
from zhucun.rules import measures as measure_rules
from zhucun.rules.measures import HouseholdFacts

YEAR = 2026
POLICY = default_policy(YEAR, "west")
CAUSES = [c.value for c in Cause]


@st.composite
def household_facts(draw: Any) -> HouseholdFacts:
    size = draw(st.integers(1, 8))
    return HouseholdFacts(
        size=size,
        labour_count=draw(st.integers(0, size)),
        head_birth_year=draw(st.one_of(st.none(), st.integers(1930, 2010))),
        has_credit_access=draw(st.booleans()),
        housing_grade=draw(st.sampled_from(["A", "B", "C", "D"])),
        students=draw(st.integers(0, 3)),
        disabled_members=draw(st.integers(0, 2)),
        attribute=draw(st.sampled_from(["general", "dibao", "tekun", "dibao_exited"])),
    )


@settings(max_examples=300, deadline=None)
@given(
    household_facts(),
    st.sampled_from(CAUSES),
    st.lists(st.sampled_from(CAUSES), max_size=2, unique=True),
)
def test_a_household_gets_the_measures_of_its_key(
    facts: HouseholdFacts, main: str, others: list[str]
) -> None:
    """The rules look at a household only through its key: the canonical household of the
    key gets exactly the same measures (what makes one rule run per key exact)."""
    key = strategies_keys.key_of(facts, main, others, POLICY, YEAR)
    canonical = strategies_keys.canonical_facts(key, POLICY, YEAR)
    assert measure_rules.select_measures(
        canonical, main, others, POLICY, YEAR
    ) == measure_rules.select_measures(facts, main, others, POLICY, YEAR)


def snapshot(session: Session) -> dict[Any, Any]:
    """Strategies by household, with their measure rows; versions no longer current by
    (household, version), with the version a revision supersedes."""
    out: dict[Any, Any] = {}
    version_of = dict(session.execute(select(Strategy.id, Strategy.version)).all())
    for s in session.execute(select(Strategy)).scalars():
        rows = session.execute(
            select(
                StrategyMeasure.measure,
                StrategyMeasure.answers_cause,
                StrategyMeasure.cost_yuan,
                StrategyMeasure.principal_yuan,
                StrategyMeasure.provider,
                StrategyMeasure.expected_effect,
            )
            .where(StrategyMeasure.strategy_id == s.id)
            .order_by(StrategyMeasure.id)
        ).all()
        key = s.household_id if s.is_current else (s.household_id, s.version)
        out[key] = (
            s.village_code,
            list(s.measures),
            s.cost_yuan,
            s.status,
            s.version,
            [tuple(r) for r in rows],
        ) + ((version_of[s.supersedes],) if s.supersedes else ())
    return out


def both_ways(session: Session, villages: list[str]) -> tuple[dict, dict, dict, dict]:
    """(reference summary, snapshot) and (set-based summary, snapshot) from empty tables."""
    results = []
    for set_based in (False, True):
        session.execute(delete(StrategyMeasure))
        session.execute(delete(Strategy))
        summary = draft_chunk(session, COUNTY, YEAR, villages, set_based=set_based)
        results += [summary, snapshot(session)]
    return tuple(results)  # type: ignore[return-value]


facts_update = st.fixed_dictionaries(
    dict(
        labour_count=st.integers(0, 4),
        head_birth_year=st.one_of(st.none(), st.integers(1940, 2008)),
        has_credit_access=st.booleans(),
        housing_grade=st.sampled_from(["A", "B", "C", "D"]),
        students=st.integers(0, 2),
        disabled_members=st.integers(0, 2),
        attribute=st.sampled_from(["general", "dibao", "tekun"]),
        medical_spending_yuan=st.sampled_from([0.0, 500.0, 30_000.0]),
        serious_illness_members=st.integers(0, 2),
        safe_water_ok=st.booleans(),
    )
)


def seeded(session: Session) -> list[str]:
    if not session.scalar(select(Household.household_id).limit(1)):
        seed_county(session)
        session.commit()
    return sorted(set(session.scalars(select(Household.village_code))))


def plant(session: Session, generated: list[dict[str, Any]]) -> None:
    """The generated facts on the households in care, in household order (size at least the
    labour, as a registry has it)."""
    ids = session.scalars(
        select(Household.household_id).where(in_care()).order_by(Household.household_id)
    )
    for hid, f in zip(list(ids), generated, strict=False):
        size = max(f["labour_count"], 1)
        session.execute(
            update(Household).where(Household.household_id == hid).values(size=size, **f)
        )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(facts_update, min_size=1, max_size=30))
def test_set_based_strategies_equal_the_per_row_reference(
    session: Session, generated: list[dict[str, Any]]
) -> None:
    villages = seeded(session)
    plant(session, generated)
    assess_chunk(session, COUNTY, YEAR, villages)
    ref_summary, ref, got_summary, got = both_ways(session, villages)
    assert got == ref
    assert got_summary == ref_summary
    session.rollback()


def test_rerun_writes_nothing_returned_redrafted_review_untouched(session: Session) -> None:
    villages = seeded(session)
    assess_chunk(session, COUNTY, YEAR, villages)
    first = draft_chunk(session, COUNTY, YEAR, villages)
    assert first["written"] == first["households"] > 0
    before = snapshot(session)
    audits = session.scalar(select(func.count()).select_from(AuditEvent))
    again = draft_chunk(session, COUNTY, YEAR, villages)
    assert again["written"] == 0 and snapshot(session) == before
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == audits

    returned, submitted = sorted(before)[:2]
    for hid, status in ((returned, "returned"), (submitted, "submitted")):
        session.execute(update(Strategy).where(Strategy.household_id == hid).values(status=status))
    third = draft_chunk(session, COUNTY, YEAR, villages)
    assert (third["written"], third["redrafted"], third["kept_in_review"]) == (1, 1, 1)
    after = snapshot(session)
    assert after[returned][3:5] == ("draft", before[returned][4] + 1)
    assert after[returned][5] == before[returned][5], "the same measure rows, rewritten"
    assert after[submitted][3] == "submitted"
    row = session.scalars(select(AuditEvent).where(AuditEvent.action == "strategy_redrafted")).one()
    assert row.entity_id == f"{returned}/{YEAR}" and row.before["status"] == "returned"

    # A changed cause changes the measures: the draft is rewritten, in place.
    hid = sorted(before)[2]
    session.execute(
        update(HouseholdAssessment)
        .where(HouseholdAssessment.household_id == hid)
        .values(main_cause="disaster", other_causes=[])
    )
    fourth = draft_chunk(session, COUNTY, YEAR, villages)
    assert fourth["written"] == 1
    assert snapshot(session)[hid][5][0][:2] == ("disaster_relief", "disaster")


def from_here(session: Session, villages: list[str]) -> tuple[dict, dict, dict, dict]:
    """Both ways from the strategies as they are now (restored between the two)."""
    tables = (Strategy.__table__, StrategyMeasure.__table__)
    saved = [[dict(r._mapping) for r in session.execute(select(t))] for t in tables]
    results = []
    for set_based in (False, True):
        for t in reversed(tables):
            session.execute(delete(t))
        for t, rows in zip(tables, saved, strict=True):
            if rows:
                session.execute(insert(t), rows)
        summary = draft_chunk(session, COUNTY, YEAR, villages, set_based=set_based)
        results += [summary, snapshot(session)]
    return tuple(results)  # type: ignore[return-value]


def approve_some(session: Session) -> None:
    """Of the drafted strategies, every third approved and final, every third approved and
    still in its publicity window (not revised), the rest left as drafts."""
    ids = session.scalars(select(Strategy.id).order_by(Strategy.id)).all()
    final, in_window = ids[::3], ids[1::3]
    session.execute(
        update(Strategy)
        .where(Strategy.id.in_(final))
        .values(status="approved", approved_on=date(YEAR, 3, 1))
    )
    session.execute(update(Strategy).where(Strategy.id.in_(in_window)).values(status="approved"))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(facts_update, min_size=1, max_size=30))
def test_revisions_set_based_equal_the_per_row_reference(
    session: Session, generated: list[dict[str, Any]]
) -> None:
    """Strategies drafted, some approved; then the households change (house, illness,
    labour, …): both paths draft the same revisions, redrafts and updates."""
    villages = seeded(session)
    assess_chunk(session, COUNTY, YEAR, villages)
    draft_chunk(session, COUNTY, YEAR, villages)
    approve_some(session)
    plant(session, generated)
    assess_chunk(session, COUNTY, YEAR, villages)
    ref_summary, ref, got_summary, got = from_here(session, villages)
    assert got == ref
    assert got_summary == ref_summary
    assert draft_chunk(session, COUNTY, YEAR, villages)["written"] == 0
    session.rollback()


@pytest.mark.postgres
def test_set_based_strategies_on_postgres(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlmodel import SQLModel

    from zhucun.db import get_engine
    from zhucun.policy import seed_policy
    from zhucun.settings import reset_settings

    monkeypatch.setenv("ZHUCUN_DATABASE_URL", postgres_url)
    reset_settings()
    engine = get_engine()
    SQLModel.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        seed_policy(session)
        villages = seeded(session)
        assess_chunk(session, COUNTY, YEAR, villages)
        ref_summary, ref, got_summary, got = both_ways(session, villages)
        assert got == ref and got_summary == ref_summary and got
        session.commit()
        assert draft_chunk(session, COUNTY, YEAR, villages)["written"] == 0
        # revisions: approved strategies whose households' houses turned unsafe
        approve_some(session)
        session.execute(update(Household).where(in_care()).values(housing_grade="D"))
        assess_chunk(session, COUNTY, YEAR, villages)
        ref_summary, ref, got_summary, got = from_here(session, villages)
        assert got == ref and got_summary == ref_summary and got_summary["revised"] > 0
        assert draft_chunk(session, COUNTY, YEAR, villages)["written"] == 0
    reset_settings()


def test_a_working_household_without_a_birth_year_still_gets_its_strategy(
    session: Session,
) -> None:
    """No birth year and no readable one in the ID number: no working-age labour (never a
    NULL key, which matched no kind and left the household without a strategy)."""
    villages = seeded(session)
    hid = session.scalars(select(Household.household_id).where(in_care())).first()
    session.execute(
        update(Household)
        .where(Household.household_id == hid)
        .values(labour_count=2, size=3, head_birth_year=None, head_id_number="X" * 18)
    )
    assess_chunk(session, COUNTY, YEAR, villages)
    ref_summary, ref, got_summary, got = both_ways(session, villages)
    assert hid in got and got == ref and got_summary == ref_summary
