"""Progress evaluation and relapse monitoring for one chunk of villages and one period.

A household is evaluated once per period: its `Evaluation` row and the status change it
caused (exited → relapsed) are written in the same transaction, so a re-run skips it
(idempotent) and a run that stopped halfway evaluates only the rest (resumable).
The evaluation *reports* households at risk (outcomes monitor and relapse, and the
relapse-risk events): who becomes a monitoring object is decided by the monitoring run
alone (`monitor_chunk`, by `rules.monitoring`, through the `monitor` procedure), so one
household is never found by two rules.

Exit is proposed, never flipped: a poor household meeting the conditions goes on the 预退出
list (`ExitProposal`, by `tasks.delivery.propose_exits`: income steadily above the line, the
guarantees, an approved strategy with a delivered measure) and stays poor. The exit
procedure (民主评议 → 核实 → 户认可 → 公示 → 公告 → 销号) through review stages is a later step
and the only one that will change the status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from prefect import task
from sqlalchemy import and_, func, select, update
from sqlmodel import Session
from zhucun.models import (
    Evaluation,
    Household,
    Village,
    VillageStatus,
)
from zhucun.models.enums import EvaluationOutcome, HouseholdStatus
from zhucun.models.transitions import check_transition
from zhucun.tasks import evaluation_sql
from zhucun.tasks.common import audit_many
from zhucun.tasks.delivery import propose_exits
from zhucun.tasks.lifecycle_db import (
    SURVEY_SITUATION_COLUMNS,
    latest_survey,
    policy_for,
    survey_situation,
)
from zhucun.tasks.monitoring_cases import monitor_households, period_end, registry_situation
from zhucun.tasks.monitoring_procedures import open_monitor, open_relieve
from zhucun.tasks.monitoring_run import identify_chunk, link_clues, record_risk_types
from zhucun.tasks.review_lock import server_today
from zhucun.tasks.safety import guarded
from zhucun.tasks.sql import copy_rows, upsert

from zhucun.db import session_scope
from zhucun.policy import Policy
from zhucun.rules import exit as exit_rules
from zhucun.rules.exit import POOR_STATUSES, Situation

ACTOR = "zhucun:evaluate_progress"
EVALUATED = (*POOR_STATUSES, HouseholdStatus.exited.value)
# Relapse-risk events name at most this many households per village; the rest are counted
# in the village's aggregate (a county can have thousands: one event each would flood). A
# month of steady monitoring finds a household or two per village, each its own event; a
# first month finds hundreds, and an event costs ~1 ms of the run (2,000 emitted and
# delivered in 2.1 s here): 20 per village was 4,000 events, 2.3 s, of a 200,000-household
# county's monitoring, and ~20 s of a province's.
RELAPSE_EVENTS_PER_VILLAGE = 3


def _households(session: Session, villages: Sequence[str]) -> list[dict[str, Any]]:
    stmt = (
        select(
            Household.household_id,
            Household.village_code,
            Household.status,
            Household.size,
            Household.labour_count,
            Household.per_capita_income_yuan,
            Household.food_clothing_secure,
            Household.compulsory_education_ok,
            Household.basic_medical_ok,
            Household.safe_water_ok,
            Household.housing_grade,
        )
        .where(
            Household.village_code.in_(villages),
            Household.registered_poor.is_(True),
            Household.status.in_(EVALUATED),
        )
        .order_by(Household.household_id)
    )
    return [dict(r._mapping) for r in session.execute(stmt)]


def _latest_surveys(session: Session, villages: Sequence[str], end: date) -> dict[str, Situation]:
    """Each household's latest survey on or before `end` (`lifecycle_db.latest_survey`)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    sv, on = latest_survey(end, postgres)
    stmt = (
        select(*(sv.c[c.key] for c in SURVEY_SITUATION_COLUMNS))
        .select_from(Household)
        .join(sv, on)
        .where(Household.village_code.in_(villages))
    )
    return {s.household_id: survey_situation(s) for s in session.execute(stmt)}


