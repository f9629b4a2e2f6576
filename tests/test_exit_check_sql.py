"""The exit conditions checked in the database (`tasks.exit_check_sql`) against the rule run
for every candidate (`propose_exits(per_row=True)`): on generated households — surveys on,
above and under the line, guarantees missing in one survey, strategies of several years,
drafts, approved versions with a pending revision or a next year's draft, deliveries of
another year or not yet delivered — both propose the same households with the same evidence
and count the same misses by condition. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlmodel import Session
from zhucun.models import Household
from zhucun.models.evaluation import ExitProposal
from zhucun.models.lifecycle import MeasureDelivery, Strategy
from zhucun.tasks.delivery import propose_exits

from tests.support.county import add_surveys, seed_county
from tests.support.lifecycle_fixtures import survey
from zhucun.policy import default_policy

P = default_policy(2026, "east")
LINE = P.poverty_line_yuan
END = date(2026, 6, 30)

income = st.sampled_from([LINE - 1, LINE, LINE + 0.5, LINE + 900])
strategy = st.sampled_from(
    [None, "approved", "draft", "team_signed", "approved+revision", "old-approved", "next-year"]
)


@st.composite
def household(draw: Any) -> dict[str, Any]:
    days = sorted(draw(st.sets(st.sampled_from([10, 80, 150, 200]), max_size=4)))
    surveys = [
        dict(
            on=date.fromordinal(END.toordinal() - 180 + d),  # day 200: after the period
            income=draw(income),
            water=draw(st.booleans()),
            grade=draw(st.sampled_from("ABCD")),
        )
        for d in days
    ]
    return dict(
        surveys=surveys,
        strategy=draw(strategy),
        delivered=draw(st.sampled_from([None, 2026, 2025, "planned"])),
    )


def plant(session: Session, generated: list[dict[str, Any]]) -> list[tuple[str, str]]:
    if not session.scalar(select(Household.household_id).limit(1)):
        seed_county(session)
        session.commit()
    for model in (ExitProposal, MeasureDelivery, Strategy):
        session.execute(delete(model))
    from zhucun.models import Survey

    session.execute(delete(Survey))
    homes = session.execute(
        select(Household.household_id, Household.village_code)
        .where(Household.registered_poor.is_(True))
        .order_by(Household.household_id)
    ).all()
    candidates, surveys = [], []
    for (hid, village), g in zip(homes, generated, strict=False):
        candidates.append((hid, village))
        for s in g["surveys"]:
            surveys.append(
                survey(
                    hid, s["on"], s["income"], safe_water_ok=s["water"], housing_grade=s["grade"]
                )
            )
        kind = g["strategy"]
        rows: list[tuple[int, int, str, bool, int | None]] = []  # year, version, status, current
        if kind == "approved+revision":
            rows = [(2026, 1, "approved", False, None), (2026, 2, "draft", True, 1)]
        elif kind == "next-year":  # next cycle's draft: the exit reads this year's
            rows = [(2026, 1, "approved", True, None), (2027, 1, "draft", True, None)]
        elif kind == "old-approved":
            rows = [(2025, 1, "approved", True, None)]
        elif kind:
            rows = [(2026, 1, kind, True, None)]
        ids: dict[int, int] = {}
        for year, version, status, current, supersedes in rows:
            st_row = Strategy(
                household_id=hid,
                village_code=village,
                cycle_year=year,
                version=version,
                measures=["industry"],
                status=status,
                is_current=current,
                supersedes=ids.get(supersedes) if supersedes else None,
            )
            session.add(st_row)
            session.flush()
            ids[version] = st_row.id
        if g["delivered"] is not None:
            session.add(
                MeasureDelivery(
                    household_id=hid,
                    village_code=village,
                    cycle_year=2026 if g["delivered"] == "planned" else g["delivered"],
                    measure="industry",
                    state="planned" if g["delivered"] == "planned" else "delivered",
                )
            )
    if surveys:
        add_surveys(session, surveys)
    session.flush()
    return candidates


def outcome(session: Session, candidates: list[tuple[str, str]], per_row: bool) -> Any:
    nested = session.begin_nested()
    counts = propose_exits(
        session, period="2026-06", end=END, candidates=candidates, policy=P, per_row=per_row
    )
    rows = session.execute(
        select(ExitProposal.household_id, ExitProposal.reasons_met, ExitProposal.evidence).order_by(
            ExitProposal.household_id
        )
    ).all()
    nested.rollback()
    return counts, rows


def same(session: Session, generated: list[dict[str, Any]]) -> None:
    candidates = plant(session, generated)
    want = outcome(session, candidates, per_row=True)
    got = outcome(session, candidates, per_row=False)
    assert got == want
    session.rollback()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(household(), min_size=1, max_size=30))
def test_the_database_checks_the_conditions_as_the_rule_does(
    session: Session, generated: list
) -> None:
    same(session, generated)


def test_a_household_meeting_every_condition_is_proposed_by_both(session: Session) -> None:
    good = dict(income=LINE + 900, water=True, grade="A")
    generated = [
        dict(
            surveys=[good | {"on": date(2026, 3, 1)}, good | {"on": date(2026, 6, 1)}],
            strategy="approved",
            delivered=2026,
        ),
        dict(surveys=[good | {"on": date(2026, 6, 1)}], strategy="approved", delivered=2026),
    ]
    candidates = plant(session, generated)
    counts, rows = outcome(session, candidates, per_row=False)
    assert counts == {"proposed": 1, "not_proposed": {"income_steady": 1}}
    assert [r.household_id for r in rows] == [candidates[0][0]]
    session.rollback()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(generated=st.lists(household(), min_size=1, max_size=30))
def test_on_postgres_too(
    postgres_url: str, monkeypatch: Any, data_dir: Path, generated: list
) -> None:
    from tests.support.database import prepared_engine
    from zhucun.settings import reset_settings

    monkeypatch.setenv("ZHUCUN_DATABASE_URL", postgres_url)
    reset_settings()
    with Session(prepared_engine(), expire_on_commit=False) as session:
        same(session, generated)
