"""Review persistence and the Prefect tasks of the review flow.

The code lives in `tasks.review_load` (loading), `tasks.review_ledger` (`decide()`, the
ledger and stage clock), `tasks.review_forms` (pending groups, forms, overdue),
`tasks.review_files` (decisions files) and `tasks.review_publicity` (公示, objections);
this module keeps the Prefect tasks (one `session_scope()` each, small summaries) and
re-exports every public name, so `from tasks.review import decide` keeps working.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select
from zhucun.models import County, Township, Village
from zhucun.tasks.common import now
from zhucun.tasks.review_files import (
    FileResult,
    apply_decisions_file,
    read_decisions_file,
)
from zhucun.tasks.review_forms import (
    cycles_in_review,
    dashboard,
    deciders,
    decision_count,
    form_requests,
    form_units,
    group_items,
    last_refusals,
    overdue,
    pending_groups,
    villages_of,
)
from zhucun.tasks.review_ledger import DecideResult, Outcome, decide
from zhucun.tasks.review_load import (
    FILE_COLUMNS,
    MODELS,
    SUBJECT_KEY,
    Key,
    ReviewError,
    load_contexts,
    load_escalations,
    load_history,
    load_items,
    pending_statuses,
    policy_for,
)
from zhucun.tasks.review_lock import server_today
from zhucun.tasks.review_publicity import (
    close_publicity,
    file_objection,
)
from zhucun.tasks.review_sync import sync_states

from zhucun.db import session_scope
from zhucun.rules import review as rules

__all__ = [
    "DecideResult",
    "FILE_COLUMNS",
    "FileResult",
    "Key",
    "MODELS",
    "Outcome",
    "ReviewError",
    "SUBJECT_KEY",
    "apply_decisions_file",
    "close_publicity",
    "cycles_in_review",
    "dashboard",
    "dashboard_task",
    "deciders",
    "form_units",
    "decide",
    "decision_count",
    "file_objection",
    "form_requests",
    "group_items",
    "last_refusals",
    "load_contexts",
    "load_escalations",
    "load_history",
    "load_items",
    "overdue",
    "pending_groups",
    "pending_statuses",
    "policy_for",
    "read_decisions_file",
    "sync_states",
    "villages_of",
    "apply_file_task",
    "close_publicity_task",
    "entered_since",
    "form_task",
    "overdue_task",
    "pending_task",
    "submit_task",
    "sync_task",
]

# --- Prefect tasks: one session, one commit, a small summary -----------------------------


@task(
    cache_policy=NO_CACHE,
    name="review-sync",
    task_run_name="review-sync-{county}-{cycle_year}-{chunk_no}",
)
def sync_task(
    county: str, cycle_year: int, villages: list[str], chunk_no: int = 0
) -> dict[str, int]:
    with session_scope() as session:
        return sync_states(
            session, cycle_year, villages, policy=policy_for(session, county, cycle_year)
        )


@task(cache_policy=NO_CACHE, name="review-close-publicity")
def close_publicity_task(county: str | None, today: date | None = None) -> dict[str, int]:
    with session_scope() as session:
        return close_publicity(session, today=today, county=county)


@task(cache_policy=NO_CACHE, name="review-apply-file")
def apply_file_task(county: str, cycle_year: int, path: str) -> dict[str, Any]:
    with session_scope() as session:
        res = apply_decisions_file(
            session, Path(path), cycle_year=cycle_year, county=county, keep_outcomes=False
        )
        counts = res.result.counts() if res.result else {}
        return {"ok": res.ok, "errors": res.errors[:200], "error_count": len(res.errors), **counts}


@task(cache_policy=NO_CACHE, name="review-pending")
def pending_task(county: str, cycle_year: int, villages: list[str] | None) -> list[dict[str, Any]]:
    with session_scope() as session:
        codes = villages_of(session, county, villages)
        return pending_groups(
            session, cycle_year, codes, policy=policy_for(session, county, cycle_year)
        )


def _area_villages(area: str, villages: list[str] | None) -> list[str]:
    """The villages a form covers: those given (the flow's pending groups), else the area."""
    return sorted(villages) if villages else [area]


@task(cache_policy=NO_CACHE, name="review-form", task_run_name="review-form-{area}-{stage}")
def form_task(
    county: str, cycle_year: int, area: str, stage: str, villages: list[str] | None = None
) -> dict[str, Any]:
    """What the form of one signing body and stage shows (a village's team or committee, a
    township, the county), and the key of its pause."""
    from zhucun.rules import review_form as render

    codes = _area_villages(area, villages)
    with session_scope() as session:
        policy = policy_for(session, county, cycle_year)
        items = group_items(session, cycle_year, codes, stage, policy=policy)
        if len(area) == 12:
            name = session.scalar(select(Village.name).where(Village.village_code == area))
        elif len(area) == 9:
            name = session.scalar(select(Township.name).where(Township.township_code == area))
        else:
            name = session.scalar(select(County.name).where(County.county_code == area))
        stages = rules.stages_for(policy, items[0]["subject"]) if items else []
        rows = [
            render.PendingRow(
                i["subject"],
                i["subject_id"],
                i["label"],
                i["version"],
                i["measures"],
                i["cost_yuan"],
                i["decider"],
                i["note"],
                i["village_code"],
                i["village_name"],
                i["waiting_since"],
            )
            for i in items
        ]
        roles = list(dict.fromkeys(r for i in items for r in i["roles"])) or (
            rules.level_roles(stage, stages, rules.ladder(policy))
        )
        people = [
            render.Decider(*d) for d in deciders(session, cycle_year, codes, roles, policy=policy)
        ]
        md = render.form_markdown(
            name or area,
            area,
            stage,
            people,
            rows,
            last_refusals(session, cycle_year, codes, stage),
        )
        return {
            "markdown": md,
            "items": len(items),
            "deadline_seconds": policy.review_deadline_days * 86400,
            "key": f"{area}-{stage}-{decision_count(session, cycle_year, county)}",
        }


@task(cache_policy=NO_CACHE, name="review-submit", task_run_name="review-submit-{area}-{stage}")
def submit_task(
    county: str,
    cycle_year: int,
    area: str,
    stage: str,
    form: dict[str, Any],
    channel: str = "ui",
    villages: list[str] | None = None,
) -> dict[str, Any]:
    """A submitted form, through `decide` (the one path: validation, ledger, exactly once)."""
    with session_scope() as session:
        policy = policy_for(session, county, cycle_year)
        today = server_today()
        reqs = form_requests(
            session,
            cycle_year=cycle_year,
            village=_area_villages(area, villages),
            stage=stage,
            reviewer_id=str(form.get("reviewer_id") or ""),
            approve_all=bool(form.get("approve_all")),
            decisions=list(form.get("decisions") or []),
            decided_on=today,
            policy=policy,
        )
        res = decide(
            session, reqs, cycle_year=cycle_year, channel=channel, county=county, today=today
        )
        return res.counts()


@task(cache_policy=NO_CACHE, name="review-dashboard")
def dashboard_task(county: str, cycle_year: int) -> str:
    """The review dashboard's markdown: what waits, by township and stage, overdue first."""
    from zhucun.rules import review_form as render

    with session_scope() as session:
        policy = policy_for(session, county, cycle_year)
        cname, rows = dashboard(session, county, cycle_year, at=now(), policy=policy)
        return render.dashboard_markdown(
            cname, county, cycle_year, [render.DashboardRow(**r) for r in rows]
        )


@task(cache_policy=NO_CACHE, name="review-overdue")
def overdue_task(county: str | None, at: datetime | None = None) -> list[dict[str, Any]]:
    with session_scope() as session:
        at = at or now()
        for c, year in cycles_in_review(session, county):
            policy = policy_for(session, c, year)
            codes = villages_of(session, c, None)
            for part in range(0, len(codes), 200):
                sync_states(session, year, codes[part : part + 200], policy=policy)
        return overdue(session, county=county, at=at)


def entered_since(entered: datetime, at: datetime) -> timedelta:
    return at - (entered if entered.tzinfo else entered.replace(tzinfo=at.tzinfo))
