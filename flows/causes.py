"""Cause assessment (致贫原因): one main cause and at most two others per household in
care, with evidence and rule version; overrides recorded by teams are kept."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from zhucun.flows.common import artifact_key, task_runner
from zhucun.flows.lifecycle_common import run_per_chunk
from zhucun.flows.parameters import CountyCode, CycleYear
from zhucun.models.enums import CAUSE_ZH, Cause
from zhucun.tasks.causes import assess_causes_task
from zhucun.tasks.common import Scope
from zhucun.tasks.lifecycle_db import merge_counts

# One set-based statement per chunk (tasks/causes_sql.py): large chunks, few task runs.
CAUSES_PER_TASK = 50_000


@flow(name="assess-causes", flow_run_name="causes-{county}-{cycle_year}", task_runner=task_runner())
def assess_causes(
    county: CountyCode, cycle_year: CycleYear, villages: list[str] | None = None
) -> dict[str, Any]:
    """One `HouseholdAssessment` per household in care; leaves the cause distribution."""
    scope = Scope(county=county, villages=villages)
    parts = run_per_chunk(
        assess_causes_task,
        scope,
        "causes",
        cycle_year,
        "villages assessed",
        households_per_task=CAUSES_PER_TASK,
        cycle_year=cycle_year,
    )
    main = merge_counts(p["main"] for p in parts)
    other = merge_counts(p["other"] for p in parts)
    households = sum(p["households"] for p in parts)
    create_table_artifact(
        table=[
            {
                "cause": c.value,
                "因": CAUSE_ZH[c],
                "main": main.get(c.value, 0),
                "other": other.get(c.value, 0),
                "main_pct": round(100 * main.get(c.value, 0) / households, 1)
                if households
                else 0.0,
            }
            for c in Cause
        ],
        key=artifact_key("causes", scope.label, cycle_year),
        description=f"Causes of poverty, county {scope.county}, cycle {cycle_year}: "
        f"{households} households (main cause A3a, other causes A3b).",
    )
    return {
        "stage": "causes",
        "households": households,
        "written": sum(p["written"] for p in parts),
        "overrides_kept": sum(p["overrides_kept"] for p in parts),
        "chunks": len(parts),
        "main_causes": main,
    }
