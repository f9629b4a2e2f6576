"""Dispatch (驻村工作队选派): teams for the poor villages of a county, a helper for every
registered poor household, shortages reported — and the yearly review of team terms.

Orchestration only. The chunks run one after another, neediest first, because each takes
cadres from the pool the previous ones left; the rules are in `zhucun.rules.dispatch`, the
database work in `tasks.dispatch`.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from zhucun.flows.common import artifact_key, emit, subflows, task_runner
from zhucun.flows.lifecycle_common import Progress, tag_run
from zhucun.flows.parameters import CountyCode, CycleYear
from zhucun.tasks.common import Scope
from zhucun.tasks.dispatch import (
    dispatch_chunks_task,
    dispatch_summary_task,
    dispatch_villages_task,
    end_expired_teams_task,
)

SHORTAGE_EVENT = "zhucun.dispatch.shortage"


@flow(
    name="dispatch-cycle", flow_run_name="dispatch-{county}-{cycle_year}", task_runner=task_runner()
)
def dispatch_cycle(
    county: CountyCode,
    cycle_year: CycleYear,
    villages: list[str] | None = None,
    retry_shortages: bool = False,
) -> dict[str, Any]:
    """Send a team to every registered poor village of the county without an active team
    and give every registered poor household a helper for the cycle.

    Args:
        county: County code, 6 digits.
        cycle_year: The cycle year; teams start on 1 January of it.
        villages: Only these villages of the county (12-digit codes); empty means all.
        retry_shortages: Try again the villages whose team could not be formed in an earlier
            run of this cycle (after importing more cadres); otherwise they keep their
            recorded shortage.
    """
    scope = Scope(county=county, villages=villages)
    tag_run(scope.county)
    logger = get_run_logger()
    # task runs untagged: a tagged one waits for the server's tag concurrency check (cycle.py)
    chunks = dispatch_chunks_task(scope.county, cycle_year, scope.villages, retry_shortages)
    progress = Progress("dispatch", scope.label, cycle_year, total=len(chunks), what="dispatch")
    results = []
    for i, chunk in enumerate(chunks):  # in need order: each chunk sees the pool left
        results.append(dispatch_villages_task(scope.county, cycle_year, chunk, i, retry_shortages))
        progress.step()
    summary = dispatch_summary_task(scope.county, cycle_year, scope.villages)
    new_shortages = [s for r in results for s in r["shortages"]]
    for s in new_shortages:
        emit(
            SHORTAGE_EVENT,
            f"zhucun.village.{s['village_code']}",
            {
                "county": scope.county,
                "cycle_year": cycle_year,
                "village": s["village_code"],
                "kind": s["kind"],
                "missing": s["missing"],
            },
        )
    _artifacts(scope, cycle_year, summary)
    out = {
        "county": scope.county,
        "cycle_year": cycle_year,
        "chunks": len(chunks),
        "teams_formed": sum(r["teams"] for r in results),
        "members_posted": sum(r["members"] for r in results),
        "helpers_assigned": sum(r["helpers"] for r in results),
        "shortages_recorded": len(new_shortages),
        "active_teams": summary["teams"],
        "helpers_total": summary["helpers"],
        "poor_households": summary["poor_households"],
        "shortages_open": len(summary["shortages"]),
    }
    logger.info(
        "dispatch %s %s: %s",
        scope.county,
        cycle_year,
        ", ".join(f"{k}={v}" for k, v in out.items() if isinstance(v, int)),
    )
    return out


def _artifacts(scope: Scope, cycle_year: int, summary: dict[str, Any]) -> None:
    """The per-village table and the shortages in markdown (masked names, cadre ids; no ID
    numbers)."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_table_artifact(
        table=summary["rows"] or [{"village": "", "team_size": 0}],
        key=artifact_key("dispatch", scope.label, cycle_year),
        description=f"Dispatch {scope.county} {cycle_year}: {summary['teams']} active teams, "
        f"{summary['helpers']} of {summary['poor_households']} poor households with a helper, "
        f"{len(summary['shortages'])} shortages.",
    )
    create_markdown_artifact(
        markdown=shortages_markdown(scope.county, cycle_year, summary["shortages"]),
        key=artifact_key("dispatch", scope.label, cycle_year, "shortages"),
        description=f"Cadre shortages {scope.county} {cycle_year}",
    )


def shortages_markdown(county: str, cycle_year: int, shortages: list[dict[str, Any]]) -> str:
    lines = [f"# Cadre shortages, {county} {cycle_year}", ""]
    if not shortages:
        return "\n".join([*lines, "No shortage: every seat filled within the rules."])
    lines += [
        "Seats the rules left empty (no rule is broken to fill a seat).",
        "",
        "| village | kind | missing | reason |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {s['village']} | {s['kind']} | {s['missing']} | {str(s['reason']).replace('|', '/')} |"
        for s in shortages
    ]
    return "\n".join(lines)


@flow(
    name="review-team-terms", flow_run_name="team-terms-{county}-{year}", task_runner=task_runner()
)
def review_team_terms(county: CountyCode, year: CycleYear) -> dict[str, Any]:
    """Yearly: teams whose term ended by 1 January of `year` end (members released), then
    their villages get new teams for `year` through the same dispatch.

    Args:
        county: County code, 6 digits.
        year: The year of the review; the new teams' cycle year.
    """
    scope = Scope(county=county)
    tag_run(scope.county)
    ended = end_expired_teams_task(scope.county, year)
    with subflows():
        dispatched = dispatch_cycle(county=scope.county, cycle_year=year)
    return {
        "county": scope.county,
        "year": year,
        **ended,
        "dispatch": {k: v for k, v in dispatched.items() if isinstance(v, int)},
    }
