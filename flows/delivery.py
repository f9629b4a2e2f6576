"""The daily delivery check (措施落实督办): measures of approved strategies that have not
started `measure_not_started_days` after approval are flagged once each and announced by a
`zhucun.measure.not-started` event — household ID, measure and days only, nothing personal —
so an automation can remind the team."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from zhucun.flows.common import artifact_key, emit
from zhucun.flows.parameters import CountyCode
from zhucun.tasks.delivery import flag_not_started_task

EVENT = "zhucun.measure.not-started"


@flow(name="check-measure-delivery", flow_run_name="delivery-check-{county}-{cycle_year}")
def check_measure_delivery(
    county: CountyCode, cycle_year: int, today: str | None = None
) -> dict[str, Any]:
    """Flag the measures not started in time (each once) and emit one event per measure."""
    flagged = flag_not_started_task(county, cycle_year, today)
    for f in flagged:
        emit(
            EVENT,
            f"zhucun.household.{f['household_id']}",
            {"household_id": f["household_id"], "measure": f["measure"], "days": f["days"]},
        )
    create_table_artifact(
        table=flagged or [{"household_id": "-", "measure": "-", "days": 0}],
        key=artifact_key("delivery-check", county, cycle_year),
        description=f"Measures not started in time, county {county}, cycle {cycle_year}.",
    )
    return {"stage": "delivery-check", "flagged": len(flagged), "events": len(flagged)}
