"""Dispatch tasks: load a chunk of villages and the cadre pool in bulk, call
`zhucun.rules.dispatch`, write teams, members, helpers, shortages and audit rows in one
transaction per chunk.

Chunks run one after another in need order (the neediest villages' chunk first), each
against the pool left by the ones before: a run that fails halfway has committed the
neediest chunks, and its re-run continues with the rest. What is already decided is never
redone: a village with an active team (or a team of this cycle) keeps it; a household with a
helper for the cycle keeps it; a village whose team could not be formed keeps its recorded
shortage unless the operator asks to retry shortages (after importing more cadres).

The cadre pool is every available cadre not in an active team. `Cadre` has no county: in a
county's own database that is exactly the cadres imported for it; in a shared (province)
database the county runs share one pool, and "a cadre in at most one active team" and the
caseload cap, counted over all of the cycle's assignments, hold across counties.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session
from zhucun.models import (
    Cadre,
    HelperAssignment,
    Household,
    HouseholdAssessment,
    Official,
    Relation,
    Shortage,
    Team,
    TeamMember,
    Village,
    VillageAssessment,
)
from zhucun.models.enums import HouseholdStatus, MemberRole, TeamStatus
from zhucun.models.transitions import check_transition
from zhucun.tasks.common import Scope, audit_many, county_region
from zhucun.tasks.dispatch_pool import POOLS
from zhucun.tasks.safety import guarded
from zhucun.tasks.sql import insert_ignore

from zhucun.db import refresh_planner_statistics, session_scope
from zhucun.policy import Policy, load_policy
from zhucun.privacy import mask_name
from zhucun.rules import causes as cause_rules
from zhucun.rules import dispatch as rules
from zhucun.rules import village as village_rules

ACTOR = "zhucun:dispatch_cycle"
TEAM_KINDS = ("team", "leader")
MAX_VILLAGES_PER_CHUNK = 50
# With an explicit batch size (tests: small chunks), a chunk holds batch x FACTOR households
# and at most MAX_VILLAGES_PER_CHUNK villages.
CHUNK_HOUSEHOLDS_FACTOR = 4
# By default a chunk is large: each builds the matcher over the whole free pool (≈0.6 s for
# 46k cadres) and is one sequential task run, while the matching itself is fast (1M
# households in ≈5 s), so 30 chunks of 8,000 cost more than the work.
DISPATCH_HOUSEHOLDS_PER_CHUNK = 50_000
DISPATCH_MAX_VILLAGES = 5_000
POOR_STATUSES = (HouseholdStatus.poor.value, HouseholdStatus.relapsed.value)


def policy_for(session: Session, county: str, year: int) -> Policy:
    region, province = county_region(session, county)
    return load_policy(session, year, region, province)


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


# --- chunks --------------------------------------------------------------------------------


def plan_chunks(
    session: Session,
    scope: Scope,
    cycle_year: int,
    *,
    retry_shortages: bool = False,
    batch_size: int | None = None,
) -> list[list[str]]:
    """The villages with work left (a poor village without a team and without a recorded
    team shortage; registered poor households without a helper for the cycle), in need
    order, cut into chunks of about `batch_size` households."""
    size = batch_size * CHUNK_HOUSEHOLDS_FACTOR if batch_size else DISPATCH_HOUSEHOLDS_PER_CHUNK
    most = MAX_VILLAGES_PER_CHUNK if batch_size else DISPATCH_MAX_VILLAGES
    in_scope = _scope_villages(scope).subquery()
    codes = select(in_scope.c.village_code)
    teamed = set(
        session.scalars(
            select(Team.village_code).where(
                Team.village_code.in_(codes),
                or_(Team.status == TeamStatus.active.value, Team.cycle_year == cycle_year),
            )
        )
    )
    short = set() if retry_shortages else team_shortage_villages(session, codes, cycle_year)
    unhelped = dict(
        session.execute(
            select(Household.village_code, func.count())
            .where(
                Household.village_code.in_(codes),
                Household.registered_poor.is_(True),
                ~_has_helper(cycle_year),
            )
            .group_by(Household.village_code)
        ).all()
    )
    needs = village_needs(session, codes, cycle_year)
    work = [
        n
        for code, n in needs.items()
        if unhelped.get(code) or (n["registered_poor"] and code not in teamed and code not in short)
    ]
    work.sort(
        key=lambda n: (
            not n["registered_poor"],
            -n["need_score"],
            -n["incidence"],
            n["village_code"],
        )
    )
    out: list[list[str]] = []
    current: list[str] = []
    load = 0
    for n in work:
        k = unhelped.get(n["village_code"], 0)
        if current and (load + k > size or len(current) >= most):
            out.append(current)
            current, load = [], 0
        current.append(n["village_code"])
        load += k
    if current:
        out.append(current)
    return out


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


def load_pool(
    session: Session, cycle_year: int, team_members: dict[str, str]
) -> list[rules.CadreInfo]:
    """Available cadres not in an active team, and the members of the chunk's active teams
    (`team_members`: cadre → village), with their caseload in the cycle. Streamed as plain
    tuples: no ORM object, no ID number."""
    caseload = dict(
        session.execute(
            select(HelperAssignment.cadre_id, func.count())
            .where(HelperAssignment.cycle_year == cycle_year)
            .group_by(HelperAssignment.cadre_id)
        ).all()
    )
    out = []
    stmt = select(*_CADRE_COLS).where(Cadre.available.is_(True), ~_active_member())
    if team_members:
        stmt = stmt.union_all(select(*_CADRE_COLS).where(Cadre.cadre_id.in_(list(team_members))))
    for row in session.execute(stmt):
        out.append(cadre_info(row, caseload, team_members))
    return out


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
    if spouse_pairs is not None:
        for a, b in spouse_pairs:
            c.add_spouses(a, b)
        return c
    for a, b in session.execute(
        select(Cadre.cadre_id, Cadre.spouse_cadre_id).where(Cadre.spouse_cadre_id.is_not(None))
    ):
        c.add_spouses(a, b)
    ca, cb = aliased(Cadre), aliased(Cadre)
    for a, b in session.execute(
        select(ca.cadre_id, cb.cadre_id)
        .select_from(Relation)
        .join(ca, ca.id_number == Relation.id_number_a)
        .join(cb, cb.id_number == Relation.id_number_b)
        .where(Relation.relation == "spouse")
    ):
        c.add_spouses(a, b)
    return c


# --- one chunk -------------------------------------------------------------------------------


def dispatch_chunk(
    session: Session,
    county: str,
    cycle_year: int,
    villages: Sequence[str],
    *,
    retry_shortages: bool = False,
) -> dict[str, Any]:
    """Decide and write one chunk; returns a small summary (counts and new shortages)."""
    policy = policy_for(session, county, cycle_year)
    villages = list(villages)
    needs = village_needs(session, villages, cycle_year)
    teams = session.execute(
        select(Team.team_id, Team.village_code, Team.agency, Team.status, Team.cycle_year).where(
            Team.village_code.in_(villages),
            or_(Team.status == TeamStatus.active.value, Team.cycle_year == cycle_year),
        )
    ).all()
    has_team = {t.village_code for t in teams}
    active = {t.team_id: t for t in teams if t.status == TeamStatus.active.value}
    members: dict[str, list[str]] = defaultdict(list)
    member_village: dict[str, str] = {}
    if active:
        for team_id, cid in session.execute(
            select(TeamMember.team_id, TeamMember.cadre_id)
            .where(TeamMember.team_id.in_(list(active)), TeamMember.active.is_(True))
            .order_by(TeamMember.team_id, TeamMember.role, TeamMember.cadre_id)
        ):
            members[active[team_id].village_code].append(cid)
            member_village[cid] = active[team_id].village_code
    team_agency = {t.village_code: t.agency for t in active.values()}
    short = set() if retry_shortages else team_shortage_villages(session, villages, cycle_year)
    households: dict[str, list[str]] = defaultdict(list)
    for hid, code in session.execute(
        select(Household.household_id, Household.village_code)
        .where(
            Household.village_code.in_(villages),
            Household.registered_poor.is_(True),
            ~_has_helper(cycle_year),
        )
        .order_by(Household.village_code, Household.household_id)
    ):
        households[code].append(hid)
    needs_team = {
        v
        for v in villages
        if v in needs and needs[v]["registered_poor"] and v not in has_team and v not in short
    }
    causes = _cause_counts(session, sorted(needs_team), policy, needs, cycle_year)
    wanted = [
        rules.VillageNeed(
            village_code=v,
            incidence=needs[v]["incidence"],
            need_score=needs[v]["need_score"],
            skill_weights=village_rules.skills_needed(causes.get(v, {}), needs[v]["gaps"]),
            needs_team=v in needs_team,
            large=rules.is_large(needs[v]["poor_population"], policy),
            team_agency=team_agency.get(v),
            households=tuple(households.get(v, ())),
        )
        for v in villages
        if v in needs
    ]
    pool, spouses = POOLS.pool(session, cycle_year, member_village)
    conflicts = load_conflicts(session, villages, pool, policy, spouses)
    plan = rules.dispatch(wanted, pool, conflicts, cycle_year, policy, existing_teams=members)
    POOLS.expect(plan.teams, plan.helpers)
    written = write_plan(
        session,
        plan,
        cycle_year,
        villages,
        team_villages=needs_team,
        helper_villages=set(villages),
        policy_version=policy.version,
    )
    return {"villages": len(villages), **written}


def write_plan(
    session: Session,
    plan: rules.DispatchPlan,
    cycle_year: int,
    villages: Sequence[str],
    *,
    team_villages: set[str],
    helper_villages: set[str],
    policy_version: str | None = None,
) -> dict[str, Any]:
    """Teams (with RETURNING of their ids), members, helpers, shortages and audit rows, in
    bulk; the caller commits. `team_villages` were decided now (their team shortages are
    replaced), `helper_villages` had their helpers decided now."""
    audits: list[dict[str, Any]] = []
    team_ids: dict[str, int] = {}
    if plan.teams:
        rows = [
            dict(
                village_code=t.village_code,
                cycle_year=cycle_year,
                term_start=t.term_start,
                term_end=t.term_end,
                leader_cadre_id=t.leader_cadre_id,
                agency=t.agency,
                status=TeamStatus.active.value,
            )
            for t in plan.teams
        ]
        result = session.execute(
            insert(Team).returning(Team.team_id, Team.village_code, sort_by_parameter_order=True),
            rows,
        )
        team_ids = {code: tid for tid, code in result}
        session.execute(
            insert(TeamMember),
            [
                dict(
                    team_id=team_ids[t.village_code],
                    cadre_id=cid,
                    active=True,
                    role=(
                        MemberRole.first_secretary
                        if cid == t.leader_cadre_id
                        else MemberRole.member
                    ).value,
                )
                for t in plan.teams
                for cid in t.members
            ],
        )
        audits += [
            dict(
                actor=ACTOR,
                action="team_dispatched",
                entity="team",
                entity_id=f"{t.village_code}/{cycle_year}",
                before=None,
                after=dict(
                    team_id=team_ids[t.village_code],
                    status="active",
                    leader_cadre_id=t.leader_cadre_id,
                    members=list(t.members),
                    agency=t.agency,
                    term_start=t.term_start.isoformat(),
                    term_end=t.term_end.isoformat(),
                ),
            )
            for t in plan.teams
        ]
    if plan.helpers:
        insert_ignore(
            session,
            HelperAssignment,
            [
                dict(household_id=h, cycle_year=cycle_year, cadre_id=c, village_code=v)
                for h, c, v in plan.helpers
            ],
            ("household_id", "cycle_year"),
        )
        # Rule-made pairings: one audit row for the chunk (scope, counts, rule and policy),
        # the pairings themselves are the helperassignment rows.
        audits.append(
            dict(
                actor=ACTOR,
                action="helpers_assigned_batch",
                entity="helper_assignment",
                entity_id=f"{cycle_year}/{villages[0]}..{villages[-1]}",
                after=dict(
                    villages=sorted({v for _h, _c, v in plan.helpers}),
                    helpers=len(plan.helpers),
                    cadres=len({c for _h, c, _v in plan.helpers}),
                    rule="rules.dispatch",
                    policy_version=policy_version,
                ),
            )
        )
    new_shortages = _write_shortages(
        session, plan, cycle_year, villages, team_villages, helper_villages, audits
    )
    audit_many(session, audits)
    return {
        "teams": len(plan.teams),
        "members": sum(len(t.members) for t in plan.teams),
        "helpers": len(plan.helpers),
        "shortages": new_shortages,
        "audit_rows": len(audits),
    }


def _write_shortages(
    session: Session,
    plan: rules.DispatchPlan,
    cycle_year: int,
    villages: Sequence[str],
    team_villages: set[str],
    helper_villages: set[str],
    audits: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Insert new shortages, update those whose missing count changed (the reason's counts
    of the pool drift as other villages are served, so only a changed count is a change),
    delete those resolved. Returns the shortages recorded or changed now."""
    decided = {(v, k) for v in team_villages for k in TEAM_KINDS}
    decided |= {(v, "helper") for v in helper_villages}
    new = {(s.village_code, s.kind): s for s in plan.shortages}
    old = {
        (r.village_code, r.kind): r
        for r in session.execute(
            select(
                Shortage.id,
                Shortage.village_code,
                Shortage.kind,
                Shortage.missing_members,
                Shortage.reason,
            ).where(Shortage.village_code.in_(list(villages)), Shortage.cycle_year == cycle_year)
        )
    }
    changed: list[dict[str, Any]] = []
    for key in sorted(decided):
        s, o = new.get(key), old.get(key)
        eid = f"{key[0]}/{cycle_year}/{key[1]}"
        if s is None and o is not None:
            session.execute(delete(Shortage).where(Shortage.id == o.id))
            audits.append(
                dict(
                    actor=ACTOR,
                    action="shortage_resolved",
                    entity="shortage",
                    entity_id=eid,
                    before=dict(missing=o.missing_members),
                )
            )
        elif s is not None and o is None:
            session.execute(
                insert(Shortage),
                [
                    dict(
                        village_code=s.village_code,
                        cycle_year=cycle_year,
                        kind=s.kind,
                        missing_members=s.missing,
                        reason=s.reason,
                    )
                ],
            )
            audits.append(
                dict(
                    actor=ACTOR,
                    action="shortage_recorded",
                    entity="shortage",
                    entity_id=eid,
                    after=dict(missing=s.missing, reason=s.reason),
                )
            )
            changed.append(dict(village_code=s.village_code, kind=s.kind, missing=s.missing))
        elif s is not None and o is not None and s.missing != o.missing_members:
            session.execute(
                update(Shortage)
                .where(Shortage.id == o.id)
                .values(missing_members=s.missing, reason=s.reason)
            )
            audits.append(
                dict(
                    actor=ACTOR,
                    action="shortage_updated",
                    entity="shortage",
                    entity_id=eid,
                    before=dict(missing=o.missing_members),
                    after=dict(missing=s.missing, reason=s.reason),
                )
            )
            changed.append(dict(village_code=s.village_code, kind=s.kind, missing=s.missing))
    return changed


