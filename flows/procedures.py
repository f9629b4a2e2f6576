"""The procedures' daily step (identification, household exit, village exit): the calendar
of a real office — a publicity window closes on its day, the cross-check runs when its
findings are in, the minutes of a meeting are applied — and where every case stands, with
the notices to post, as artifacts. Decisions themselves come from the CLI, a decisions file
or the minutes given here; the same engine judges them all."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from zhucun.flows.common import artifact_key, emit
from zhucun.flows.parameters import CountyCode, CycleYear, Period
from zhucun.tasks.procedure_step import procedure_step_task

ANNOUNCED = "zhucun.procedure.announced"


def _run_name() -> str:
    from prefect.runtime import flow_run

    p = flow_run.parameters
    return f"procedures-{p.get('county')}-{p.get('cycle_year') or 'open'}"


@flow(name="procedures-daily", flow_run_name=_run_name)
def procedures_daily(
    county: CountyCode,
    cycle_year: CycleYear | None = None,
    period: Period | None = None,
    decisions: str | None = None,
    as_of: str | None = None,
) -> dict[str, Any]:
    """Move what the calendar moves, apply the minutes, publish the standing and notices.

    Args:
        county: 6-digit code of the county (e.g. 522626).
        cycle_year: only the cases opened in this cycle year (e.g. 2026); empty: the open
            cases of every year — a case opened in December moves on in January — and this
            year's (in China); the minutes then apply to this year's cases.
        period: an evaluation's month YYYY-MM: open exit cases from its 预退出 list first
            (empty: open none).
        decisions: path of a decisions file (meeting minutes) to apply after the windows
            closed; all or nothing (empty: none).
        as_of: demo counties only — the date the demo's compressed calendar stands at
            (YYYY-MM-DD); refused for any other county, where the server's date decides.
    """
    out = procedure_step_task(county, cycle_year, period, decisions, as_of)
    years = "/".join(str(y) for y in out["cycle_years"])
    cycle_year = cycle_year or date.fromisoformat(out["today"]).year  # the artifacts' key
    rows = out["cases"] or [{"procedure": "-", "status": "-", "count": 0}]
    create_table_artifact(
        table=rows,
        key=artifact_key("procedures", county, cycle_year),
        description=f"Procedure cases by stage, county {county}, cycle {years} "
        f"(as of {out['today']}). Counts only.",
    )
    if out["notices"]:
        create_markdown_artifact(
            markdown="\n\n".join(out["notices"]),
            key=artifact_key("procedure-notices", county, cycle_year),
            description="公示 and 公告 to post in the villages: head names and household "
            "sizes only.",
        )
    if out["announced_today"]:
        emit(
            ANNOUNCED,
            f"zhucun.county.{county}",
            {"county": county, "cycle_year": cycle_year, "announced": out["announced_today"]},
        )
    get_run_logger().info(
        "procedures %s %s: %s windows closed, %s announced",
        county,
        years,
        out["publicity"].get("closed", 0),
        out["announced_today"],
    )
    summary = {k: v for k, v in out.items() if k != "notices"}
    return {"stage": "procedures", "notices": len(out["notices"]), **summary}
