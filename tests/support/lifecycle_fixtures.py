"""Small helpers for lifecycle task and flow tests: a team for a village (the dispatch flow
does this for real), surveys for households."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session
from zhucun.models import Cadre, Team, TeamMember


def make_team(
    session: Session,
    village: str,
    cadres: list[str],
    *,
    cycle_year: int = 2026,
    agency: str | None = None,
) -> int:
    """An active team for `village` led by cadres[0]; agency from the leader unless given."""
    leader = session.get(Cadre, cadres[0])
    assert leader is not None
    team = Team(
        village_code=village,
        cycle_year=cycle_year,
        term_start=date(cycle_year, 1, 1),
        term_end=date(cycle_year + 2, 1, 1),
        leader_cadre_id=cadres[0],
        agency=agency or leader.agency,
        status="active",
    )
    session.add(team)
    session.flush()
    assert team.team_id is not None
    session.execute(
        insert(TeamMember),
        [
            dict(
                team_id=team.team_id,
                cadre_id=c,
                role="first_secretary" if i == 0 else "member",
                active=True,
            )
            for i, c in enumerate(cadres)
        ],
    )
    return team.team_id


def agency_cadres(session: Session, agency: str, n: int, skip: int = 0) -> list[str]:
    return list(
        session.scalars(
            select(Cadre.cadre_id)
            .where(Cadre.agency == agency)
            .order_by(Cadre.cadre_id)
            .offset(skip)
            .limit(n)
        )
    )


def survey(household_id: str, on: date, income: float, **kw: Any) -> dict[str, Any]:
    row = dict(
        household_id=household_id,
        survey_date=on,
        per_capita_income_yuan=income,
        food_clothing_secure=True,
        compulsory_education_ok=True,
        basic_medical_ok=True,
        safe_water_ok=True,
        housing_grade="A",
        shock="none",
    )
    row.update(kw)
    return row