# --- team terms ----------------------------------------------------------------------------


def end_expired_teams(session: Session, county: str, year: int) -> dict[str, Any]:
    """Active teams of the county whose term ended by 1 January of `year` become `ended`
    (through the team state machine) and their members inactive, freeing them for the
    next dispatch."""
    expired = session.execute(
        select(Team.team_id, Team.village_code, Team.status, Team.term_end)
        .join(Village, Village.village_code == Team.village_code)
        .where(
            Village.county_code == county,
            Team.status == TeamStatus.active.value,
            Team.term_end <= date(year, 1, 1),
        )
        .order_by(Team.village_code)
    ).all()
    for t in expired:
        check_transition("team", t.status, TeamStatus.ended.value)
    ids = [t.team_id for t in expired]
    if not ids:
        return {"ended": 0, "members_released": 0}
    session.execute(update(Team).where(Team.team_id.in_(ids)).values(status=TeamStatus.ended.value))
    released = session.execute(
        update(TeamMember)
        .where(TeamMember.team_id.in_(ids), TeamMember.active.is_(True))
        .values(active=False)
    ).rowcount
    audit_many(
        session,
        [
            dict(
                actor="zhucun:review_team_terms",
                action="team_ended",
                entity="team",
                entity_id=f"{t.village_code}/{t.team_id}",
                before=dict(status=t.status),
                after=dict(status=TeamStatus.ended.value, term_end=t.term_end.isoformat()),
            )
            for t in expired
        ],
    )
    return {"ended": len(ids), "members_released": int(released or 0)}


