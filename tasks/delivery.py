"""Measure delivery (措施落实) in the database: record, list, count delivered measures, and
flag measures not started in time. The rules are `zhucun.rules.delivery`; helpers take a
`session` and never commit (the CLI and the tasks own the transaction).

Recording is all-or-nothing: a batch (one CLI call, one file) is judged record by record
against the state the earlier records of the same batch leave, and nothing is written when
any record is refused, so a file never half-applies."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from prefect import task
from sqlalchemy import and_, func, select
from sqlmodel import Session
from zhucun.models.enums import DeliveryState, StrategyStatus
from zhucun.models.evaluation import ExitProposal
from zhucun.models.lifecycle import (
    HelperAssignment,
    MeasureDelivery,
    Strategy,
    Team,
    TeamMember,
    strategy_on_record,
)
from zhucun.models.registry import Survey, Village
from zhucun.tasks.common import audit_many
from zhucun.tasks.exit_check_sql import exit_conditions
from zhucun.tasks.lifecycle_db import SURVEY_SITUATION_COLUMNS, policy_for, survey_situation
from zhucun.tasks.review_lock import server_today
from zhucun.tasks.safety import guarded
from zhucun.tasks.sql import insert_ignore

from zhucun.db import session_scope
from zhucun.policy import Policy
from zhucun.rules import delivery as rules
from zhucun.rules import exit as exit_rules
from zhucun.rules.exit import Situation

ACTOR = "zhucun:measures"


@dataclass(frozen=True)
class Refusal:
    index: int  # position of the record in the batch (the file's row number for a file)
    column: str
    message: str


def recorders(session: Session, household_id: str, cycle_year: int, village: str) -> set[str]:
    """Cadre IDs who may record for this household: its helper of the cycle and the active
    members of the village's active team (as for the team stage of the review)."""
    helper = session.scalars(
        select(HelperAssignment.cadre_id).where(
            HelperAssignment.household_id == household_id,
            HelperAssignment.cycle_year == cycle_year,
        )
    ).all()
    team = session.scalars(
        select(TeamMember.cadre_id)
        .join(Team, Team.team_id == TeamMember.team_id)
        .where(Team.village_code == village, Team.status == "active", TeamMember.active)
    ).all()
    return set(helper) | set(team)


def _strategy(session: Session, household_id: str, cycle_year: int) -> Strategy | None:
    return session.scalars(
        select(Strategy).where(
            Strategy.household_id == household_id,
            Strategy.cycle_year == cycle_year,
            strategy_on_record(),  # the version in force, not a revision under review
        )
    ).first()


def _row(session: Session, household_id: str, cycle_year: int, measure: str) -> Any:
    return session.scalars(
        select(MeasureDelivery).where(
            MeasureDelivery.household_id == household_id,
            MeasureDelivery.cycle_year == cycle_year,
            MeasureDelivery.measure == measure,
        )
    ).first()


def record(
    session: Session,
    records: Sequence[rules.DeliveryRecord],
    *,
    today: date | None = None,
    source: str = "cli",
) -> list[Refusal]:
    """Judge every record; write them all (and their audit rows) only if none is refused.
    Returns the refusals (empty: written)."""
    today = today or server_today()
    refusals: list[Refusal] = []
    pending: dict[tuple[str, int, str], dict[str, Any]] = {}
    audits: list[dict[str, Any]] = []
    for i, r in enumerate(records):
        s = _strategy(session, r.household_id, r.cycle_year)
        key = (r.household_id, r.cycle_year, r.measure)
        row = _row(session, *key)
        current = pending.get(key, {}).get("state") or (
            row.state if row is not None else DeliveryState.planned.value
        )
        ctx = rules.Context(
            strategy_status=s.status if s else None,
            approved_on=s.approved_on if s else None,
            measures=set(s.measures) if s else set(),
            current_state=current,
            recorders=recorders(session, r.household_id, r.cycle_year, s.village_code)
            if s
            else set(),
        )
        problems = rules.check_record(r, ctx, today)
        refusals += [Refusal(i, p.column, p.message) for p in problems]
        if problems or s is None:
            continue
        values = dict(
            household_id=r.household_id,
            village_code=s.village_code,
            cycle_year=r.cycle_year,
            measure=r.measure,
            state=r.state,
            state_on=r.on,
            spent_yuan=r.spent_yuan,
            recorded_by=r.recorded_by.strip(),
            note=rules.clean_note(r.note),
        )
        pending[key] = values
        audits.append(
            dict(
                actor=f"{ACTOR}:{source}",
                action="measure_delivery",
                entity="measure_delivery",
                entity_id=f"{r.household_id}/{r.cycle_year}/{r.measure}",
                before={"state": current},
                after={
                    "state": r.state,
                    "on": r.on.isoformat(),
                    "spent_yuan": r.spent_yuan,
                    "by": values["recorded_by"],
                },
            )
        )
    if refusals:
        return refusals
    for key, values in pending.items():
        row = _row(session, *key)
        if row is None:
            session.add(MeasureDelivery(**values))
        else:
            for k, v in values.items():
                setattr(row, k, v)
            session.add(row)
    audit_many(session, audits)
    return []


