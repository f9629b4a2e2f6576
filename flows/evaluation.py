"""Progress evaluation (scheduled, monthly) and relapse monitoring (防止返贫监测)."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from zhucun.flows.common import artifact_key, emit, task_runner
from zhucun.flows.lifecycle_common import HOUSEHOLDS_PER_TASK, previous_month, run_per_chunk
from zhucun.flows.parameters import CountyCode, Period
from zhucun.tasks.common import Scope
from zhucun.tasks.evaluation import evaluate_progress_task, monitor_relapse_task
from zhucun.tasks.lifecycle_db import merge_counts
from zhucun.tasks.monitoring_picture import monitoring_picture_task, picture_markdown


def emit_relapse_risk(county: str, period: str, parts: list[dict[str, dict[str, Any]]]) -> int:
    """One `zhucun.household.relapse-risk` event per household at risk, at most
    RELAPSE_EVENTS_PER_VILLAGE per village; beyond that one aggregate event for the village
    (resource `zhucun.village.<code>`, payload with the count). Payloads carry the county,
    period and outcome only. Returns the number of events emitted."""
    n = 0
    for part in parts:
        for village, risk in part.items():
            for hid in risk["households"]:
                emit(
                    "zhucun.household.relapse-risk",
                    f"zhucun.household.{hid}",
                    {"county": county, "period": period, "outcome": "at-risk"},
                    related=[
                        {
                            "prefect.resource.id": f"zhucun.village.{village}",
                            "prefect.resource.role": "village",
                        }
                    ],
                )
                n += 1
            if risk["count"] > len(risk["households"]):
                emit(
                    "zhucun.household.relapse-risk",
                    f"zhucun.village.{village}",
                    {
                        "county": county,
                        "period": period,
                        "outcome": "at-risk",
                        "households": risk["count"],
                        "aggregated": True,
                    },
                )
                n += 1
    return n


def _period(period: str | None) -> str:
    return period or previous_month()


@flow(
    name="evaluate-progress",
    flow_run_name="evaluation-{county}-{period}",
    task_runner=task_runner(),
)
def evaluate_progress(
    county: CountyCode, period: Period | None = None, villages: list[str] | None = None
) -> dict[str, Any]:
    """Evaluate every registered household of the scope for a month (default: the month that
    just ended, for the monthly schedule): exit conditions met (proposed for the exit
    procedure, never flipped), remain, monitor, relapse; village incidence
    and exit eligibility; events for villages that became exit-eligible and for households at
    risk of relapse.

    Args:
        county: 6-digit code of the county to evaluate (e.g. 522626).
        period: the month evaluated, YYYY-MM; empty: the month that just ended (Asia/Shanghai).
        villages: 12-digit village codes to narrow the run to; empty: every village.
    """
    scope = Scope(county=county, villages=villages)
    period = _period(period)
    parts = run_per_chunk(
        evaluate_progress_task,
        scope,
        "evaluation",
        period,
        "villages evaluated",
        households_per_task=HOUSEHOLDS_PER_TASK,
        period=period,
    )
    villages_rows = [v for p in parts for v in p["villages"]]
    outcomes = merge_counts(p["outcomes"] for p in parts)
    monitoring = merge_counts(p["monitoring"] for p in parts)
    create_table_artifact(
        table=villages_rows or [{"village": "-"}],
        key=artifact_key("evaluation", scope.label, period),
        description=f"Progress evaluation, county {scope.county}, period {period}: outcomes "
        "per village (households evaluated in this run), incidence, exit "
        "eligibility.",
    )
    newly = [v["village"] for v in villages_rows if v["newly_eligible"]]
    for v in newly:
        emit(
            "zhucun.village.exit-eligible",
            f"zhucun.village.{v}",
            {"county": scope.county, "period": period, "village": v},
        )
    risk_events = emit_relapse_risk(scope.county, period, [p["relapse_risk"] for p in parts])
    return {
        "stage": "evaluation",
        "period": period,
        "evaluated": sum(p["evaluated"] for p in parts),
        "already_evaluated": sum(p["already_evaluated"] for p in parts),
        "outcomes": outcomes,
        # 预退出: proposed for the exit procedure; no household's status changed to exited
        "exit_proposals": sum(p.get("exit_proposals", 0) for p in parts),
        # the candidates not proposed, by the condition they missed (most: nothing delivered)
        "exit_not_proposed": merge_counts(p.get("exit_not_proposed", {}) for p in parts),
        "monitoring": monitoring,
        "exit_eligible_villages": sum(1 for v in villages_rows if v["exit_eligible"]),
        "newly_exit_eligible": newly,
        "relapse_risk_events": risk_events,
        "chunks": len(parts),
    }


@flow(
    name="monitor-relapse", flow_run_name="monitoring-{county}-{period}", task_runner=task_runner()
)
def monitor_relapse(county: CountyCode, period: Period | None = None) -> dict[str, Any]:
    """Monthly monitoring (防止返贫动态监测) of every rural household: each one the monitoring
    rules find (exited under the threshold, never registered under it, or floored by a
    shock whatever its income — from its surveys of the last 12 months and its clues) gets
    a pending case and its identification procedure (`monitor`: it becomes a monitoring
    object at the county's approval), its open clues join the case; each monitored
    household meeting the six conditions of 风险消除 gets its `relieve` procedure (closed
    only at its announcement). Publishes the county's monitoring picture (counts only).

    Args:
        county: 6-digit code of the county to monitor (e.g. 522626).
        period: the month monitored, YYYY-MM; empty: the month that just ended (Asia/Shanghai).
    """
    scope = Scope(county=county)
    period = _period(period)
    parts = run_per_chunk(
        monitor_relapse_task,
        scope,
        "monitoring",
        period,
        "villages monitored",
        households_per_task=HOUSEHOLDS_PER_TASK,
        period=period,
    )
    totals = merge_counts({k: v for k, v in p.items() if k != "relapse_risk"} for p in parts)
    totals["relapse_risk_events"] = emit_relapse_risk(
        scope.county, period, [p["relapse_risk"] for p in parts]
    )
    create_markdown_artifact(
        markdown=(
            f"# 防止返贫监测 {scope.county} {period}\n\n"
            "| 发现风险 | 新启动识别程序 | 线索并入 | 监测中（已核查） | 启动风险消除程序 |\n"
            "|---|---|---|---|---|\n"
            f"| {totals.get('at_risk', 0)} | {totals.get('monitor_cases', 0)} | "
            f"{totals.get('clues_linked', 0)} | {totals.get('tracked', 0)} | "
            f"{totals.get('relieve_cases', 0)} |\n"
        ),
        key=artifact_key("monitoring", scope.label, period),
        description="Monitoring run: households found (their identification procedure "
        "opened), clues joined, monitored households checked, risk elimination opened.",
    )
    picture = monitoring_picture_task(scope.county, period)
    create_markdown_artifact(
        markdown=picture_markdown(picture),
        key=artifact_key("monitoring-picture", scope.county, period),
        description="The county's monitoring picture: cases by category, risk types, age "
        "of open clues, eliminated this month (counts only).",
    )
    return {
        "stage": "monitoring",
        "period": period,
        **totals,
        "eliminated_this_month": picture["eliminated_this_month"],
        "chunks": len(parts),
    }