# --- the run's summary -------------------------------------------------------------------------


def dispatch_summary(session: Session, scope: Scope, cycle_year: int) -> dict[str, Any]:
    """Per poor village of the scope (and any village with a shortage): team size, leader
    (masked name and cadre id), agency, helpers, shortages — read from the database, so a
    re-run shows the same table."""
    codes = select(_scope_villages(scope).subquery().c.village_code)
    teams = {
        r.village_code: r
        for r in session.execute(
            select(
                Team.team_id,
                Team.village_code,
                Team.agency,
                Team.leader_cadre_id,
                Team.term_start,
                Team.term_end,
                Cadre.name,
            )
            .join(Cadre, Cadre.cadre_id == Team.leader_cadre_id)
            .where(Team.village_code.in_(codes), Team.status == TeamStatus.active.value)
        )
    }
    sizes = dict(
        session.execute(
            select(Team.village_code, func.count())
            .join(TeamMember, and_(TeamMember.team_id == Team.team_id, TeamMember.active.is_(True)))
            .where(Team.village_code.in_(codes), Team.status == TeamStatus.active.value)
            .group_by(Team.village_code)
        ).all()
    )
    helpers = dict(
        session.execute(
            select(HelperAssignment.village_code, func.count())
            .where(
                HelperAssignment.village_code.in_(codes), HelperAssignment.cycle_year == cycle_year
            )
            .group_by(HelperAssignment.village_code)
        ).all()
    )
    poor_hh = dict(
        session.execute(
            select(Household.village_code, func.count())
            .where(Household.village_code.in_(codes), Household.registered_poor.is_(True))
            .group_by(Household.village_code)
        ).all()
    )
    shortages: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in session.execute(
        select(Shortage.village_code, Shortage.kind, Shortage.missing_members, Shortage.reason)
        .where(Shortage.village_code.in_(codes), Shortage.cycle_year == cycle_year)
        .order_by(Shortage.village_code, Shortage.kind)
    ):
        shortages[r.village_code].append(
            dict(kind=r.kind, missing=r.missing_members, reason=r.reason)
        )
    poor_villages = set(
        session.scalars(
            select(Village.village_code).where(
                Village.village_code.in_(codes), Village.registered_poor.is_(True)
            )
        )
    )
    rows = []
    for code in sorted(poor_villages | set(shortages) | set(teams) | set(helpers)):
        t = teams.get(code)
        rows.append(
            dict(
                village=code,
                team_size=int(sizes.get(code, 0)),
                leader=f"{mask_name(t.name)} ({t.leader_cadre_id})" if t else "",
                agency=t.agency if t else "",
                term=f"{t.term_start.isoformat()}..{t.term_end.isoformat()}" if t else "",
                poor_households=int(poor_hh.get(code, 0)),
                helpers=int(helpers.get(code, 0)),
                shortages="; ".join(f"{s['kind']} -{s['missing']}" for s in shortages[code]),
            )
        )
    short_rows = [dict(village=code, **s) for code in sorted(shortages) for s in shortages[code]]
    return {
        "rows": rows,
        "shortages": short_rows,
        "teams": len(teams),
        "helpers": sum(helpers.values()),
        "poor_households": sum(poor_hh.values()),
    }


