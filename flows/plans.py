"""Village development plans: items answering gaps and causes, funded by the sponsor unit
within its budget (never over-allocated), the rest by integrated county funds."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from zhucun.flows.common import artifact_key, task_runner
from zhucun.flows.lifecycle_common import Progress, fan_out, tag_run
from zhucun.flows.parameters import CountyCode, CycleYear
from zhucun.tasks.common import Scope
from zhucun.tasks.plans import draft_plan_groups_task, sponsor_groups_task

# Sponsor groups (one per agency) per task run: a county has a few dozen agencies, each a
# few plans; eight groups per task keep parallel batches on PostgreSQL and few task runs.
GROUPS_PER_TASK = 8


@flow(name="draft-plans", flow_run_name="plans-{county}-{cycle_year}", task_runner=task_runner())
def draft_plans(
    county: CountyCode, cycle_year: CycleYear, villages: list[str] | None = None
) -> dict[str, Any]:
    """One `Plan` per registered poor village; one task per sponsor agency (see
    tasks/plans.py for why that, plus a row claim, keeps budgets from over-allocation)."""
    scope = Scope(county=county, villages=villages)
    tag_run(scope.county)
    groups = sponsor_groups_task(scope.county, cycle_year, scope.villages)
    progress = Progress(
        "plans",
        scope.label,
        cycle_year,
        total=-(-len(groups) // GROUPS_PER_TASK),
        what="batches of sponsor groups planned",
    )
    batches = [groups[i : i + GROUPS_PER_TASK] for i in range(0, len(groups), GROUPS_PER_TASK)]
    parts = [
        part
        for batch in fan_out(
            draft_plan_groups_task,
            batches,
            progress,
            lambda i, b: dict(county=scope.county, cycle_year=cycle_year, groups=b, batch_no=i),
        )
        for part in batch
    ]
    rows = [dict(r, sponsor=p["agency"] or "-") for p in parts for r in p["rows"]]
    create_table_artifact(
        table=sorted(rows, key=lambda r: r["village"]) or [{"village": "-", "items": 0}],
        key=artifact_key("plans", scope.label, cycle_year),
        description=f"Village plans, county {scope.county}, cycle {cycle_year}: items and "
        "cost by funding source.",
    )
    sponsors = [
        {
            "agency": p["agency"],
            "budget_yuan": p["budget_yuan"],
            "allocated_yuan": p["allocated_yuan"],
        }
        for p in parts
        if p["agency"]
    ]
    create_table_artifact(
        table=sponsors or [{"agency": "-", "budget_yuan": 0, "allocated_yuan": 0}],
        key=artifact_key("sponsors", scope.label, cycle_year),
        description="Sponsor units' mobilised resources: budget and amount allocated.",
    )
    return {
        "stage": "plans",
        "villages": sum(p["villages"] for p in parts),
        "written": sum(p["written"] for p in parts),
        "kept_in_review": sum(p["kept_in_review"] for p in parts),
        "groups": len(groups),
        "total_yuan": round(sum(r["total_yuan"] for r in rows), 2),
        "sponsor_yuan": round(sum(r["sponsor_yuan"] for r in rows), 2),
        "county_funds_yuan": round(sum(r["county_funds_yuan"] for r in rows), 2),
    }
