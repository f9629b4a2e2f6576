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

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import and_, func, or_, select
from sqlmodel import Session
from zhucun.models import (
    Cadre,
    HelperAssignment,
    Household,
    Shortage,
    Team,
    TeamMember,
    Village,
)
from zhucun.models.enums import TeamStatus
from zhucun.tasks.common import Scope, county_region, cut_chunks
from zhucun.tasks.dispatch_load import (
    _CADRE_COLS,
    POOR_STATUSES,
    TEAM_KINDS,
    _cause_counts,
    _has_helper,
    _scope_villages,
    cadre_info,
    load_conflicts,
    load_pool,
    team_shortage_villages,
    village_needs,
)
from zhucun.tasks.dispatch_pool import POOLS
from zhucun.tasks.dispatch_write import ACTOR, end_expired_teams, write_plan
from zhucun.tasks.safety import guarded

from zhucun.db import refresh_planner_statistics, session_scope
from zhucun.policy import Policy, load_policy
from zhucun.privacy import mask_name
from zhucun.rules import dispatch as rules
from zhucun.rules import village as village_rules

MAX_VILLAGES_PER_CHUNK = 50
# With an explicit batch size (tests: small chunks), a chunk holds batch x FACTOR households
# and at most MAX_VILLAGES_PER_CHUNK villages.
CHUNK_HOUSEHOLDS_FACTOR = 4
# By default a chunk is large: each builds the matcher over the whole free pool (≈0.6 s for
# 46k cadres) and is one sequential task run, while the matching itself is fast (1M
# households in ≈5 s), so 30 chunks of 8,000 cost more than the work.
DISPATCH_HOUSEHOLDS_PER_CHUNK = 50_000
DISPATCH_MAX_VILLAGES = 5_000


def policy_for(session: Session, county: str, year: int) -> Policy:
    region, province = county_region(session, county)
    return load_policy(session, year, region, province)


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
    return cut_chunks(
        ((n["village_code"], unhelped.get(n["village_code"], 0)) for n in work), size, most
    )


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
    # through Core: the chunk's 30,000 (household, village) pairs need no ORM row each
    for hid, code in session.connection().execute(
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
    pool, spouses = POOLS.pool(session, cycle_year, member_village, county)
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
    "ACTOR",
    "POOR_STATUSES",
    "TEAM_KINDS",
    "_CADRE_COLS",
    "cadre_info",
    "team_shortage_villages",
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