# --- tasks -----------------------------------------------------------------------------------


@task(
    name="dispatch-chunks",
    task_run_name="dispatch-chunks-{county}-{cycle_year}",
    cache_policy=NO_CACHE,
)
@guarded
def dispatch_chunks_task(
    county: str, cycle_year: int, villages: list[str] | None = None, retry_shortages: bool = False
) -> list[list[str]]:
    """The chunks of villages still to serve, neediest first."""
    scope = Scope(county=county, villages=villages)
    with session_scope() as session:
        county_region(session, scope.county)  # fails early with a clear message
        refresh_planner_statistics(session)
        return plan_chunks(session, scope, cycle_year, retry_shortages=retry_shortages)


@task(
    name="dispatch-villages",
    task_run_name="dispatch-{county}-{cycle_year}-{chunk_no}",
    cache_policy=NO_CACHE,
    retries=1,
    retry_delay_seconds=2,
)
@guarded
def dispatch_villages_task(
    county: str,
    cycle_year: int,
    villages: list[str],
    chunk_no: int = 0,
    retry_shortages: bool = False,
) -> dict[str, Any]:
    """One chunk in one transaction (a retry sees the pool as the failed attempt left it:
    nothing, since it rolled back). The flow run's cached pool follows the transaction."""
    try:
        with session_scope() as session:
            out = dispatch_chunk(
                session, county, cycle_year, villages, retry_shortages=retry_shortages
            )
    except BaseException:
        POOLS.forget()
        raise
    POOLS.committed()
    return out


@task(
    name="dispatch-summary",
    task_run_name="dispatch-summary-{county}-{cycle_year}",
    cache_policy=NO_CACHE,
)
@guarded
def dispatch_summary_task(
    county: str, cycle_year: int, villages: list[str] | None = None
) -> dict[str, Any]:
    with session_scope() as session:
        return dispatch_summary(session, Scope(county=county, villages=villages), cycle_year)


@task(name="end-expired-teams", task_run_name="end-teams-{county}-{year}", cache_policy=NO_CACHE)
@guarded
def end_expired_teams_task(county: str, year: int) -> dict[str, Any]:
    with session_scope() as session:
        county_region(session, county)
        return end_expired_teams(session, county, year)


__all__ = [
    "dispatch_chunk",
    "dispatch_chunks_task",
    "dispatch_summary",
    "dispatch_summary_task",
    "dispatch_villages_task",
    "end_expired_teams",
    "end_expired_teams_task",
    "load_conflicts",
    "load_pool",
    "plan_chunks",
    "village_needs",
    "write_plan",
]


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
