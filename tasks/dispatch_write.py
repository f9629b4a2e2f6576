"""What a dispatch chunk writes: teams (with their ids back), members, helpers, shortages
and their audit rows, in bulk through Core; and the end of teams whose term is over. The
caller's transaction commits them together."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlmodel import Session
from zhucun.models import (
    HelperAssignment,
    Shortage,
    Team,
    TeamMember,
    Village,
)
from zhucun.models.enums import MemberRole, TeamStatus
from zhucun.models.transitions import check_transition
from zhucun.tasks.common import audit_many
from zhucun.tasks.dispatch_load import TEAM_KINDS
from zhucun.tasks.sql import insert_ignore

from zhucun.rules import dispatch as rules

ACTOR = "zhucun:dispatch_cycle"


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