def evaluate_chunk(
    session: Session, county: str, period: str, villages: Sequence[str], *, per_row: bool = False
) -> dict[str, Any]:
    """Evaluate the chunk's households for `period` (those not evaluated yet), propose exits,
    update the villages' incidence. Set-based (`tasks.evaluation_sql`); `per_row` runs the
    readable reference instead (the tests' oracle)."""
    end = period_end(period)
    policy = policy_for(session, county, end.year)
    if per_row:
        judged, audits = _judge_rows(session, period, villages, end, policy)
    else:
        judged, audits = evaluation_sql.judge(session, period, villages, end, policy, ACTOR)
    audit_many(session, audits)
    proposals = propose_exits(
        session,
        period=period,
        end=end,
        candidates=judged.candidates,
        policy=policy,
        per_row=per_row,
    )
    risk, per_village = judged.risk, judged.per_village
    # reported, never opened: the monitoring run (monitor_chunk) decides who is monitored
    monitoring = {"at_risk_reported": sum(len(hs) for hs in risk.values())}
    villages_out = village_statuses(session, villages, period, policy)
    for row in villages_out:
        row.update(
            {
                k: per_village[row["village"]].get(k, 0)
                for k in ("exit", "remain", "monitor", "relapse")
            }
        )
    return {
        "evaluated": judged.evaluated,
        "already_evaluated": judged.already,
        "outcomes": dict(judged.outcomes),
        "exit_proposals": proposals["proposed"],
        "exit_not_proposed": proposals["not_proposed"],  # candidates by condition missed
        "monitoring": monitoring,
        "villages": villages_out,
        "relapse_risk": {
            v: {"count": len(hs), "households": hs[:RELAPSE_EVENTS_PER_VILLAGE]}
            for v, hs in sorted(risk.items())
        },
    }


def _judge_rows(
    session: Session, period: str, villages: Sequence[str], end: date, policy: Policy
) -> tuple[evaluation_sql.Judged, list[dict[str, Any]]]:
    """The per-row reference of `evaluation_sql.judge`: `rules.exit.evaluate_household`
    for each household not yet evaluated for `period`, in household order."""
    out = evaluation_sql.Judged()
    households = _households(session, villages)
    done = (
        set(
            session.scalars(
                select(Evaluation.household_id)
                .join(Household, Household.household_id == Evaluation.household_id)
                .where(Household.village_code.in_(villages), Evaluation.period == period)
            )
        )
        if households
        else set()
    )
    out.already = len(done)
    # A re-run of an evaluated period reads no survey (each household is evaluated once)
    todo = len(done) < len(households)
    situations = _latest_surveys(session, villages, end) if todo else {}
    evals, status_updates, audits = [], [], []
    for h in households:
        hid = h["household_id"]
        if hid in done:
            continue
        s = situations.get(hid) or registry_situation(h)
        e = exit_rules.evaluate_household(h["status"], s, policy)
        out.outcomes[e.outcome.value] += 1
        out.per_village[h["village_code"]][e.outcome.value] += 1
        evals.append(
            dict(
                household_id=hid,
                village_code=h["village_code"],
                period=period,
                per_capita_income_yuan=s.per_capita_income_yuan,
                income_ok=e.income_ok,
                guarantees_ok=e.guarantees_ok,
                outcome=e.outcome.value,
                reason=e.reason,
            )
        )
        if e.new_status != h["status"]:
            check_transition("household", h["status"], e.new_status)
            change = dict(household_id=hid, status=e.new_status)
            if e.new_status == HouseholdStatus.exited:
                change["exited_period"] = period
            status_updates.append(change)
            audits.append(
                dict(
                    actor=ACTOR,
                    action=f"household_{e.outcome.value}",
                    entity="household",
                    entity_id=hid,
                    before={"status": h["status"]},
                    after={"status": e.new_status, "period": period},
                )
            )
            h["status"] = e.new_status
        if e.outcome == EvaluationOutcome.exit and h["status"] in POOR_STATUSES:
            out.candidates.append((hid, h["village_code"]))
        if e.outcome in (EvaluationOutcome.monitor, EvaluationOutcome.relapse):
            out.risk[h["village_code"]].append(hid)
    out.evaluated = len(evals)
    if evals:
        cols = list(evals[0])
        copy_rows(session, Evaluation, cols, ([e[c] for c in cols] for e in evals))
    for keys in ({"household_id", "status"}, {"household_id", "status", "exited_period"}):
        same = [u for u in status_updates if set(u) == keys]
        if same:
            session.execute(update(Household), same)
    return out, audits