def list_deliveries(
    session: Session,
    cycle_year: int,
    *,
    county: str | None = None,
    village: str | None = None,
    household: str | None = None,
) -> list[dict[str, Any]]:
    """Every measure of the approved strategies in scope with its delivery state (planned
    when nothing was recorded yet), by household and measure."""
    stmt = select(Strategy).where(
        Strategy.cycle_year == cycle_year, Strategy.status == StrategyStatus.approved.value
    )
    if household:
        stmt = stmt.where(Strategy.household_id == household)
    if village:
        stmt = stmt.where(Strategy.village_code == village)
    if county:
        stmt = stmt.join(Village, Village.village_code == Strategy.village_code).where(
            Village.county_code == county
        )
    strategies = list(session.scalars(stmt.order_by(Strategy.household_id)))
    ids = [s.household_id for s in strategies]
    rows = {
        (d.household_id, d.measure): d
        for d in session.scalars(
            select(MeasureDelivery).where(
                MeasureDelivery.cycle_year == cycle_year, MeasureDelivery.household_id.in_(ids)
            )
        )
    }
    out = []
    for s in strategies:
        for m in s.measures:
            d = rows.get((s.household_id, m))
            out.append(
                dict(
                    household_id=s.household_id,
                    village_code=s.village_code,
                    measure=m,
                    state=d.state if d else DeliveryState.planned.value,
                    state_on=d.state_on if d else None,
                    spent_yuan=d.spent_yuan if d else None,
                    recorded_by=d.recorded_by if d else None,
                    note=d.note if d else "",
                    approved_on=s.approved_on,
                )
            )
    return out


def delivered_counts(
    session: Session, ids: Iterable[str], first_year: int, last_year: int
) -> dict[str, int]:
    """Delivered measures per household over the cycles `first_year`..`last_year` (exit and
    risk elimination count these, never a drafted measure)."""
    ids = list(ids)
    if not ids:
        return {}
    rows = session.execute(
        select(MeasureDelivery.household_id, func.count(MeasureDelivery.id))
        .where(
            MeasureDelivery.household_id.in_(ids),
            MeasureDelivery.cycle_year >= first_year,
            MeasureDelivery.cycle_year <= last_year,
            MeasureDelivery.state == DeliveryState.delivered.value,
        )
        .group_by(MeasureDelivery.household_id)
    )
    return {hid: int(n) for hid, n in rows}


def flag_not_started(
    session: Session, county: str, cycle_year: int, today: date
) -> list[dict[str, Any]]:
    """Measures of approved strategies still planned `measure_not_started_days` after
    approval and not flagged yet: mark them flagged (once) and return household, measure
    and days — nothing personal."""
    policy = policy_for(session, county, cycle_year)
    flagged = []
    for d in list_deliveries(session, cycle_year, county=county):
        days = rules.not_started(d["approved_on"], d["state"], today, policy)
        if days is None:
            continue
        row = _row(session, d["household_id"], cycle_year, d["measure"])
        if row is not None and row.not_started_flagged_on is not None:
            continue
        if row is None:
            row = MeasureDelivery(
                household_id=d["household_id"],
                village_code=d["village_code"],
                cycle_year=cycle_year,
                measure=d["measure"],
                state=DeliveryState.planned.value,
            )
        row.not_started_flagged_on = today
        session.add(row)
        flagged.append(dict(household_id=d["household_id"], measure=d["measure"], days=days))
    if flagged:
        audit_many(
            session,
            [
                dict(
                    actor=ACTOR,
                    action="measures_not_started",
                    entity="measure_delivery",
                    entity_id=f"{county}/{cycle_year}",
                    after={"flagged": len(flagged), "on": today.isoformat()},
                )
            ],
        )
    return flagged


@task(name="flag-measures-not-started", task_run_name="not-started-{county}-{cycle_year}")
@guarded
def flag_not_started_task(county: str, cycle_year: int, today: str | None = None) -> list[dict]:
    with session_scope() as session:
        day = date.fromisoformat(today) if today else server_today()
        return flag_not_started(session, county, cycle_year, day)


