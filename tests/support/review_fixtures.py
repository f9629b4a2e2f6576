"""Review test data on top of `seed_county`: an active team per poor village (cadres chosen
clear of the planted conflicts), draft strategies for its poor households and a draft plan,
inserted in bulk. The dispatch and strategy flows do this for real; review tests must not
depend on their rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert, select
from sqlmodel import Session
from zhucun.models import Plan, PlanItem, Strategy, Team, TeamMember

from tests.support.county import SeedInfo, seed_county

YEAR = 2026


@dataclass
class ReviewSeed:
    info: SeedInfo
    year: int
    teams: dict[str, list[str]] = field(default_factory=dict)  # village → cadre IDs (leader 1st)
    strategies: dict[str, list[str]] = field(default_factory=dict)  # village → household IDs

    @property
    def v1(self) -> str:
        """The village with the planted conflicts."""
        return self.info.poor_villages[1]

    def officials(self, village: str) -> dict[str, str]:
        return self.info.officials[village]


def add_team(session: Session, village: str, cadres: list[str], year: int = YEAR) -> int:
    session.execute(
        insert(Team),
        [
            dict(
                village_code=village,
                cycle_year=year,
                term_start=date(year, 1, 1),
                term_end=date(year + 2, 1, 1),
                leader_cadre_id=cadres[0],
                agency="省农业农村厅",
                status="active",
            )
        ],
    )
    team_id = session.scalar(
        select(Team.team_id).where(Team.village_code == village, Team.cycle_year == year)
    )
    session.execute(
        insert(TeamMember),
        [
            dict(
                team_id=team_id,
                cadre_id=c,
                role="first_secretary" if i == 0 else "member",
                active=True,
            )
            for i, c in enumerate(cadres)
        ],
    )
    return int(team_id)


def add_strategies(session: Session, village: str, households: list[str], year: int = YEAR) -> None:
    session.execute(
        insert(Strategy),
        [
            dict(
                household_id=h,
                village_code=village,
                cycle_year=year,
                measures=["industry", "health"] if i % 2 else ["skills_training", "housing"],
                cost_yuan=9000.0 + i,
                status="draft",
                version=1,
            )
            for i, h in enumerate(households)
        ],
    )


def add_plan(session: Session, village: str, year: int = YEAR) -> None:
    session.execute(
        insert(Plan),
        [
            dict(
                village_code=village,
                cycle_year=year,
                sponsor_agency="省农业农村厅",
                total_cost_yuan=1200000.0,
                status="draft",
                version=1,
            )
        ],
    )
    plan_id = session.scalar(
        select(Plan.id).where(Plan.village_code == village, Plan.cycle_year == year)
    )
    session.execute(
        insert(PlanItem),
        [
            dict(
                plan_id=plan_id,
                village_code=village,
                cycle_year=year,
                category="infrastructure",
                item="硬化通村道路",
                answers="gap:road",
                cost_yuan=1200000.0,
                funding_source="sponsor",
            )
        ],
    )


def add_exit_proposals(
    session: Session, village: str, households: list[str], period: str, on: date
) -> None:
    """The evaluation's 预退出 list for `households` (the exit procedure's input)."""
    from zhucun.models.evaluation import ExitProposal

    for h in households:
        session.add(
            ExitProposal(
                household_id=h,
                village_code=village,
                period=period,
                reasons_met=["income_steady"],
                evidence={},
                proposed_on=on,
            )
        )


def seed_review(
    session: Session,
    *,
    villages: int = 2,
    households_per_village: int = 6,
    plans: bool = True,
    year: int = YEAR,
) -> ReviewSeed:
    """seed_county + a team, draft strategies and (optionally) a draft plan for the first
    `villages` poor villages. The caller commits."""
    info = seed_county(session, households_per_village=households_per_village, cycle_year=year)
    seed = ReviewSeed(info, year)
    # Cadres C010.. are clear of every planted relation (C003, C005 are related to people in
    # village 1, C000 comes from village 0).
    for n, v in enumerate(info.poor_villages[:villages]):
        cadres = [f"C{10 + 3 * n + k:03d}" for k in range(3)]
        add_team(session, v, cadres, year)
        seed.teams[v] = cadres
        hh = [h for h in info.poor_households if h.startswith(f"H{v[-3:]}")]
        add_strategies(session, v, hh, year)
        seed.strategies[v] = hh
        if plans:
            add_plan(session, v, year)
    session.flush()
    return seed
