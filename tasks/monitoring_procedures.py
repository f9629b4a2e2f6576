"""Monitoring on the procedure engine (防止返贫监测): the monthly run opens a `monitor`
procedure for each household the rules find, and a `relieve` procedure (风险消除) for each
monitored household whose six conditions hold; what their announcement does is here.

Why this way: a household becomes a monitoring object only when the county approves it
(县级审定) after the village's 民主评议 and 公示, and leaves monitoring only when 风险消除 is
announced — the month's run proposes, people decide. The `MonitoringCase` is the object's
record: `pending` while its `monitor` procedure runs, `open` from its announcement,
`closed` at the announcement of its `relieve` procedure, `rejected` when refused; it is
never deleted, so the household's history stays.

Help comes with the announcement: the household's helper for the cycle (the one it has,
or a pairing under the dispatch rules: a member of the village's own team, else a cadre of
no team, under the caseload cap, never a near relative of the head) and a draft 一户一策
from the policy's measure table (its risk types as causes), which the strategy review
approves like any other. Set-based: a few statements per batch. Helpers never commit."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session
from zhucun.models import (
    Cadre,
    HelperAssignment,
    Household,
    MonitoringCase,
    ProcedureCase,
    Relation,
    Strategy,
    StrategyMeasure,
    Team,
    TeamMember,
)
from zhucun.models.enums import MonitoringStatus
from zhucun.models.transitions import check_transition
from zhucun.tasks.common import audit_many
from zhucun.tasks.dispatch_load import serving
from zhucun.tasks.lifecycle_db import facts, load_households, policy_for
from zhucun.tasks.procedure_cases import open_cases
from zhucun.tasks.sql import dialect_insert

from zhucun.policy import Policy
from zhucun.rules import measures as measure_rules
from zhucun.rules import procedure as proc
from zhucun.rules.review import person_key

ACTOR = "zhucun:monitoring"
CHUNK = 500
# risk type (RiskType) → the cause whose measures answer it (policy `cause_measures`)
RISK_CAUSE = {
    "illness": "illness",
    "disability": "disability",
    "schooling": "schooling",
    "disaster": "disaster",
    "accident": "illness",
    "industry_failure": "capital",
    "unstable_employment": "skills",
    "labour": "labour",
    "housing": "disaster",
    "water": "water",
    "other": "other",
}


def open_monitor(
    session: Session, rows: Sequence[Mapping[str, str]], *, policy: Policy, today: date
) -> int:
    """A `monitor` case for each household found (rows: subject_id, village_code), once per
    cycle by the unique key; one that ended earlier this cycle (refused, or identified and
    since relieved) starts again as a new version."""
    if not rows:
        return 0
    return open_cases(session, "monitor", rows, cycle_year=today.year, origin="monitoring",
                      policy=policy, today=today, reopen_closed=True)  # fmt: skip


def open_relieve(
    session: Session, rows: Sequence[Mapping[str, str]], *, policy: Policy, today: date
) -> int:
    """A `relieve` case for each monitored household whose conditions hold, unless one is
    under way already (from any cycle: a December case still runs in January)."""
    if not rows:
        return 0
    ids = [r["subject_id"] for r in rows]
    busy: set[str] = set()
    for part in range(0, len(ids), CHUNK):
        busy |= set(
            session.scalars(
                select(ProcedureCase.subject_id).where(
                    ProcedureCase.procedure == "relieve",
                    ProcedureCase.subject_id.in_(ids[part : part + CHUNK]),
                    ProcedureCase.status.not_in((proc.DONE, proc.REJECTED)),
                )
            )
        )
    todo = [r for r in rows if r["subject_id"] not in busy]
    if not todo:
        return 0
    return open_cases(session, "relieve", todo, cycle_year=today.year, origin="monitoring",
                      policy=policy, today=today, reopen_closed=True)  # fmt: skip


def take_effect(
    session: Session,
    procedure: str,
    status: str,
    sids: Sequence[str],
    today: date,
    reason: str | None,
) -> None:
    """What the end of a monitoring procedure does to the households' `MonitoringCase`
    (called by the engine at the case's end, in its transaction)."""
    mc = MonitoringCase
    if procedure == "monitor":
        new = MonitoringStatus.open if status == proc.DONE else MonitoringStatus.rejected
        check_transition("monitoring", MonitoringStatus.pending, new)
        values: dict[str, Any] = {"status": new.value}
        if new is MonitoringStatus.open:
            values["opened_on"] = today  # the day it became a monitoring object
        else:
            values |= {"closed_period": f"{today:%Y-%m}", "closed_reason": reason}
        session.execute(
            update(mc)
            .where(mc.household_id.in_(sids), mc.status == MonitoringStatus.pending.value)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if new is MonitoringStatus.open:
            arrange_help(session, sids, today)
    elif procedure == "relieve" and status == proc.DONE:
        check_transition("monitoring", MonitoringStatus.open, MonitoringStatus.closed)
        session.execute(
            update(mc)
            .where(mc.household_id.in_(sids), mc.status == MonitoringStatus.open.value)
            .values(
                status=MonitoringStatus.closed.value,
                closed_period=f"{today:%Y-%m}",
                closed_reason=f"风险消除 announced on {today}",
            )
            .execution_options(synchronize_session=False)
        )
    # a relieve case refused: the household stays monitored, nothing changes


# --- Help: a helper and a draft strategy ------------------------------------------------------


def arrange_help(session: Session, sids: Sequence[str], today: date) -> dict[str, int]:
    """A helper and a draft 一户一策 for each household that just became a monitoring
    object and lacks them this cycle. Returns counts (no names)."""
    year = today.year
    ids = sorted(set(sids))
    if not ids:
        return {"helpers": 0, "without_helper": 0, "strategies": 0}
    households = load_households(
        session,
        sorted(
            set(
                session.scalars(
                    select(Household.village_code).where(Household.household_id.in_(ids))
                )
            )
        ),
        Household.household_id.in_(ids),
    )
    county = households[0]["village_code"][:6] if households else ""
    policy = policy_for(session, county, year) if households else None
    paired, unpaired = pair_helpers(session, households, year, policy)
    drafted = draft_strategies(session, households, year, policy) if policy else 0
    audit_many(
        session,
        [
            dict(
                actor=ACTOR,
                action="monitoring.help_arranged",
                entity="monitoring",
                entity_id=f"{county}/{year}",
                after={"helpers": paired, "without_helper": unpaired, "strategies": drafted},
            )
        ],
    )
    return {"helpers": paired, "without_helper": unpaired, "strategies": drafted}


def pair_helpers(
    session: Session, households: Sequence[Mapping[str, Any]], year: int, policy: Policy | None
) -> tuple[int, int]:
    """(paired, left without a helper): the existing helper of the cycle stays; otherwise
    the least-loaded eligible cadre — of the village's active team first, else of no
    team — under `helper_caseload_cap`, never the head or a near relative of the head."""
    if policy is None:
        return 0, 0
    ids = [h["household_id"] for h in households]
    have = set(
        session.scalars(
            select(HelperAssignment.household_id).where(
                HelperAssignment.household_id.in_(ids), HelperAssignment.cycle_year == year
            )
        )
    )
    todo = [h for h in households if h["household_id"] not in have]
    if not todo:
        return 0, 0
    load: Counter[str] = Counter(
        dict(
            session.execute(
                select(HelperAssignment.cadre_id, func.count(HelperAssignment.id))
                .where(HelperAssignment.cycle_year == year)
                .group_by(HelperAssignment.cadre_id)
            ).all()
        )
    )
    team_of: dict[str, list[str]] = defaultdict(list)  # village → its team's cadres
    in_team: set[str] = set()
    county = todo[0]["village_code"][:6]
    agencies: set[str] = set()  # the agencies sending cadres to this county
    for village, cadre, agency in session.execute(
        select(Team.village_code, TeamMember.cadre_id, Team.agency)
        .join(TeamMember, TeamMember.team_id == Team.team_id)
        .where(Team.status == "active")
    ):
        team_of[village].append(cadre)
        in_team.add(cadre)
        if village.startswith(county):
            agencies.add(agency)
    id_no, free = {}, []
    for cadre, number, agency, available, serves in session.execute(
        select(
            Cadre.cadre_id,
            Cadre.id_number,
            Cadre.agency,
            Cadre.available,
            serving(county),  # dispatch's rule: selected for this county, or for any
        )
    ):
        id_no[cadre] = number
        if available and serves and cadre not in in_team and agency in agencies:
            free.append(cadre)
    free.sort()
    heads = dict(
        session.execute(
            select(Household.household_id, Household.head_id_number).where(
                Household.household_id.in_(ids)
            )
        ).all()
    )
    related = _near_pairs(session, [heads[h["household_id"]] for h in todo], policy)
    rows = []
    for h in todo:
        hid, village = h["household_id"], h["village_code"]
        head = person_key(heads.get(hid))

        def ok(cadre: str, head: str | None = head) -> bool:
            who = person_key(id_no.get(cadre))
            return (
                load[cadre] < policy.helper_caseload_cap
                and who != head
                and frozenset((who, head)) not in related
            )

        pool = [c for c in sorted(team_of.get(village, [])) if ok(c)] or [c for c in free if ok(c)]
        if not pool:
            continue
        chosen = min(pool, key=lambda c: (load[c], c))
        load[chosen] += 1
        rows.append(dict(household_id=hid, cycle_year=year, cadre_id=chosen, village_code=village))
    if rows:
        session.execute(
            dialect_insert(session, HelperAssignment).on_conflict_do_nothing(
                index_elements=["household_id", "cycle_year"]
            ),
            rows,
        )
    return len(rows), len(todo) - len(rows)


def _near_pairs(
    session: Session, id_numbers: Sequence[str | None], policy: Policy
) -> set[frozenset[str | None]]:
    """Declared near-relative pairs touching these people, as person keys."""
    keys = sorted({k for k in (person_key(i) for i in id_numbers) if k})
    out: set[frozenset[str | None]] = set()
    for part in range(0, len(keys), CHUNK):
        chunk = keys[part : part + CHUNK]
        for a, b, rel in session.execute(
            select(Relation.id_number_a, Relation.id_number_b, Relation.relation).where(
                Relation.id_number_a.in_(chunk) | Relation.id_number_b.in_(chunk)
            )
        ):
            if rel in policy.near_relations:
                out.add(frozenset((person_key(a), person_key(b))))
    return out


def draft_strategies(
    session: Session, households: Sequence[Mapping[str, Any]], year: int, policy: Policy
) -> int:
    """A draft strategy from the measure table for each household without one this cycle:
    its risk types as causes, then `other` so a household with labour gets a development
    measure (employment or industry) — the one-month rule asks for one."""
    ids = [h["household_id"] for h in households]
    have = set(
        session.scalars(
            select(Strategy.household_id).where(
                Strategy.household_id.in_(ids), Strategy.cycle_year == year
            )
        )
    )
    risks = dict(
        session.execute(
            select(MonitoringCase.household_id, MonitoringCase.risk_types).where(
                MonitoringCase.household_id.in_(ids),
                MonitoringCase.status == MonitoringStatus.open.value,
            )
        ).all()
    )
    chosen: dict[str, list[measure_rules.MeasureChoice]] = {}
    rows = []
    for h in households:
        hid = h["household_id"]
        if hid in have:
            continue
        causes = [RISK_CAUSE.get(r, "other") for r in (risks.get(hid) or ["other"])]
        picks = measure_rules.select_measures(facts(h), causes[0], [*causes, "other"], policy, year)
        chosen[hid] = picks
        rows.append(
            dict(household_id=hid, village_code=h["village_code"], cycle_year=year,
                 measures=[c.measure.value for c in picks],
                 cost_yuan=measure_rules.strategy_cost(picks), status="draft", version=1)
        )  # fmt: skip
    if not rows:
        return 0
    session.execute(dialect_insert(session, Strategy).on_conflict_do_nothing(), rows)
    new = dict(
        session.execute(
            select(Strategy.household_id, Strategy.id).where(
                Strategy.household_id.in_(list(chosen)),
                Strategy.cycle_year == year,
                Strategy.version == 1,
            )
        ).all()
    )
    measure_rows = [
        dict(strategy_id=new[hid], measure=c.measure.value, answers_cause=c.answers_cause,
             cost_yuan=c.cost_yuan, principal_yuan=c.principal_yuan, provider=c.provider,
             expected_effect=c.expected_effect)
        for hid, picks in chosen.items() if hid in new for c in picks
    ]  # fmt: skip
    if measure_rows:
        session.execute(
            dialect_insert(session, StrategyMeasure).on_conflict_do_nothing(), measure_rows
        )
    return len(new)
