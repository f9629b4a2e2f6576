"""Monitoring cases (防止返贫监测) over a chunk: record the households the monitoring run
found as `pending` cases (their `monitor` procedure decides), and check the open cases
against the six conditions of 风险消除 (`rules.monitoring.check_elimination`): the ones
that meet them are proposed for their `relieve` procedure — nothing closes here, the
announcement does (`tasks.monitoring_procedures`). The opening rules live in
`tasks.monitoring_run`."""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session
from zhucun.models import Household, MonitoringCase, Survey
from zhucun.models.enums import MonitoringStatus
from zhucun.tasks.common import audit_many
from zhucun.tasks.delivery import delivered_counts
from zhucun.tasks.sql import copy_rows

from zhucun.policy import Policy
from zhucun.rules import monitoring as rules
from zhucun.rules.exit import Situation

ACTOR = "zhucun:monitoring"


def period_end(period: str) -> date:
    y, m = (int(x) for x in period.split("-"))
    return date(y, m, calendar.monthrange(y, m)[1])


def registry_situation(h: dict[str, Any]) -> Situation:
    return Situation(
        per_capita_income_yuan=float(h["per_capita_income_yuan"]),
        food_clothing_secure=bool(h["food_clothing_secure"]),
        compulsory_education_ok=bool(h["compulsory_education_ok"]),
        basic_medical_ok=bool(h["basic_medical_ok"]),
        safe_water_ok=bool(h["safe_water_ok"]),
        housing_grade=h["housing_grade"],
    )


def _measure_counts(
    session: Session, ids: Sequence[str], first_year: int, last_year: int
) -> dict[str, int]:
    """Measures *delivered* to each household in the years of its case: risk elimination
    rests on what the household received, never on a drafted or approved-only measure."""
    return delivered_counts(session, ids, first_year, last_year)


def _incomes(
    session: Session, ids: Sequence[str], end: date
) -> dict[str, list[tuple[date, float]]]:
    """Each household's surveyed per-capita incomes up to `end` (income steady for six
    months needs the survey before the window too)."""
    out: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for part in range(0, len(ids), 500):
        for hid, day, income in session.execute(
            select(Survey.household_id, Survey.survey_date, Survey.per_capita_income_yuan).where(
                Survey.household_id.in_(ids[part : part + 500]), Survey.survey_date <= end
            )
        ):
            out[hid].append((day, float(income)))
    return out


def monitor_households(
    session: Session,
    *,
    period: str,
    policy: Policy,
    households: Sequence[dict[str, Any]],
    to_open: dict[str, tuple[str, str]],
) -> dict[str, Any]:
    """Record the households of `to_open` (household → (category, trigger)) without a live
    case as `pending`, then check every open case of these households for 风险消除.

    `households` are the candidate rows of `tasks.monitoring_run` (with the 12-month
    figures `income_12m`, `rigid_pc`, `missing`). Returns the counts, the new pending
    cases by village and `relieve`: the rows whose six conditions hold."""
    ids = [h["household_id"] for h in households]
    empty = {"opened": 0, "tracked": 0, "relieve": [], "opened_by_village": {}, "held_by": {}}
    if not ids:
        return empty
    by_id = {h["household_id"]: h for h in households}
    # One read of the cases of the chunk's villages' households (joined through the
    # household, so a case recorded under another village is found too), kept for `ids`.
    # Batches of 500 bound IDs were planned generically on PostgreSQL and compared each
    # case row with 500 parameters: 24 s of a 200k county's 39 s.
    villages = sorted({h["village_code"] for h in households})
    cases = [
        c
        for c in session.execute(
            select(
                MonitoringCase.id,
                MonitoringCase.household_id,
                MonitoringCase.opened_period,
                MonitoringCase.opened_on,
                MonitoringCase.status,
                MonitoringCase.closed_period,
            )
            .join(Household, Household.household_id == MonitoringCase.household_id)
            .where(Household.village_code.in_(villages))
        )
        if c.household_id in by_id
    ]
    live = {MonitoringStatus.open.value, MonitoringStatus.pending.value}
    live_by_hh = {c.household_id: c for c in cases if c.status in live}
    touched = {
        c.household_id for c in cases if c.opened_period == period or c.closed_period == period
    }
    end = period_end(period)
    new_rows, audits = [], []
    for hid, (category, trigger) in sorted(to_open.items()):
        if hid in live_by_hh or hid in touched:
            continue
        new_rows.append(
            dict(
                household_id=hid,
                village_code=by_id[hid]["village_code"],
                category=category,
                trigger=trigger,
                opened_period=period,
                opened_on=end,
                status=MonitoringStatus.pending.value,
            )
        )
    if new_rows:
        # as plain tuples (COPY on PostgreSQL): inserting the dictionaries cost 1.7 s of a 1M run
        columns = list(new_rows[0])
        copy_rows(session, MonitoringCase, columns, ([r[c] for c in columns] for r in new_rows))
        audits.append(
            dict(
                actor=ACTOR,
                action="monitoring_found",
                entity="monitoring_case",
                entity_id=f"{new_rows[0]['village_code'][:6]}/{period}",
                after={"pending": len(new_rows), "period": period},
            )
        )

    reviewable = [
        c
        for c in live_by_hh.values()
        if c.status == MonitoringStatus.open.value and "income_12m" in by_id[c.household_id]
    ]
    review_ids = sorted(c.household_id for c in reviewable)
    first_year = min((c.opened_on.year for c in reviewable), default=end.year)
    measures = _measure_counts(session, review_ids, first_year, end.year)
    incomes = _incomes(session, review_ids, end) if review_ids else {}
    relieve: list[dict[str, str]] = []
    held_by: Counter[str] = Counter()
    for c in sorted(reviewable, key=lambda c: c.household_id):
        h = by_id[c.household_id]
        result = rules.check_elimination(
            surveys=incomes.get(c.household_id, []),
            on=end,
            identified_on=c.opened_on,
            income=h["income_12m"],
            rigid=h["rigid_pc"],
            missing_guarantees=h["missing"],
            delivered_measures=measures.get(c.household_id, 0),
            labour_count=int(h["labour_count"]),
            policy=policy,
        )
        if result.eliminate:
            relieve.append(dict(subject_id=c.household_id, village_code=h["village_code"]))
        held_by.update(result.failed)
    audit_many(session, audits)
    by_village: dict[str, list[str]] = defaultdict(list)
    for r in new_rows:
        by_village[r["village_code"]].append(r["household_id"])
    return {
        "opened": len(new_rows),
        "tracked": len(reviewable),
        "relieve": relieve,
        "opened_by_village": dict(by_village),
        "held_by": dict(held_by),
    }
