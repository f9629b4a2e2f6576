"""Household strategies (一户一策): measures per household from its causes, filtered by
eligibility; strategies in review are left alone, returned ones redrafted, and a final
approved one revised (动态调整) when its household changed."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from zhucun.flows.common import artifact_key, task_runner
from zhucun.flows.lifecycle_common import HOUSEHOLDS_PER_TASK, run_per_chunk
from zhucun.flows.parameters import CountyCode, CycleYear
from zhucun.models.enums import MEASURE_ZH, Measure
from zhucun.tasks.common import Scope
from zhucun.tasks.lifecycle_db import merge_counts
from zhucun.tasks.strategies import draft_strategies_task


@flow(
    name="draft-strategies",
    flow_run_name="strategies-{county}-{cycle_year}",
    task_runner=task_runner(),
)
def draft_strategies(
    county: CountyCode, cycle_year: CycleYear, villages: list[str] | None = None
) -> dict[str, Any]:
    """One `Strategy` per household in care; leaves a table of measures and costs."""
    scope = Scope(county=county, villages=villages)
    parts = run_per_chunk(
        draft_strategies_task,
        scope,
        "strategies",
        cycle_year,
        "villages drafted",
        households_per_task=HOUSEHOLDS_PER_TASK,
        cycle_year=cycle_year,
    )
    measures = merge_counts(p["measures"] for p in parts)
    create_table_artifact(
        table=[
            {"measure": m.value, "措施": MEASURE_ZH[m], "households": measures[m.value]}
            for m in Measure
            if measures.get(m.value)
        ]
        or [{"measure": "-", "households": 0}],
        key=artifact_key("strategies", scope.label, cycle_year),
        description=f"Household strategies, county {scope.county}, cycle {cycle_year}: "
        "households per measure (drafts and redrafts of this run; strategies in "
        "review are counted in kept_in_review).",
    )
    return {
        "stage": "strategies",
        "households": sum(p["households"] for p in parts),
        "written": sum(p["written"] for p in parts),
        "redrafted": sum(p["redrafted"] for p in parts),
        "revised": sum(p.get("revised", 0) for p in parts),
        "kept_in_review": sum(p["kept_in_review"] for p in parts),
        "cost_yuan": round(sum(p["cost_yuan"] for p in parts), 2),
        "chunks": len(parts),
        "measures": measures,
    }