def village_statuses(
    session: Session, villages: Sequence[str], period: str, policy: Policy
) -> list[dict[str, Any]]:
    """Upsert each village's incidence and exit eligibility for the period; report which
    villages became eligible (not eligible, or unknown, in their previous period)."""
    pops = dict(
        session.execute(
            select(Village.village_code, Village.population).where(
                Village.village_code.in_(villages)
            )
        ).all()
    )
    registered = set(
        session.scalars(
            select(Village.village_code).where(
                Village.village_code.in_(villages), Village.registered_poor.is_(True)
            )
        )
    )
    poor = dict(
        session.execute(
            select(Household.village_code, func.sum(Household.size))
            .where(
                Household.village_code.in_(villages),
                Household.registered_poor.is_(True),
                Household.status.in_(POOR_STATUSES),
            )
            .group_by(Household.village_code)
        ).all()
    )
    current = {
        r.village_code: r
        for r in session.execute(
            select(
                VillageStatus.village_code,
                VillageStatus.poverty_incidence,
                VillageStatus.exit_eligible,
            ).where(VillageStatus.village_code.in_(villages), VillageStatus.period == period)
        )
    }
    prev_period = (
        select(VillageStatus.village_code, func.max(VillageStatus.period).label("p"))
        .where(VillageStatus.village_code.in_(villages), VillageStatus.period < period)
        .group_by(VillageStatus.village_code)
        .subquery()
    )
    previous = dict(
        session.execute(
            select(VillageStatus.village_code, VillageStatus.exit_eligible).join(
                prev_period,
                and_(
                    VillageStatus.village_code == prev_period.c.village_code,
                    VillageStatus.period == prev_period.c.p,
                ),
            )
        ).all()
    )
    rows, out, audits = [], [], []
    for code in sorted(pops):
        rate = round((poor.get(code) or 0) / pops[code], 6) if pops[code] else 0.0
        eligible = code in registered and exit_rules.village_exit_eligible(rate, policy)
        cur = current.get(code)
        changed = cur is None or (round(cur.poverty_incidence, 6), cur.exit_eligible) != (
            rate,
            eligible,
        )
        became = (
            eligible and not previous.get(code, False) and (cur is None or not cur.exit_eligible)
        )
        if changed:
            rows.append(
                dict(
                    village_code=code, period=period, poverty_incidence=rate, exit_eligible=eligible
                )
            )
            if became:
                audits.append(
                    dict(
                        actor=ACTOR,
                        action="village_exit_eligible",
                        entity="village",
                        entity_id=code,
                        after={
                            "period": period,
                            "incidence": rate,
                            "threshold": policy.village_exit_max_incidence,
                        },
                    )
                )
        out.append(
            dict(
                village=code,
                incidence_pct=round(rate * 100, 2),
                threshold_pct=round(policy.village_exit_max_incidence * 100, 2),
                exit_eligible=eligible,
                newly_eligible=became and changed,
            )
        )
    upsert(session, VillageStatus, rows, keys=("village_code", "period"))
    audit_many(session, audits)
    return out


@task(
    name="evaluate-progress",
    task_run_name="evaluate-{county}-{period}-{chunk_no}",
    retries=1,
    retry_delay_seconds=2,
)
@guarded
def evaluate_progress_task(
    county: str, period: str, villages: list[str], chunk_no: int = 0
) -> dict[str, Any]:
    with session_scope() as session:
        return evaluate_chunk(session, county, period, villages)


def monitor_chunk(
    session: Session, county: str, period: str, villages: Sequence[str], today: date | None = None
) -> dict[str, Any]:
    """Only the monitoring: every rural household the monitoring rules find
    (`tasks.monitoring_run`) gets a pending case and its `monitor` procedure (it becomes a
    monitoring object at the announcement), its open clues join the case; each open case
    whose six conditions of 风险消除 hold gets its `relieve` procedure. No evaluation rows,
    no status changes. `today`: the procedures' opening day (default the server's)."""
    end = period_end(period)
    today = today or server_today()
    policy = policy_for(session, county, end.year)
    found, candidates = identify_chunk(session, villages, end, policy)
    to_open = {hid: (f.category, f.trigger) for hid, f in found.items()}
    result = monitor_households(
        session, period=period, policy=policy, households=candidates, to_open=to_open
    )
    record_risk_types(session, period, found)
    result["clues_linked"] = link_clues(session, villages, end)
    opened = result.pop("opened_by_village")
    proc_policy = policy_for(session, county, today.year)
    rows = [dict(subject_id=h, village_code=v) for v, hs in sorted(opened.items()) for h in hs]
    result["monitor_cases"] = open_monitor(session, rows, policy=proc_policy, today=today)
    relieve = result.pop("relieve")
    result["relieve_due"] = len(relieve)
    result["relieve_cases"] = open_relieve(session, relieve, policy=proc_policy, today=today)
    for condition, n in sorted(result.pop("held_by").items()):
        result[f"held_{condition}"] = n
    return {
        **result,
        "at_risk": len(to_open),
        "relapse_risk": {
            v: {"count": len(hs), "households": hs[:RELAPSE_EVENTS_PER_VILLAGE]}
            for v, hs in sorted(opened.items())
        },
    }


@task(
    name="monitor-relapse",
    task_run_name="monitor-{county}-{period}-{chunk_no}",
    retries=1,
    retry_delay_seconds=2,
)
@guarded
def monitor_relapse_task(
    county: str, period: str, villages: list[str], chunk_no: int = 0, today: str | None = None
) -> dict[str, Any]:
    with session_scope() as session:
        day = date.fromisoformat(today) if today else None
        return monitor_chunk(session, county, period, villages, day)
