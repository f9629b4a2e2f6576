"""The daily monitoring clocks (防止返贫监测时限督办): a clue open past its 15 days, a monitored
household without a development measure a month after identification. Each is flagged
once, and each county with any gets one event per clock — counts by township, never a
household or a person — so an automation can notify the township:
`zhucun.monitoring.clue-overdue` and `zhucun.monitoring.case-without-measure`."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from zhucun.flows.common import artifact_key, emit
from zhucun.flows.lifecycle_common import tag_run
from zhucun.flows.parameters import CountyCode
from zhucun.tasks.common import Scope
from zhucun.tasks.monitoring_clues import check_clocks_task

CLUE_OVERDUE = "zhucun.monitoring.clue-overdue"
CASE_WITHOUT_MEASURE = "zhucun.monitoring.case-without-measure"


@flow(name="check-monitoring-clocks", flow_run_name="monitoring-clocks-{county}")
def check_monitoring_clocks(
    county: CountyCode | None = None, today: str | None = None
) -> dict[str, Any]:
    """Flag overdue clues and monitored households without a development measure; one
    event per county and clock, with counts.

    Args:
        county: County code, 6 digits (GB/T 2260); empty means every county.
        today: the day checked, YYYY-MM-DD; empty: today in Asia/Shanghai.
    """
    code = Scope(county=county).county if county else None
    if code:
        tag_run(code)
    results = check_clocks_task(code, today)
    events, rows = 0, []
    for r in results:
        clues, cases = r["clues"], r["cases"]
        if clues["overdue"]:
            emit(CLUE_OVERDUE, f"zhucun.county.{r['county']}", {**clues, "today": r["today"]})
            events += 1
        if cases["without_measure"]:
            emit(
                CASE_WITHOUT_MEASURE,
                f"zhucun.county.{r['county']}",
                {**cases, "today": r["today"]},
            )
            events += 1
        rows.append(
            {
                "county": r["county"],
                "clues_overdue": clues["overdue"],
                "clues_newly_flagged": clues["newly_flagged"],
                "max_days_overdue": clues["max_days_overdue"],
                "cases_without_measure": cases["without_measure"],
                "cases_newly_flagged": cases["newly_flagged"],
            }
        )
    create_table_artifact(
        table=rows or [{"county": "-", "clues_overdue": 0, "cases_without_measure": 0}],
        key=artifact_key("monitoring-clocks", code or "all"),
        description="Monitoring clues open past their deadline and monitored households "
        "without a development measure a month after identification (counts only).",
    )
    return {
        "stage": "monitoring-clocks",
        "counties": len(results),
        "clues_overdue": sum(r["clues"]["overdue"] for r in results),
        "clues_newly_flagged": sum(r["clues"]["newly_flagged"] for r in results),
        "cases_without_measure": sum(r["cases"]["without_measure"] for r in results),
        "cases_newly_flagged": sum(r["cases"]["newly_flagged"] for r in results),
        "events": events,
    }
