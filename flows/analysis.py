"""Village analysis (村情分析): incidence, gaps, collective income, industries and the
distribution of household causes, per village of the scope."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from zhucun.flows.common import artifact_key, task_runner
from zhucun.flows.lifecycle_common import HOUSEHOLDS_PER_TASK, run_per_chunk
from zhucun.flows.parameters import CountyCode, CycleYear
from zhucun.tasks.analysis import analyse_villages_task
from zhucun.tasks.common import Scope
from zhucun.tasks.lifecycle_db import merge_counts


@flow(
    name="analyse-villages",
    flow_run_name="analysis-{county}-{cycle_year}",
    task_runner=task_runner(),
    log_prints=False,
)
def analyse_villages(
    county: CountyCode, cycle_year: CycleYear, villages: list[str] | None = None
) -> dict[str, Any]:
    """One `VillageAssessment` per village and cycle; leaves a per-village table."""
    scope = Scope(county=county, villages=villages)
    parts = run_per_chunk(
        analyse_villages_task,
        scope,
        "analysis",
        cycle_year,
        "villages analysed",
        households_per_task=HOUSEHOLDS_PER_TASK,
        cycle_year=cycle_year,
    )
    rows = [r for p in parts for r in p["rows"]]
    create_table_artifact(
        table=rows or [{"village": "-", "poor_households": 0}],
        key=artifact_key("analysis", scope.label, cycle_year),
        description=f"Village analysis, county {scope.county}, cycle {cycle_year}: "
        "poor households, incidence, gaps, top causes, need score.",
    )
    return {
        "stage": "analysis",
        "villages": sum(p["villages"] for p in parts),
        "written": sum(p["written"] for p in parts),
        "chunks": len(parts),
        "cause_distribution": merge_counts(p["cause_distribution"] for p in parts),
    }
