"""What a dispatch chunk reads: each village's need (the cycle's assessment, else the
registry), its main causes, the free cadre pool and the conflicts of interest. Plain rows
and tuples throughout: no ORM object per cadre, no ID number leaves the query."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, true
from sqlmodel import Session
from zhucun.models import (
    Cadre,
    HelperAssignment,
    Household,
    HouseholdAssessment,
    Official,
    Relation,
    Shortage,
    TeamMember,
    Village,
    VillageAssessment,
)
from zhucun.models.enums import HouseholdStatus
from zhucun.tasks.common import Scope
from zhucun.tasks.dispatch_pool import caseloads, load_spouse_pairs

from zhucun.policy import Policy
from zhucun.rules import causes as cause_rules
from zhucun.rules import dispatch as rules
from zhucun.rules import village as village_rules

TEAM_KINDS = ("team", "leader")
POOR_STATUSES = (HouseholdStatus.poor.value, HouseholdStatus.relapsed.value)


def _scope_villages(scope: Scope) -> Any:
    stmt = select(Village.village_code).where(Village.county_code == scope.county)
    if scope.villages:
        stmt = stmt.where(Village.village_code.in_(scope.villages))
    return stmt


def _in(column: Any, codes: Sequence[str] | Any) -> Any:
    return column.in_(codes if not isinstance(codes, list | tuple) else list(codes))


# --- need ----------------------------------------------------------------------------------


def village_needs(
    session: Session, villages: Sequence[str] | Any, cycle_year: int
) -> dict[str, dict[str, Any]]:
    """Incidence, gaps, need score and poor persons per village: the cycle's
    `VillageAssessment` where present, else computed from the registry (one grouped query)."""
    assessed = {
        r.village_code: r
        for r in session.execute(
            select(
                VillageAssessment.village_code,
                VillageAssessment.poverty_incidence,
                VillageAssessment.poor_population,
                VillageAssessment.gaps,
                VillageAssessment.need_score,
                VillageAssessment.cause_distribution,
            ).where(
                _in(VillageAssessment.village_code, villages),
                VillageAssessment.cycle_year == cycle_year,
            )
        )
    }
    poor = dict(
        session.execute(
            select(Household.village_code, func.coalesce(func.sum(Household.size), 0))
            .where(
                _in(Household.village_code, villages),
                Household.registered_poor.is_(True),
                Household.status.in_(POOR_STATUSES),
            )
            .group_by(Household.village_code)
        ).all()
    )
    out: dict[str, dict[str, Any]] = {}
    for v in session.execute(select(Village).where(_in(Village.village_code, villages))).scalars():
        a = assessed.get(v.village_code)
        if a is not None:
            rate, gaps, score = a.poverty_incidence, list(a.gaps), a.need_score
            persons, dist = a.poor_population, dict(a.cause_distribution or {})
        else:
            persons = int(poor.get(v.village_code, 0))
            rate = village_rules.incidence(persons, v.population)
            gaps = [g.value for g in village_rules.gaps(v.model_dump())]
            score, dist = village_rules.need_score(rate, len(gaps)), None
        out[v.village_code] = dict(
            village_code=v.village_code,
            registered_poor=v.registered_poor,
            incidence=rate,
            gaps=gaps,
            need_score=float(score),
            poor_population=int(persons),
            cause_distribution=dist,
        )
    return out


def _cause_counts(
    session: Session,
    villages: Sequence[str],
    policy: Policy,
    needs: dict[str, dict[str, Any]],
    cycle_year: int,
) -> dict[str, Counter[str]]:
    """Main causes per village: the assessment's distribution, else the cycle's household
    assessments, else `rules.causes.assess` over the village's poor households (in bulk)."""
    counts: dict[str, Counter[str]] = {
        v: Counter(needs[v]["cause_distribution"] or {}) for v in villages if v in needs
    }
    todo = [v for v, c in counts.items() if not c]
    if todo:
        for code, cause, n in session.execute(
            select(HouseholdAssessment.village_code, HouseholdAssessment.main_cause, func.count())
            .where(
                HouseholdAssessment.village_code.in_(todo),
                HouseholdAssessment.cycle_year == cycle_year,
            )
            .group_by(HouseholdAssessment.village_code, HouseholdAssessment.main_cause)
        ):
            counts[code][cause] += n
    todo = [v for v in todo if not counts[v]]
    if todo:
        cols = [
            Household.village_code,
            Household.size,
            Household.labour_count,
            Household.skilled_labour,
            Household.per_capita_income_yuan,
            Household.serious_illness_members,
            Household.chronic_illness_members,
            Household.medical_spending_yuan,
            Household.disabled_members,
            Household.students,
            Household.education_spending_yuan,
            Household.disaster_loss_yuan,
            Household.land_mu,
            Household.safe_water_ok,
            Household.has_credit_access,
            Household.road_access,
            Household.low_motivation,
        ]
        stmt = select(*cols).where(
            Household.village_code.in_(todo),
            Household.registered_poor.is_(True),
            Household.status.in_(POOR_STATUSES),
        )
        for h in session.execute(stmt).mappings():
            found = cause_rules.assess(h, policy.cause_thresholds)
            counts[h["village_code"]][found.main_cause.value] += 1
    return counts


