"""Monitoring cases (防止返贫监测) over a chunk: open the cases the caller decided, then
track (`stable_since`) and close (风险消除) the open ones by `rules.exit.review_case`, with
one audit row each. Shared by the evaluation and the monitoring run; the opening rules
live with the callers (`tasks.monitoring_run` for every rural household)."""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session
from zhucun.models import MonitoringCase
from zhucun.models.enums import MonitoringStatus
from zhucun.models.transitions import check_transition
from zhucun.tasks.common import audit_many
from zhucun.tasks.delivery import delivered_counts

from zhucun.policy import Policy
from zhucun.rules import exit as exit_rules
from zhucun.rules.exit import Situation

ACTOR = "zhucun:evaluate_progress"


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


def monitor_households(
    session: Session,
    *,
    period: str,
    policy: Policy,
    households: Sequence[dict[str, Any]],
    situations: dict[str, Situation],
    to_open: dict[str, tuple[str, str]],
) -> dict[str, Any]:
    """Open the cases in `to_open` (household → (category, trigger)) that have no open case,
    then track or close every other open case of these households."""
    ids = [h["household_id"] for h in households]
    if not ids:
        return {"opened": 0, "closed": 0, "tracked": 0, "opened_by_village": {}}
    by_id = {h["household_id"]: h for h in households}
    cases = list(
        session.execute(
            select(
                MonitoringCase.id,
                MonitoringCase.household_id,
                MonitoringCase.opened_period,
                MonitoringCase.stable_since,
                MonitoringCase.status,
                MonitoringCase.closed_period,
            ).where(MonitoringCase.household_id.in_(ids))
        )
    )
    open_by_hh = {c.household_id: c for c in cases if c.status == MonitoringStatus.open}
    touched = {
        c.household_id for c in cases if c.opened_period == period or c.closed_period == period
    }
    end = period_end(period)
    new_rows, audits = [], []
    for hid, (category, trigger) in sorted(to_open.items()):
        if hid in open_by_hh or hid in touched:
            continue
        new_rows.append(
            dict(
                household_id=hid,
                village_code=by_id[hid]["village_code"],
                category=category,
                trigger=trigger,
                opened_period=period,
                opened_on=end,
                status=MonitoringStatus.open.value,
            )
        )
        audits.append(
            dict(
                actor=ACTOR,
                action="monitoring_opened",
                entity="monitoring_case",
                entity_id=hid,
                after={"category": category, "trigger": trigger, "period": period},
            )
        )
    if new_rows:
        session.execute(insert(MonitoringCase), new_rows)

    reviewable = [c for c in open_by_hh.values() if c.opened_period != period]
    first_year = min((int(c.opened_period[:4]) for c in reviewable), default=end.year)
    measures = _measure_counts(session, [c.household_id for c in reviewable], first_year, end.year)
    updates, closed = [], 0
    for c in reviewable:
        hid = c.household_id
        s = situations.get(hid) or registry_situation(by_id[hid])
        review = exit_rules.review_case(
            opened_period=c.opened_period,
            stable_since=c.stable_since,
            period=period,
            situation=s,
            labour_count=int(by_id[hid]["labour_count"]),
            measures=measures.get(hid, 0),
            policy=policy,
        )
        if review.close:
            check_transition("monitoring", c.status, MonitoringStatus.closed)
            updates.append(
                dict(
                    id=c.id,
                    stable_since=review.stable_since,
                    status=MonitoringStatus.closed.value,
                    closed_period=period,
                    closed_reason=review.reason,
                )
            )
            audits.append(
                dict(
                    actor=ACTOR,
                    action="monitoring_closed",
                    entity="monitoring_case",
                    entity_id=hid,
                    before={"status": "open"},
                    after={"status": "closed", "period": period, "reason": review.reason},
                )
            )
            closed += 1
        elif review.stable_since != c.stable_since:
            updates.append(
                dict(
                    id=c.id,
                    stable_since=review.stable_since,
                    status=c.status,
                    closed_period=None,
                    closed_reason=None,
                )
            )
    if updates:
        session.execute(update(MonitoringCase), updates)
    audit_many(session, audits)
    by_village: dict[str, list[str]] = defaultdict(list)
    for r in new_rows:
        by_village[r["village_code"]].append(r["household_id"])
    return {
        "opened": len(new_rows),
        "closed": closed,
        "tracked": len(reviewable) - closed,
        "opened_by_village": dict(by_village),
    }