# --- Exit proposals (预退出): they rest on delivered measures ---------------------------


def _recent_surveys(
    session: Session, ids: Sequence[str], end: date, n: int
) -> dict[str, list[Situation]]:
    """Each household's latest `n` surveys on or before `end`, newest first (plain rows: an
    ORM object per survey cost more than the rules)."""
    out: dict[str, list[Situation]] = defaultdict(list)
    # numbered in the database, so only the `n` wanted rows per household are fetched
    ranked = (
        select(
            *SURVEY_SITUATION_COLUMNS,
            Survey.survey_date,
            func.row_number()
            .over(partition_by=Survey.household_id, order_by=Survey.survey_date.desc())
            .label("rn"),
        )
        .where(Survey.household_id.in_(ids), Survey.survey_date <= end)
        .subquery()
    )
    for s in session.execute(
        select(ranked)
        .where(ranked.c.rn <= n)
        .order_by(ranked.c.household_id, ranked.c.survey_date.desc())
    ):
        out[s.household_id].append(survey_situation(s))
    return out


def propose_exits(
    session: Session,
    *,
    period: str,
    end: date,
    candidates: Sequence[tuple[str, str]],
    policy: Policy,
    per_row: bool = False,
) -> dict[str, Any]:
    """Put on the 预退出 list the candidates (household, village) — poor households whose
    survey met the exit conditions this period — that `rules.exit.propose_exit` accepts.
    Never a status change: the exit procedure through review stages decides later. A re-run
    leaves an existing proposal as it is. Returns counts by missing condition.

    The database checks the four conditions of every candidate first
    (`tasks.exit_check_sql`); a candidate missing one is counted there, the others go
    through the rule, which writes the evidence. `per_row`: every candidate through the rule
    (the reference)."""
    if not candidates:
        return {"proposed": 0, "not_proposed": {}}
    missing: Counter[str] = Counter()
    if not per_row:
        met, missing = exit_conditions(session, [h for h, _ in candidates], end, policy)
        if not met:  # most months: every candidate misses a condition
            return {"proposed": 0, "not_proposed": dict(missing)}
        meets = set(met)
        candidates = [(hid, village) for hid, village in candidates if hid in meets]
    ids = [hid for hid, _ in candidates]
    surveys = _recent_surveys(session, ids, end, policy.exit_stable_surveys)
    latest = (
        select(Strategy.household_id, func.max(Strategy.cycle_year).label("y"))
        .where(Strategy.household_id.in_(ids), Strategy.cycle_year <= end.year)
        .group_by(Strategy.household_id)
        .subquery()
    )
    strategies = {
        r.household_id: (r.status, r.cycle_year)
        for r in session.execute(
            select(Strategy.household_id, Strategy.status, Strategy.cycle_year)
            .join(
                latest,
                and_(
                    Strategy.household_id == latest.c.household_id,
                    Strategy.cycle_year == latest.c.y,
                ),
            )
            .where(strategy_on_record())
        )
    }
    delivered: dict[tuple[str, int], int] = {
        (hid, int(y)): int(n)
        for hid, y, n in session.execute(
            select(
                MeasureDelivery.household_id,
                MeasureDelivery.cycle_year,
                func.count(MeasureDelivery.id),
            )
            .where(
                MeasureDelivery.household_id.in_(ids),
                MeasureDelivery.state == DeliveryState.delivered.value,
            )
            .group_by(MeasureDelivery.household_id, MeasureDelivery.cycle_year)
        )
    }
    rows = []
    for hid, village in candidates:
        status, year = strategies.get(hid, (None, 0))
        check = exit_rules.propose_exit(
            surveys.get(hid, []),
            strategy_status=status,
            delivered_measures=delivered.get((hid, year), 0),
            policy=policy,
        )
        missing.update(check.missing)
        if check.propose:
            rows.append(
                dict(
                    household_id=hid,
                    village_code=village,
                    period=period,
                    reasons_met=check.met,
                    evidence={**check.evidence, "strategy_year": year},
                    status="proposed",
                    proposed_on=end,
                )
            )
    insert_ignore(session, ExitProposal, rows, keys=("household_id", "period"))
    if rows:
        audit_many(
            session,
            [
                dict(
                    actor=ACTOR,
                    action="exit_proposed",
                    entity="household",
                    entity_id=r["household_id"],
                    after={"period": period, "reasons_met": r["reasons_met"]},
                )
                for r in rows
            ],
        )
    return {"proposed": len(rows), "not_proposed": dict(missing)}