def _has_helper(cycle_year: int) -> Any:
    return exists().where(
        HelperAssignment.household_id == Household.household_id,
        HelperAssignment.cycle_year == cycle_year,
    )


# --- the pool and the conflicts --------------------------------------------------------------


def _active_member() -> Any:
    return exists().where(TeamMember.cadre_id == Cadre.cadre_id, TeamMember.active.is_(True))


_CADRE_COLS = (
    Cadre.cadre_id,
    Cadre.agency,
    Cadre.skills,
    Cadre.party_member,
    Cadre.party_join_year,
    Cadre.work_start_year,
    Cadre.home_village_code,
)


def serving(county: str | None) -> Any:
    """Cadres who may be sent to the county's villages: those it selects (派驻县 = county)
    and those of no county in particular. 先定村、再定人 is coordinated per county, so a
    county's dispatch never weighs (or takes) the cadres another county selected, and a
    province's dispatch grows with its counties, not with their square."""
    if county is None:
        return true()
    return or_(Cadre.serving_county_code.is_(None), Cadre.serving_county_code == county)


def load_pool(
    session: Session,
    cycle_year: int,
    team_members: dict[str, str],
    county: str | None = None,
    caseload: dict[str, int] | None = None,
) -> list[rules.CadreInfo]:
    """Available cadres serving `county` (`serving`) not in an active team, and the members
    of the chunk's active teams (`team_members`: cadre → village), with their caseload in
    the cycle (`caseload`, when the caller has just read it). Streamed as plain tuples
    through Core: no ORM object, no ID number."""
    if caseload is None:
        caseload = caseloads(session, cycle_year)
    stmt = select(*_CADRE_COLS).where(Cadre.available.is_(True), ~_active_member(), serving(county))
    if team_members:
        stmt = stmt.union_all(select(*_CADRE_COLS).where(Cadre.cadre_id.in_(list(team_members))))
    return [cadre_info(row, caseload, team_members) for row in session.connection().execute(stmt)]


def cadre_info(row: Any, caseload: dict[str, int], team_members: dict[str, str]) -> Any:
    """A `_CADRE_COLS` row as the matching algorithm's `CadreInfo`."""
    cid, agency, skills, party, join, work, home = row
    return rules.CadreInfo(
        cadre_id=cid,
        agency=agency,
        skills=tuple(skills or ()),
        party_member=bool(party),
        party_join_year=join,
        work_start_year=int(work),
        home_village=home,
        caseload=int(caseload.get(cid, 0)),
        team_village=team_members.get(cid),
    )


def _relatives(
    session: Session, person_id_col: Any, near: list[str], *extra_cols: Any, where: Any
) -> Iterable[tuple[Any, ...]]:
    """(cadre_id, *extra) for each cadre who is a declared near relative of, or the same
    person as, a person selected by `where` — both directions of the stored pair."""
    rows = []
    for mine, theirs in (
        (Relation.id_number_a, Relation.id_number_b),
        (Relation.id_number_b, Relation.id_number_a),
    ):
        rows.append(
            select(Cadre.cadre_id, *extra_cols)
            .select_from(Relation)
            .join(Cadre, Cadre.id_number == mine)
            .where(theirs == person_id_col, Relation.relation.in_(near), where)
        )
    rows.append(select(Cadre.cadre_id, *extra_cols).where(Cadre.id_number == person_id_col, where))
    for stmt in rows:
        yield from session.execute(stmt)


def load_conflicts(
    session: Session,
    villages: Sequence[str],
    pool: Iterable[rules.CadreInfo],
    policy: Policy,
    spouse_pairs: Iterable[tuple[str, str]] | None = None,
) -> rules.Conflicts:
    """Conflicts of interest for a chunk of villages, from relations ⋈ village officials and
    relations ⋈ registered poor household heads (each indexed on ID number: O(relations)),
    plus spouses among cadres (`spouse_pairs` when the caller has them already)."""
    near = list(policy.near_relations)
    officials = _relatives(
        session,
        Official.id_number,
        near,
        Official.area_code,
        where=and_(Official.level == "village", Official.area_code.in_(villages)),
    )
    heads = _relatives(
        session,
        Household.head_id_number,
        near,
        Household.village_code,
        Household.household_id,
        where=and_(Household.village_code.in_(villages), Household.registered_poor.is_(True)),
    )
    c = rules.Conflicts.build(pool, ((cid, v) for cid, v in officials), heads)
    if spouse_pairs is None:
        spouse_pairs = load_spouse_pairs(session)
    for a, b in spouse_pairs:
        c.add_spouses(a, b)
    return c


def team_shortage_villages(session: Session, villages: Any, cycle_year: int) -> set[str]:
    """Villages (codes, or a select of codes) whose team could not be formed this cycle:
    a re-run leaves them alone unless asked to retry, so it changes nothing."""
    return set(
        session.scalars(
            select(Shortage.village_code).where(
                Shortage.village_code.in_(villages),
                Shortage.cycle_year == cycle_year,
                Shortage.kind.in_(TEAM_KINDS),
            )
        )
    )
